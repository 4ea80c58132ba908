"""argn in float32 against bfloat16 matrix products on the suite's wide tables (issue 15's fit time).

Which tables: every suite table (benchmarks/suite.py's rule) whose argn context is projected, i.e. whose token
embeddings side by side are wider than ``argn.CONTEXT_WIDTH``; only those train through the matmul path that
``precision="auto"`` runs in bfloat16 (narrow tables always train in float32, so their outputs do not change).
What runs: ``Synthesizer(model="argn", seed=S, model_params={"precision": P, "n_threads": 1})`` on the suite's
70/30 split of seed S, for P in float32 and bfloat16, one after the other in one process; one torch thread, so
that CPU seconds measure the work and not the second thread's overhead. Each synthetic table goes through a
CSV round trip and is judged by ``lookalike.evaluate.evaluate`` like the suite's.

Runs are cached as JSON lines in benchmarks/argn_precision_runs.jsonl (committed), so the section is rewritten
from them; ``--force`` redoes a run.

    PYTHONPATH=src OMP_NUM_THREADS=1 nice python benchmarks/argn_precision.py --seeds 1 2
    PYTHONPATH=src python benchmarks/argn_precision.py --report-only
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import suite  # noqa: E402
from results_sections import cached_runs, record_run, spread, update_section  # noqa: E402

RUNS = HERE / "argn_precision_runs.jsonl"
PRECISIONS = ("float32", "bfloat16")
METRICS = ("dependence_capture", "discriminator_auc", "univariate_accuracy", "univariate_accuracy_holdout",
           "bivariate_accuracy", "dcr_share")


class _Encoded(Exception):
    """Raised by the stand-in fit: the encoded cardinalities are all this script needs from it."""


def projected_tables() -> list[suite.SuiteTable]:
    """Suite tables whose argn context is projected (the rule in code: the same encoding as a real fit)."""
    from lookalike import Synthesizer
    from lookalike.models import argn

    widths = {}

    def encoded_only(self, tokens, cards, groups, progress=None):
        widths["last"] = sum(argn.embedding_width(int(c)) for c in cards)
        raise _Encoded

    real_fit, argn.ARGN.fit = argn.ARGN.fit, encoded_only
    try:
        out = []
        for table in suite.select_tables():
            train_path, _ = suite.prepare(table, 1)
            try:
                Synthesizer(model="argn", seed=1).fit(pd.read_csv(train_path))
            except _Encoded:
                pass
            if widths["last"] > argn.CONTEXT_WIDTH:
                out.append(table)
        return out
    finally:
        argn.ARGN.fit = real_fit


def run(table: suite.SuiteTable, seed: int, precision: str) -> dict:
    from lookalike import Synthesizer
    from lookalike.evaluate import evaluate

    train_path, holdout_path = suite.prepare(table, seed)
    train, holdout = pd.read_csv(train_path), pd.read_csv(holdout_path)
    cpu, wall = time.process_time(), time.monotonic()
    syn = Synthesizer(model="argn", seed=seed, model_params={"precision": precision, "n_threads": 1}).fit(train)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.csv"
        syn.sample(len(train), seed=seed).to_csv(path, index=False)
        metrics = evaluate(train=train, synthetic=pd.read_csv(path), holdout=holdout, seed=0).metrics
    history = syn.model_.history_
    return {"table": table.name, "seed": seed, "precision": precision, "used": syn.model_.precision_,
            "fit_cpu": round(cpu, 1), "fit_wall": round(wall, 1), "epochs": len(history),
            "best_val": round(min(h["val_loss"] for h in history), 3), "load": round(os.getloadavg()[0], 1),
            **{k: round(metrics[k], 4) for k in METRICS if metrics.get(k) is not None}}


def section(runs: list[dict], tables: list[str]) -> str:
    halves = suite.halves(suite.select_tables())
    lines = [
        "## argn's wide tables in bfloat16 (`benchmarks/argn_precision.py`)",
        "",
        f"Written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. The suite tables whose argn context is "
        f"projected ({len(tables)} of {len(halves)}: {', '.join(tables)}) fitted at the defaults with "
        "`precision` float32 and bfloat16 (one torch thread, seed S on the suite's split of seed S, one process "
        "under nice on the shared 2-core machine; the 1-minute load average at each run's end beside it, – where the run did not record it: the runs made before the load was recorded, at loads of about 3-7 seen between runs). Only these tables "
        "change with `precision=\"auto\"`: narrower ones always train in float32. Cells: float32 → bfloat16.",
        "",
        "| table | half | seed | fit CPU s | epochs | best validation loss | dependence capture | AUC | "
        "univariate (holdout) | DCR share | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_key = {(r["table"], r["seed"], r["precision"]): r for r in runs}
    ratios = []
    for (name, seed, precision), a in sorted(by_key.items()):
        b = by_key.get((name, seed, "bfloat16"))
        if precision != "float32" or b is None:
            continue
        ratios.append(b["fit_cpu"] / a["fit_cpu"])

        def pair(key, spec=".3f"):
            x, y = a.get(key), b.get(key)
            return "–" if x is None or y is None else f"{x:{spec}} → {y:{spec}}"

        lines.append(f"| {name} | {halves.get(name, '?')} | {seed} | {pair('fit_cpu', '.1f')} | {a['epochs']} → "
                     f"{b['epochs']} | {pair('best_val')} | {pair('dependence_capture')} | "
                     f"{pair('discriminator_auc')} | {pair('univariate_accuracy')} "
                     f"({a.get('univariate_accuracy_holdout', float('nan')):.3f}) | {pair('dcr_share')} | "
                     f"{a.get('load') or '–'} / {b.get('load') or '–'} |")
    if ratios:
        lines += ["", f"bfloat16 fit CPU / float32 fit CPU: {spread(ratios, '.2f')} (mean ± half-range over the "
                  f"{len(ratios)} pairs; min {min(ratios):.2f}, max {max(ratios):.2f})."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--tables", nargs="+", help="only these (of the projected tables)")
    parser.add_argument("--force", action="store_true", help="redo cached runs")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    key = lambda r: (r["table"], r["seed"], r["precision"])  # noqa: E731
    tables = projected_tables()
    names = [t.name for t in tables]
    if not args.report_only:
        done = {key(r) for r in cached_runs(RUNS, key)}
        for table in tables:
            if args.tables and table.name not in args.tables:
                continue
            for seed in args.seeds:
                for precision in PRECISIONS:
                    if (table.name, seed, precision) in done and not args.force:
                        continue
                    result = run(table, seed, precision)
                    print(result, file=sys.stderr, flush=True)
                    record_run(RUNS, result)
    update_section("argn-precision", section(cached_runs(RUNS, key), names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
