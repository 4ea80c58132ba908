"""How fit CPU time grows with the number of columns (issue 15): rule detection, and argn's network per epoch.

Three measurements on seeded, generated tables (no real data is needed to count operations; the suite measures
the real tables):

- rule detection (``lookalike.rules.detect_rules``) on 10,000 rows of 10-100 numeric columns, half of them
  heaped to hundreds, with one planted sum, in CPU seconds;
- argn's fit for exactly 2 epochs on 4,000 rows of 10-100 columns (a third categorical, the rest numbers), in
  CPU seconds of the whole fit, seeds 1-3 (table and generator): the network's cost per epoch, without early
  stopping's varying epoch count;
- with ``--wide-fit``: one fit at the defaults (early stopping) of 10,000 rows x 100 columns, CPU and wall seconds
  (issue 15 asks for under 2 minutes on 2 cores); ``--wide-fit-only`` measures only that fit (seeds ``--seeds``)
  and writes it to its own section, ``column-scaling-wide-fit``.

With ``--baseline-src DIR`` the first two are also measured for another source tree (e.g. main before a change),
in a subprocess, so the table shows both. CPU seconds (process time of all threads, plus children), because the
machine is shared and wall time says little. Writes the ``column-scaling`` section of benchmarks/RESULTS.md and
benchmarks/column_scaling.png.

    OMP_WAIT_POLICY=PASSIVE PYTHONPATH=src python benchmarks/column_scaling.py [--baseline-src /work/main/src] [--wide-fit]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_sections import spread, update_section  # noqa: E402

RULE_COLUMNS = (10, 25, 50, 100)
ARGN_COLUMNS = (10, 20, 40, 80, 100)
SEEDS = (1, 2, 3)
PLOT = HERE / "column_scaling.png"


def rules_table(n_cols: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    for j in range(n_cols):
        base = rng.gamma(2, 1000, 10_000)
        cols[f"c{j}"] = np.round(base, 2) if j % 2 else np.round(base / 100) * 100
    cols["c_sum"] = cols["c0"] + cols["c2"]
    return pd.DataFrame(cols)


def argn_table(n_cols: int, seed: int = 1, rows: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    for j in range(n_cols):
        if j % 3 == 0:
            cols[f"c{j}"] = rng.choice(list("abcdef"), rows)
        else:
            cols[f"n{j}"] = np.round(rng.gamma(2, 1000, rows), 0 if j % 2 else 2)
    return pd.DataFrame(cols)


def cpu_seconds() -> float:
    """Process time of this process and its finished children (all threads)."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def time_rules() -> dict[int, float]:
    from lookalike.rules import detect_rules
    from lookalike.schema.infer import infer_schema

    out = {}
    for n_cols in RULE_COLUMNS:
        df = rules_table(n_cols)
        schema = infer_schema(df, detect_rules=False)
        start = time.process_time()
        detect_rules(df, schema)
        out[n_cols] = time.process_time() - start
    return out


def time_argn(seeds) -> dict[int, tuple[int, list[float]]]:
    """columns -> (sub-columns, fit CPU seconds per seed) for a 2-epoch fit on 4,000 rows."""
    from lookalike import Synthesizer

    # warm-up: the first fit of a process imports torch's optimiser machinery (seconds of CPU), not a column cost
    Synthesizer(model="argn", seed=1, max_epochs=1).fit(argn_table(3, 1, rows=200))
    out = {}
    for n_cols in ARGN_COLUMNS:
        times = []
        for seed in seeds:
            df = argn_table(n_cols, seed)
            start = cpu_seconds()
            syn = Synthesizer(model="argn", seed=seed, max_epochs=2).fit(df)
            times.append(cpu_seconds() - start)
            print(f"argn {n_cols} columns, seed {seed}: {times[-1]:.1f} CPU s", file=sys.stderr, flush=True)
        out[n_cols] = (len(syn.model_.cardinalities_), times)
    return out


def time_wide_fit(seed: int = 1) -> dict:
    """One fit at the defaults of 10,000 rows x 100 columns: CPU and wall seconds, epochs, sub-columns."""
    from lookalike import Synthesizer
    from lookalike.models.threads import auto_threads

    df = argn_table(100, seed, rows=10_000)
    load_before = os.getloadavg()[0]
    cpu, wall, system = cpu_seconds(), time.monotonic(), os.times().system
    syn = Synthesizer(model="argn", seed=seed).fit(df)
    return {"cpu": cpu_seconds() - cpu, "wall": time.monotonic() - wall, "system": os.times().system - system,
            "epochs": len(syn.model_.history_),
            "sub_columns": len(syn.model_.cardinalities_), "load_before": load_before, "load": os.getloadavg()[0],
            "threads": auto_threads()}


def wide_fit_section(seeds) -> str:
    """The ``--wide-fit-only`` measurement: one default fit of 10,000 rows x 100 columns per seed."""
    runs = []
    for seed in seeds:
        runs.append(time_wide_fit(seed))
        print(f"wide fit seed {seed}: {runs[-1]}", file=sys.stderr, flush=True)
    rows = [f"| {seed} | {r['sub_columns']} | {r['epochs']} | {r['cpu']:.0f} | {r['system']:.0f} | {r['wall']:.0f} | "
            f"{r['load_before']:.1f} / {r['load']:.1f} |" for seed, r in zip(seeds, runs)]
    return "\n".join([
        "## A 10,000-row table of 100 columns: argn's fit at the defaults (`benchmarks/column_scaling.py --wide-fit-only`)",
        "", f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on a machine of {os.cpu_count()} cores "
        f"shared with other work, torch using {runs[0]['threads']} threads; the table is `argn_table(100, seed, "
        "rows=10_000)` (a third categorical, the rest numbers), fitted with `Synthesizer(model='argn', seed=seed)` "
        "(early stopping). Issue 15 asks for under 2 minutes on 2 cores, which needs at most 240 CPU seconds even with "
        "both cores busy the whole time; both figures here were measured under the other work's load, which "
        "inflates wall seconds and can inflate CPU seconds too.", "",
        "| seed | sub-columns | epochs | fit CPU s | of it system (kernel) s | fit wall s | 1-minute load before / after |",
        "|---|---|---|---|---|---|---|", *rows,
        "", f"CPU seconds: {spread([r['cpu'] for r in runs], '.0f')}; wall seconds: {spread([r['wall'] for r in runs], '.0f')}."])


def plot(argn: dict, baseline: dict | None, baseline_label: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for label, data, marker in (("this code", argn, "o"), (baseline_label, baseline, "s")):
        if data:
            cols = sorted(data)
            means = [sum(data[c][1]) / len(data[c][1]) for c in cols]
            ax.plot(cols, means, marker=marker, label=label)
    ax.set_xlabel("columns")
    ax.set_ylabel("fit CPU seconds (2 epochs, 4,000 rows)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_title("argn fit CPU time against the number of columns (linear axes)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)
    return True


def _baseline(src: Path, flag: str, seeds) -> dict:
    """Run this script's ``flag`` measurement with another source tree in a subprocess; its JSON answer."""
    cmd = [sys.executable, __file__, flag, "--seeds", *map(str, seeds)]
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_WAIT_POLICY": "PASSIVE"}
    text = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    return {int(k): v for k, v in json.loads(text.strip().splitlines()[-1]).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, default=None, help="also time this source tree")
    parser.add_argument("--baseline-seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--wide-fit", action="store_true", help="also fit 10,000 rows x 100 columns at the defaults")
    parser.add_argument("--wide-fit-only", action="store_true",
                        help="only the 10,000 x 100 default fit (seeds --seeds), in its own RESULTS.md section")
    parser.add_argument("--section", default="column-scaling-wide-fit", help="that section's name")
    parser.add_argument("--rules-only", action="store_true", help="(internal) print rule detection times as JSON")
    parser.add_argument("--argn-only", action="store_true", help="(internal) print argn fit times as JSON")
    args = parser.parse_args()
    if args.rules_only:
        print(json.dumps(time_rules()))
        return 0
    if args.argn_only:
        print(json.dumps(time_argn(args.seeds)))
        return 0
    if args.wide_fit_only:
        text = wide_fit_section(args.seeds)
        update_section(args.section, text)
        print(text)
        return 0
    rules = time_rules()
    argn = time_argn(args.seeds)
    baseline_rules = baseline_argn = None
    if args.baseline_src is not None:
        baseline_rules = _baseline(args.baseline_src, "--rules-only", args.baseline_seeds)
        baseline_argn = _baseline(args.baseline_src, "--argn-only", args.baseline_seeds)
    wide = time_wide_fit() if args.wide_fit else None
    label = f"`{args.baseline_src}`"
    lines = ["## Fit CPU time against the number of columns (`benchmarks/column_scaling.py`)", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on a machine of {os.cpu_count()} cores "
             "shared with other work; CPU seconds are process time of all threads plus children.", "",
             "Rule detection on 10,000 rows of numeric columns (CPU seconds):", "",
             "| columns | " + " | ".join(map(str, RULE_COLUMNS)) + " |", "|---|" + "---|" * len(RULE_COLUMNS),
             "| this code | " + " | ".join(f"{rules[c]:.2f}" for c in RULE_COLUMNS) + " |"]
    if baseline_rules:
        lines.append(f"| {label} | " + " | ".join(f"{baseline_rules[c]:.2f}" for c in RULE_COLUMNS) + " |")
    seeds_text = ", ".join(map(str, args.seeds))
    lines += ["", f"argn fitted for exactly 2 epochs on 4,000 rows (CPU seconds of the whole fit, mean ± half-range "
              f"over seed{'s' if len(args.seeds) > 1 else ''} {seeds_text}"
              + (f"; baseline seeds {', '.join(map(str, args.baseline_seeds))}" if baseline_argn else "") + "):", "",
              "| columns | sub-columns | fit CPU s | CPU s per column |" + (f" {label} fit CPU s | its CPU s per column |"
                                                                           if baseline_argn else ""),
              "|---|---|---|---|" + ("---|---|" if baseline_argn else "")]
    for c in ARGN_COLUMNS:
        mean = sum(argn[c][1]) / len(argn[c][1])
        row = f"| {c} | {argn[c][0]} | {spread(argn[c][1], '.1f')} | {mean / c:.2f} |"
        if baseline_argn:
            b = baseline_argn[c][1]
            row += f" {spread(b)} | {sum(b) / len(b) / c:.2f} |"
        lines.append(row)
    lines += ["", "argn's heads read one context: the sum of the context vectors of the sub-columns drawn before them. A "
              "context keeps one coordinate per embedding dimension up to `CONTEXT_WIDTH` (384) coordinates; such "
              "narrow tables train through per-(token, head) lookup tables, whose work per row grows with the square "
              "of the sub-columns (the rise of CPU s per column up to 40 columns). Wider embeddings are projected into "
              "384 coordinates and every head's context is one prefix sum along the row's order, so from there on a "
              "row costs the same per sub-column (before: lookup tables at every width)."]
    if plot(argn, baseline_argn, label):
        lines += ["", f"![argn fit CPU seconds against columns]({PLOT.name})"]
    if wide:
        lines += ["", f"A fit at the defaults (early stopping) of 10,000 rows x 100 columns ({wide['sub_columns']} "
                  f"sub-columns), seed 1: {wide['cpu']:.0f} CPU s, {wide['wall']:.0f} wall s, {wide['epochs']} epochs "
                  f"(1-minute load average at its end: {wide['load']:.1f} on {os.cpu_count()} cores)."]
    update_section("column-scaling", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
