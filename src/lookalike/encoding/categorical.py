"""Categories (and booleans) as tokens; categories seen in fewer than k rows never appear verbatim."""
from __future__ import annotations

import numpy as np
import pandas as pd

RARE = "__rare__"


class CategoricalCodec:
    """Tokens: [missing], one per category seen in >= k rows (most frequent first), [rare].

    The rare token stands for every protected category; decoding replaces it with a kept category drawn
    by frequency, so no rare value can leak and no placeholder string reaches the user.
    """

    def __init__(self, k: int = 5):
        self.k = int(k)

    def fit(self, s: pd.Series) -> "CategoricalCodec":
        counts = s.dropna().value_counts()
        kept = counts[counts >= self.k]
        if len(kept) == 0:  # every value is rare: publish only the most frequent one's existence? no: none
            kept = counts.iloc[:0]
        self.categories_ = [_plain(v) for v in kept.index]
        self.weights_ = (kept.to_numpy(float) / max(kept.sum(), 1)).tolist()
        self.has_null_ = bool(s.isna().any())
        self.has_rare_ = bool(len(kept) < len(counts))
        return self

    @property
    def cardinalities(self) -> list[int]:
        return [int(self.has_null_) + len(self.categories_) + int(self.has_rare_)]

    @property
    def rare_token(self) -> int | None:
        return self.cardinalities[0] - 1 if self.has_rare_ else None

    def encode(self, s: pd.Series) -> np.ndarray:
        offset = int(self.has_null_)
        lookup = {c: i + offset for i, c in enumerate(self.categories_)}
        fallback = self.rare_token if self.has_rare_ else offset
        codes = np.array([lookup.get(_plain(v), fallback) for v in s.to_numpy(object)], dtype=np.int64)
        if self.has_null_:
            codes[s.isna().to_numpy()] = 0
        return codes[:, None]

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        t = np.asarray(tokens)[:, 0].astype(np.int64)
        offset = int(self.has_null_)
        values = np.empty(len(t), dtype=object)
        values[:] = None
        cats = np.empty(len(self.categories_), dtype=object)
        cats[:] = self.categories_
        is_cat = (t >= offset) & (t < offset + len(self.categories_))
        values[is_cat] = cats[t[is_cat] - offset]
        rare = ~is_cat & (t >= offset)
        if rare.any() and len(cats):
            values[rare] = cats[rng.choice(len(cats), size=int(rare.sum()), p=np.asarray(self.weights_))]
        return pd.Series(values, dtype=object)

    def to_dict(self) -> dict:
        return {"k": self.k, "categories": self.categories_, "weights": self.weights_,
                "has_null": self.has_null_, "has_rare": self.has_rare_}

    @classmethod
    def from_dict(cls, d: dict) -> "CategoricalCodec":
        c = cls(k=d["k"])
        c.categories_, c.weights_ = list(d["categories"]), list(d["weights"])
        c.has_null_, c.has_rare_ = d["has_null"], d["has_rare"]
        return c


def _plain(v):
    """numpy scalars -> Python scalars, so categories survive JSON and compare equal after loading."""
    return v.item() if isinstance(v, np.generic) else v
