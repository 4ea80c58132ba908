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


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of any finished worker processes it waited for (MiB).

    ru_maxrss is in KiB on Linux. Children are counted by their own peak, not summed with ours, because
    they ran at different times; this slightly under-states a peak reached while both were alive."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


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
        "loadavg_1m_at_start": load1,
        "loadavg_5m_at_start": load5,
    }


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


def write_outputs(args: argparse.Namespace, synthetic, fit_s: float, sample_s: float, versions: dict,
                  extra: dict | None = None, started: dict | None = None) -> None:
    """Write the synthetic CSV and the JSON record atomically (temp file then rename)."""
    args.out_csv.parent.mkdir(parents=True, exist_ok=True)
    tmp_csv = args.out_csv.with_name(args.out_csv.name + ".tmp")
    synthetic.to_csv(tmp_csv, index=False)
    record = {
        "generator": args.generator,
        "train_csv": str(args.train),
        "rows_synthetic": int(len(synthetic)),
        "fit_s": round(fit_s, 3),
        "sample_s": round(sample_s, 3),
        "sample_rows_per_s": round(len(synthetic) / sample_s, 1) if sample_s > 0 else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "versions": versions,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": started or machine_note(),
        "argv": sys.argv,
    }
    record.update(extra or {})
    tmp_json = args.out_json.with_name(args.out_json.name + ".tmp")
    tmp_json.write_text(json.dumps(record, indent=2))
    tmp_csv.replace(args.out_csv)
    tmp_json.replace(args.out_json)
