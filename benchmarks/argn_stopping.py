"""Where argn's early stopping ends a fit, per table and seed, at one or more git revisions, in fresh processes;
writes RESULTS.md sections (``--section``).

    python benchmarks/argn_stopping.py --revs main HEAD --tables wooldridge.mathpnl AER.STAR --seeds 42 43 44
        [--quality] [--params '{"patience": 10}'] [--section NAME --title TEXT --note TEXT]

Each fit is ``Synthesizer(model="argn", seed=s).fit(train)`` on the suite's split of seed s (``suite.prepare``
writes it when missing: seeds 42-44 are the tuning seeds, 1-3 the reported ones), at one torch thread under nice,
torch imported before the clock. Per fit: epochs, the best validation loss and its epoch, the rate at the stop, the
validation losses of the last epochs, fit CPU (the whole ``Synthesizer.fit``) and the network's training CPU.
``--quality`` also samples as many rows as the split has and judges them with ``lookalike.evaluate`` against the
holdout (dependence capture, discriminator AUC), as the suite does. Runs for one (rev, table, seed) are taken in
turn at each revision, so paired fits see about the same load. Runs are kept in argn_stopping_runs.jsonl."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from results_sections import cached_runs, record_run, spread, update_section
from timed_fit import TIMED_ARGN_FIT

HERE = Path(__file__).resolve().parent
RUNS = HERE / "argn_stopping_runs.jsonl"

WORKER = r"""
import json, os, resource, sys
import pandas as pd
import torch  # imported before the clock, as the suite's runner does
from lookalike import Synthesizer
from lookalike.models.argn import ARGN
train, seed, params, out_csv = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
df = pd.read_csv(train)
""" + TIMED_ARGN_FIT.lstrip("\n") + r"""epoch_cpu = []  # CPU at each epoch's end (the fit's stopping check), from the fit's start
import lookalike.models.argn as argn_module
real_step = argn_module.PlateauHalving.step
def timed_step(self, score):
    epoch_cpu.append(round(cpu() - start, 2))
    return real_step(self, score)
argn_module.PlateauHalving.step = timed_step
load = os.getloadavg()[0]
start = cpu()
syn = Synthesizer(model="argn", seed=seed, **({"model_params": params} if params else {})).fit(df)
spent = cpu() - start
m = syn.model_
h = m.history_
best = min(range(len(h)), key=lambda i: h[i]["val_loss"])
rec = {"fit_cpu": round(spent, 2), "train_cpu": round(sum(training), 2), "epochs": len(h),
       "best_val": round(h[best]["val_loss"], 4), "best_epoch": best + 1, "lr_stop": h[-1]["lr"],
       "lr_start": h[0]["lr"], "val": [round(x["val_loss"], 4) for x in h],
       "train": [round(x["train_loss"], 4) for x in h], "lrs": [x["lr"] for x in h], "epoch_cpu": epoch_cpu, "projected": bool(m.net_.projected),
       "load_start": round(load, 2), "load_end": round(os.getloadavg()[0], 2)}
if out_csv != "-":
    syn.sample(len(df), seed=seed).to_csv(out_csv, index=False)
print(json.dumps(rec))
"""


def source_tree(rev: str, into: Path) -> Path:
    """``src`` of git revision ``rev`` (the working tree's own ``src`` for "WORKTREE"), unpacked under ``into``."""
    if rev == "WORKTREE":
        return HERE.parent / "src"
    out = into / rev
    out.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=HERE.parent, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def split(table: str, seed: int) -> tuple[Path, Path]:
    import suite

    tables = {t.name: t for t in suite.select_tables()}
    return suite.prepare(tables[table], seed)


def fit_once(src: Path, table: str, seed: int, params: dict, quality: bool, tmp: Path) -> dict:
    train, holdout = split(table, seed)
    csv = tmp / f"{table}.{seed}.csv"
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1")
    done = subprocess.run(["nice", "-n", "10", sys.executable, "-c", WORKER, str(train), str(seed),
                           json.dumps(params), str(csv) if quality else "-"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    run = json.loads(done.stdout.strip().splitlines()[-1])
    if quality:
        import pandas as pd

        from lookalike import evaluate

        report = evaluate(train=pd.read_csv(train), synthetic=pd.read_csv(csv), holdout=pd.read_csv(holdout), seed=0)
        run["capture"] = report.metrics.get("dependence_capture")
        run["auc"] = report.metrics.get("discriminator_auc")
    return run


def stop_before_72517ef(val: list[float], tol: float = 0.002, patience: int = 3) -> int:
    """The epoch (1-based) where the rule before 72517ef ends a fit with validation losses ``val``: an epoch was
    bad unless it beat the latest best by ``tol`` (relative), however small that best's own gain. Its rate
    schedule is the one that fit still runs, and its count is never below the new one (a reset it made is one the
    new rule makes), so it stops no later: the new fit's history up to that epoch is the old fit's whole history.
    ``len(val)`` when it would not have stopped within them."""
    best, bad = float("inf"), 0
    for i, score in enumerate(val):
        if score < best:
            bad = 0 if score < best - tol * abs(best) else bad + 1
            best = score
        else:
            bad += 1
        if bad >= patience:
            return i + 1
    return len(val)


def _key(r: dict) -> tuple:
    return r["rev"], r["table"], r["seed"], json.dumps(r.get("params") or {}, sort_keys=True), bool(r.get("quality"))


def stop_at_72517ef(val: list[float], tol: float = 0.002, patience: int = 3) -> int | None:
    """The epoch where the rule of 72517ef ends a fit with validation losses ``val``: ``patience`` epochs in a row
    not ``tol`` below the last best that counted (the rate schedule's own test); None when not within them."""
    best, stale = float("inf"), 0
    for i, score in enumerate(val):
        best, stale = (score, 0) if score < best * (1 - tol) else (best, stale + 1)
        if stale >= patience:
            return i + 1
    return None


def first_rise_halving(val: list[float], lrs: list[float], tol: float = 0.002) -> int | None:
    """The epoch after which the code of issue 15's rise fix first resumes from the best weights, read off a fit's
    history: the first halving whose epoch ended more than ``tol`` above the best validation loss so far. Up to that
    epoch a fit without the fix is the fit with it; None when no halving came after a rise (the same fit)."""
    for i in range(1, len(val)):
        if lrs[i] < lrs[i - 1] and val[i - 1] > min(val[:i]) * (1 + tol):
            return i
    return None


def _num(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def _rule_cells(r: dict) -> str:
    """Where each rule stops this fit's history: epochs, best loss up to there, and the fit CPU without the later
    epochs (the CPU at that epoch's end plus what the fit spent after its last epoch; estimated)."""
    cpu, n = r.get("epoch_cpu") or [], len(r["val"])
    if len(cpu) == n - 1 and n > 1:  # before 72517ef the stopping epoch's end was not recorded: one mean epoch on
        cpu = cpu + [cpu[-1] + (cpu[-1] - cpu[0]) / max(len(cpu) - 1, 1)]
    cells = []
    for e in (stop_before_72517ef(r["val"]), stop_at_72517ef(r["val"])):
        if e is None:
            cells.append(f"> {n} | – | –")
            continue
        est = r["fit_cpu"] - (cpu[-1] - cpu[e - 1]) if len(cpu) == n else None
        cells.append(f"{e} | {min(r['val'][:e]):.3f} | " + (f"{est:.1f}" if est is not None else "–"))
    return " | ".join(cells)


def report(revs: list[str], tables: list[str], seeds: list[int], params: dict, quality: bool, title: str) -> str:
    p = json.dumps(params or {}, sort_keys=True)
    runs = {(r["rev"], r["table"], r["seed"]): r for r in cached_runs(RUNS, _key)
            if json.dumps(r.get("params") or {}, sort_keys=True) == p and bool(r.get("quality")) == quality}
    lines = [f"## {title} (`benchmarks/argn_stopping.py`)", "",
             f"Revisions {', '.join(f'`{r}`' for r in revs)}; seeds {', '.join(map(str, seeds))} (split seed = fit "
             f"seed); model_params {p}. Fresh process per fit, OMP_NUM_THREADS=1, nice 10, shared 2-core machine "
             "(1-minute load at the fit's start-end). *best@* is the epoch of the best validation loss, *lr* the "
             "rate at the stop / at the start; *last val* the last three epochs' validation losses; *restore@* the epoch "
             "after which the rise fix resumes from the best weights (`first_rise_halving`; – : never, the same fit "
             "with or without it). The last six columns "
             "apply each stopping rule to the fit's validation history (both rules see the same rate schedule "
             "up to their stop, so the one that stops first sees exactly this history).", "",
             "| table | rev | seed | proj | epochs | best val | best@ | lr stop/start | last val | restore@ | fit CPU s | "
             "train CPU s" + (" | capture | AUC" if quality else "") + " | load | rule before 72517ef: stop | best val | "
             "fit CPU s (est.) | rule of 72517ef: stop | best val | fit CPU s (est.) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---" + ("|---|---" if quality else "") + "|---|---|---|---|---|---|---|"]
    for t in tables:
        for rev in revs:
            rows = [runs[(rev, t, s)] for s in seeds if (rev, t, s) in runs]
            for r in rows:
                lines.append(
                    f"| {t} | {rev} | {r['seed']} | {'yes' if r['projected'] else 'no'} | {r['epochs']} | "
                    f"{r['best_val']:.3f} | {r['best_epoch']} | {r['lr_stop'] / r['lr_start']:.3f} | "
                    f"{', '.join(f'{v:.2f}' for v in r['val'][-3:])} | {first_rise_halving(r['val'], r['lrs']) or '–'} | "
                    f"{r['fit_cpu']:.1f} | {r['train_cpu']:.1f}"
                    + (f" | {_num(r['capture'])} | {_num(r['auc'])}" if quality else "")
                    + f" | {r['load_start']:.1f}-{r['load_end']:.1f} | {_rule_cells(r)} |")
            if len(rows) > 1:
                lines.append(
                    f"| {t} | {rev} | mean ± half-range | | {spread([r['epochs'] for r in rows], '.1f')} | "
                    f"{spread([r['best_val'] for r in rows], '.2f')} | | | | | "
                    f"{spread([r['fit_cpu'] for r in rows], '.1f')} | {spread([r['train_cpu'] for r in rows], '.1f')}"
                    + (f" | {spread([r['capture'] for r in rows])} | {spread([r['auc'] for r in rows])}"
                       if quality else "") + " | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revs", nargs="+", required=True, help="git revisions, or WORKTREE for the working tree")
    parser.add_argument("--tables", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    parser.add_argument("--params", default="{}", help="argn model_params as JSON (e.g. a longer patience)")
    parser.add_argument("--quality", action="store_true", help="also sample and judge (capture, AUC)")
    parser.add_argument("--section", default=None, help="the RESULTS.md section to write")
    parser.add_argument("--title", default="argn's early stopping per table and seed")
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    params = json.loads(args.params)
    done = {_key(r) for r in cached_runs(RUNS, _key)}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {rev: source_tree(rev, Path(tmp)) for rev in args.revs}
        for table in args.tables:
            for seed in args.seeds:
                for rev in args.revs:
                    key = (rev, table, seed, json.dumps(params, sort_keys=True), args.quality)
                    if key in done and rev != "WORKTREE":
                        continue
                    run = {"rev": rev, "table": table, "seed": seed, "params": params, "quality": args.quality,
                           **fit_once(trees[rev], table, seed, params, args.quality, Path(tmp))}
                    if rev != "WORKTREE":
                        record_run(RUNS, run)
                    print(json.dumps({k: v for k, v in run.items() if k not in ("val", "train", "lrs", "epoch_cpu")}), flush=True)
    text = report(args.revs, args.tables, args.seeds, params, args.quality, args.title)
    if args.section:
        update_section(args.section, text + ("\n\n" + args.note if args.note else ""))
    print(text)


if __name__ == "__main__":
    main()
