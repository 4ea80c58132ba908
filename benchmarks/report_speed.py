"""Time ``evaluate`` + ``to_html`` on large tables (the target: 1,000,000 rows in under 2 minutes on 2 cores).

Run: PYTHONPATH=src python benchmarks/report_speed.py [--rows 1000000 100000] [--threads 1]
The tables are generated here (mixed numeric / categorical columns with dependence), so no data is needed.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from lookalike.evaluate import evaluate


def make_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    region = rng.choice([f"region_{i}" for i in range(30)], n)
    job = rng.choice(["clerk", "nurse", "driver", "engineer", "teacher", "farmer"], n)
    income = 20_000 + age * 400 + (job == "engineer") * 30_000 + rng.normal(0, 8_000, n)
    debt = np.maximum(0, income * rng.uniform(0, 0.5, n)).round(-2)
    score = rng.normal(600, 80, n) + (income - 40_000) / 500
    married = rng.random(n) < 0.5
    kids = rng.poisson(1.2, n)
    opened = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    default = np.where(score + rng.normal(0, 60, n) < 560, "yes", "no")
    return pd.DataFrame({"age": age, "region": region, "job": job, "income": income.round(2), "debt": debt,
                         "score": score.round(1), "married": married, "kids": kids, "opened": opened,
                         "channel": rng.choice(["web", "branch", "phone"], n, p=[0.6, 0.3, 0.1]),
                         "default": default})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="put the timings into benchmarks/RESULTS.md")
    args = parser.parse_args()
    written = []
    table = Table(title=f"evaluate() + to_html() speed ({os.cpu_count()} CPUs visible, {args.threads} thread(s))")
    for col in ("rows (train = synthetic)", "holdout rows", "columns", "make data s", "evaluate s", "to_html s",
                "total s", "under 2 min", "verdict", "dependence capture"):
        table.add_column(col, justify="right")
    for n in args.rows:
        t0 = time.perf_counter()
        train, synth, holdout = make_table(n, 0), make_table(n, 1), make_table(max(n // 5, 100), 2)
        t1 = time.perf_counter()
        report = evaluate(train, synth, holdout, target="default", sensitive="job", seed=0, n_threads=args.threads)
        t2 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            report.to_html(os.path.join(d, "report.html"))
        t3 = time.perf_counter()
        total = t3 - t1
        written.append((f"{n:,}", f"{len(holdout):,}", train.shape[1], f"{t2 - t1:.1f}", f"{t3 - t2:.1f}", f"{total:.1f}"))
        table.add_row(f"{n:,}", f"{len(holdout):,}", str(train.shape[1]), f"{t1 - t0:.1f}", f"{t2 - t1:.1f}",
                      f"{t3 - t2:.1f}", f"{total:.1f}", "yes" if total < 120 else "NO",
                      report.metrics["privacy_verdict"], f"{report.metrics['dependence_capture']:.2f}")
    Console(width=160).print(table)
    if args.write:
        import sys
        from pathlib import Path

        here = Path(__file__).resolve().parent
        sys.path.insert(0, str(here))
        from results_sections import update_section

        rows = "\n".join(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} |" for r in written)
        update_section("report-speed", (
            "## Report speed (issue 4)\n\n"
            f"`benchmarks/report_speed.py --write`, {time.strftime('%Y-%m-%d')}, 2 CPU cores (shared; 1-minute load "
            f"{os.getloadavg()[0]:.1f} at the end). Tables above 50,000 rows are sampled (seeded), and the report "
            "says so.\n\n| rows (train = synthetic) | holdout rows | columns | evaluate s | to_html s | total s |\n"
            "|---|---|---|---|---|---|\n" + rows + "\n"), path=here / "RESULTS.md")


if __name__ == "__main__":
    main()
