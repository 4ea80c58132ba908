"""A number learned as its difference to another column, so that ``column >= base`` holds by construction.

The model sees the quantity that carries the relationship (a price's markup over the loan, the years before a
job), and decoding adds the base back. The column's own values are still clipped to their protected range.
"""
from __future__ import annotations

import numpy as np

from lookalike.encoding.base import FitByAnalysis, Stats
from lookalike.encoding.numeric import NumericCodec, protected_range


class RelativeCodec(FitByAnalysis):
    """Values are ``(x, base)`` pairs of float arrays; tokens are those of ``x - base``."""

    def __init__(self, base: str, decimals: int = 0, k: int = 5):
        self.base = base
        self.decimals = int(decimals)
        self.k = int(k)

    def analyse(self, pair: tuple[np.ndarray, np.ndarray]) -> Stats:
        x, b = pair
        return {"difference": self._difference().analyse(x - b), "own": self._difference().analyse(x)}

    def reduce(self, stats: Stats) -> "RelativeCodec":
        self.difference_ = self._difference().reduce(stats["difference"])
        own = stats["own"]["values"]
        values = np.repeat(own.index.to_numpy(np.int64), own.to_numpy(np.int64))
        if len(values) == 0:
            values = np.zeros(1, dtype=np.int64)
        lo, hi = protected_range(values, self.k)
        scale = 10**self.decimals
        self.range_ = [float(lo) / scale, float(hi) / scale]
        return self

    def _difference(self) -> NumericCodec:
        return NumericCodec(decimals=self.decimals, k=self.k)

    @property
    def cardinalities(self) -> list[int]:
        return self.difference_.cardinalities

    @property
    def null_token(self) -> int | None:
        return self.difference_.null_token

    def value_range(self) -> tuple[float, float]:
        return self.range_[0], self.range_[1]

    def encode(self, pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        x, b = pair
        return self.difference_.encode(x - b)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
        lo, hi = self.range_
        return np.clip(base + self.difference_.decode(tokens, rng), lo, hi)

    def to_dict(self) -> dict:
        return {"base": self.base, "decimals": self.decimals, "k": self.k, "range": self.range_,
                "difference": self.difference_.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "RelativeCodec":
        c = cls(base=d["base"], decimals=d["decimals"], k=d["k"])
        c.range_ = list(d["range"])
        c.difference_ = NumericCodec.from_dict(d["difference"])
        return c
