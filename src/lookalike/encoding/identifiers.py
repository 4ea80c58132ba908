"""Columns that are regenerated rather than learned: keys and constants."""
from __future__ import annotations

import string

import numpy as np
import pandas as pd

from lookalike.encoding.base import FitByAnalysis, Stats, value_counts

_CLASSES = {"9": string.digits, "A": string.ascii_uppercase, "a": string.ascii_lowercase}


def shape_of(value: str) -> str:
    """'CUST-0042' -> 'AAAA-9999': the character classes of a code, without its characters."""
    return "".join("9" if ch.isdigit() else "A" if ch.isupper() else "a" if ch.islower() else ch
                   for ch in value)


class IdCodec(FitByAnalysis):
    """Unique keys: integer keys become 1..n; string keys get fresh random codes of the same shapes.

    Shapes seen in fewer than k rows are dropped (a unique shape could single out a record).
    """

    cardinalities: list[int] = []

    def __init__(self, id_type: str = "integer", k: int = 5):
        self.id_type = id_type
        self.k = int(k)

    def analyse(self, s: pd.Series) -> Stats:
        """Rows per key shape (string keys only) and the number of rows."""
        shapes = value_counts(s.dropna().astype(str).map(shape_of)) if self.id_type == "string" else None
        return {"rows": len(s), **({"shapes": shapes} if shapes is not None else {})}

    def reduce(self, stats: Stats) -> "IdCodec":
        if self.id_type == "string":
            shapes = stats["shapes"]
            kept = shapes[shapes >= self.k]
            if len(kept) == 0:
                kept = pd.Series({"ID-" + "9" * max(6, len(str(stats["rows"]))): 1})
            self.shapes_ = list(kept.index)
            self.shape_weights_ = (kept / kept.sum()).tolist()
        return self

    def encode(self, s: pd.Series) -> np.ndarray:
        return np.zeros((len(s), 0), dtype=np.int64)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator, start: int = 1,
               seen: set | None = None) -> pd.Series:
        """``start`` and ``seen`` carry uniqueness across the batches of one large sample."""
        n = len(tokens)
        if self.id_type != "string":
            return pd.Series(np.arange(start, start + n, dtype=np.int64))
        out = np.empty(n, dtype=object)
        pick = rng.choice(len(self.shapes_), size=n, p=np.asarray(self.shape_weights_))
        seen = set() if seen is None else seen
        for i in range(n):
            shape = self.shapes_[pick[i]]
            for _ in range(100):
                code = "".join(rng.choice(list(_CLASSES[ch])) if ch in _CLASSES else ch for ch in shape)
                if code not in seen:
                    break
            else:  # the shape has too few codes for n rows: lengthen it
                code = code + "-" + str(start + i)
            seen.add(code)
            out[i] = code
        return pd.Series(out, dtype=object)

    def to_dict(self) -> dict:
        d = {"id_type": self.id_type, "k": self.k}
        if self.id_type == "string":
            d.update(shapes=self.shapes_, shape_weights=self.shape_weights_)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "IdCodec":
        c = cls(id_type=d["id_type"], k=d["k"])
        if c.id_type == "string":
            c.shapes_, c.shape_weights_ = d["shapes"], d["shape_weights"]
        return c


class ConstantCodec(FitByAnalysis):
    """A column with a single value carries no information to learn; it is written back as is."""

    cardinalities: list[int] = []

    def __init__(self, value=None):
        self.value = value

    k = 1

    def analyse(self, s: pd.Series) -> Stats:
        return {}

    def reduce(self, stats: Stats) -> "ConstantCodec":
        return self

    def encode(self, s: pd.Series) -> np.ndarray:
        return np.zeros((len(s), 0), dtype=np.int64)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        return pd.Series([self.value] * len(tokens), dtype=object)

    def to_dict(self) -> dict:
        return {"value": self.value}

    @classmethod
    def from_dict(cls, d: dict) -> "ConstantCodec":
        return cls(d["value"])
