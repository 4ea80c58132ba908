"""Fit one peer's sequence model on an event table and sample as many entities as it trained on.

Runs INSIDE the peer's virtualenv, started by benchmarks/sequences.py:
    /work/venvs/sdv/bin/python benchmarks/peers/run_sequence_peer.py --train T.csv --generator sdv_par \
        --entity person --order year --out-csv S.csv --out-json S.json --seed 1 [--epochs 20]
    /work/venvs/mostly/bin/python benchmarks/peers/run_sequence_peer.py --train T.csv --generator mostly_sequential \
        --entity person --order year --workdir W --out-csv S.csv --out-json S.json --seed 1 [--max-minutes 1]

sdv_par: SDV's PARSynthesizer, metadata detected from the dataframe, then the entity column set as sequence key
and the order column as sequence index (SDV's documented sequential setup); no context columns; all settings
default except ``epochs`` (bounded so the run fits the shared machine). mostly_sequential: mostlyai-engine's
sequential model, the events as the target table (rows sorted by entity and order) and the entity table (the
distinct entity ids) as context, ``split(tgt_data=events, ctx_data=entities, tgt_context_key=entity,
ctx_primary_key=entity)`` -> analyze -> encode -> train(max_training_time) -> generate(ctx_data=new entity ids);
all settings default except max_training_time. Fit seconds cover everything before sampling, wall and CPU
(this process plus its reaped children). Uses only pandas, the peer and the standard library.
"""
from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from _measure import Stopwatch, machine_note, write_outputs


def fit_sample_par(train: pd.DataFrame, entity: str, order: str, seed: int, epochs: int):
    import sdv
    import torch
    from sdv.metadata import Metadata
    from sdv.sequential import PARSynthesizer

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    n = train[entity].nunique()
    with Stopwatch() as fit:
        metadata = Metadata.detect_from_dataframes({"events": train})
        metadata.update_column(entity, sdtype="id", table_name="events")
        if not pd.api.types.is_datetime64_any_dtype(train[order]):  # a small int index is detected as categorical
            metadata.update_column(order, sdtype="numerical", table_name="events")
        metadata.set_sequence_key(entity, table_name="events")
        metadata.set_sequence_index(order, table_name="events")
        model = PARSynthesizer(metadata, epochs=epochs, cuda=False)
        model.fit({"events": train})
    with Stopwatch() as sample:
        fake = model.sample_sequences(num_sequences=n)
        if isinstance(fake, dict):
            (fake,) = fake.values()
    return fake, fit, sample, {"sdv": sdv.__version__, "torch": torch.__version__,
                               "torch_threads": torch.get_num_threads()}, {"epochs": epochs}


def fit_sample_mostly(train: pd.DataFrame, entity: str, order: str, seed: int, max_minutes: float, workdir: Path):
    from importlib.metadata import version

    from mostlyai import engine

    engine.init_logging()
    shutil.rmtree(workdir, ignore_errors=True)
    events = train.sort_values([entity, order], kind="stable").reset_index(drop=True)
    entities = pd.DataFrame({entity: events[entity].drop_duplicates().to_numpy()})
    engine.set_random_state(seed)
    with Stopwatch() as fit:
        engine.split(tgt_data=events, ctx_data=entities, tgt_context_key=entity, ctx_primary_key=entity,
                     workspace_dir=workdir)
        engine.analyze(workspace_dir=workdir)
        engine.encode(workspace_dir=workdir)
        engine.train(workspace_dir=workdir, max_training_time=max_minutes)
    with Stopwatch() as sample:
        new_ids = pd.DataFrame({entity: [f"syn{i}" for i in range(len(entities))]})
        engine.generate(ctx_data=new_ids, workspace_dir=workdir)
        fake = pd.read_parquet(workdir / "SyntheticData")
    shutil.rmtree(workdir, ignore_errors=True)
    return fake, fit, sample, {"mostlyai-engine": version("mostlyai-engine")}, {"max_training_minutes": max_minutes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, type=Path)
    ap.add_argument("--generator", required=True, choices=["sdv_par", "mostly_sequential"])
    ap.add_argument("--entity", required=True)
    ap.add_argument("--order", required=True)
    ap.add_argument("--datetime", default="", help="comma-separated columns to parse as datetimes")
    ap.add_argument("--out-csv", required=True, type=Path)
    ap.add_argument("--out-json", required=True, type=Path)
    ap.add_argument("--workdir", type=Path, default=Path("mostly-seq-ws"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=20, help="PAR epochs (SDV default 128)")
    ap.add_argument("--max-minutes", type=float, default=1.0, help="mostlyai-engine max_training_time")
    args = ap.parse_args()
    started = machine_note()
    train = pd.read_csv(args.train)
    for col in filter(None, args.datetime.split(",")):
        train[col] = pd.to_datetime(train[col])
    if args.generator == "sdv_par":
        fake, fit, sample, versions, extra = fit_sample_par(train, args.entity, args.order, args.seed, args.epochs)
    else:
        fake, fit, sample, versions, extra = fit_sample_mostly(train, args.entity, args.order, args.seed,
                                                               args.max_minutes, args.workdir)
    write_outputs(args, fake, fit, sample, {**versions, "pandas": pd.__version__},
                  extra={**extra, "rows_train": len(train), "entities_train": int(train[args.entity].nunique()),
                         "entities_synthetic": int(fake[args.entity].nunique())}, started=started)


if __name__ == "__main__":
    main()
