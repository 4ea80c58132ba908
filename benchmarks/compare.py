"""Judge every generator on every benchmark table with one metric code path and write benchmarks/RESULTS.md.

Rows per table:
- lookalike's own generators (copula, argn), fitted through the public API ``Synthesizer(model=M, seed=0)``
  in a fresh process (benchmarks/peers/run_lookalike.py), like the peers, so fit time and peak memory are
  measured the same way for everyone; their outputs are cached and re-made when the lookalike source changes;
- the peers' cached outputs from benchmarks/run_peers.py (SDV GaussianCopula/TVAE/CTGAN, TabularARGN);
- "independent marginals": every training column shuffled on its own (right marginals, no dependence);
- "real holdout": the reference that no generator can honestly beat, read from the ``*_holdout`` metrics.
Every synthetic table goes through a CSV round trip before it is judged, and every number comes from
``lookalike.evaluate.evaluate``; this script computes no metric of its own.

    PYTHONPATH=src python benchmarks/compare.py                   # all tables, writes benchmarks/RESULTS.md
    PYTHONPATH=src python benchmarks/compare.py --tables credit_data --no-lookalike
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import datasets  # noqa: E402
from run_peers import PEERS, job_environment  # noqa: E402

RESULTS_MD = HERE / "RESULTS.md"
LOOKALIKE_MODELS = {"lookalike_argn": "lookalike argn", "lookalike_copula": "lookalike copula"}
BASELINE = "independent_marginals"
LABELS = {**LOOKALIKE_MODELS, **{name: peer.label for name, peer in PEERS.items()},
          BASELINE: "independent marginals", "real_holdout": "real holdout (reference)"}
ROW_ORDER = [*LOOKALIKE_MODELS, "tabular_argn", "sdv_tvae", "sdv_ctgan", "sdv_gaussian_copula", BASELINE]
ARGN_PEER = "tabular_argn"


# -- the one metric source --------------------------------------------------------------------------------
def load_evaluate():
    """Return lookalike.evaluate.evaluate, or stop with a message that says what to do."""
    try:
        from lookalike.evaluate import evaluate
    except ImportError as exc:
        raise SystemExit(
            f"compare.py needs lookalike.evaluate.evaluate, which is not importable here ({exc}).\n"
            "Run from the repository root with PYTHONPATH=src, on a branch where the evaluate module has landed "
            "(check `git log main --oneline`)."
        ) from None
    return evaluate


def _source_fingerprint(package_dir: Path) -> str:
    digest = hashlib.sha1()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(str(path.relative_to(package_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _file_sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


def _lookalike_dir() -> Path | None:
    try:
        import lookalike
    except ImportError:
        return None
    return Path(lookalike.__file__).resolve().parent


# -- making the synthetic tables that are not peers ----------------------------------------------------
def run_lookalike(table: str, generator: str, force: bool, timeout_s: float) -> dict:
    """Fit one lookalike model in a fresh process; reuse its cached output while the source is unchanged."""
    package_dir = _lookalike_dir()
    if package_dir is None:
        return {"status": "unavailable", "error": "lookalike is not importable (run with PYTHONPATH=src)"}
    fingerprint = _source_fingerprint(package_dir)
    folder = datasets.table_dir(table)
    csv_path, json_path = folder / f"{generator}.csv", folder / f"{generator}.json"
    if not force and csv_path.exists() and json_path.exists():
        if json.loads(json_path.read_text()).get("lookalike_source") == fingerprint:
            return {"status": "ok", "cached": True}
    train_path, _ = datasets.prepare(table)
    log_path = folder / f"{generator}.log"
    env = job_environment()  # same as the peers get
    env["PYTHONPATH"] = os.pathsep.join([str(package_dir.parent), os.environ.get("PYTHONPATH", "")])
    command = [sys.executable, str(HERE / "peers" / "run_lookalike.py"), "--train", str(train_path),
               "--generator", generator, "--out-csv", str(csv_path), "--out-json", str(json_path)]
    print(f"  fitting {generator} on {table} ...", flush=True)
    with open(log_path, "w") as log:
        try:
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=HERE / "peers",
                                  timeout=timeout_s).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if code != 0 or not json_path.exists():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        for path in (csv_path, json_path):  # never judge an output left over from older code
            path.unlink(missing_ok=True)
        return {"status": "failed", "error": " | ".join(tail) or f"exit {code}", "log": str(log_path)}
    record = json.loads(json_path.read_text())
    record["lookalike_source"] = fingerprint
    json_path.write_text(json.dumps(record, indent=2))
    return {"status": "ok", "cached": False}


def make_independent_marginals(table: str, train: pd.DataFrame, seed: int = 0) -> None:
    """Each column of train shuffled on its own: the floor every generator should beat on dependence."""
    folder = datasets.table_dir(table)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    shuffled = pd.DataFrame({col: train[col].to_numpy()[rng.permutation(len(train))] for col in train.columns})
    seconds = time.perf_counter() - start
    shuffled.to_csv(folder / f"{BASELINE}.csv", index=False)
    (folder / f"{BASELINE}.json").write_text(json.dumps({
        "generator": BASELINE, "fit_s": 0.0, "fit_cpu_s": 0.0, "sample_s": round(seconds, 4),
        "sample_rows_per_s": round(len(train) / seconds, 1) if seconds > 0 else None, "peak_rss_mb": None,
    }, indent=2))


# -- judging ----------------------------------------------------------------------------------------------
def judge(evaluate, table: str, generator: str, train: pd.DataFrame, holdout: pd.DataFrame, meta: dict,
          evaluate_fingerprint: str, force: bool) -> dict:
    """Metrics for one cached synthetic CSV, cached by (synthetic file, train file, evaluate source)."""
    folder = datasets.table_dir(table)
    csv_path = folder / f"{generator}.csv"
    key = {"synthetic": _file_sha1(csv_path), "train": _file_sha1(folder / "train.csv"),
           "holdout": _file_sha1(folder / "holdout.csv"), "evaluate": evaluate_fingerprint}
    cache_path = folder / "metrics" / f"{generator}.json"
    if not force and cache_path.exists():
        cached = json.loads(cache_path.read_text())
        if cached.get("key") == key:
            return cached["metrics"]
    synthetic = pd.read_csv(csv_path)  # the CSV round trip every table goes through
    start = time.perf_counter()
    report = evaluate(train=train, synthetic=synthetic, holdout=holdout, target=meta["target"])
    metrics = {k: _plain(v) for k, v in dict(report.metrics).items()}
    print(f"  judged {generator} on {table} in {time.perf_counter() - start:.0f} s", flush=True)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps({"key": key, "metrics": metrics}, indent=2))
    return metrics


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


# -- the report ------------------------------------------------------------------------------------------
def _num(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _seconds(value) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _rate(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _first(results: dict, key: str):
    for row in results.values():
        value = row["metrics"].get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return value
    return None


def table_markdown(table: str, meta: dict, shape: dict, results: dict, problems: dict) -> str:
    floor, ceiling = _first(results, "bivariate_floor"), _first(results, "bivariate_accuracy_holdout")
    uni_ceiling, auc_ho = _first(results, "univariate_accuracy_holdout"), _first(results, "discriminator_auc_holdout")
    copies_ho, trtr = _first(results, "exact_copy_share_holdout"), _first(results, "trtr_score")
    score = "AUC" if meta["task"] == "classification" else "R²"
    lines = [
        f"## {table}",
        "",
        f"{meta['source']}{' (' + meta['note'] + ')' if meta['note'] else ''}: train {shape['train'][0]:,} rows × "
        f"{shape['train'][1]} columns, holdout {shape['holdout'][0]:,} rows; target `{meta['target']}` "
        f"({meta['task']}, TSTR/TRTR scored as {score} on the real holdout).",
        "",
        f"| generator | fit s | fit CPU s | sample rows/s | peak MB | uni (holdout {_num(uni_ceiling)}) | "
        f"bi (floor {_num(floor)} / ceiling {_num(ceiling)}) | bi at holdout size | dep | AUC (holdout {_num(auc_ho, 2)}) | "
        f"DCR share | exact copies (holdout's {_num(copies_ho)}) | TSTR (TRTR {_num(trtr)}) | gran gap | distinct ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for generator, row in results.items():
        m, run = row["metrics"], row["run"]
        lines.append(
            f"| {LABELS.get(generator, generator)} | {_seconds(run.get('fit_s'))} | {_seconds(run.get('fit_cpu_s'))} | {_rate(run.get('sample_rows_per_s'))} | "
            f"{_rate(run.get('peak_rss_mb'))} | {_num(m.get('univariate_accuracy'))} | {_num(m.get('bivariate_accuracy'))} | "
            f"{_num(m.get('bivariate_accuracy_at_holdout_size'))} | "
            f"{_num(m.get('dependence_capture'), 2)} | {_num(m.get('discriminator_auc'))} | {_num(m.get('dcr_share'))} | "
            f"{_num(m.get('exact_copy_share'))} | {_num(m.get('tstr_score'))} | {_num(m.get('granularity_worst_gap'), 2)} | "
            f"{_num(m.get('distinct_ratio_worst'), 2)} |"
        )
    if results:
        any_m = next(iter(results.values()))["metrics"]
        lines.append(
            f"| {LABELS['real_holdout']} | – | – | – | – | {_num(any_m.get('univariate_accuracy_holdout'))} | "
            f"{_num(any_m.get('bivariate_accuracy_holdout'))} | {_num(any_m.get('bivariate_accuracy_holdout'))} | 1.00 | "
            f"{_num(any_m.get('discriminator_auc_holdout'))} | – | "
            f"{_num(any_m.get('exact_copy_share_holdout'))} | – | {_num(any_m.get('granularity_worst_gap_holdout'), 2)} | – |"
        )
    lines.append("")
    argn = results.get(ARGN_PEER, {}).get("run", {})
    for generator in LOOKALIKE_MODELS:
        mine = results.get(generator, {}).get("run", {})
        if mine.get("fit_s") and argn.get("fit_s"):
            speed = ""
            if mine.get("sample_rows_per_s") and argn.get("sample_rows_per_s"):
                speed = f"; sample speed {mine['sample_rows_per_s'] / argn['sample_rows_per_s']:.2f}× TabularARGN's"
            cpu = ""
            if mine.get("fit_cpu_s") and argn.get("fit_cpu_s"):
                cpu = f"; fit CPU time ratio {mine['fit_cpu_s'] / argn['fit_cpu_s']:.2f}"
            lines.append(f"- {LABELS[generator]} fit time / TabularARGN fit time: "
                         f"**{mine['fit_s'] / argn['fit_s']:.2f}** ({_seconds(mine['fit_s'])} s vs "
                         f"{_seconds(argn['fit_s'])} s){cpu}{speed}.")
    for generator, problem in problems.items():
        lines.append(f"- {LABELS.get(generator, generator)}: not in the table ({problem}).")
    lines.append("")
    return "\n".join(lines)


def machine_markdown(runs: list[dict]) -> str:
    loads = [r["machine"].get("loadavg_1m_at_start") for r in runs if r.get("machine")]
    loads = [x for x in loads if x is not None]
    versions: dict[str, str] = {}
    for r in runs:
        versions.update({k: v for k, v in (r.get("versions") or {}).items() if k != "torch_threads"})
    load_note = (f" The 1-minute load average at the start of the generator runs ranged {min(loads):.1f}–"
                 f"{max(loads):.1f} on {os.cpu_count()} cores." if loads else "")
    return (
        f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on `{socket.gethostname()}` "
        f"({platform.platform()}, {os.cpu_count()} CPU cores, no GPU). Versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".\n\n"
        "Every generator runs at its default settings, one job at a time, in a fresh process, and samples as many "
        "rows as its training set; fit s includes the generator's own preprocessing. The machine is shared with "
        "other work, so wall-clock timings are noisy (expect ±30% or more; only their order of magnitude is reliable); "
        "fit CPU s (process plus reaped workers) depends less on the others' load."
        + load_note + "\n"
    )


LEGEND = """\
Columns (definitions in DESIGN.md; every number from `lookalike.evaluate.evaluate`):
uni / bi: univariate / bivariate accuracy against the training data (1 = same binned frequencies); the
bivariate floor is independent marginals (train with each column shuffled) and the ceiling a real holdout.
bi at holdout size: the same for a synthetic sample as small as the holdout (averaged over 5 draws): smaller
samples score lower by chance, so this is the fair comparison with the ceiling. dep: dependence capture,
(bi - floor) / (ceiling - floor) as in DESIGN.md (0 = no dependence learned, 1 = as much as fresh real data;
above 1 is possible because the holdout's own sampling noise lowers the ceiling; empty when the real data
shows no dependence above the floor). AUC: a gradient-boosting discriminator telling real train from synthetic
(0.5 = indistinguishable). DCR share: share of synthetic rows closer to a train row than to a holdout row
(about 0.5 is right; well above means memorisation). exact copies: share of synthetic rows identical to a
training row. TSTR: model trained on synthetic, scored on the real holdout (TRTR: trained on real train).
gran gap: the worst numeric column's gap in its main rounding-unit share (issue 10 asks <= 0.08). distinct
ratio: the worst numeric column's synthetic / real distinct-value count at equal rows (issue 10 asks <= 1.5).
peak MB: peak resident memory of
the generator's process tree.
"""


def _kept_sections(path: Path) -> str:
    """Sections other scripts maintain in the same file (between <!-- begin X --> and <!-- end X -->)."""
    if not path.exists():
        return ""
    old, kept = path.read_text(encoding="utf-8"), []
    for part in old.split("<!-- begin ")[1:]:
        name = part.split(" -->", 1)[0]
        end = f"<!-- end {name} -->"
        if end in part:
            kept.append("<!-- begin " + part.split(end, 1)[0] + end)
    return "\n" + "\n\n".join(kept) + "\n" if kept else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=datasets.names(), choices=datasets.names())
    parser.add_argument("--no-lookalike", action="store_true", help="judge peers and baselines only")
    parser.add_argument("--lookalike-models", nargs="+", default=list(LOOKALIKE_MODELS), choices=list(LOOKALIKE_MODELS))
    parser.add_argument("--force-lookalike", action="store_true", help="refit lookalike models even if cached")
    parser.add_argument("--fit-only", action="store_true",
                        help="only fit lookalike's models (timed runs; do this while nothing else of ours runs), judge later")
    parser.add_argument("--force-judge", action="store_true", help="re-run evaluate even if its result is cached")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before one lookalike fit is stopped")
    parser.add_argument("--out", type=Path, default=RESULTS_MD, help="where the markdown goes")
    args = parser.parse_args(argv)

    if args.fit_only:
        failed = 0
        for table in args.tables:
            for generator in args.lookalike_models:
                outcome = run_lookalike(table, generator, args.force_lookalike, args.timeout)
                print(f"  {table}/{generator}: {outcome['status']} {outcome.get('error', '')}", flush=True)
                failed += outcome["status"] != "ok"
        return 1 if failed else 0

    evaluate = load_evaluate()
    evaluate_fingerprint = _source_fingerprint(Path(sys.modules[evaluate.__module__].__file__).resolve().parent)
    peer_status_path = datasets.CACHE_DIR / "run_peers_status.json"
    peer_status = json.loads(peer_status_path.read_text()) if peer_status_path.exists() else {}

    sections, all_runs, summary = [], [], {}
    for table in args.tables:
        print(f"[{table}]", flush=True)
        train, holdout, meta = datasets.load(table)
        problems: dict[str, str] = {}
        if not args.no_lookalike:
            for generator in args.lookalike_models:
                outcome = run_lookalike(table, generator, args.force_lookalike, args.timeout)
                if outcome["status"] != "ok":
                    problems[generator] = f"{outcome['status']}: {outcome['error']}"
                    print(f"  {generator}: {problems[generator]}", flush=True)
        make_independent_marginals(table, train)

        results = {}
        for generator in ROW_ORDER:
            if args.no_lookalike and generator in LOOKALIKE_MODELS:
                continue
            folder = datasets.table_dir(table)
            csv_path, json_path = folder / f"{generator}.csv", folder / f"{generator}.json"
            if not (csv_path.exists() and json_path.exists()):
                if generator in PEERS:
                    status = peer_status.get(f"{table}/{generator}", {})
                    err = status.get("error")
                    problems[generator] = (f"run_peers.py failed: {' | '.join(err) if isinstance(err, list) else err}"
                                           if status.get("status") == "failed" else "not run yet: no cached output; run benchmarks/run_peers.py")
                continue
            run = json.loads(json_path.read_text())
            try:
                metrics = judge(evaluate, table, generator, train, holdout, meta, evaluate_fingerprint, args.force_judge)
            except Exception as exc:  # one bad output must not sink the whole report
                problems[generator] = f"evaluate failed: {type(exc).__name__}: {exc}"
                print(f"  {generator}: {problems[generator]}", flush=True)
                continue
            results[generator] = {"run": run, "metrics": metrics}
            if run.get("machine"):
                all_runs.append(run)
        shape = {"train": train.shape, "holdout": holdout.shape}
        sections.append(table_markdown(table, meta, shape, results, problems))
        summary[table] = {"meta": meta, "results": results, "problems": problems}

    text = ("# Benchmark results: lookalike against its peers on real tables\n\n"
            "Made by `benchmarks/compare.py` (see benchmarks/README.md to reproduce). "
            + machine_markdown(all_runs) + "\n" + LEGEND + "\n" + "\n".join(sections))
    args.out.write_text(text + _kept_sections(args.out))
    (datasets.CACHE_DIR / "results.json").write_text(json.dumps(summary, indent=2, default=_plain))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
