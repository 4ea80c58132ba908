"""Fit MOSTLY AI's TabularARGN (mostlyai-engine) once at its default settings, then generate two samples of as
many rows as train: plain, and with the engine's fairness option (``FairnessConfig``: statistical parity of
a categorical target across categorical sensitive columns).

Runs INSIDE the mostly virtualenv, started by benchmarks/fairness.py:
    /work/venvs/mostly/bin/python benchmarks/peers/run_mostly_fair.py --train T.csv --target y \
        --sensitive race --out-dir D --seed 1
Writes D/plain.csv, D/fair.csv and D/run.json (wall and CPU seconds of fit and of each sample, versions).
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd


def cpu() -> float:
    import resource

    self_, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, type=Path)
    parser.add_argument("--target", required=True)
    parser.add_argument("--sensitive", required=True, nargs="+")
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import torch
    from mostlyai import engine

    workspace = Path(tempfile.mkdtemp(prefix="mostly-fair-ws-"))
    engine.init_logging()
    engine.set_random_state(args.seed)
    train = pd.read_csv(args.train)
    record = {}
    wall, c = time.perf_counter(), cpu()
    engine.split(tgt_data=train, workspace_dir=workspace)
    engine.analyze(workspace_dir=workspace)
    engine.encode(workspace_dir=workspace)
    engine.train(workspace_dir=workspace)
    record["fit"] = {"wall_s": time.perf_counter() - wall, "cpu_s": cpu() - c}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, fairness in (("plain", None),
                           ("fair", {"target_column": args.target, "sensitive_columns": args.sensitive})):
        wall, c = time.perf_counter(), cpu()
        engine.set_random_state(args.seed)
        engine.generate(sample_size=len(train), workspace_dir=workspace, fairness=fairness)
        synthetic = pd.read_parquet(workspace / "SyntheticData")
        record[name] = {"wall_s": time.perf_counter() - wall, "cpu_s": cpu() - c}
        tmp = args.out_dir / f".{name}.csv.tmp"
        synthetic.to_csv(tmp, index=False)
        tmp.replace(args.out_dir / f"{name}.csv")
    record["versions"] = {"mostlyai-engine": engine.__version__, "torch": torch.__version__}
    (args.out_dir / "run.json").write_text(json.dumps(record, indent=2))
    shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
