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


BLOCK_ROWS = 1 << 16
"""Repeated ids are laid out in blocks of this many rows, each drawn from its own keyed random stream, so the
ids of any row range follow from its row numbers alone (no earlier batch needed). The last id of a block is
cut at the block's end (one id in every ~65,000 rows has fewer rows than drawn), and a block's ids are
numbered from ``block * BLOCK_ROWS`` (a block has at most that many), so ids stay unique across blocks."""


class IdCodec(FitByAnalysis):
    """Keys, regenerated rather than learned: the column's values never meet the model, so no output row ties
    a real key to its owner's other values.

    Unique keys: integer keys become 1..n; string keys get fresh random codes of the same shapes. Repeated
    keys (an entity's id on each of its rows: a household on its purchases) keep how many rows an id has:
    each fresh id gets a number of consecutive rows drawn from the training distribution of rows per id
    (clipped to the k-th largest, so no single entity's count is reproduced), independently of the other
    columns. Integer ids are spread evenly from the k-th smallest real id at the real ids' density (a sample as
    large as the training data spans about the real range, the k-th largest included); string ids are fresh
    codes of the real shapes. Shapes seen in fewer than k ids are dropped (a unique shape could single out a
    record); missing repeated ids keep their share (a unique key is given to every row).
    """

    cardinalities: list[int] = []

    def __init__(self, id_type: str = "integer", k: int = 5):
        self.id_type = id_type
        self.k = int(k)
        self.sizes_, self.size_weights_, self.null_share_ = [1], [1.0], 0.0
        self.first_, self.step_ = 1, 1.0

    def analyse(self, s: pd.Series) -> Stats:
        """Rows per key value (mergeable across partitions) and the number of rows."""
        return {"rows": len(s), "ids": value_counts(s.dropna().astype(str))}

    def reduce(self, stats: Stats) -> "IdCodec":
        ids = stats.get("ids")
        if ids is None:  # statistics without key values (differential privacy): unique keys of a default shape
            shapes = stats.get("shapes", pd.Series([], dtype=np.int64))
        else:
            shapes = value_counts(pd.Series(ids.index, dtype=object).map(shape_of))
            sizes = ids.value_counts() if len(ids) else pd.Series({1: 1})  # no value at all: unique keys
            if len(ids) and ids.max() > 1:
                sizes = self._protected_sizes(ids.to_numpy())
                if self.id_type != "string":
                    self.first_, self.step_ = self._protected_spacing(ids.index)
            self.sizes_ = [int(v) for v in sizes.index]
            self.size_weights_ = (sizes / sizes.sum()).tolist()
            if self.repeated and stats["rows"]:  # a unique key is given to every row (a primary key never misses)
                self.null_share_ = float(1 - ids.sum() / stats["rows"])
        if self.id_type == "string":
            kept = shapes[shapes >= self.k]
            if len(kept) == 0:
                kept = pd.Series({"ID-" + "9" * max(6, len(str(stats["rows"]))): 1})
            self.shapes_ = list(kept.index)
            self.shape_weights_ = (kept / kept.sum()).tolist()
        return self

    def _protected_sizes(self, rows_per_id: np.ndarray) -> pd.Series:
        """Counts of ids per number of rows, the largest clipped to the k-th largest id's number."""
        top = np.sort(rows_per_id)[::-1][min(self.k, len(rows_per_id)) - 1]
        return pd.Series(np.minimum(rows_per_id, top)).value_counts().sort_index()

    def _protected_spacing(self, values) -> tuple[int, float]:
        """The k-th smallest id and the mean gap between the distinct ids from it to the k-th largest."""
        numbers = np.unique(pd.to_numeric(pd.Series(values, dtype=object).astype(str).str.replace(",", ""),
                                          errors="coerce").dropna().to_numpy(dtype=float))
        if len(numbers) == 0:
            return 1, 1.0
        k = min(self.k, len(numbers))
        low, high = numbers[k - 1], numbers[len(numbers) - k]
        inside = int(np.sum((numbers >= low) & (numbers <= high)))
        return int(low), float((high - low) / (inside - 1)) if inside > 1 else 1.0

    @property
    def repeated(self) -> bool:
        return max(self.sizes_) > 1

    def encode(self, s: pd.Series) -> np.ndarray:
        return np.zeros((len(s), 0), dtype=np.int64)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator, start: int = 1, key=0) -> pd.Series:
        """Keys for rows ``start, start+1, ...`` (1-based row numbers within one sample).

        A key depends only on its row number, ``key`` (the sample's seed) and the shape drawn by ``rng``, never
        on earlier rows: a string key is the row number put through a keyed permutation of its shape's codes,
        so keys are unique across the batches of a sample however the batches are split between workers.
        A repeated key follows from its id's number, which follows from the row number (see ``BLOCK_ROWS``).
        ``key``: an int or a tuple of ints (non-negative)."""
        n = len(tokens)
        rows = np.arange(start - 1, start - 1 + n, dtype=np.int64)
        key = tuple(np.atleast_1d(key).tolist())
        if self.repeated:
            number, shape_pick = self._entities(rows, key)
        else:
            number = rows
            shape_pick = None if self.id_type != "string" else rng.choice(
                len(self.shapes_), size=n, p=np.asarray(self.shape_weights_))
        if self.id_type != "string" and self.repeated:
            out = pd.Series(self.first_ + np.round(number * max(self.step_, 1.0)).astype(np.int64))
        elif self.id_type != "string":
            out = pd.Series(number + 1)
        else:
            values = np.empty(n, dtype=object)
            for s, shape in enumerate(self.shapes_):
                mine = np.flatnonzero(shape_pick == s)
                if len(mine):
                    values[mine] = codes_of_shape(shape, number[mine], key=(*key, s))
            out = pd.Series(values, dtype=object)
        if self.null_share_ > 0:
            out = out.astype(object).mask(rng.random(n) < self.null_share_)
        return out

    def _entities(self, rows: np.ndarray, key: tuple) -> tuple[np.ndarray, np.ndarray | None]:
        """The number of each row's id and, for string keys, the shape of that id: ids of drawn sizes laid end
        to end within each block of ``BLOCK_ROWS`` rows (a keyed stream per block)."""
        number = np.empty(len(rows), dtype=np.int64)
        shape = np.zeros(len(rows), dtype=np.int64) if self.id_type == "string" else None
        sizes, weights = np.asarray(self.sizes_, dtype=np.int64), np.asarray(self.size_weights_)
        blocks = rows // BLOCK_ROWS
        for block in np.unique(blocks):
            stream = np.random.default_rng(np.random.SeedSequence((*key, 1 << 20, int(block))))
            drawn = stream.choice(sizes, size=BLOCK_ROWS // max(1, int(sizes.min())) + 1, p=weights)
            starts = np.concatenate([[0], np.cumsum(drawn)[:-1]])
            starts = starts[starts < BLOCK_ROWS] + int(block) * BLOCK_ROWS
            mine = blocks == block
            which = np.searchsorted(starts, rows[mine], side="right") - 1
            number[mine] = int(block) * BLOCK_ROWS + which
            if shape is not None:
                picks = stream.choice(len(self.shapes_), size=len(starts), p=np.asarray(self.shape_weights_))
                shape[mine] = picks[which]
        return number, shape

    def to_dict(self) -> dict:
        d = {"id_type": self.id_type, "k": self.k}
        if self.repeated:
            d.update(sizes=self.sizes_, size_weights=self.size_weights_, null_share=self.null_share_,
                     first=self.first_, step=self.step_)
        if self.id_type == "string":
            d.update(shapes=self.shapes_, shape_weights=self.shape_weights_)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "IdCodec":
        c = cls(id_type=d["id_type"], k=d["k"])
        if "sizes" in d:
            c.sizes_, c.size_weights_, c.null_share_ = list(d["sizes"]), list(d["size_weights"]), d["null_share"]
            c.first_, c.step_ = int(d.get("first", 1)), float(d.get("step", 1.0))
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
