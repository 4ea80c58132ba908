"""Fidelity: how close synthetic frequencies are to the real training data, one, two and three columns at a time.

Accuracy is 1 - total variation distance (TVD) between binned frequencies (see ``prepare.Binner``).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from lookalike.evaluate.prepare import CATEGORICAL, DATETIME, NUMERIC


def _freq(codes: np.ndarray, n_bins: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=n_bins).astype(float)
    return counts / max(counts.sum(), 1.0)


def _joint_codes(codes: np.ndarray, cols: tuple[int, ...], n_bins: list[int]) -> tuple[np.ndarray, int]:
    joint = np.zeros(len(codes), dtype=np.int64)
    size = 1
    for j in cols:
        joint = joint * n_bins[j] + codes[:, j]
        size *= n_bins[j]
    return joint, size


def accuracy(real: np.ndarray, other: np.ndarray, n_bins: list[int], groups: list[tuple[int, ...]]) -> np.ndarray:
    """1 - TVD of the joint bin frequencies for each group of column indices."""
    out = np.empty(len(groups))
    for i, cols in enumerate(groups):
        a, size = _joint_codes(real, cols, n_bins)
        b, _ = _joint_codes(other, cols, n_bins)
        if size > 5_000_000:  # very wide joint tables: compare only the cells that occur
            keys, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
            a, b, size = inv[: len(a)], inv[len(a):], len(keys)
        out[i] = 1.0 - 0.5 * np.abs(_freq(a, size) - _freq(b, size)).sum()
    return out


def shuffle_columns(codes: np.ndarray, seed: int) -> np.ndarray:
    """Each column permuted on its own: right marginals, no dependence at all (the floor)."""
    rng = np.random.default_rng(seed)
    out = codes.copy()
    for j in range(codes.shape[1]):
        out[:, j] = rng.permutation(out[:, j])
    return out


def column_pairs(n_cols: int, max_pairs: int, seed: int) -> list[tuple[int, int]]:
    pairs = list(combinations(range(n_cols), 2))
    if len(pairs) > max_pairs:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(pairs), size=max_pairs, replace=False))
        pairs = [pairs[k] for k in keep]
    return pairs


def column_triples(n_cols: int, max_triples: int, seed: int) -> list[tuple[int, int, int]]:
    """Random distinct triples (seeded); all of them when there are few."""
    if n_cols < 3:
        return []
    total = n_cols * (n_cols - 1) * (n_cols - 2) // 6
    if total <= max_triples:
        return list(combinations(range(n_cols), 3))
    rng = np.random.default_rng(seed)
    seen: set[tuple[int, int, int]] = set()
    while len(seen) < max_triples:
        seen.add(tuple(sorted(rng.choice(n_cols, size=3, replace=False).tolist())))
    return sorted(seen)


def cramers_v_matrix(codes: np.ndarray, n_bins: list[int]) -> np.ndarray:
    """Association of every pair of binned columns (Cramér's V, 0..1): works for any mix of kinds."""
    k = codes.shape[1]
    v = np.eye(k)
    n = len(codes)
    for a, b in combinations(range(k), 2):
        joint, _ = _joint_codes(codes, (a, b), n_bins)
        table = np.bincount(joint, minlength=n_bins[a] * n_bins[b]).reshape(n_bins[a], n_bins[b]).astype(float)
        table = table[table.sum(1) > 0][:, table.sum(0) > 0]
        r, c = table.shape
        if min(r, c) < 2 or n == 0:
            value = 0.0
        else:
            expected = np.outer(table.sum(1), table.sum(0)) / n
            chi2 = ((table - expected) ** 2 / expected).sum()
            value = float(np.sqrt(chi2 / n / (min(r, c) - 1)))
        v[a, b] = v[b, a] = min(value, 1.0)
    return v


def numeric_correlations(frame: pd.DataFrame, numeric_cols: list[str]) -> dict[str, np.ndarray]:
    sub = frame[numeric_cols]
    return {"pearson": sub.corr(method="pearson").fillna(0).to_numpy(),
            "spearman": sub.corr(method="spearman").fillna(0).to_numpy()}


def coverage(real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str], rare_k: int = 1) -> dict[str, dict]:
    """Categories of the real data that synthetic rows use at all, and how much of each real numeric range they span.

    The tail counts as one category: real values seen in fewer than ``rare_k`` rows are one "rare" category,
    covered when some synthetic value is not one of the real values seen in >= rare_k rows."""
    out = {}
    for col, kind in kinds.items():
        r, s = real[col].to_numpy(), synth[col].to_numpy()
        if kind == CATEGORICAL:
            counts = pd.Series([v for v in r if v is not None], dtype=object).value_counts()
            rc = set(counts.index[counts.to_numpy() >= rare_k])
            real_tail = bool((counts < rare_k).any())
            sc = set(v for v in s if v is not None)
            synth_tail = bool(sc - rc)
            bins = len(rc) + real_tail
            out[col] = {"kind": "categories", "real_distinct": len(counts), "synthetic_distinct": len(sc),
                        "coverage": (len(rc & sc) + (real_tail and synth_tail)) / bins if bins else 1.0,
                        "synthetic_unseen": len(sc - set(counts.index)), "real_rare_distinct": len(counts) - len(rc)}
        else:
            rf, sf = r[~np.isnan(r)], s[~np.isnan(s)]
            if len(rf) == 0 or len(sf) == 0:
                out[col] = {"kind": "range", "coverage": float(len(rf) == 0)}
                continue
            lo, hi = float(rf.min()), float(rf.max())
            slo, shi = float(sf.min()), float(sf.max())
            span = hi - lo
            cov = 1.0 if span == 0 else max(0.0, min(hi, shi) - max(lo, slo)) / span
            out[col] = {"kind": "range", "real_min": lo, "real_max": hi, "synthetic_min": slo,
                        "synthetic_max": shi, "coverage": cov}
    return out


def missing_rates(frame: pd.DataFrame) -> dict[str, float]:
    return {c: float(pd.isna(frame[c].to_numpy()).mean()) if len(frame) else 0.0 for c in frame.columns}


def numeric_columns(kinds: dict[str, str]) -> list[str]:
    return [c for c, k in kinds.items() if k in (NUMERIC, DATETIME)]
