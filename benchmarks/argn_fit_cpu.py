"""argn's fit CPU at two git revisions, paired: each table's fit at one revision, then at the other, in fresh
processes, so both see about the same machine load; writes RESULTS.md's section *argn-fit-cpu*.

    python benchmarks/argn_fit_cpu.py --before a04e6d8 --after 5271be0 --tables Ecdat.Benefits ... [--seeds 1]
        [--section NAME --title TEXT]  (another RESULTS.md section, so a new comparison leaves the published one alone)

Each fit is ``Synthesizer(model="argn", seed=s).fit(train)`` on the suite's seed-1 training split (the suite
must have written it: benchmarks/.cache/suite/TABLE/seed1/train.csv), at one torch thread, under nice; torch is
imported before the clock starts, as in the suite (runs recorded before 2026-11-30 23:00 UTC counted its import). A change
of the training's random stream changes where early stopping ends a fit, so the figure that compares code is
CPU seconds per epoch; total fit CPU and epochs are shown beside it. Runs are kept in argn_fit_cpu_runs.jsonl.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from results_sections import cached_runs, record_run, spread, update_section
from timed_fit import TIMED_ARGN_FIT

HERE = Path(__file__).resolve().parent
RUNS = HERE / "argn_fit_cpu_runs.jsonl"
SECTION = "argn-fit-cpu"
TITLE = "argn's fit CPU at two revisions, paired"

WORKER = r"""
import json, os, resource, sys
import pandas as pd
import torch  # imported before the clock, as the suite's runner (peers/run_lookalike.py) does
from lookalike import Synthesizer
from lookalike.models.argn import ARGN
table, seed, train = sys.argv[1], int(sys.argv[2]), sys.argv[3]
max_epochs = int(sys.argv[4]) if len(sys.argv) > 4 else None
df = pd.read_csv(train)
""" + TIMED_ARGN_FIT.lstrip("\n") + r"""start = cpu()
syn = Synthesizer(model="argn", seed=seed, **({"max_epochs": max_epochs} if max_epochs else {})).fit(df)
spent = cpu() - start
h = syn.model_.history_
print(json.dumps({"fit_cpu": round(spent, 2), "train_cpu": round(sum(training), 2), "epochs": len(h),
                  "cpu_per_epoch": round(sum(training) / len(h), 4),
                  "best_val": round(min(x["val_loss"] for x in h), 4), "load_end": round(os.getloadavg()[0], 2)}))
"""


def source_tree(rev: str, into: Path) -> Path:
    """``src`` of git revision ``rev``, unpacked under ``into``."""
    out = into / rev
    out.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=HERE.parent, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def fit_once(src: Path, table: str, seed: int, max_epochs: int | None = None) -> dict:
    train = HERE / ".cache" / "suite" / table / "seed1" / "train.csv"
    if not train.exists():
        raise SystemExit(f"{train} is missing: run benchmarks/suite.py on {table} first")
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1")
    load = os.getloadavg()[0]
    done = subprocess.run(["nice", "-n", "5", sys.executable, "-c", WORKER, table, str(seed), str(train),
                           *([str(max_epochs)] if max_epochs else [])], env=env,
                          check=True, capture_output=True, text=True)
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load_start": round(load, 2)}


def _key(r: dict) -> tuple:
    return r["rev"], r["table"], r["seed"], r.get("max_epochs")


def report(before: str, after: str, max_epochs: int | None = None, title: str = TITLE) -> str:
    runs = [r for r in cached_runs(RUNS, _key) if r["rev"] in (before, after) and r.get("max_epochs") == max_epochs]
    tables = sorted({r["table"] for r in runs})
    lines = [
        f"## {title} (`benchmarks/argn_fit_cpu.py`)",
        "",
        f"`{before}` (before) against `{after}` (after): each table's fit at one revision, then at the other, in "
        "fresh processes with OMP_NUM_THREADS=1 under nice (argn still picks its own torch threads: one for "
        "batches under 512 rows or narrow tables, the machine's two cores for a projected table's larger "
        "batches), on the suite's seed-1 training split"
        + (f", each fit stopped after {max_epochs} epochs" if max_epochs else "") + ", on the shared "
        "2-core machine (1-minute load at each fit's start and end in the last column). A change of the "
        "training's random stream moves where early stopping ends a fit, so CPU seconds per epoch compare the "
        "code (the network's training only, from entering ``ARGN.fit`` to leaving it, over its epochs; runs "
        "recorded before that split was made divide the whole fit); total fit CPU (analysis, rules, encoding "
        "and training), epochs and the best validation loss are shown beside them. Cells: mean ± "
        "half-range over the seeds run.",
        "",
        "| table | seeds | CPU s per epoch: before | after | after / before | fit CPU s: before | after | epochs: before "
        "| after | best validation loss: before | after | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios, whole = [], []
    for t in tables:
        b = sorted((r for r in runs if r["table"] == t and r["rev"] == before), key=lambda r: r["seed"])
        a = sorted((r for r in runs if r["table"] == t and r["rev"] == after), key=lambda r: r["seed"])
        seeds = sorted({r["seed"] for r in b} & {r["seed"] for r in a})
        b, a = [r for r in b if r["seed"] in seeds], [r for r in a if r["seed"] in seeds]
        if not seeds:
            continue
        ratio = [y["cpu_per_epoch"] / x["cpu_per_epoch"] for x, y in zip(b, a)]
        ratios += ratio
        whole += [y["fit_cpu"] / x["fit_cpu"] for x, y in zip(b, a)]
        loads = [v for r in b + a for v in (r["load_start"], r["load_end"])]
        lines.append(
            f"| {t} | {', '.join(map(str, seeds))} | {spread([r['cpu_per_epoch'] for r in b])} | "
            f"{spread([r['cpu_per_epoch'] for r in a])} | {spread(ratio, '.2f')} | "
            f"{spread([r['fit_cpu'] for r in b], '.1f')} | {spread([r['fit_cpu'] for r in a], '.1f')} | "
            f"{spread([r['epochs'] for r in b], '.1f')} | {spread([r['epochs'] for r in a], '.1f')} | "
            f"{spread([r['best_val'] for r in b], '.4f')} | {spread([r['best_val'] for r in a], '.4f')} | "
            f"{min(loads):.1f}-{max(loads):.1f} |")
    if ratios:
        ratios.sort()
        whole.sort()
        lines += ["", f"Over {len(ratios)} paired fits, CPU per epoch after / before: median "
                      f"{ratios[len(ratios) // 2]:.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f}; whole-fit CPU after / "
                      f"before: median {whole[len(whole) // 2]:.2f}, range {whole[0]:.2f}-{whole[-1]:.2f}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--tables", nargs="+", default=[])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--max-epochs", type=int, default=None, help="stop every fit after this many epochs")
    parser.add_argument("--section", default=SECTION, help="the RESULTS.md section to write (a new name per study)")
    parser.add_argument("--note", default="", help="a paragraph under the table (what changed, what was not run)")
    parser.add_argument("--title", default=TITLE, help="that section's heading")
    args = parser.parse_args()
    done = {_key(r) for r in cached_runs(RUNS, _key)}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {rev: source_tree(rev, Path(tmp)) for rev in (args.before, args.after)}
        for table in args.tables:
            for seed in args.seeds:
                for rev in (args.before, args.after):
                    if (rev, table, seed, args.max_epochs) in done:
                        continue
                    run = {"rev": rev, "table": table, "seed": seed, **fit_once(trees[rev], table, seed, args.max_epochs)}
                    if args.max_epochs:
                        run["max_epochs"] = args.max_epochs
                    record_run(RUNS, run)
                    print(json.dumps(run), flush=True)
    text = report(args.before, args.after, args.max_epochs, args.title)
    update_section(args.section, text + ("\n\n" + args.note if args.note else ""))
    print(text)


if __name__ == "__main__":
    main()
