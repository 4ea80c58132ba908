"""A number learned as its difference to another column, so that ``column >= base`` holds by construction.

The model sees the quantity that carries the relationship (a price's markup over the loan, the years before a
job), and decoding adds the base back. The column's own values are still clipped to their protected range.

The difference alone loses how the column itself is written: a loan amount that is a multiple of 1,000 in half
of the real rows, over a base that is not round, comes back round in a few percent of rows, with ten times the
real number of distinct values. So the codec also learns the column's own rounding classes (the largest of the
1-2-5 units it is a multiple of, kept when seen in at least k rows, as ``NumericCodec`` does) and adds that
class as one more token; decoding snaps ``base + difference`` to the nearest value of the drawn class that
still keeps ``column >= base``. A column of few values (at most MAX_LEVELS, each seen in k rows: ages, squares
of a small count) decodes to the nearest of them instead. A difference of exactly 0 (the column equals its base) is kept as it is.
"""
from __future__ import annotations

import numpy as np

from lookalike.encoding.base import FitByAnalysis, Stats
from lookalike.encoding.numeric import NumericCodec, largest_unit, protected_range, unit_series

MAX_LEVELS = 255
"""A column with at most this many distinct values, each seen in at least k rows, decodes to one of them (as
many as NumericCodec keeps as exact heaped values)."""
LEVEL_CHUNK = 16_384
"""Rows snapped to levels at once (memory: rows x levels floats)."""
SNAP_STEPS = np.array([0, 1, -1, 2, -2, 3, -3])
"""Multiples of the drawn unit tried around ``base + difference`` (nearest valid one wins)."""


class RelativeCodec(FitByAnalysis):
    """Values are ``(x, base)`` pairs of float arrays; tokens are those of ``x - base`` plus x's rounding class."""

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
        # the column's own rounding classes, from the same value counts (a class seen in fewer than k rows is
        # not reproduced; value 0 counts for no class: it is a multiple of everything)
        candidates = np.array(unit_series(max(abs(int(lo)), abs(int(hi)))), dtype=np.int64)
        nonzero = values[(values != 0) & (values >= lo) & (values <= hi)]
        classes = largest_unit(nonzero, candidates) if len(nonzero) else np.ones(0, dtype=np.int64)
        kept = [int(u) for u in candidates if u == 1 or (classes == u).sum() >= max(self.k, 2)]
        self.units_ = np.array(sorted(set(kept) | {1}, reverse=True), dtype=np.int64)
        # a column of few values, each seen in at least k rows (a 0/1 flag, a count of 1-4): decoded values
        # go to the nearest of them, so base + difference never invents values between them
        inside, counts = np.unique(values[(values >= lo) & (values <= hi)], return_counts=True)
        few = len(inside) <= MAX_LEVELS and len(inside) > 0 and bool((counts >= max(self.k, 2)).all())
        self.levels_ = inside.astype(np.int64) if few else np.zeros(0, dtype=np.int64)
        return self

    def _difference(self) -> NumericCodec:
        return NumericCodec(decimals=self.decimals, k=self.k)

    @property
    def cardinalities(self) -> list[int]:
        return self.difference_.cardinalities + ([len(self.units_)] if len(self.units_) > 1 else [])

    @property
    def null_token(self) -> int | None:
        return self.difference_.null_token

    def value_range(self) -> tuple[float, float]:
        return self.range_[0], self.range_[1]

    def encode(self, pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        x, b = pair
        tokens = self.difference_.encode(x - b)
        if len(self.units_) <= 1:
            return tokens
        xi = np.round(np.nan_to_num(np.asarray(x, dtype=float)) * 10**self.decimals).astype(np.int64)
        cls = np.searchsorted(-self.units_, -largest_unit(xi, self.units_))
        return np.concatenate([tokens, cls[:, None].astype(np.int64)], axis=1)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens)
        n_diff = len(self.difference_.cardinalities)
        lo, hi = self.range_
        difference = self.difference_.decode(tokens[:, :n_diff], rng)
        x = np.clip(base + difference, lo, hi)
        if len(self.levels_):
            snap = np.isfinite(x) & (difference != 0)
            unit = self.units_[tokens[snap, n_diff]] if len(self.units_) > 1 else None
            x[snap] = self._nearest_level(x[snap], np.asarray(base, dtype=float)[snap], unit)
        elif len(self.units_) > 1:
            snap = np.isfinite(x) & (difference != 0)
            x[snap] = self._snap(x[snap], np.asarray(base, dtype=float)[snap], self.units_[tokens[snap, n_diff]])
        return x

    def _nearest_level(self, x: np.ndarray, base: np.ndarray, unit: np.ndarray | None) -> np.ndarray:
        """The nearest of the column's own values that is at least ``base`` and of the drawn rounding class;
        failing that, the nearest at least ``base``; failing that, the nearest."""
        if len(x) > LEVEL_CHUNK:
            return np.concatenate([self._nearest_level(x[i:i + LEVEL_CHUNK], base[i:i + LEVEL_CHUNK],
                                                       None if unit is None else unit[i:i + LEVEL_CHUNK])
                                   for i in range(0, len(x), LEVEL_CHUNK)])
        levels = self.levels_ / 10**self.decimals
        dist = np.abs(levels[None, :] - x[:, None])
        above = levels[None, :] >= np.nan_to_num(base, nan=-np.inf)[:, None] - 1e-9
        best = dist.argmin(axis=1)
        tiers = [above]
        if unit is not None:
            tiers.insert(0, above & (largest_unit(self.levels_, self.units_)[None, :] == unit[:, None]))
        for allowed in reversed(tiers):  # the strictest tier that has a level wins
            d = np.where(allowed, dist, np.inf)
            has = np.isfinite(d.min(axis=1))
            best = np.where(has, d.argmin(axis=1), best)
        return levels[best]

    def _snap(self, x: np.ndarray, base: np.ndarray, unit: np.ndarray) -> np.ndarray:
        """Nearest multiple of ``unit`` whose class is exactly ``unit``, at least ``base``, inside the range;
        the value as it was where no such multiple lies within 3 units."""
        scale = 10**self.decimals
        xs = x * scale
        m = np.round(xs / unit).astype(np.int64)
        cand = (m[:, None] + SNAP_STEPS[None, :]) * unit[:, None]
        cls = largest_unit(cand.ravel(), self.units_).reshape(cand.shape)
        lo, hi = self.range_[0] * scale, self.range_[1] * scale
        valid = ((cls == unit[:, None]) & (cand != 0) & (cand >= np.nan_to_num(base * scale, nan=-np.inf)[:, None] - 1e-9)
                 & (cand >= lo - 1e-9) & (cand <= hi + 1e-9))
        dist = np.where(valid, np.abs(cand - xs[:, None]), np.inf)
        best = np.argmin(dist, axis=1)
        found = np.isfinite(dist[np.arange(len(x)), best])
        return np.where(found, cand[np.arange(len(x)), best] / scale, x)

    def to_dict(self) -> dict:
        return {"base": self.base, "decimals": self.decimals, "k": self.k, "range": self.range_,
                "difference": self.difference_.to_dict(), "units": self.units_.tolist(), "levels": self.levels_.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "RelativeCodec":
        c = cls(base=d["base"], decimals=d["decimals"], k=d["k"])
        c.range_ = list(d["range"])
        c.difference_ = NumericCodec.from_dict(d["difference"])
        c.units_ = np.array(d.get("units", [1]), dtype=np.int64)  # model files before rounding classes: none
        c.levels_ = np.array(d.get("levels", []), dtype=np.int64)
        return c
