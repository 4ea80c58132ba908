"""Columns replaced as personal data (names, e-mails, phone numbers ...) are checked on their own.

The synthesizer never learns them: it fills them with fresh fake values. Scoring them for fidelity or realism
would measure the fake-value provider, not the generator (a discriminator tells a fake name from a real one
at once, and a marginal of unique names is always 0), so ``evaluate`` leaves them out of every row-level
figure and checks the one thing that matters for them: how often a synthetic value equals a real one.
The real holdout's own share (fresh real rows against train) is the reference: common first names recur in
real data too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.evaluate.prepare import _as_text


def _texts(s: pd.Series) -> np.ndarray:
    values = s.dropna().astype(object).to_numpy()
    return np.array([_as_text(v) for v in values], dtype=object)


def equal_share(values: pd.Series, real: set) -> float | None:
    """Share of the non-missing ``values`` that equal some value of ``real`` (compared as text)."""
    texts = _texts(values)
    if len(texts) == 0:
        return None
    return float(np.mean([t in real for t in texts]))


def pii_check(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None,
              columns: dict[str, str]) -> dict[str, dict]:
    """Per PII column (``{name: pii kind}``): share of synthetic values equal to a real training value, the
    same share for the real holdout, and the distinct counts."""
    out = {}
    for col, kind in columns.items():
        real = set(_texts(train[col]))
        out[col] = {
            "pii_kind": kind,
            "synthetic_equal_real_share": equal_share(synthetic[col], real),
            "holdout_equal_real_share": None if holdout is None else equal_share(holdout[col], real),
            "real_distinct": len(real),
            "synthetic_distinct": int(synthetic[col].nunique(dropna=True)),
        }
    return out
