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


MAX_CODES = 2**62
"""Codes of a shape are numbered below this (a shape may have more; they stay unused)."""


def permute(index: np.ndarray, size: int, key) -> np.ndarray:
    """A keyed bijection of ``[0, size)``: a 4-round Feistel network on the next even bit width, walked until
    it lands inside the range. Distinct row numbers give distinct codes without remembering any code."""
    bits = max(2, int(size - 1).bit_length())
    bits += bits % 2
    half, mask = np.uint64(bits // 2), np.uint64((1 << (bits // 2)) - 1)
    keys = np.random.default_rng(np.random.SeedSequence(key)).integers(0, 2**63, size=4, dtype=np.uint64)

    def rounds(x: np.ndarray) -> np.ndarray:
        left, right = x >> half, x & mask
        for k in keys:
            h = (right ^ k) * np.uint64(0x9E3779B97F4A7C15)
            h ^= h >> np.uint64(29)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(32)
            left, right = right, left ^ (h & mask)
        return (left << half) | right

    with np.errstate(over="ignore"):
        y = rounds(np.asarray(index, dtype=np.uint64))
        outside = y >= np.uint64(size)
        while outside.any():  # cycle walking: at most 4 steps on average, since size > 2**bits / 4
            y[outside] = rounds(y[outside])
            outside = y >= np.uint64(size)
    return y.astype(np.int64)


def codes_of_shape(shape: str, rows: np.ndarray, key) -> np.ndarray:
    """Distinct codes of ``shape`` ('AA-9999') for distinct row numbers; rows past the shape's number of codes
    get a suffix ('XK-0712-2'), so keys stay unique however many rows are asked for."""
    alphabets = [_CLASSES[ch] for ch in shape if ch in _CLASSES]
    size = min(MAX_CODES, int(np.prod([len(a) for a in alphabets], dtype=object)) if alphabets else 1)
    number = permute(rows % size, size, key) if size > 1 else np.zeros(len(rows), np.int64)
    digits = []
    for alphabet in reversed(alphabets):
        digits.append(np.asarray(list(alphabet))[number % len(alphabet)])
        number = number // len(alphabet)
    digits.reverse()
    columns = iter(digits)
    parts = [next(columns) if ch in _CLASSES else np.full(len(rows), ch) for ch in shape]
    codes = np.empty(len(rows), dtype=object)
    codes[:] = ["".join(chars) for chars in zip(*parts)] if parts else ""
    wrapped = rows >= size
    if wrapped.any():
        codes[wrapped] = [f"{c}-{r // size}" for c, r in zip(codes[wrapped], rows[wrapped])]
    return codes


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

    def decode(self, tokens: np.ndarray, rng: np.random.Generator, start: int = 1, key=0) -> pd.Series:
        """Keys for rows ``start, start+1, ...`` (1-based row numbers within one sample).

        A key depends only on its row number, ``key`` (the sample's seed) and the shape drawn by ``rng``, never
        on earlier rows: a string key is the row number put through a keyed permutation of its shape's codes,
        so keys are unique across the batches of a sample however the batches are split between workers.
        ``key``: an int or a tuple of ints (non-negative)."""
        n = len(tokens)
        rows = np.arange(start - 1, start - 1 + n, dtype=np.int64)
        if self.id_type != "string":
            return pd.Series(rows + 1)
        out = np.empty(n, dtype=object)
        pick = rng.choice(len(self.shapes_), size=n, p=np.asarray(self.shape_weights_))
        for s, shape in enumerate(self.shapes_):
            mine = np.flatnonzero(pick == s)
            if len(mine):
                out[mine] = codes_of_shape(shape, rows[mine], key=(*np.atleast_1d(key).tolist(), s))
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
