"""mostlyai-engine's parent-context mode on parent-child pairs. Runs INSIDE the mostly virtualenv, started by
benchmarks/relational.py:

    /work/venvs/mostly/bin/python benchmarks/peers/run_mostly_context.py IN_DIR OUT_DIR [--max-minutes M]

IN_DIR holds one CSV per table and pairs.json: {"pairs": [{"parent", "parent_key", "child", "child_key", "child_pk"}]}.
For every parent table, a flat TabularARGN (split -> analyze -> encode -> train with tgt_primary_key) is
trained once and a synthetic parent table of the same size generated. For every pair, the child table is
trained as the engine's sequential model with the real parent as context (split(tgt_data=child,
ctx_data=parent, tgt_context_key=..., ctx_primary_key=...)), then generated with the *synthetic* parent as
ctx_data: the engine decides how many children each parent gets and their values, given the parent's
columns. This is the engine's documented two-table flow. Settings are the engine's defaults (MOSTLY_AI/Medium,
value protection, early stopping) except max_training_time (--max-minutes per model), needed to fit the run
on 2 busy cores, and a limit per pair (--pair-limit, fit + generation; a pair past it is reported, not
measured). Writes OUT_DIR/<pair index>/{parent,child}.csv and OUT_DIR/timing.json (seconds per model,
wall and CPU of this process and its children). Uses only pandas, the engine and the standard library.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pandas as pd


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OutOfTime(Exception):
    pass


def _alarm(signum, frame):
    raise OutOfTime()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--max-minutes", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pair-limit", type=int, default=1200,
                    help="seconds for one pair (child fit + generation) before it is given up and reported")
    args = ap.parse_args()
    from mostlyai import engine

    engine.init_logging()
    signal.signal(signal.SIGALRM, _alarm)
    args.out.mkdir(parents=True, exist_ok=True)
    pairs = json.loads((args.src / "pairs.json").read_text())["pairs"]
    tables = {n: pd.read_csv(args.src / f"{n}.csv") for n in {p["parent"] for p in pairs} | {p["child"] for p in pairs}}
    root = Path(tempfile.mkdtemp(prefix="mostly-ctx-"))
    timing: dict = {"parents": {}, "pairs": []}
    synthetic_parents: dict[str, pd.DataFrame] = {}
    try:
        for p in pairs:
            name = p["parent"]
            if name in synthetic_parents:
                continue
            ws = root / f"parent-{name}"
            engine.set_random_state(args.seed)
            w, c = time.perf_counter(), cpu_seconds()
            engine.split(tgt_data=tables[name], tgt_primary_key=p["parent_key"], workspace_dir=ws)
            engine.analyze(workspace_dir=ws)
            engine.encode(workspace_dir=ws)
            engine.train(workspace_dir=ws, max_training_time=args.max_minutes)
            fit = {"fit_s": time.perf_counter() - w, "fit_cpu_s": cpu_seconds() - c}
            w = time.perf_counter()
            engine.generate(sample_size=len(tables[name]), workspace_dir=ws)
            synthetic_parents[name] = pd.read_parquet(ws / "SyntheticData")
            fit["sample_s"] = time.perf_counter() - w
            timing["parents"][name] = fit
            print(f"parent {name}: fit {fit['fit_s']:.0f} s", flush=True)
        for i, p in enumerate(pairs):
            ws = root / f"pair-{i}"
            parent, child = tables[p["parent"]], tables[p["child"]]
            engine.set_random_state(args.seed)
            w, c = time.perf_counter(), cpu_seconds()
            signal.alarm(args.pair_limit)
            try:
                engine.split(tgt_data=child, ctx_data=parent, tgt_context_key=p["child_key"],
                             ctx_primary_key=p["parent_key"], tgt_primary_key=p.get("child_pk"), workspace_dir=ws)
                engine.analyze(workspace_dir=ws)
                engine.encode(workspace_dir=ws)
                engine.train(workspace_dir=ws, max_training_time=args.max_minutes)
                fit = {"fit_s": time.perf_counter() - w, "fit_cpu_s": cpu_seconds() - c}
                w = time.perf_counter()
                engine.generate(ctx_data=synthetic_parents[p["parent"]], workspace_dir=ws)
                syn_child = pd.read_parquet(ws / "SyntheticData")
                fit["sample_s"] = time.perf_counter() - w
                signal.alarm(0)
            except OutOfTime:
                timing["pairs"].append({**p, "error": f"did not finish within {args.pair_limit} s (fit + generate)"})
                (args.out / "timing.json").write_text(json.dumps(timing))
                print(f"pair {p['parent']} <- {p['child']}.{p['child_key']}: out of time", flush=True)
                continue
            out = args.out / str(i)
            out.mkdir(parents=True, exist_ok=True)
            synthetic_parents[p["parent"]].to_csv(out / "parent.csv", index=False)
            syn_child.to_csv(out / "child.csv", index=False)
            timing["pairs"].append({**p, **fit})
            (args.out / "timing.json").write_text(json.dumps(timing))  # what is done survives a later failure
            print(f"pair {p['parent']} <- {p['child']}.{p['child_key']}: fit {fit['fit_s']:.0f} s", flush=True)
        (args.out / "timing.json").write_text(json.dumps(timing))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
