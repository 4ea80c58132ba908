"""How fit CPU time grows with the number of columns (issue 15): rule detection, and argn's network per epoch.

Two measurements on seeded, generated tables (no real data is needed to count operations; the suite measures
the real tables):

- rule detection (``lookalike.rules.detect_rules``) on 10,000 rows of 10-100 numeric columns, half of them
  heaped to hundreds, with one planted sum, in CPU seconds, for this code and, with ``--baseline-src``, for
  another source tree (e.g. main before the probe-row search);
- argn's fit for exactly 2 epochs on 4,000 rows of 10-80 columns (a third categorical, the rest numbers), in
  CPU seconds of this process: the network's cost per epoch, without early stopping's varying epoch count.

CPU seconds (process time, all threads), because the machine is shared and wall time says little. Writes the
``column-scaling`` section of benchmarks/RESULTS.md.

    OMP_WAIT_POLICY=PASSIVE PYTHONPATH=src python benchmarks/column_scaling.py [--baseline-src /work/main/src]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_sections import update_section  # noqa: E402

RULE_COLUMNS = (10, 25, 50, 100)
ARGN_COLUMNS = (10, 20, 40, 80)


def rules_table(n_cols: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    for j in range(n_cols):
        base = rng.gamma(2, 1000, 10_000)
        cols[f"c{j}"] = np.round(base, 2) if j % 2 else np.round(base / 100) * 100
    cols["c_sum"] = cols["c0"] + cols["c2"]
    return pd.DataFrame(cols)


def argn_table(n_cols: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    for j in range(n_cols):
        if j % 3 == 0:
            cols[f"c{j}"] = rng.choice(list("abcdef"), 4000)
        else:
            cols[f"n{j}"] = np.round(rng.gamma(2, 1000, 4000), 0 if j % 2 else 2)
    return pd.DataFrame(cols)


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


def time_argn() -> dict[int, tuple[int, float]]:
    from lookalike import Synthesizer

    out = {}
    for n_cols in ARGN_COLUMNS:
        df = argn_table(n_cols)
        start = time.process_time()
        syn = Synthesizer(model="argn", seed=1, max_epochs=2).fit(df)
        out[n_cols] = (len(syn.model_.cardinalities_), time.process_time() - start)
        print(f"argn {n_cols} columns: {out[n_cols][1]:.1f} CPU s", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, default=None, help="also time rule detection of this source tree")
    parser.add_argument("--rules-only", action="store_true", help="(internal) print rule detection times as JSON")
    args = parser.parse_args()
    if args.rules_only:
        print(json.dumps(time_rules()))
        return 0
    rules = time_rules()
    baseline = None
    if args.baseline_src is not None:
        text = subprocess.run([sys.executable, __file__, "--rules-only"], capture_output=True, text=True, check=True,
                              env={"PYTHONPATH": str(args.baseline_src), "OMP_WAIT_POLICY": "PASSIVE"}).stdout
        baseline = {int(k): v for k, v in json.loads(text.strip().splitlines()[-1]).items()}
    argn = time_argn()
    lines = ["## Fit CPU time against the number of columns (`benchmarks/column_scaling.py`)", "",
             "Rule detection on 10,000 rows of numeric columns (CPU seconds):", "",
             "| columns | " + " | ".join(map(str, RULE_COLUMNS)) + " |", "|---|" + "---|" * len(RULE_COLUMNS),
             "| this code | " + " | ".join(f"{rules[c]:.2f}" for c in RULE_COLUMNS) + " |"]
    if baseline:
        lines.append(f"| `{args.baseline_src}` | " + " | ".join(f"{baseline[c]:.2f}" for c in RULE_COLUMNS) + " |")
    lines += ["", "argn fitted for exactly 2 epochs on 4,000 rows (CPU seconds of the whole fit):", "",
              "| columns | sub-columns | fit CPU s |", "|---|---|---|"]
    lines += [f"| {c} | {argn[c][0]} | {argn[c][1]:.1f} |" for c in ARGN_COLUMNS]
    lines += ["", "Each head of argn reads every sub-column before it, so the network's work per row grows with the "
              "square of the sub-columns; doubling the columns should about quadruple the epoch."]
    update_section("column-scaling", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
