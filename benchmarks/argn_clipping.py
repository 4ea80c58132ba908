"""argn with and without gradient clipping (``ARGN(max_grad_norm=...)``) on suite tables: does clipping each
step's gradients to norm 1 fit better, and what does it cost in fit CPU seconds? (issue 15)

Each run fits ``Synthesizer(model="argn", seed=S, model_params={"max_grad_norm": M})`` on the suite's 70/30 split
of a table (``suite.prepare``), samples as many rows as the training split, and judges them with
``lookalike.evaluate`` against the holdout. Runs are appended to ``argn_clipping_runs.jsonl`` (one per table,
seed and setting; ``--force`` reruns); the RESULTS.md section ``argn-clipping`` is written from that file.

    python benchmarks/argn_clipping.py --tables Ecdat.VietNamI wooldridge.airfare --seeds 1
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_sections import cached_runs, record_run, update_section  # noqa: E402

RUNS = HERE / "argn_clipping_runs.jsonl"
SETTINGS = {"none": {"max_grad_norm": None}, "1": {"max_grad_norm": 1.0}}
"""Named settings: ARGN parameters over the code's defaults. ``--params`` runs any other set under ``--label``."""
METRICS = ("val_loss", "dependence_capture", "discriminator_auc", "univariate_accuracy", "dcr_share", "fit_cpu_s",
           "epochs")


def run_one(table: str, seed: int, setting: str, params: dict | None = None) -> dict:
    import pandas as pd

    import suite
    from lookalike import Synthesizer, evaluate

    by_name = {t.name: t for t in suite.select_tables()}
    train_path, holdout_path = suite.prepare(by_name[table], seed)
    train, holdout = pd.read_csv(train_path), pd.read_csv(holdout_path)
    load = os.getloadavg()[0]
    cpu = time.process_time()
    params = SETTINGS[setting] if params is None else params
    syn = Synthesizer(model="argn", seed=seed, model_params=params).fit(train)
    fit_cpu = time.process_time() - cpu
    synthetic = syn.sample(len(train), seed=seed)
    m = evaluate(train=train, synthetic=synthetic, holdout=holdout, seed=0).metrics
    history = syn.model_.history_
    rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=HERE, capture_output=True, text=True)
    import lookalike
    src = Path(lookalike.__file__).resolve().parent.parent  # a copy of older code, when PYTHONPATH points at one
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "../src"], cwd=HERE, capture_output=True, text=True)
    best = min(range(len(history)), key=lambda i: history[i]["val_loss"])
    return {"table": table, "seed": seed, "setting": setting, "params": params, "fit_cpu_s": round(fit_cpu, 1),
            "epochs": len(history), "best_epoch": best + 1,
            "history": [[round(h["train_loss"], 4), round(h["val_loss"], 4), float(f"{h['lr']:.3g}")] for h in history],
            "val_loss": round(min(h["val_loss"] for h in history), 4),
            **{k: round(float(m[k]), 4) if m.get(k) is not None else None
               for k in ("dependence_capture", "discriminator_auc", "univariate_accuracy", "dcr_share")},
            "univariate_accuracy_holdout": round(float(m["univariate_accuracy_holdout"]), 4),
            "load_1m": [round(load, 1), round(os.getloadavg()[0], 1)], "code": rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else ""),
            "utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
            **({} if src == HERE.parent / "src" else {"src": str(src)})}


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def _load(run: dict) -> str:
    return "–" if run.get("load_1m") is None else f"{run['load_1m'][0]:.0f}"


def section(runs: list[dict]) -> str:
    pairs = {}
    for r in runs:
        pairs.setdefault((r["table"], r["seed"]), {})[r["setting"]] = r
    lines = ["## argn with gradients clipped to norm 1 (`benchmarks/argn_clipping.py`)", "",
             "Per table and seed: without clipping → clipped at norm 1 (the default since this change). Lower "
             "validation loss and AUC are better; univariate accuracy beside the holdout's (its ceiling). Fit CPU "
             "seconds are this process's, one torch thread, on the shared 2-core machine (the load column).", "",
             "| table | seed | best validation loss | dependence capture | discriminator AUC | univariate (holdout) "
             "| DCR share | epochs | fit CPU s | load (1 min) | measured |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    ratios, better = [], 0
    done = [(k, v) for k, v in sorted(pairs.items()) if {"none", "1"} <= set(v)]
    for (table, seed), v in done:
        a, b = v["none"], v["1"]
        cell = lambda key, spec=".3f": f"{a[key]:{spec}} → {b[key]:{spec}}"  # noqa: E731
        lines.append(f"| {table} | {seed} | {cell('val_loss', '.2f')} | {cell('dependence_capture')} | "
                     f"{cell('discriminator_auc')} | {cell('univariate_accuracy')} ({_fmt(b.get('univariate_accuracy_holdout'))})"
                     f" | {cell('dcr_share')} | {a['epochs']} → {b['epochs']} | {cell('fit_cpu_s', '.0f')} | "
                     f"{_load(a)} / {_load(b)} | {a['utc']}, {a['code']} |")
        ratios.append(b["fit_cpu_s"] / a["fit_cpu_s"])
        better += b["val_loss"] < a["val_loss"] and b["discriminator_auc"] < a["discriminator_auc"]
    if ratios:
        ratios.sort()
        median = ratios[len(ratios) // 2] if len(ratios) % 2 else sum(ratios[len(ratios) // 2 - 1:][:2]) / 2
        lines += ["", f"Clipped, both the validation loss and the AUC are lower on {better} of {len(done)} table-seeds;"
                  f" fit CPU seconds clipped / unclipped: median {median:.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f}."]
    notes = sorted({r.get("note") for r in runs if r.get("note")})
    lines += [""] + notes if notes else []
    return "\n".join(lines)


SCHEDULE_NOTES = HERE / "argn_schedule_notes.md"
"""Hand-written paragraphs under the schedule table (what each label's code was, what was concluded)."""


def schedule_section(runs: list[dict]) -> str:
    """Every run under a label other than the clipping pair's, per table and seed: the training-schedule study."""
    runs = [r for r in runs if r["setting"] not in SETTINGS]
    lines = ["## argn's training schedule and fit CPU (`benchmarks/argn_clipping.py --params ... --label ...`)", "",
             "Per table (suite split, seed = split seed) and label: ARGN parameters over the code's defaults, the fit's "
             "CPU seconds (this process: schema, encoding and training; one process at a time, nice 10, one OpenMP "
             "thread, on the shared 2-core machine: the load column is the 1-minute load at start / end), epochs run "
             "(and the best one), the best validation loss (lower is better; comparable within a table and seed), "
             "and the judge's figures on as many synthetic rows as training rows.", "",
             "| table | seed | label | parameters | code | fit CPU s | epochs (best) | best val loss | dependence capture "
             "| discriminator AUC | univariate (holdout) | DCR share | load (1 min) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(runs, key=lambda r: (r["table"], r["seed"], r["utc"])):
        params = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items()) or "defaults"
        load = "–" if r.get("load_1m") is None else f"{r['load_1m'][0]:.1f} / {r['load_1m'][1]:.1f}"
        lines.append(f"| {r['table']} | {r['seed']} | {r['setting']} | {params} | {r['code']} | {r['fit_cpu_s']:.1f} | "
                     f"{r['epochs']} ({r.get('best_epoch', '–')}) | {r['val_loss']:.2f} | {_fmt(r['dependence_capture'])} | "
                     f"{_fmt(r['discriminator_auc'])} | {_fmt(r['univariate_accuracy'])} "
                     f"({_fmt(r.get('univariate_accuracy_holdout'))}) | {_fmt(r['dcr_share'])} | {load} |")
    if SCHEDULE_NOTES.exists():
        lines += ["", SCHEDULE_NOTES.read_text().strip()]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", default=[])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--params", type=json.loads, default=None,
                    help='ARGN parameters as JSON (e.g. \'{"patience": 2}\'), run instead of --settings as --label')
    ap.add_argument("--label", default=None, help="the setting name under which --params runs are recorded")
    ap.add_argument("--force", action="store_true", help="rerun runs already in the runs file")
    args = ap.parse_args()
    if (args.params is None) != (args.label is None):
        ap.error("--params and --label go together")
    todo = {args.label: args.params} if args.label else {name: SETTINGS[name] for name in args.settings}
    key = lambda r: (r["table"], r["seed"], r["setting"])  # noqa: E731
    have = {key(r) for r in cached_runs(RUNS, key)}
    for table in args.tables:
        for seed in args.seeds:
            for setting, params in todo.items():
                if (table, seed, setting) in have and not args.force:
                    continue
                run = run_one(table, seed, setting, params)
                print(json.dumps(run), flush=True)
                record_run(RUNS, run)
    print("wrote", update_section("argn-clipping", section(cached_runs(RUNS, key))))
    print("wrote", update_section("argn-schedule", schedule_section(cached_runs(RUNS, key))))


if __name__ == "__main__":
    main()
