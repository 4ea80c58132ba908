"""Numbers as tokens that keep how real numbers are written, not only their distribution.

A value becomes up to three tokens:

- ``main``: missing, one of the *heaped* exact values (seen in at least k rows, such as 0, 500 or 1000),
  or a quantile bin of the remaining values; ordered by value so that rank-based models (the copula) see order;
- ``fine``: the position inside the bin (only when there are bins);
- ``unit``: the value's rounding class, the largest learned unit (1, 2, 5, 10, 20, 50, 100, ...) it is a
  multiple of (only when more than one class is frequent).

Decoding draws inside the bin and snaps to a multiple of the unit that is not a multiple of a larger learned
unit, so "70% of amounts are multiples of 100" survives synthesis. Value protection: the range is clipped to
the k-th smallest and largest values, and only exact values and units seen in at least k rows are reproduced.
All arithmetic runs on integers scaled by 10**decimals, so decimals are exact.

Frequent values beyond the ``max_heaps`` that get a token of their own (a state-year variable such as a
state's income, 800 values each repeated in dozens of rows) are *levels*: they stay inside their bin, and
decoding puts a row of a bin cell (bin, fine position, rounding class) on one of the cell's levels with the
share of the cell's rows that held a level in the data (weighted by their counts), else draws it as before.
Drawn continuously, such a column came back with four times its real number of distinct values. A level,
like a heap, is a value seen in at least k rows, so no rare real value is copied.

Values that are no short decimals (``written=True``: float columns the schema marks ``full_precision``, such as
exp(logwage) = 127.11574381218446, or ``float32``): the integers scaled by 10**decimals are only the grid new
values are drawn on; each heap and level also keeps the exact float the input held for it (when that float
itself was seen in at least k rows), and :meth:`NumericCodec.as_written` writes decoded values back as those
floats. Written at the grid's 8 decimals instead (127.11574381), no generated value equalled a real one.
``step`` coarsens the grid of new values alone: one-decimal prices that went through single precision (7.9
beside 7.9000004, the schema's ``grid`` option) keep their heaps at 7 decimals and draw new values on 0.1.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from lookalike.encoding.base import FitByAnalysis, Stats

NULL, HEAP, BIN = 0, 1, 2


def unit_series(max_abs: float) -> list[int]:
    """The 1-2-5 series of units up to the magnitude of the data, largest first."""
    units, e = [], 0
    while True:
        for m in (1, 2, 5):
            u = m * 10**e
            if u > max(1.0, max_abs):
                return sorted(units, reverse=True)
            units.append(u)
        e += 1


class NumericCodec(FitByAnalysis):
    """Reversible numeric <-> token codec with granularity learning and value protection."""

    def __init__(self, decimals: int = 0, k: int = 5, units: list[int] | None = None,
                 bounds: tuple[float, float] | None = None, max_bins: int = 48, fine: int = 8,
                 max_heaps: int = 255, max_levels: int = 20_000, written: bool = False, step: int = 1):
        self.decimals = int(decimals)
        self.k = int(k)
        self.units = units
        self.bounds = bounds
        self.max_bins = max_bins
        self.fine = fine
        self.max_heaps = max_heaps
        self.max_levels = max_levels  # 0: no levels (differential privacy's codecs: their counts are pseudo-data)
        self.written = bool(written)  # keep the exact floats of heaps and levels (see the module's docstring)
        # the smallest unit new values are drawn on, in units of 10**-decimals: one-decimal prices that went
        # through single precision (7.9 beside 7.9000004) keep 7 decimals for their heaps, and step 10**6
        self.step = int(step)

    # -- learning -------------------------------------------------------------------------------
    @property
    def scale(self) -> int:
        return 10**self.decimals

    def _to_int(self, x: np.ndarray) -> np.ndarray:
        return np.round(np.asarray(x, dtype=float) * self.scale).astype(np.int64)

    def analyse(self, x: np.ndarray) -> Stats:
        """Missing count and how often each exact value (in units of 10**-decimals) occurs."""
        x = np.asarray(x, dtype=float)
        null = np.isnan(x)
        values, counts = np.unique(self._to_int(x[~null]), return_counts=True)
        stats = {"n_null": int(null.sum()), "values": pd.Series(counts, index=values, dtype=np.int64)}
        if self.written:  # how often each exact float occurs (what is written for a heap or a level)
            exact, n = np.unique(x[~null], return_counts=True)
            stats["written"] = pd.Series(n, index=exact, dtype=np.int64)
        return stats

    def reduce(self, stats: Stats) -> "NumericCodec":
        """Protected range, heaped values, quantile bins and rounding units, from the value counts alone."""
        self.has_null_ = bool(stats["n_null"] > 0)
        self._by_cell_ = None  # decoding's per-cell lookups, made again from the new state
        counted = stats["values"]
        xi = np.repeat(counted.index.to_numpy(np.int64), counted.to_numpy(np.int64))
        if len(xi) == 0:
            xi = np.zeros(1, dtype=np.int64)
        if self.bounds is not None:
            lo, hi = self._to_int(np.array(self.bounds))
        else:
            lo, hi = protected_range(xi, self.k)
        self.lo_, self.hi_ = int(lo), int(hi)
        xi = np.clip(xi, self.lo_, self.hi_)

        values, counts = np.unique(xi, return_counts=True)
        threshold = max(self.k, 2)
        frequent = np.flatnonzero(counts >= threshold)
        frequent = frequent[np.argsort(-counts[frequent], kind="stable")][: self.max_heaps]
        self.heaps_ = np.sort(values[frequent])
        rest = xi[~np.isin(xi, self.heaps_)]

        if len(rest):
            nb = int(np.clip(len(rest) // 10, 1, self.max_bins))
            edges = np.unique(np.quantile(rest.astype(float), np.linspace(0, 1, nb + 1)))
            if len(edges) == 1:
                edges = np.array([edges[0], edges[0]])
            self.edges_ = edges
        else:
            self.edges_ = np.zeros(0)
        n_bins = max(len(self.edges_) - 1, 0)

        # main vocabulary: null, then heaps and bins interleaved by value
        positions = np.concatenate([self.heaps_.astype(float), (self.edges_[:-1] + self.edges_[1:]) / 2])
        kinds = np.concatenate([np.full(len(self.heaps_), HEAP), np.full(n_bins, BIN)])
        refs = np.concatenate([np.arange(len(self.heaps_)), np.arange(n_bins)])
        order = np.argsort(positions, kind="stable")
        self.main_kind_ = np.concatenate([[NULL] if self.has_null_ else [], kinds[order]]).astype(np.int64)
        self.main_ref_ = np.concatenate([[0] if self.has_null_ else [], refs[order]]).astype(np.int64)
        self._index_tokens()

        candidates = self.units if self.units is not None else unit_series(max(abs(self.lo_), abs(self.hi_)))
        candidates = sorted({int(u) for u in candidates if u % self.step == 0} | {self.step}, reverse=True)
        if len(rest):
            cls = largest_unit(self._on_step(rest), np.array(candidates))
            kept = [u for u in candidates if u == self.step or (cls == u).sum() >= threshold]
        else:
            kept = [self.step]
        self.units_ = np.array(sorted(kept, reverse=True), dtype=np.int64)
        self._learn_levels(values, counts, threshold)
        self._learn_written(stats.get("written"), threshold)
        return self

    def _on_step(self, xi: np.ndarray) -> np.ndarray:
        """Integer values rounded to the nearest multiple of ``step`` (their rounding class is read there)."""
        xi = np.asarray(xi, dtype=np.int64)
        return xi if self.step == 1 else np.round(xi / self.step).astype(np.int64) * self.step

    def _learn_written(self, written: pd.Series | None, threshold: int) -> None:
        """For each heap and level, the exact float the input held most often for it, where that float itself
        was seen in at least ``threshold`` rows (no rare real value is written); none without ``written``
        statistics (differential privacy releases none)."""
        self.written_keys_ = np.zeros(0, dtype=np.int64)
        self.written_values_ = np.zeros(0)
        if written is None or not len(written):
            return
        exact = written.index.to_numpy(float)
        counts = written.to_numpy(np.int64)
        ok = np.isfinite(exact) & (counts >= threshold)
        exact, counts = exact[ok], counts[ok]
        keys = self._to_int(exact)
        kept = np.isin(keys, np.concatenate([self.heaps_, getattr(self, "levels_", np.zeros(0, np.int64))]))
        exact, counts, keys = exact[kept], counts[kept], keys[kept]
        order = np.lexsort((exact, -counts, keys))  # per key: the most frequent float first (ties: the smallest)
        keys, exact = keys[order], exact[order]
        first = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, dtype=bool)
        differs = exact[first] != keys[first] / self.scale  # a float the grid writes anyway needs no entry
        self.written_keys_ = keys[first][differs].astype(np.int64)
        self.written_values_ = exact[first][differs].astype(float)

    def as_written(self, x: np.ndarray) -> np.ndarray:
        """Decoded values (in the column's units, on its grid of decimals) with every heap and level written as
        the exact float the input held for it; other values unchanged."""
        x = np.asarray(x, dtype=float)
        keys = getattr(self, "written_keys_", ())
        if not len(keys):
            return x
        finite = np.isfinite(x)
        xi = np.round(np.where(finite, x, 0.0) * self.scale)
        at = np.clip(np.searchsorted(keys, xi), 0, len(keys) - 1)
        hit = finite & (keys[at] == xi)
        return np.where(hit, self.written_values_[at], x)

    def _learn_levels(self, values: np.ndarray, counts: np.ndarray, threshold: int) -> None:
        """Frequent values left in the bins (beyond ``max_heaps``), their counts, and per bin cell the rows of
        the other (rare) values: what decoding needs to put a cell's rows back on its levels."""
        self.levels_ = np.zeros(0, dtype=np.int64)
        self.level_counts_ = np.zeros(0, dtype=np.int64)
        self.rare_cells_ = np.zeros(0, dtype=np.int64)
        self.grid_ = self.grid_cells_ = np.zeros(0, dtype=np.int64)
        if not len(self.bin_token_) or self.max_levels <= 0:
            return
        in_bins = ~np.isin(values, self.heaps_)
        values, counts = values[in_bins], counts[in_bins]
        frequent = np.flatnonzero(counts >= threshold)
        frequent = frequent[np.argsort(-counts[frequent], kind="stable")][: self.max_levels]
        is_level = np.zeros(len(values), dtype=bool)
        is_level[frequent] = True
        cells, first = np.unique(self._cells(values[~is_level]), return_inverse=True)
        sizes = repeat_grid(np.bincount(first, minlength=len(cells)),
                            np.bincount(first, weights=counts[~is_level], minlength=len(cells)))
        self.grid_cells_, self.grid_ = cells[sizes > 0].astype(np.int64), sizes[sizes > 0]
        if not len(frequent):
            return
        order = np.argsort(values[is_level])
        self.levels_ = values[is_level][order].astype(np.int64)
        self.level_counts_ = counts[is_level][order].astype(np.int64)
        self.rare_cells_ = np.bincount(self._cells(values[~is_level]), weights=counts[~is_level],
                                       minlength=self._n_cells).astype(np.int64)
        self._index_levels()

    @property
    def _n_cells(self) -> int:
        return len(self.bin_token_) * self.fine * max(len(self.units_), 1)

    def _cell_tokens(self, xi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bin, fine position, rounding class) of in-bin integer values, exactly as ``encode`` writes them."""
        v = np.asarray(xi).astype(float)
        b = np.clip(np.searchsorted(self.edges_, v, side="right") - 1, 0, len(self.bin_token_) - 1)
        lo, hi = self.edges_[b], self.edges_[b + 1]
        width = np.where(hi > lo, hi - lo, 1.0)
        f = np.clip(((v - lo) / width * self.fine).astype(np.int64), 0, self.fine - 1)
        if len(self.units_) > 1:
            u = np.searchsorted(-self.units_, -largest_unit(self._on_step(xi), self.units_))
        else:
            u = np.zeros(len(v), dtype=np.int64)
        return b, f, u

    def _cell_index(self, b: np.ndarray, f: np.ndarray, u: np.ndarray) -> np.ndarray:
        return (np.asarray(b) * self.fine + np.asarray(f)) * max(len(self.units_), 1) + np.asarray(u)

    def _cells(self, xi: np.ndarray) -> np.ndarray:
        return self._cell_index(*self._cell_tokens(xi))

    def _index_levels(self) -> None:
        """Levels ordered by cell (then value), with the running sum of their counts."""
        cells = self._cells(self.levels_)
        order = np.lexsort((self.levels_, cells))
        self.level_cell_ = cells[order]
        self.level_by_cell_ = self.levels_[order]
        self.level_cum_ = np.concatenate([[0], np.cumsum(self.level_counts_[order])]).astype(np.int64)
        self._by_cell_ = None

    @property
    def null_token(self) -> int | None:
        return 0 if self.has_null_ else None

    def value_range(self) -> tuple[float, float]:
        """The protected range the codec decodes into, in the column's units."""
        return self.lo_ / self.scale, self.hi_ / self.scale

    @property
    def cardinalities(self) -> list[int]:
        cards = [len(self.main_kind_)]
        if len(self.bin_token_):
            cards.append(self.fine)
            if len(self.units_) > 1:
                cards.append(len(self.units_))
        return cards

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        n = len(x)
        out = np.zeros((n, len(self.cardinalities)), dtype=np.int64)
        null = np.isnan(x)
        xi = np.clip(self._to_int(np.where(null, 0, x)), self.lo_, self.hi_)
        is_heap = np.isin(xi, self.heaps_) & ~null
        if is_heap.any():
            idx = np.searchsorted(self.heaps_, xi[is_heap])
            out[is_heap, 0] = self.heap_token_[idx]
        in_bin = ~is_heap & ~null
        if in_bin.any():
            if not len(self.bin_token_):  # a value the codec never saw in a bin: nearest heap
                idx = np.clip(np.searchsorted(self.heaps_, xi[in_bin]), 0, len(self.heaps_) - 1)
                out[in_bin, 0] = self.heap_token_[idx]
            else:
                b, f, u = self._cell_tokens(xi[in_bin])
                out[in_bin, 0] = self.bin_token_[b]
                out[in_bin, 1] = f
                if len(self.units_) > 1:
                    out[in_bin, 2] = u
        if null.any():
            out[null, 0] = 0
        return out

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        tokens = np.asarray(tokens)
        n = len(tokens)
        kind = self.main_kind_[tokens[:, 0]]
        ref = self.main_ref_[tokens[:, 0]]
        out = np.full(n, np.nan)
        h = kind == HEAP
        out[h] = self.heaps_[ref[h]]
        b = np.flatnonzero(kind == BIN)
        if len(b):
            bins = ref[b]
            lo, hi = self.edges_[bins], self.edges_[bins + 1]
            mass = getattr(self, "bin_mass_", None)
            if mass is not None and self.fine == 1 and len(self.units_) <= 1:
                # released bin masses (DP): whole units inside the bin, without its heaped values
                v = bin_values(bins, self.edges_, self.heaps_, linear_positions(bins, self.edges_, mass, rng))
            else:
                fine = tokens[b, 1]
                classes = tokens[b, 2] if len(self.units_) > 1 else np.zeros(len(b), dtype=np.int64)
                u = (fine + rng.random(len(b))) / self.fine
                cells = None
                if len(getattr(self, "grid_", ())):  # rare values that repeat: on their cell's grid of positions
                    cells = self._cell_index(bins, fine, classes)
                    g = self._by_cell()["grid"][cells]
                    inside = u * self.fine - fine  # the position inside the fine cell, in [0, 1)
                    u = np.where(g > 0, (fine + (np.floor(inside * g) + 0.5) / np.maximum(g, 1)) / self.fine, u)
                v = lo + u * (hi - lo)
                unit = self.units_[classes] if len(self.units_) > 1 else np.full(len(b), self.units_[0], np.int64)
                v = snap_to_unit(v, unit, self.units_)
                if len(getattr(self, "levels_", ())):
                    cells = self._cell_index(bins, fine, classes) if cells is None else cells
                    v = self._on_levels(v, cells, bins, rng)
            out[b] = np.clip(v, self.lo_, self.hi_)
        return out / self.scale

    def _by_cell(self) -> dict[str, np.ndarray]:
        """Per bin cell (indexed by ``_cell_index``): its grid size (0: none) and the range of its levels in
        ``level_by_cell_``; decoding looks them up instead of searching the sorted cell lists for every row."""
        cached = getattr(self, "_by_cell_", None)
        if cached is None:
            n = self._n_cells
            grid = np.zeros(n, dtype=np.int64)
            grid[self.grid_cells_] = self.grid_
            every = np.arange(n)
            level_cell = getattr(self, "level_cell_", np.zeros(0, dtype=np.int64))
            cached = self._by_cell_ = {"grid": grid,
                                       "start": np.searchsorted(level_cell, every, side="left"),
                                       "end": np.searchsorted(level_cell, every, side="right")}
        return cached

    def _on_levels(self, v: np.ndarray, cells: np.ndarray, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Rows of a cell on one of its levels (drawn by count) with the share of the cell's data rows that held
        a level; the others keep their drawn value ``v``. A cell the data left empty (the model may still draw
        it): the bin's share of level rows, on the level nearest to ``v`` inside the bin."""
        by_cell = self._by_cell()
        start, end = by_cell["start"][cells], by_cell["end"][cells]
        on_levels = (self.level_cum_[end] - self.level_cum_[start]).astype(float)
        total = on_levels + self.rare_cells_[cells]
        r = rng.random(len(v)) * total
        pick = r < on_levels
        idx = np.searchsorted(self.level_cum_, self.level_cum_[start] + r, side="right") - 1
        out = np.where(pick, self.level_by_cell_[np.clip(idx, 0, len(self.levels_) - 1)], v)
        empty = total <= 0
        if empty.any():
            level_bin = np.clip(np.searchsorted(self.edges_, self.levels_.astype(float), side="right") - 1,
                                0, len(self.bin_token_) - 1)
            n_bins = len(self.bin_token_)
            level_rows = np.bincount(level_bin, weights=self.level_counts_, minlength=n_bins)
            rare_rows = self.rare_cells_.reshape(n_bins, -1).sum(axis=1)
            share = level_rows / np.maximum(level_rows + rare_rows, 1)
            e = np.flatnonzero(empty)
            take = e[rng.random(len(e)) < share[bins[e]]]
            if len(take):
                out[take] = nearest_in_bin(v[take], bins[take], self.levels_, level_bin)
        return out

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "decimals": self.decimals, "k": self.k, "fine": self.fine, "has_null": self.has_null_,
            **({} if self.step == 1 else {"step": self.step}),
            "lo": self.lo_, "hi": self.hi_, "heaps": self.heaps_.tolist(), "edges": self.edges_.tolist(),
            "main_kind": self.main_kind_.tolist(), "main_ref": self.main_ref_.tolist(),
            "units": self.units_.tolist(),
            **({} if getattr(self, "bin_mass_", None) is None else {"bin_mass": self.bin_mass_.tolist()}),
            **({} if not len(getattr(self, "levels_", ())) else {
                "levels": self.levels_.tolist(), "level_counts": self.level_counts_.tolist(),
                "rare_cells": self.rare_cells_.tolist()}),
            **({} if not len(getattr(self, "grid_", ())) else {"grid_cells": self.grid_cells_.tolist(),
                                                               "grid": self.grid_.tolist()}),
            **({} if not len(getattr(self, "written_keys_", ())) else {
                "written_keys": self.written_keys_.tolist(), "written_values": self.written_values_.tolist()}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "NumericCodec":
        c = cls(decimals=d["decimals"], k=d["k"], fine=d["fine"], step=d.get("step", 1))
        c.has_null_, c.lo_, c.hi_ = d["has_null"], d["lo"], d["hi"]
        c.heaps_ = np.array(d["heaps"], dtype=np.int64)
        c.edges_ = np.array(d["edges"], dtype=float)
        c.main_kind_ = np.array(d["main_kind"], dtype=np.int64)
        c.main_ref_ = np.array(d["main_ref"], dtype=np.int64)
        c.units_ = np.array(d["units"], dtype=np.int64)
        if d.get("bin_mass") is not None:
            c.bin_mass_ = np.array(d["bin_mass"], dtype=float)
        c._index_tokens()
        c.levels_ = np.array(d.get("levels", []), dtype=np.int64)  # model files before levels: none
        c.level_counts_ = np.array(d.get("level_counts", []), dtype=np.int64)
        c.rare_cells_ = np.array(d.get("rare_cells", []), dtype=np.int64)
        c.grid_cells_ = np.array(d.get("grid_cells", []), dtype=np.int64)
        c.grid_ = np.array(d.get("grid", []), dtype=np.int64)
        c.written_keys_ = np.array(d.get("written_keys", []), dtype=np.int64)
        c.written_values_ = np.array(d.get("written_values", []), dtype=float)
        if len(c.levels_):
            c._index_levels()
        return c

    def _index_tokens(self) -> None:
        """Lookup arrays from heap index / bin index to main token (bins are in value order)."""
        self.heap_token_ = np.zeros(len(self.heaps_), dtype=np.int64)
        is_heap = self.main_kind_ == HEAP
        self.heap_token_[self.main_ref_[is_heap]] = np.flatnonzero(is_heap)
        self.bin_token_ = np.flatnonzero(self.main_kind_ == BIN).astype(np.int64)


def repeat_grid(distinct: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per cell of rare values (bin, fine position, rounding class), on how many evenly spaced positions of
    the cell they are drawn (0: anywhere, continuously).

    The rare values of a bin (seen in fewer than k rows each, so never written) often still repeat: a
    household's expenditure on each member's row. Drawn continuously, every synthetic row gets a value of
    its own, many more distinct values than the data holds. On G positions, ``rows`` draws give about
    G (1 - exp(-rows / G)) distinct values; G is chosen so that this is the group's ``distinct`` count
    (continuous where the values hardly repeat: rows < 1.25 distinct). Per cell, not per bin: draws
    crowd into a bin's dense cells, which would leave them fewer distinct values than the data has; and each
    rounding class has its own grid, as a position snapped to two classes gives two values."""
    distinct, rows = np.asarray(distinct, dtype=float), np.asarray(rows, dtype=float)
    out = np.zeros(len(distinct), dtype=np.int64)
    repeat = (distinct > 0) & (rows >= 1.25 * distinct)
    if not repeat.any():
        return out
    target = distinct[repeat] / rows[repeat]
    lo, hi = np.full(len(target), 1e-9), np.full(len(target), 50.0)
    for _ in range(60):  # x = rows / G solves (1 - exp(-x)) / x = distinct / rows, decreasing in x
        x = (lo + hi) / 2
        above = -np.expm1(-x) / x > target
        lo, hi = np.where(above, x, lo), np.where(above, hi, x)
    out[repeat] = np.maximum(1, np.round(rows[repeat] / x)).astype(np.int64)
    return out


def nearest_in_bin(v: np.ndarray, bins: np.ndarray, levels: np.ndarray, level_bin: np.ndarray) -> np.ndarray:
    """For each value, the nearest level of its own bin (the value itself where its bin has none).
    ``levels`` sorted, ``level_bin`` their bins (sorted too, as the bins are)."""
    out = np.asarray(v, dtype=float).copy()
    start = np.searchsorted(level_bin, bins, side="left")
    end = np.searchsorted(level_bin, bins, side="right")
    has = end > start
    if has.any():
        pos = np.clip(np.searchsorted(levels, out[has]), start[has], end[has] - 1)
        below = np.clip(pos - 1, start[has], end[has] - 1)
        a, b = levels[below].astype(float), levels[pos].astype(float)
        out[has] = np.where(np.abs(a - out[has]) <= np.abs(b - out[has]), a, b)
    return out


def linear_positions(bins: np.ndarray, edges: np.ndarray, mass: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions in [0, 1) inside each row's bin, drawn from a piecewise-linear density instead of a uniform
    one: the density at each inner edge is the mean of its two bins' densities (mass / width), and at the
    bin's middle whatever keeps the bin's mean density (clipped at 0), so a bin on a slope puts more values
    on its dense side. ``mass``: each bin's share (a model's released 1-way marginal: post-processing).
    Wide bins (16 per number under DP) otherwise spread their mass evenly over values the data leaves empty.

    The rows of one bin get stratified quantiles (``stratified_uniforms``), not independent ones: how many of
    them fall below any value inside the bin is then its expectation up to one row, where independent draws
    add binomial noise (a judge's decile edge inside a wide bin would get about sqrt(n p (1 - p)) rows too
    many or too few)."""
    width = np.maximum(np.diff(edges), 1e-12)
    dens = np.clip(np.asarray(mass, dtype=float), 0, None) / width
    at_edge = np.concatenate([[dens[0]], (dens[:-1] + dens[1:]) / 2, [dens[-1]]])
    left, right = at_edge[bins], at_edge[bins + 1]
    mid = np.clip(2 * dens[bins] - (left + right) / 2, 0, None)
    first = (left + mid) / 2  # areas of the two halves (times width / 2)
    second = (mid + right) / 2
    total = first + second
    flat = total <= 0
    w = stratified_uniforms(bins, rng)  # the quantile of each row's value in its bin
    in_first = w * np.where(flat, 1.0, total) < first
    p = np.where(in_first, left, mid)
    q = np.where(in_first, mid, right)
    half = np.where(in_first, first, second)
    u = np.clip(np.divide(w * total - np.where(in_first, 0.0, first), half, out=w.copy(), where=half > 0), 0.0, 1.0)
    # inverse CDF of a linear density from p to q on [0, 1]: p t + (q - p) t^2 / 2 = u (p + q) / 2
    slope = q - p
    safe = np.abs(slope) > 1e-12 * np.maximum(p + q, 1e-300)
    t = np.where(safe, (-p + np.sqrt(np.maximum(p * p + u * (q * q - p * p), 0))) / np.where(safe, slope, 1.0), u)
    t = np.clip(t, 0.0, 1.0)
    pos = np.where(in_first, t / 2, 0.5 + t / 2)
    return np.where(flat, w, np.minimum(pos, np.nextafter(1.0, 0.0)))


def bin_values(bins: np.ndarray, edges: np.ndarray, heaps: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Whole units for positions in [0, 1) inside each row's bin [lo, hi): the bin's integers without its
    heaped values (a heap has its own token, so the bin's mass is that of its other values), the position's
    share of them. Rounding a position to the nearest unit would put part of a narrow bin's mass on its
    heaps (an age bin 32-34 whose 33 and 34 are heaps holds only 32s, and would come back two thirds 33 and
    34) and part of it in the next bin."""
    first = np.ceil(edges[:-1])[bins]  # the integers of bin [lo, hi): first .. last
    last = np.ceil(edges[1:])[bins] - 1
    heaps = np.sort(np.asarray(heaps, dtype=float))
    inside = (np.searchsorted(heaps, last, side="right") - np.searchsorted(heaps, first, side="left"))
    free = last - first + 1 - inside
    ok = free > 0
    k = np.floor(np.clip(positions, 0.0, np.nextafter(1.0, 0.0)) * np.where(ok, free, 1))
    value = first + k
    for h in heaps:  # the k-th integer of the bin that is not a heap: step over each heap at or below it
        value = value + ((h >= first) & (h <= value) & ok)
    # a bin with no free integer (or none at all): the nearest unit to the position, as before
    return np.where(ok, value, np.round(edges[:-1][bins] + positions * (edges[1:] - edges[:-1])[bins]))


def stratified_uniforms(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniform in [0, 1) per row, stratified within each group of rows: the m rows of a group get one draw
    from each of [0, 1/m), [1/m, 2/m), ... in random order. Each row's value is still uniform, but the
    group's values cover [0, 1) evenly (a deterministic function of ``groups`` and the generator's state)."""
    groups = np.asarray(groups)
    n = len(groups)
    order = np.lexsort((rng.random(n), groups))  # rows by group, in random order inside it
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    sizes = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, sizes)
    out = np.empty(n)
    out[order] = (rank + rng.random(n)) / np.repeat(sizes, sizes)
    return out


def protected_range(sorted_values: np.ndarray, k: int):
    """The k-th smallest and largest values: no single extreme value can be traced through the range."""
    v = sorted_values
    if k > 1 and len(v) >= 2 * k:
        return v[k - 1], v[-k]
    if k > 1:  # too few values to publish any range: collapse to the median
        return v[len(v) // 2], v[len(v) // 2]
    return v[0], v[-1]


MAX_CLASS_TABLE = 1 << 16


def largest_unit(values: np.ndarray, units_desc: np.ndarray) -> np.ndarray:
    """For each integer value, the largest unit in ``units_desc`` that divides it (1 always does)."""
    values = np.asarray(values, dtype=np.int64)
    units = tuple(sorted({int(u) for u in units_desc if u > 1}))
    if not units:
        return np.ones(len(values), dtype=np.int64)
    period = int(np.lcm.reduce(np.array(units, dtype=np.int64)))
    if period <= MAX_CLASS_TABLE:  # a value's class is that of its remainder: one lookup, not one pass per unit
        return _class_table(units, period)[values % period]
    out = np.ones(len(values), dtype=np.int64)
    for u in units:  # smallest first: a larger unit that divides overwrites it
        out[np.fmod(values, u) == 0] = u  # fmod: C's remainder, twice as fast as numpy's floor modulo
    return out


@lru_cache(maxsize=64)
def _class_table(units: tuple[int, ...], period: int) -> np.ndarray:
    """The largest of ``units`` (ascending, all > 1, each dividing ``period``) that divides each of 0 .. period - 1."""
    table = np.ones(period, dtype=np.int64)
    for u in units:
        table[::u] = u
    table.flags.writeable = False
    return table


def snap_to_unit(v: np.ndarray, unit: np.ndarray, units_desc: np.ndarray) -> np.ndarray:
    """Round each value to the nearest multiple of its unit that is not a multiple of a larger learned unit."""
    m = np.round(v / unit).astype(np.int64)
    nearest = m * unit
    out = nearest.astype(float)
    # the nearest multiple is the answer wherever it is of the row's own class (most rows): it is the closest
    # candidate, and first among equally close ones; only the other rows search the candidates around it
    bad = np.flatnonzero(largest_unit(nearest, units_desc) != unit)
    if not len(bad):
        return out
    v, unit, m = v[bad], unit[bad], m[bad]
    offsets = np.array([0, -1, 1, -2, 2, -3, 3])
    cand = (m[:, None] + offsets[None, :]) * unit[:, None]
    cls = largest_unit(cand.ravel(), units_desc).reshape(cand.shape)
    dist = np.abs(cand - v[:, None]).astype(float)
    dist[cls != unit[:, None]] = np.inf
    best = np.argmin(dist, axis=1)
    picked = cand[np.arange(len(v)), best]
    none_valid = ~np.isfinite(dist.min(axis=1))
    out[bad] = np.where(none_valid, m * unit, picked)
    return out
