"""Fit every peer generator on every benchmark table and seed, one job at a time, and cache what they produce.

Each peer runs in its own virtualenv (built by benchmarks/peers/setup_peers.sh) as a subprocess that reads
benchmarks/.cache/<table>/seed<S>/train.csv (the split made with seed S) and writes <generator>.csv (synthetic
rows, as many as train) and <generator>.json (fit seconds, sample seconds, peak RSS, versions, machine load)
there; the generator is seeded with the same S. Jobs run strictly one after another, and every timed job
(peers here, lookalike's fits in compare.py) holds one lock file, so two timed jobs never overlap even when
both scripts run: the machine has 2 cores, and parallel jobs would distort every timing. It is also shared
with other work, so each JSON records the load average at its start; treat the timings as noisy.

    python benchmarks/run_peers.py                       # all tables x seeds 1-3 x all peers, skipping cached ones
    python benchmarks/run_peers.py --tables credit_data --peers tabular_argn --seeds 2 --force
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402

PEERS_DIR = Path(__file__).resolve().parent / "peers"
VENV_ROOT = Path(os.environ.get("PEER_VENV_ROOT", "/work/venvs"))
LOCK_PATH = datasets.CACHE_DIR / "timed_job.lock"


@contextlib.contextmanager
def timed_job_lock():
    """Hold the one lock every timed generator job takes (here and in compare.py), so timings never overlap.

    After releasing it, a short pause lets a job waiting in the other script take its turn. To run a batch of
    timed jobs without peers slipping in between, hold the lock outside and say so:
    ``BENCH_LOCK_HELD=1 flock benchmarks/.cache/timed_job.lock python benchmarks/compare.py --fit-only``."""
    if os.environ.get("BENCH_LOCK_HELD") == "1":
        yield
        return
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_PATH, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    time.sleep(2.0)


def job_environment() -> dict:
    """The environment every generator process gets (peers and lookalike alike).

    OMP_WAIT_POLICY=PASSIVE: torch's OpenMP threads otherwise spin at every barrier; on a shared 2-core machine
    a spinning thread steals the core its partner needs, and a small torch training loop measured here ran
    ~100x slower in wall time (120 s vs 0.9 s, 2 threads, load ~8). It changes no model setting or thread
    count, only how idle threads wait. An explicit value in the caller's environment wins."""
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


@dataclass(frozen=True)
class Peer:
    venv: str
    script: str
    label: str
    needs_workdir: bool = False


# Run order: the quick copula first, then TabularARGN (the peer to beat), then the slow SDV networks; jobs go
# peer by peer, and within a peer seed by seed over all tables (seed 1 on every table, then seed 2, ...), so an
# interrupted run still has the most useful results.
PEERS: dict[str, Peer] = {
    "sdv_gaussian_copula": Peer("sdv", "run_sdv.py", "SDV GaussianCopula"),
    "tabular_argn": Peer("mostly", "run_mostly.py", "TabularARGN", needs_workdir=True),
    "sdv_tvae": Peer("sdv", "run_sdv.py", "SDV TVAE"),
    "sdv_ctgan": Peer("sdv", "run_sdv.py", "SDV CTGAN"),
}


def outputs(table: str, seed: int, generator: str) -> tuple[Path, Path]:
    folder = datasets.table_dir(table, seed)
    return folder / f"{generator}.csv", folder / f"{generator}.json"


def is_cached(table: str, seed: int, generator: str) -> bool:
    csv_path, json_path = outputs(table, seed, generator)
    return csv_path.exists() and json_path.exists()


def run_one(table: str, seed: int, generator: str, timeout_s: float | None) -> dict:
    """Run one peer on one table split with `seed`, seeded with `seed`, in its own venv; return a small status
    record (never raises)."""
    peer = PEERS[generator]
    python = VENV_ROOT / peer.venv / "bin" / "python"
    if not python.exists():
        return {"status": "missing-venv", "error": f"{python} not found; run benchmarks/peers/setup_peers.sh"}
    train_path, _ = datasets.prepare(table, seed)
    csv_path, json_path = outputs(table, seed, generator)
    log_path = csv_path.with_suffix(".log")
    command = [str(python), str(PEERS_DIR / peer.script), "--train", str(train_path), "--generator", generator,
               "--out-csv", str(csv_path), "--out-json", str(json_path), "--seed", str(seed)]
    workdir = None
    if peer.needs_workdir:
        workdir = datasets.table_dir(table, seed) / f"{generator}.workspace"
        shutil.rmtree(workdir, ignore_errors=True)  # a stale workspace would leak an old model into this run
        command += ["--workdir", str(workdir)]
    with timed_job_lock():
        started = time.perf_counter()
        with open(log_path, "w") as log:
            try:
                proc = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s,
                                      cwd=PEERS_DIR, env=job_environment())
                code = proc.returncode
            except subprocess.TimeoutExpired:
                code = "timeout"
        wall = time.perf_counter() - started
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)
    if code == 0 and json_path.exists():
        return {"status": "ok", "wall_s": round(wall, 1), **_summary(json_path)}
    tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
    return {"status": "failed", "exit": code, "wall_s": round(wall, 1), "log": str(log_path), "error": tail}


def _summary(json_path: Path) -> dict:
    record = json.loads(json_path.read_text())
    return {key: record.get(key) for key in ("fit_s", "fit_cpu_s", "sample_s", "sample_rows_per_s", "peak_rss_mb")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=datasets.names(), choices=datasets.names())
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(datasets.SEEDS),
                        help="split seed = generator seed (default 1 2 3; 42 is the split lookalike was tuned on)")
    parser.add_argument("--force", action="store_true", help="re-run jobs whose outputs are already cached")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before one job is stopped")
    args = parser.parse_args(argv)

    status_path = datasets.CACHE_DIR / "run_peers_status.json"
    status = json.loads(status_path.read_text()) if status_path.exists() else {}
    failures = 0
    order = [g for g in PEERS if g in args.peers]
    jobs = [(generator, seed, table) for generator in order for seed in args.seeds for table in args.tables]
    for generator, seed, table in jobs:
        key = f"{table}/seed{seed}/{generator}"
        if is_cached(table, seed, generator) and not args.force:
            print(f"[cached] {key}", flush=True)
            continue
        print(f"[run]    {key} ...", flush=True)
        result = run_one(table, seed, generator, args.timeout)
        result["at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        status[key] = result
        status_path.parent.mkdir(parents=True, exist_ok=True)
        status_path.write_text(json.dumps(status, indent=2))
        if result["status"] == "ok":
            print(f"[ok]     {key}: fit {result['fit_s']} s (cpu {result['fit_cpu_s']} s), sample {result['sample_rows_per_s']} rows/s, "
                  f"peak {result['peak_rss_mb']} MB", flush=True)
        else:
            failures += 1
            print(f"[FAILED] {key}: {result.get('error')}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
