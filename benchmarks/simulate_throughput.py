"""Throughput of the simulators: fake-data rows per minute (10-column spec) and AML transactions per second.

Run:  PYTHONPATH=src python benchmarks/simulate_throughput.py [--fake-rows 1000000] [--aml-accounts 100000 --aml-days 112]
Prints a Markdown table and, with --write, puts it into benchmarks/RESULTS.md (section "throughput").
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import yaml

from lookalike.simulate.aml import AMLSimulator
from lookalike.simulate.fake import generate, write_tables

TEN_COLUMNS = """
tables:
  customers:
    columns:
      customer_id: {dist: sequence, prefix: "C", width: 8}
      name: {faker: name}
      email: {faker: email, unique: true}
      age: {dist: normal, mean: 42, sd: 13, min: 18, max: 95, round: 0}
      income:
        cases:
          - {when: "age < 30", dist: lognormal, mu: 10.2, sigma: 0.4}
          - {dist: lognormal, mu: 10.8, sigma: 0.5}
      segment: {dist: categorical, values: {retail: 0.7, premium: 0.25, private: 0.05}}
      joined: {dist: date, start: 2015-01-01, end: 2024-12-31, null_rate: 0.05}
      n_products: {dist: poisson, lam: 2.5}
      score: {expr: "clip(300 + income / 200 + normal(0, 40), 300, 850)", round: 0}
      churned: {dist: bernoulli, p: 0.12}
    correlation:
      columns: [age, income, n_products]
      matrix: [[1, 0.4, 0.2], [0.4, 1, 0.3], [0.2, 0.3, 1]]
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_fake(rows: int) -> dict:
    spec = yaml.safe_load(TEN_COLUMNS)
    t0 = time.perf_counter()
    tables = generate(spec, rows, seed=1)
    t_gen = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_tables(tables, Path(tmp) / "customers.parquet")
        t_write = time.perf_counter() - t0
    total = t_gen + t_write
    return {"rows": rows, "generate_s": t_gen, "write_s": t_write, "rows_per_min": rows / total * 60}


def bench_aml(accounts: int, days: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        count = [0]
        t0 = time.perf_counter()
        paths = AMLSimulator(accounts, days, seed=1).write(Path(tmp) / "aml",
                                                          on_day=lambda d, n: count.__setitem__(0, count[0] + n))
        elapsed = time.perf_counter() - t0
        size = paths["transactions"].stat().st_size / 2 ** 20
    return {"accounts": accounts, "days": days, "transactions": count[0], "seconds": elapsed,
            "per_second": count[0] / elapsed, "parquet_mb": size}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fake-rows", type=int, default=1_000_000)
    ap.add_argument("--aml-accounts", type=int, default=100_000)
    ap.add_argument("--aml-days", type=int, default=112)
    ap.add_argument("--write", action="store_true", help="put the results into benchmarks/RESULTS.md")
    args = ap.parse_args()
    aml = bench_aml(args.aml_accounts, args.aml_days)  # first, so that the peak RSS is the simulator's own
    rss = peak_rss_mb()
    fake = bench_fake(args.fake_rows)
    rss_fake = peak_rss_mb()
    lines = [
        "## Throughput",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs), "
        f"Python {platform.python_version()}. Single process.",
        "",
        "| workload | size | time | throughput | peak RSS |",
        "| --- | --- | --- | --- | --- |",
        f"| `lookalike fake`, 10-column spec (Faker x2, copula over 3 columns, conditional, expression, nulls) "
        f"| {fake['rows']:,} rows | generate {fake['generate_s']:.1f} s + write Parquet {fake['write_s']:.1f} s "
        f"| **{fake['rows_per_min']:,.0f} rows/minute** | {rss_fake:,.0f} MB (max of both runs) |",
        f"| `lookalike simulate aml` | {aml['accounts']:,} accounts x {aml['days']} days = "
        f"{aml['transactions']:,} transactions ({aml['parquet_mb']:,.0f} MB Parquet) | {aml['seconds']:.1f} s "
        f"| **{aml['per_second']:,.0f} transactions/s** | {rss:,.0f} MB |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        from results_sections import update_section

        update_section("throughput", text)


if __name__ == "__main__":
    main()
