"""A number learned as its difference to another column, so that ``column >= base`` holds by construction.

The model sees the quantity that carries the relationship (a price's markup over the loan, the years before a
job), and decoding adds the base back. The column's own values are still clipped to their protected range.

The difference alone loses how the column itself is written: a loan amount that is a multiple of 1,000 in half
of the real rows, over a base that is not round, comes back round in a few percent of rows, with ten times the
real number of distinct values. So the codec also learns the column's own rounding classes (the largest of the
1-2-5 units it is a multiple of, kept when seen in at least k rows, as ``NumericCodec`` does) and adds that
class as one more token; decoding snaps ``base + difference`` to the nearest value of the drawn class that
still keeps ``column >= base``. A column of few values (at most MAX_LEVELS, each seen in k rows: ages, squares
of a small count) decodes to the nearest of them instead. A difference of exactly 0 (the column equals its base) is
kept as it is where the column ties its base in the real rows: at any value when ties are spread over many values
(a funded amount equal to the loan), else only at the values it ties on in at least k rows (``tie_values_``). A
contribution level that equals its policy count only where both are 0 (ISLR.Caravan: PPERSAUT is 0 or 4-8, its
base APERSAUT 0-6) otherwise came back as the base itself, 1-3, values the column never holds, wherever the model
drew the difference 0 over a base of 1-3; such a row goes to the nearest of the column's own values (few-valued
levels, else frequent values) that keeps ``column >= base``.

A column with more values, many of them frequent (a family income that is a non-mother income plus a heaped
labour income: 59% of rows on values seen at least k times), would otherwise come back as sums that are almost
never one of its values, twice its real number of distinct values. So the codec also learns the column's own
frequent values (seen in at least k rows, so no rare real value is written) and, per quantile bin of the
column, the share of rows on them; decoding moves that share of a bin's rows to the nearest frequent value
that still keeps ``column >= base``.
"""
from __future__ import annotations

import numpy as np

from lookalike.encoding.base import FitByAnalysis, Stats, value_counts
from lookalike.encoding.numeric import NumericCodec, largest_unit, protected_range, unit_series

MAX_LEVELS = 255
"""A column with at most this many distinct values, each seen in at least k rows, decodes to one of them (as
many as NumericCodec keeps as exact heaped values)."""
LEVEL_CHUNK = 16_384
"""Rows snapped to levels at once (memory: rows x levels floats)."""
SNAP_STEPS = np.array([0, 1, -1, 2, -2, 3, -3])
"""Multiples of the drawn unit tried around ``base + difference`` (nearest valid one wins)."""
OWN_BINS = 48
"""Quantile bins of the column's own values in which the share of rows on frequent values is learned."""
MAX_OWN_LEVELS = 20_000
"""At most this many of the column's frequent values (the most frequent) are kept."""


class RelativeCodec(FitByAnalysis):
    """Values are ``(x, base)`` pairs of float arrays; tokens are those of ``x - base`` plus x's rounding class."""

    def __init__(self, base: str, decimals: int = 0, k: int = 5):
        self.base = base
        self.decimals = int(decimals)
        self.k = int(k)

    def analyse(self, pair: tuple[np.ndarray, np.ndarray]) -> Stats:
        x, b = pair
        x, b = np.asarray(x, dtype=float), np.asarray(b, dtype=float)
        tie = np.isfinite(x) & (x == b)
        ties = value_counts(np.round(x[tie] * 10**self.decimals).astype(np.int64))
        return {"difference": self._difference().analyse(x - b), "own": self._difference().analyse(x), "ties": ties}

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
        self._learn_own_levels(inside, counts, few)
        # the values the column ties its base at, when the ties are on a few values (each seen in k rows, the
        # rest fewer than k rows); None: ties anywhere
        ties = stats.get("ties")
        self.tie_values_ = None
        if ties is not None and len(ties):
            frequent = ties[ties >= max(self.k, 2)]
            if ties.sum() - frequent.sum() < max(self.k, 2):
                self.tie_values_ = np.sort(frequent.index.to_numpy(np.int64))
        elif ties is not None:
            self.tie_values_ = np.zeros(0, dtype=np.int64)
        return self

    def _kept_ties(self, x: np.ndarray, difference: np.ndarray) -> np.ndarray:
        """Rows whose drawn difference 0 stands: the column equal to its base, at a value it ties on."""
        zero = difference == 0
        if getattr(self, "tie_values_", None) is None:
            return zero
        xi = np.round(np.nan_to_num(x) * 10**self.decimals).astype(np.int64)
        return zero & np.isin(xi, self.tie_values_)

    def _learn_own_levels(self, inside: np.ndarray, counts: np.ndarray, few: bool) -> None:
        """The column's frequent values (beyond a few-valued column's ``levels_``) and, per quantile bin of the
        column, the share of its rows on them."""
        self.own_levels_ = np.zeros(0, dtype=np.int64)
        self.own_edges_ = np.zeros(0)
        self.own_share_ = np.zeros(0)
        frequent = np.flatnonzero(counts >= max(self.k, 2))
        if few or not len(frequent):
            return
        frequent = frequent[np.argsort(-counts[frequent], kind="stable")][:MAX_OWN_LEVELS]
        self.own_levels_ = np.sort(inside[frequent]).astype(np.int64)
        cum = np.cumsum(counts) / counts.sum()  # quantile edges from the value counts
        qs = np.linspace(0, 1, int(np.clip(counts.sum() // 10, 1, OWN_BINS)) + 1)[1:-1]
        inner = inside[np.minimum(np.searchsorted(cum, qs), len(inside) - 1)].astype(float)
        self.own_edges_ = np.unique(inner)
        # per (bin, rounding class): a row's class is its own token, and already puts it on a round value
        n_cells = (len(self.own_edges_) + 1) * len(self.units_)
        cells = self._own_cells(inside.astype(float), self._classes(inside))
        on_levels = np.isin(inside, self.own_levels_)
        rows = np.bincount(cells, weights=counts, minlength=n_cells)
        level_rows = np.bincount(cells, weights=np.where(on_levels, counts, 0), minlength=n_cells)
        by_bin = level_rows.reshape(-1, len(self.units_)).sum(axis=1) / np.maximum(rows.reshape(-1, len(self.units_)).sum(axis=1), 1)
        # a cell without rows (base + difference may land there): the share of its bin
        self.own_share_ = np.where(rows > 0, level_rows / np.maximum(rows, 1), np.repeat(by_bin, len(self.units_)))

    def _classes(self, xi: np.ndarray) -> np.ndarray:
        """Index in ``units_`` of each integer value's rounding class (as ``encode`` writes it)."""
        return np.searchsorted(-self.units_, -largest_unit(np.asarray(xi, dtype=np.int64), self.units_))

    def _own_cells(self, xs: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """(quantile bin of the column's own values, rounding class) of values in units of 10**-decimals."""
        return np.searchsorted(self.own_edges_, xs, side="right") * len(self.units_) + classes

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
        kept = self._kept_ties(x, difference)
        if len(self.levels_):
            snap = np.isfinite(x) & ~kept
            unit = self.units_[tokens[snap, n_diff]] if len(self.units_) > 1 else None
            x[snap] = self._nearest_level(x[snap], np.asarray(base, dtype=float)[snap], unit)
            return x
        snap = np.isfinite(x) & ~kept
        if len(getattr(self, "own_levels_", ())) and snap.any():
            rows = np.flatnonzero(snap)
            scale = 10**self.decimals
            classes = tokens[rows, n_diff] if len(self.units_) > 1 else np.zeros(len(rows), dtype=np.int64)
            share = self.own_share_[self._own_cells(x[rows] * scale, classes)]
            # a difference of 0 where the column ties its base at no such value: always to a frequent value
            take = (rng.random(len(rows)) < share) | (difference[rows] == 0)
            rows, classes = rows[take], classes[take]
            level_classes = self._classes(self.own_levels_)
            base = np.asarray(base, dtype=float)
            for c in np.unique(classes):  # the nearest frequent value of the row's own rounding class
                r = rows[classes == c]
                levels = self.own_levels_[level_classes == c] / scale
                if len(levels):
                    x[r] = nearest_at_least(levels, x[r], base[r])
                    snap[r] = ~np.isin(x[r], levels)  # on a frequent value: already of its class
        if len(self.units_) > 1:
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
        own = {} if not len(getattr(self, "own_levels_", ())) else {
            "own_levels": self.own_levels_.tolist(), "own_edges": self.own_edges_.tolist(), "own_share": self.own_share_.tolist()}
        ties = getattr(self, "tie_values_", None)
        return {"base": self.base, "decimals": self.decimals, "k": self.k, "range": self.range_,
                "difference": self.difference_.to_dict(), "units": self.units_.tolist(), "levels": self.levels_.tolist(),
                **own, **({} if ties is None else {"tie_values": ties.tolist()})}

    @classmethod
    def from_dict(cls, d: dict) -> "RelativeCodec":
        c = cls(base=d["base"], decimals=d["decimals"], k=d["k"])
        c.range_ = list(d["range"])
        c.difference_ = NumericCodec.from_dict(d["difference"])
        c.units_ = np.array(d.get("units", [1]), dtype=np.int64)  # model files before rounding classes: none
        c.levels_ = np.array(d.get("levels", []), dtype=np.int64)
        c.own_levels_ = np.array(d.get("own_levels", []), dtype=np.int64)  # model files before: none
        c.own_edges_ = np.array(d.get("own_edges", []), dtype=float)
        c.own_share_ = np.array(d.get("own_share", []), dtype=float)
        ties = d.get("tie_values")  # model files before: a difference of 0 always stands
        c.tie_values_ = None if ties is None else np.array(ties, dtype=np.int64)
        return c


def nearest_at_least(levels: np.ndarray, x: np.ndarray, base: np.ndarray) -> np.ndarray:
    """For each value, the nearest of the sorted ``levels`` that is at least its ``base``; the value itself
    where no level is."""
    floor = np.nan_to_num(np.asarray(base, dtype=float), nan=-np.inf) - 1e-9
    above = np.searchsorted(levels, x)  # first level >= x: at least base whenever x is
    below = above - 1
    first_ok = np.searchsorted(levels, floor)  # first level >= base
    up = np.clip(np.maximum(above, first_ok), 0, len(levels) - 1)
    has_up = np.maximum(above, first_ok) < len(levels)
    down = np.clip(below, 0, len(levels) - 1)
    has_down = (below >= 0) & (below >= first_ok)
    d_up = np.where(has_up, np.abs(levels[up] - x), np.inf)
    d_down = np.where(has_down, np.abs(levels[down] - x), np.inf)
    return np.where(d_down <= d_up, np.where(has_down, levels[down], x), levels[up])
