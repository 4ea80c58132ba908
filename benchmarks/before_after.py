"""Did a change to lookalike make its benchmark rows worse beyond the seed spread?

Reads two per-seed result files written by ``compare.py --json-out`` (the same tables and split seeds, two
lookalike source versions) and compares lookalike's own rows metric by metric. Because both runs use the same
splits and model seeds, the comparison is paired: per seed, after minus before.

A metric counts as **worse beyond the seed spread** when the after-change values over the seeds lie entirely on
the worse side of the before-change values (the two ranges do not overlap); "better beyond the spread"
likewise. Everything else is within the noise of three seeds.

    python benchmarks/before_after.py --before .cache/results_before_core2.json --after .cache/results.json \
        [--write-section]       # also writes the "core2-before-after" section of RESULTS.md
    python benchmarks/before_after.py --per-seed .cache/results_before_core2.json   # lookalike rows per seed
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_sections import update_section  # noqa: E402

GENERATORS = {"lookalike_argn": "lookalike argn", "lookalike_copula": "lookalike copula"}
# (key, label, digits, where: "metrics" or "run", which way is better: +1 higher, -1 lower, 0 closer to target)
METRICS = [
    ("univariate_accuracy", "uni", 3, "metrics", +1),
    ("bivariate_accuracy", "bi", 3, "metrics", +1),
    ("bivariate_accuracy_at_holdout_size", "bi at holdout size", 3, "metrics", +1),
    ("dependence_capture", "dep", 2, "metrics", +1),
    ("discriminator_auc", "AUC", 3, "metrics", -1),
    ("dcr_share", "DCR share", 3, "metrics", -1),
    ("exact_copy_share", "exact copies", 3, "metrics", -1),
    ("tstr_score", "TSTR", 3, "metrics", +1),
    ("granularity_worst_gap", "gran gap", 2, "metrics", -1),
    ("distinct_ratio_worst", "distinct ratio", 2, "metrics", 0),
    ("fit_s", "fit s", 1, "run", -1),
    ("fit_cpu_s", "fit CPU s", 1, "run", -1),
    ("sample_rows_per_s", "sample rows/s", 0, "run", +1),
    ("peak_rss_mb", "peak MB", 0, "run", -1),
]
TARGETS = {"distinct_ratio_worst": 1.0}
TIMING = {"fit_s", "fit_cpu_s", "sample_rows_per_s", "peak_rss_mb"}


def _values(results: dict, table: str, generator: str, key: str, where: str) -> dict[str, float]:
    by_seed = results["tables"].get(table, {}).get("results", {}).get(generator, {})
    out = {}
    for seed, row in by_seed.items():
        value = row[where].get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[seed] = float(value)
    return out


def _goodness(value: float, key: str, direction: int) -> float:
    """Higher is better after this transform."""
    if direction == 0:
        return -abs(value - TARGETS[key])
    return direction * value


def _fmt(values, digits: int) -> str:
    if not values:
        return "–"
    mean, half = sum(values) / len(values), (max(values) - min(values)) / 2
    return f"{mean:.{digits}f} ± {half:.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def compare(before: dict, after: dict) -> tuple[list[dict], list[str]]:
    rows, tables = [], [t for t in after["tables"] if t in before["tables"]]
    for table in tables:
        for generator, label in GENERATORS.items():
            for key, name, digits, where, direction in METRICS:
                b, a = _values(before, table, generator, key, where), _values(after, table, generator, key, where)
                if not b or not a:
                    continue
                gb = [_goodness(v, key, direction) for v in b.values()]
                ga = [_goodness(v, key, direction) for v in a.values()]
                verdict = "worse" if max(ga) < min(gb) else "better" if min(ga) > max(gb) else "within spread"
                paired = [a[s] - b[s] for s in sorted(set(a) & set(b))]
                rows.append({"table": table, "generator": label, "metric": name, "key": key, "digits": digits,
                             "before": list(b.values()), "after": list(a.values()), "paired": paired,
                             "verdict": verdict})
    return rows, tables


def markdown(rows: list[dict], before: dict, after: dict, note: str = "") -> str:
    src = lambda r: r.get("source", {}).get("label", "?")  # noqa: E731
    lines = [
        "## lookalike before and after Core 2.0",
        "",
        f"`benchmarks/before_after.py`: lookalike's own rows, before ({src(before)}, numbers in "
        f"`benchmarks/results_before_core2.md`) and after ({src(after)}), on the same splits and model seeds "
        f"({', '.join(map(str, after.get('seeds', [])))}). Cells: mean ± half-range over the seeds; Δ: mean of "
        "the per-seed differences (after − before). \"worse\" / \"better\" = beyond the seed spread (the two "
        "ranges over seeds do not overlap); timings are wall or CPU seconds on a shared machine, so a timing "
        "verdict says less than a quality one.",
        "",
    ]
    if note:
        lines += [note, ""]
    flagged = [r for r in rows if r["verdict"] != "within spread"]
    worse_q = [r for r in flagged if r["verdict"] == "worse" and r["key"] not in TIMING]
    worse_t = [r for r in flagged if r["verdict"] == "worse" and r["key"] in TIMING]
    better = [r for r in flagged if r["verdict"] == "better"]
    describe = lambda rs: "; ".join(f"{r['generator']} {r['metric']} on {r['table']} ({_fmt(r['before'], r['digits'])} → {_fmt(r['after'], r['digits'])})" for r in rs) or "none"  # noqa: E731
    lines += [
        f"- Quality metrics worse beyond the seed spread: {describe(worse_q)}.",
        f"- Timings or memory worse beyond the seed spread: {describe(worse_t)}.",
        f"- Better beyond the seed spread: {describe(better)}.",
        f"- Everything else ({len(rows) - len(flagged)} of {len(rows)} comparisons) is within the seed spread.",
        "",
        "| table | generator | metric | before | after | Δ (paired) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["generator"] != "lookalike argn" and r["verdict"] == "within spread":
            continue  # keep the table short: every argn row, and copula rows only when they moved
        delta = sum(r["paired"]) / len(r["paired"]) if r["paired"] else float("nan")
        lines.append(f"| {r['table']} | {r['generator']} | {r['metric']} | {_fmt(r['before'], r['digits'])} | "
                     f"{_fmt(r['after'], r['digits'])} | {delta:+.{r['digits']}f} | "
                     f"{'**' + r['verdict'] + '**' if r['verdict'] != 'within spread' else r['verdict']} |")
    lines.append("")
    lines.append("Rows for lookalike copula appear only where a metric moved beyond the spread.")
    return "\n".join(lines) + "\n"


def per_seed_markdown(results: dict) -> str:
    """lookalike's rows seed by seed (the raw numbers behind the mean ± half-range cells)."""
    keys = [m for m in METRICS if m[0] in ("bivariate_accuracy", "bivariate_accuracy_at_holdout_size",
                                             "discriminator_auc", "dcr_share", "tstr_score", "fit_s", "fit_cpu_s")]
    lines = ["## lookalike's rows per seed", "",
             "| table | generator | seed | " + " | ".join(k[1] for k in keys) + " |",
             "|---|---|---|" + "---|" * len(keys)]
    for table, entry in results["tables"].items():
        for generator, label in GENERATORS.items():
            for seed, row in sorted(entry["results"].get(generator, {}).items()):
                cells = []
                for key, _, digits, where, _ in keys:
                    value = row[where].get(key)
                    cells.append("–" if value is None else f"{value:.{digits}f}")
                lines.append(f"| {table} | {label} | {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path)
    parser.add_argument("--after", type=Path)
    parser.add_argument("--per-seed", type=Path, help="print lookalike's rows per seed from one results JSON")
    parser.add_argument("--write-section", action="store_true", help="write the section into benchmarks/RESULTS.md")
    parser.add_argument("--note", default="", help="a paragraph put above the verdicts")
    args = parser.parse_args(argv)
    if args.per_seed:
        print(per_seed_markdown(json.loads(args.per_seed.read_text())))
        return 0
    before, after = json.loads(args.before.read_text()), json.loads(args.after.read_text())
    rows, _ = compare(before, after)
    text = markdown(rows, before, after, args.note)
    if args.write_section:
        update_section("core2-before-after", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
