"""Shared bits for the peer runners: they run inside the peers' own virtualenvs, so this file must use only
the standard library (psutil when present) and never import lookalike."""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path


def parse_args(description: str, generators: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--train", required=True, type=Path, help="training CSV (as written by benchmarks/datasets.py)")
    parser.add_argument("--generator", required=True, choices=generators, help="which peer model to fit")
    parser.add_argument("--out-csv", required=True, type=Path, help="where the synthetic CSV goes")
    parser.add_argument("--out-json", required=True, type=Path, help="where the timing/memory JSON goes")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder for peers that need one")
    parser.add_argument("--seed", type=int, default=0, help="global RNG seed (does not change model settings)")
    return parser.parse_args()


class TreeMemorySampler:
    """Samples the summed RSS of this process and all its descendants in a background thread.

    Peers start worker pools (SDV through joblib/loky, mostlyai-engine for analyze/encode) whose memory
    ru_maxrss misses while they are alive, so the peak of the whole process tree is sampled instead."""

    def __init__(self, interval_s: float = 0.2):
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "TreeMemorySampler":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


SAMPLER = TreeMemorySampler().start()


def peak_rss_mb() -> float:
    """Peak resident memory (MiB): the larger of the sampled process-tree peak and ru_maxrss (KiB on
    Linux) of this process or of its largest reaped child."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own * 1024, children * 1024, SAMPLER.peak_bytes) / 2**20


def machine_note() -> dict:
    try:
        load1, load5, _ = os.getloadavg()
    except OSError:
        load1 = load5 = None
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_1m_at_start": load1,
        "loadavg_5m_at_start": load5,
    }


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Stopwatch:
    """Wall seconds and CPU seconds (this process plus reaped children) of a block.

    On a shared machine wall time grows with other people's load; CPU time much less so, so both are kept."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.cpu_start = _cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = _cpu_seconds() - self.cpu_start
        return False


def write_outputs(args: argparse.Namespace, synthetic, fit: Stopwatch, sample: Stopwatch, versions: dict,
                  extra: dict | None = None, started: dict | None = None) -> None:
    """Write the synthetic CSV and the JSON record atomically (temp file then rename)."""
    args.out_csv.parent.mkdir(parents=True, exist_ok=True)
    tmp_csv = args.out_csv.with_name(args.out_csv.name + ".tmp")
    synthetic.to_csv(tmp_csv, index=False)
    record = {
        "generator": args.generator,
        "train_csv": str(args.train),
        "rows_synthetic": int(len(synthetic)),
        "fit_s": round(fit.seconds, 3),
        "fit_cpu_s": round(fit.cpu_seconds, 3),
        "sample_s": round(sample.seconds, 3),
        "sample_cpu_s": round(sample.cpu_seconds, 3),
        "sample_rows_per_s": round(len(synthetic) / sample.seconds, 1) if sample.seconds > 0 else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "versions": versions,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "loadavg_1m_at_end": os.getloadavg()[0],
        "machine": started or machine_note(),
        "argv": sys.argv,
    }
    record.update(extra or {})
    tmp_json = args.out_json.with_name(args.out_json.name + ".tmp")
    tmp_json.write_text(json.dumps(record, indent=2))
    tmp_csv.replace(args.out_csv)
    tmp_json.replace(args.out_json)
