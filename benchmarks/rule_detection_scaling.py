"""Rule detection against the number of columns (issue 15): the same rules as a baseline commit, and CPU per column.

Two parts, each comparing this source tree with a baseline commit (``--baseline-rev``, exported with ``git archive``
into benchmarks/.cache/rule_detection/, so the baseline stays fixed while main moves):

- ``--check``: ``lookalike.rules.detect_rules`` on every suite table (benchmarks/suite.py's selection: the whole table
  and its seed-1 train split, read as run_lookalike reads it) and on every table the rule tests hand to it
  (recorded once with ``--record-tests``: tests/test_rules.py and the other test files that detect rules run with
  detect_rules wrapped so that each call's table and schema are pickled). The rule lists must be identical; the
  script exits 1 and names the cases where they differ.
- ``--scaling``: CPU seconds of detect_rules on seeded random tables of 10-320 columns at 4,000 and 20,000 rows:
  ``argn_table`` of benchmarks/column_scaling.py (a third 6-valued categoricals, the rest numbers), and
  ``few_table`` (many few-valued columns: small integer codes, short categoricals, counts, and some numbers).

Every case runs in a worker process per source tree (``--worker``), timed with ``time.process_time`` around
detect_rules alone (the schema is inferred first, untimed). Baseline answers are cached per commit. Writes the
``rule-detection-scaling`` section of benchmarks/RESULTS.md.

    OMP_NUM_THREADS=1 nice -n 10 env PYTHONPATH=src python benchmarks/rule_detection_scaling.py --record-tests
    OMP_NUM_THREADS=1 nice -n 10 env PYTHONPATH=src python benchmarks/rule_detection_scaling.py --check --scaling
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
CACHE = HERE / ".cache" / "rule_detection"
RECORDED = CACHE / "tests"
TEST_FILES = ("tests/test_rules.py", "tests/test_csv_dialect.py", "tests/test_evaluate_kinds.py",
              "tests/test_spec_schema.py")
COLUMNS = (10, 20, 40, 80, 160, 320)
ROWS = (4_000, 20_000)
SECTION = "rule-detection-scaling"


# -- the tables -------------------------------------------------------------------------------------------
def few_table(n_cols: int, seed: int = 1, rows: int = 4000) -> pd.DataFrame:
    """Random columns, most of them few-valued: integer codes with 2-12 values, categoricals of 3-8 letters, counts
    0-30 and every fourth a number with many values (no rule holds but by chance)."""
    rng = np.random.default_rng(seed)
    cols = {}
    for j in range(n_cols):
        kind = j % 4
        if kind == 0:
            cols[f"k{j}"] = rng.integers(0, 2 + j % 11, rows)
        elif kind == 1:
            cols[f"c{j}"] = rng.choice(list("abcdefgh")[: 3 + j % 6], rows)
        elif kind == 2:
            cols[f"n{j}"] = rng.poisson(3 + j % 7, rows).clip(0, 30)
        else:
            cols[f"x{j}"] = np.round(rng.gamma(2, 1000, rows), 2)
    return pd.DataFrame(cols)


def case_table(case: str) -> pd.DataFrame:
    """The table a case names: suite:NAME:raw, suite:NAME:train1, test:FILE, argn:COLS:ROWS, few:COLS:ROWS."""
    kind, rest = case.split(":", 1)
    if kind == "suite":
        import suite
        name, part = rest.rsplit(":", 1)
        table = next(t for t in suite.select_tables() if t.name == name)
        if part == "raw":
            return suite._raw(table)
        train, _ = suite.prepare(table, 1)
        return pd.read_csv(train)
    if kind == "test":
        return pickle.loads((RECORDED / rest).read_bytes())[0]
    if kind in ("argn", "few"):
        from column_scaling import argn_table
        n_cols, rows = map(int, rest.split(":"))
        return argn_table(n_cols, 1, rows=rows) if kind == "argn" else few_table(n_cols, 1, rows=rows)
    raise ValueError(case)


def run_case(case: str) -> dict:
    from lookalike.rules import detect_rules
    from lookalike.schema.infer import infer_schema

    if case.startswith("test:"):
        df, schema, kwargs = pickle.loads((RECORDED / case[5:]).read_bytes())
    else:
        df, kwargs = case_table(case), {}
        schema = infer_schema(df, detect_rules=False)
    start = time.process_time()
    rules = detect_rules(df, schema, **kwargs)
    cpu = time.process_time() - start
    return {"case": case, "rules": json.loads(json.dumps(rules, default=str)), "cpu": cpu,
            "columns": int(df.shape[1]), "rows": int(len(df))}


def worker(cases: list[str], out: Path) -> None:
    with out.open("a") as f:
        for case in cases:
            r = run_case(case)
            f.write(json.dumps(r) + "\n")
            f.flush()
            print(f"{case}: {r['columns']} columns, {r['cpu']:.2f} CPU s, {len(r['rules'])} rules", file=sys.stderr,
                  flush=True)


# -- source trees -----------------------------------------------------------------------------------------
def baseline_src(rev: str) -> tuple[str, Path]:
    """(commit, src folder) of ``rev``, exported once."""
    commit = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    folder = CACHE / f"src-{commit[:12]}"
    if not (folder / "src" / "lookalike").exists():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return commit, folder / "src"


def answers(src: Path, cases: list[str], cache: Path | None, fresh: bool) -> dict[str, dict]:
    """case -> worker answer, from ``cache`` (JSON lines) where present, else from worker runs with ``src``: one
    process per case when ``fresh`` (a case's CPU is never another's warm-up), else one for all."""
    done = {}
    if cache is not None and cache.exists():
        for line in cache.read_text().splitlines():
            r = json.loads(line)
            done[r["case"]] = r
    todo = [c for c in cases if c not in done]
    if todo:
        out = cache if cache is not None else CACHE / f"run-{os.getpid()}.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        if cache is None and out.exists():
            out.unlink()
        env = {**os.environ, "PYTHONPATH": str(src)}
        for batch in ([[c] for c in todo] if fresh else [todo]):
            subprocess.run([sys.executable, __file__, "--worker", str(out), *batch], env=env, check=True)
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done[r["case"]] = r
        if cache is None:
            out.unlink()
    return {c: done[c] for c in cases}


# -- recording the tests' tables --------------------------------------------------------------------------
RECORDER = """
import hashlib, pickle, sys
from pathlib import Path
import lookalike.rules as rules
folder = Path(sys.argv[1]); folder.mkdir(parents=True, exist_ok=True)
original = rules.detect_rules
def recording(df, schema, *args, **kwargs):
    kwargs.update(zip(("max_rows", "seed"), args))
    blob = pickle.dumps((df, schema, kwargs))
    (folder / (hashlib.sha1(blob).hexdigest()[:16] + ".pkl")).write_bytes(blob)
    return original(df, schema, **kwargs)
rules.detect_rules = recording
import pytest
sys.exit(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *sys.argv[2:]]))
"""


def record_tests() -> None:
    subprocess.run([sys.executable, "-c", RECORDER, str(RECORDED), *TEST_FILES], cwd=ROOT, check=True)


# -- report -----------------------------------------------------------------------------------------------
def check_cases() -> list[str]:
    import suite
    cases = [f"suite:{t.name}:{part}" for t in suite.select_tables() for part in ("raw", "train1")]
    return cases + [f"test:{p.name}" for p in sorted(RECORDED.glob("*.pkl"))]


def scaling_cases(max_baseline: dict[int, int]) -> tuple[list[str], list[str]]:
    ours = [f"{kind}:{c}:{r}" for kind in ("argn", "few") for r in ROWS for c in COLUMNS]
    base = [case for case in ours if int(case.split(":")[1]) <= max_baseline[int(case.split(":")[2])]]
    return ours, base


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--record-tests", action="store_true", help="record the tables the rule tests detect rules on")
    ap.add_argument("--check", action="store_true", help="compare the rules found on every suite and test table")
    ap.add_argument("--scaling", action="store_true", help="time detect_rules against columns")
    ap.add_argument("--baseline-rev", default="043f953", help="the commit to compare with (main before this work)")
    ap.add_argument("--baseline-only", action="store_true", help="only fill the baseline's cache for --scaling")
    ap.add_argument("--baseline-max-columns", nargs=2, type=int, default=[160, 80], metavar=("AT_4000", "AT_20000"),
                    help="the widest scaling tables the baseline is timed on (it grows cubically)")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[1:], Path(args.worker[0]))
        return 0
    if args.record_tests:
        record_tests()
    commit, base = baseline_src(args.baseline_rev)
    ours_src = ROOT / "src"
    lines, status = [], 0
    load = os.getloadavg()
    if args.check:
        cases = check_cases()
        before = answers(base, cases, CACHE / f"check-{commit[:12]}.jsonl", fresh=False)
        after = answers(ours_src, cases, None, fresh=False)
        differ = [c for c in cases if before[c]["rules"] != after[c]["rules"]]
        status = 1 if differ else 0
        n_rules = sum(len(before[c]["rules"]) for c in cases)
        suites = [c for c in cases if c.startswith("suite:")]
        lines += [f"### The same rules as {commit[:7]}", "",
                  f"{len(cases)} tables: the {len(suites) // 2} suite tables whole and as their seed-1 train split, and "
                  f"the {len(cases) - len(suites)} tables the rule tests ({', '.join(TEST_FILES)}) hand to detect_rules. "
                  f"{n_rules} rules at {commit[:7]}; "
                  + (f"**{len(differ)} tables differ**: {', '.join(differ)}." if differ else "identical rule lists on every one."),
                  "", "| suite table | columns | rows | rules | CPU s before | CPU s after |", "|---|---|---|---|---|---|"]
        for c in suites:
            b, a = before[c], after[c]
            lines.append(f"| {c[6:]} | {b['columns']} | {b['rows']:,} | {len(b['rules'])} | {b['cpu']:.2f} | {a['cpu']:.2f} |")
        total_b, total_a = sum(before[c]["cpu"] for c in cases), sum(after[c]["cpu"] for c in cases)
        lines += ["", f"All {len(cases)} tables: {total_b:.1f} CPU s before, {total_a:.1f} after.", ""]
    if args.scaling:
        limits = dict(zip(ROWS, args.baseline_max_columns))
        ours_cases, base_cases = scaling_cases(limits)
        before = answers(base, base_cases, CACHE / f"scaling-{commit[:12]}.jsonl", fresh=True)
        if args.baseline_only:
            return 0
        after = answers(ours_src, ours_cases, None, fresh=True)
        lines += ["### CPU seconds per column", "",
                  "detect_rules alone (the schema inferred first, untimed), one fresh process per table, "
                  f"`OMP_NUM_THREADS=1`; the baseline {commit[:7]} up to {limits[4000]} columns at 4,000 rows and "
                  f"{limits[20000]} at 20,000. Each cell: CPU seconds, then milliseconds per column.", "",
                  "| table | rows | " + " | ".join(f"{c} cols" for c in COLUMNS) + " |",
                  "|---|---|" + "---|" * len(COLUMNS)]
        for kind in ("argn", "few"):
            for r in ROWS:
                for label, data in ((commit[:7], before), ("this code", after)):
                    cells = []
                    for c in COLUMNS:
                        x = data.get(f"{kind}:{c}:{r}")
                        cells.append(f"{x['cpu']:.2f} ({1000 * x['cpu'] / c:.1f})" if x else "–")
                    lines.append(f"| {kind}_table, {label} | {r:,} | " + " | ".join(cells) + " |")
        same = [c for c in base_cases if before[c]["rules"] == after[c]["rules"]]
        lines += ["", f"Rules found on the scaling tables: the same as {commit[:7]} on {len(same)} of {len(base_cases)}.",
                  "", "A fresh process's first detect_rules imports scipy.stats (about 0.3 CPU s here), which the "
                  "narrow tables' per-column figures carry. What still grows faster than the columns: the monotone "
                  "screen ranks every number within the smallest group of every few-valued column (columns x "
                  "groupings x that group's rows), the pair-combination screen compares every pair of few-valued "
                  "columns (pairs x screen rows), and the scale probe tries every (column, base, grouping) on 32 rows "
                  "as bits; each is a small constant per triple or pair, but they are why 320 columns cost more per "
                  "column than 160, most at 20,000 rows.", ""]
    if lines:
        from results_sections import update_section
        head = ["## Rule detection against the number of columns (`benchmarks/rule_detection_scaling.py`)", "",
                f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} shared cores, "
                f"1-minute load {load[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at the end; "
                f"baseline {commit[:7]}, this code {_head()}.", ""]
        update_section(SECTION, "\n".join(head + lines))
        print("\n".join(lines))
    return status


def _head() -> str:
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True).stdout
    return rev + (" with uncommitted changes" if dirty.strip() else "")


if __name__ == "__main__":
    sys.exit(main())
