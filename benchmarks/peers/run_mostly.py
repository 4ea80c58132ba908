"""Fit MOSTLY AI's TabularARGN (mostlyai-engine) at its default settings and sample as many rows as train.

Runs INSIDE the mostly virtualenv (see setup_peers.sh), started by benchmarks/run_peers.py:
    /work/venvs/mostly/bin/python benchmarks/peers/run_mostly.py --train T.csv --generator tabular_argn \
        --out-csv S.csv --out-json S.json --workdir WS
It follows the engine's documented workspace flow: split -> analyze -> encode -> train -> generate. Every
step keeps its defaults (model MOSTLY_AI/Medium, value protection on, up to 100 epochs with early stopping on
the engine's own 80/20 validation split). Fit time counts split+analyze+encode+train; sample time counts
generate plus reading the generated Parquet back.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

from _measure import Stopwatch, machine_note, parse_args, write_outputs


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], ["tabular_argn"])
    started = machine_note()
    import torch
    from mostlyai import engine

    workspace = args.workdir or Path(tempfile.mkdtemp(prefix="mostly-ws-"))
    shutil.rmtree(workspace, ignore_errors=True)  # never train on top of an old model
    workspace.mkdir(parents=True)
    engine.init_logging()
    engine.set_random_state(args.seed)

    train = pd.read_csv(args.train)
    steps = {}
    with Stopwatch() as fit_clock:
        for name, step in (
            ("split", lambda: engine.split(tgt_data=train, workspace_dir=workspace)),
            ("analyze", lambda: engine.analyze(workspace_dir=workspace)),
            ("encode", lambda: engine.encode(workspace_dir=workspace)),
            ("train", lambda: engine.train(workspace_dir=workspace)),
        ):
            with Stopwatch() as clock:
                step()
            steps[f"{name}_s"] = round(clock.seconds, 3)
    with Stopwatch() as sample_clock:
        engine.generate(sample_size=len(train), workspace_dir=workspace)
        synthetic = pd.read_parquet(workspace / "SyntheticData")
    versions = {"mostlyai-engine": engine.__version__, "torch": torch.__version__, "pandas": pd.__version__,
                "torch_threads": torch.get_num_threads()}
    write_outputs(args, synthetic, fit_clock, sample_clock, versions,
                  extra={"peer_class": "TabularARGN (split/analyze/encode/train/generate)",
                         "rows_train": len(train), "steps": steps}, started=started)
    if args.workdir is None:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
