"""Before/after table of argn's suite rows for the distinct-values work (issue 15): how many distinct values and
how much rounding the synthetic numbers keep, with the quality and privacy figures that must not get worse.

Reads benchmarks/suite_cache/<table>/seed<S>/lookalike_argn.<fingerprint>.json (written by suite.py; nothing is
fitted here; ``wide_rules.record``) and writes the RESULTS.md section ``distinct-values``: one table per
``--pair BEFORE AFTER`` of fingerprints, per table and seed, before -> after, and per table the mean ±
half-range over the seeds both fingerprints have.

    python benchmarks/distinct_values.py --pair f6cc3c5185f2 fdb91a3fe43b --pair eccb5967e3e5 fdb91a3fe43b --tables ...
"""
from __future__ import annotations

import argparse

from results_sections import spread, update_section
from wide_rules import record

METRICS = (("distinct_ratio_worst", "distinct ratio"), ("granularity_worst_gap", "granularity gap"),
           ("dependence_capture", "capture"), ("discriminator_auc", "AUC"), ("univariate_accuracy", "univariate"),
           ("dcr_share", "DCR share"))


def table_md(head: list[str], body: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in body])


def compare(before: str, after: str, tables: list[str], seeds: list[int], halves: dict[str, str]) -> list[str]:
    head = ["table", "half", "seed", *(label for _, label in METRICS), "gap (holdout)", "fit CPU s", "load (1 min, at end)"]
    rows, summary = [], []
    for table in tables:
        pairs = [(s, record(table, s, before), record(table, s, after)) for s in seeds]
        pairs = [(s, b, a) for s, b, a in pairs if b and a]
        for seed, b, a in pairs:
            cells = [f"{b['metrics'][k]:.3f} → {a['metrics'][k]:.3f}" if b["metrics"].get(k) is not None
                     and a["metrics"].get(k) is not None else "–" for k, _ in METRICS]
            load = [f"{r['run'].get('loadavg_1m_at_end', float('nan')):.1f}" for r in (b, a)]
            gap_ho = a["metrics"].get("granularity_worst_gap_holdout")
            rows.append([table, halves.get(table, ""), str(seed), *cells, "–" if gap_ho is None else f"{gap_ho:.3f}",
                         f"{b['run']['fit_cpu_s']:.0f} → {a['run']['fit_cpu_s']:.0f}", " / ".join(load)])
        if pairs:
            cells = [f"{spread([b['metrics'].get(k) for _, b, _ in pairs])} → {spread([a['metrics'].get(k) for _, _, a in pairs])}"
                     for k, _ in METRICS]
            summary.append([table, halves.get(table, ""), " ".join(str(s) for s, _, _ in pairs), *cells,
                            spread([a["metrics"].get("granularity_worst_gap_holdout") for _, _, a in pairs]),
                            f"{spread([b['run']['fit_cpu_s'] for _, b, _ in pairs], '.0f')} → "
                            f"{spread([a['run']['fit_cpu_s'] for _, _, a in pairs], '.0f')}", ""])
    return [f"### `{before}` → `{after}`\n", "Per table, mean ± half-range over the seeds:\n", table_md(head, summary),
            "\nPer seed:\n", table_md(head, rows), ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pair", nargs=2, action="append", required=True, metavar=("BEFORE", "AFTER"),
                    help="fingerprints compared in one table (repeatable)")
    ap.add_argument("--tables", nargs="+", required=True)
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument("--half", nargs="+", default=[], help="TABLE=HALF labels, shown beside each table")
    ap.add_argument("--note", action="append", default=[], help="a paragraph under the title (repeatable)")
    args = ap.parse_args()
    halves = dict(h.split("=", 1) for h in args.half)
    text = ["## argn: distinct values and rounding of synthetic numbers (issue 15)\n",
            "argn at its defaults in the suite (benchmarks/suite.py, one process under nice, one torch thread); cells: "
            "before → after. Distinct ratio: the worst numeric column's synthetic / real distinct values at an equal "
            "number of rows (at most 1.5 asked); granularity gap: the worst |synthetic - real| share on the main "
            "rounding unit (at most 0.08 asked; 'gap (holdout)': the same for the real holdout). Made by "
            "`benchmarks/distinct_values.py` from the suite's cached records.\n", *[n + "\n" for n in args.note]]
    for before, after in args.pair:
        text += compare(before, after, args.tables, args.seeds, halves)
    update_section("distinct-values", "\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
