"""Datetimes as numbers of seconds, so heaping (midnight, on the hour) is learned like numeric granularity.

Calendar structure that seconds cannot express is learned as extra token sub-columns, so a model learns it
jointly with the other columns (a company that pays on month ends, shops that open on business days):

- ``weekday``: the day of week, when its distribution is far from what the calendar alone would give;
- ``day class``: first / 15th / last day of the month, first / last business day, or none of those, for each
  class that is heaped (several times more frequent than the calendar gives, and seen in at least k rows).

Decoding draws the seconds inside the learned bin as numbers do, then moves the date by whole days to the
nearest day with the drawn weekday and day class. Whole days keep the time of day and the rounding unit, and
the move never leaves the protected [lo, hi] range. Exact (heaped) timestamps are never moved.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chisquare

from lookalike.encoding.base import FitByAnalysis, Stats
from lookalike.encoding.numeric import BIN, NumericCodec
from lookalike.schema.values import parse_datetimes, seconds

SECOND_UNITS = [86400, 3600, 1800, 900, 300, 60, 1]  # day, hour, half/quarter hour, 5 min, minute, second
DAY = 86400
DAY_CLASSES = ["other", "first", "15th", "last", "first_business", "last_business"]
MAX_SHIFT = 31  # days a decoded date may move to reach its weekday and day class
CHUNK = 20_000  # rows per vectorised move, to bound memory


def weekday_of(days: np.ndarray) -> np.ndarray:
    """Monday = 0 for days since 1970-01-01 (a Thursday)."""
    return (np.asarray(days, dtype=np.int64) + 3) % 7


def day_class_of(days: np.ndarray) -> np.ndarray:
    """Index into DAY_CLASSES; a day in several classes gets the most specific (last > first > 15th > business)."""
    days = np.asarray(days, dtype=np.int64)
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    dom = (d - month.astype("datetime64[D]")).astype(np.int64) + 1
    wd = weekday_of(days)
    business = wd < 5
    next_business = (days + np.where(wd == 4, 3, 1)).astype("datetime64[D]").astype("datetime64[M]")
    prev_business = (days - np.where(wd == 0, 3, 1)).astype("datetime64[D]").astype("datetime64[M]")
    cls = np.zeros(len(days), dtype=np.int64)
    cls[business & (prev_business != month)] = 4
    cls[business & (next_business != month)] = 5
    cls[dom == 15] = 2
    cls[dom == 1] = 1
    cls[(d + 1).astype("datetime64[M]") != month] = 3
    return cls


class DatetimeCodec(FitByAnalysis):
    """Parses with the learned formats, models seconds since the epoch, writes back in the same formats.

    ``formats`` is a list of [strftime format, share]: a column that mixes formats keeps the mixture.
    ``None`` means a native datetime column. ``min_weekday_tv`` is how far (total variation) the weekday
    distribution must be from the calendar's before it gets its own token; ``heap_factor`` is how many times
    more frequent than the calendar a day class must be.
    """

    def __init__(self, formats: list | None = None, k: int = 5, min_weekday_tv: float = 0.08,
                 heap_factor: float = 3.0):
        self.formats = formats
        self.k = int(k)
        self.min_weekday_tv = min_weekday_tv
        self.heap_factor = heap_factor

    def to_seconds(self, s: pd.Series) -> np.ndarray:
        return seconds(parse_datetimes(s, self.formats))

    # -- learning -------------------------------------------------------------------------------
    def analyse(self, s: pd.Series) -> Stats:
        """How often each timestamp occurs, in milliseconds (missing ones counted apart)."""
        return NumericCodec(decimals=3, k=self.k).analyse(self.to_seconds(s))

    def reduce(self, stats: Stats) -> "DatetimeCodec":
        """Seconds as a number (milliseconds only where the data have them), then the calendar tokens."""
        ms = stats["values"]
        values = ms.index.to_numpy(np.int64)
        self.decimals_ = 3 if np.any(values % 1000 != 0) else 0
        self.date_only_ = bool(len(values)) and bool(np.all(values % (DAY * 1000) == 0))
        scale = 10**self.decimals_
        counted = ms if self.decimals_ else ms.set_axis(values // 1000).groupby(level=0).sum()
        self.numeric_ = NumericCodec(decimals=self.decimals_, k=self.k, units=[u * scale for u in SECOND_UNITS])
        self.numeric_.reduce({"n_null": stats["n_null"], "values": counted})
        self.weekdays_: list[int] = []
        self.day_classes_: list[int] = []
        self._classes = None  # calendar cache of _class_table, stale after a new fit
        sec = counted.index.to_numpy(np.int64) / scale
        weights = counted.to_numpy(np.int64)
        moved = self._movable(sec, self.numeric_.encode(sec))
        if weights[moved].sum() >= max(2 * self.k, 20):
            self._fit_calendar(np.floor(sec[moved] / DAY).astype(np.int64), weights[moved])
        return self

    def _fit_calendar(self, days: np.ndarray, weights: np.ndarray) -> None:
        """Keep the weekday and day-class tokens only where the data depart from the calendar
        (``weights``: how many rows fall on each of ``days``)."""
        lo, hi = self._day_range()
        calendar = np.arange(lo, hi + 1)
        threshold = max(self.k, 2)

        observed = np.bincount(weekday_of(days), weights=weights, minlength=7)
        expected = np.bincount(weekday_of(calendar), minlength=7) / len(calendar)
        tv = 0.5 * np.abs(observed / observed.sum() - expected).sum()
        possible = expected > 0
        if possible.sum() > 1 and tv >= self.min_weekday_tv:
            p = chisquare(observed[possible], expected[possible] / expected[possible].sum() * observed.sum()).pvalue
            if p < 1e-3:
                self.weekdays_ = [int(w) for w in np.flatnonzero(observed >= threshold)]

        observed = np.bincount(day_class_of(days), weights=weights, minlength=len(DAY_CLASSES))
        expected = np.bincount(day_class_of(calendar), minlength=len(DAY_CLASSES)) / len(calendar)
        share = observed / observed.sum()
        self.day_classes_ = [c for c in range(1, len(DAY_CLASSES))
                             if observed[c] >= threshold and share[c] >= self.heap_factor * expected[c]]

    def _day_range(self) -> tuple[int, int]:
        scale = self.numeric_.scale
        return int(np.floor(self.numeric_.lo_ / scale / DAY)), int(np.floor(self.numeric_.hi_ / scale / DAY))

    def _movable(self, sec: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """Rows drawn inside a bin (exact heaped timestamps and missing values are never moved)."""
        return (self.numeric_.main_kind_[tokens[:, 0]] == BIN) & ~np.isnan(sec)

    @property
    def null_token(self) -> int | None:
        return self.numeric_.null_token

    def value_range(self) -> tuple[float, float]:
        """The protected range in seconds since 1970."""
        return self.numeric_.value_range()

    @property
    def _n_numeric(self) -> int:
        return len(self.numeric_.cardinalities)

    @property
    def cardinalities(self) -> list[int]:
        cards = list(self.numeric_.cardinalities)
        if self.weekdays_:
            cards.append(1 + len(self.weekdays_))  # token 0: any allowed weekday (and missing)
        if self.day_classes_:
            cards.append(1 + len(self.day_classes_))  # token 0: none of the kept classes (and missing)
        return cards

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, s: pd.Series) -> np.ndarray:
        sec = self.to_seconds(s)
        parts = [self.numeric_.encode(sec)]
        null = np.isnan(sec)
        days = np.floor(np.where(null, 0, sec) / DAY).astype(np.int64)
        if self.weekdays_:
            parts.append(_lookup(weekday_of(days), self.weekdays_, null))
        if self.day_classes_:
            parts.append(_lookup(day_class_of(days), self.day_classes_, null))
        return np.column_stack(parts).astype(np.int64)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        tokens = np.asarray(tokens)
        sec = self.numeric_.decode(tokens[:, : self._n_numeric], rng)
        if self.weekdays_ or self.day_classes_:
            col = self._n_numeric
            wd_tok = cls_tok = None
            if self.weekdays_:
                wd_tok, col = tokens[:, col], col + 1
            if self.day_classes_:
                cls_tok = tokens[:, col]
            rows = np.flatnonzero(self._movable(sec, tokens))
            for start in range(0, len(rows), CHUNK):
                r = rows[start:start + CHUNK]
                sec[r] = self._move(sec[r], None if wd_tok is None else wd_tok[r],
                                    None if cls_tok is None else cls_tok[r])
        if self.date_only_:
            sec = np.round(sec / DAY) * DAY
        null = np.isnan(sec)
        ts = pd.Series(pd.to_datetime(np.where(null, 0, np.round(sec * 1e3)).astype("int64"), unit="ms"))
        ts[null] = pd.NaT
        if self.formats is None:
            return ts
        shares = np.array([share for _, share in self.formats], dtype=float)
        pick = rng.choice(len(self.formats), size=len(ts), p=shares / shares.sum())
        out = pd.Series([None] * len(ts), dtype=object)
        for i, (fmt, _) in enumerate(self.formats):
            rows = (pick == i) & ~null
            if rows.any():
                out[rows] = ts[rows].dt.strftime(fmt).to_numpy(object)
        return out

    def _move(self, sec: np.ndarray, wd_tok: np.ndarray | None, cls_tok: np.ndarray | None) -> np.ndarray:
        """Shift each timestamp by whole days to the nearest day with its drawn weekday and day class.

        Preference: both drawn; the drawn class on a weekday seen in the data; the drawn class; the drawn
        weekday; a weekday seen in the data; otherwise the value stays where it was drawn.
        """
        n = len(sec)
        scale = self.numeric_.scale
        day = np.floor(sec / DAY).astype(np.int64)
        tod = sec - day * DAY
        offsets = np.concatenate([[0], np.stack([-np.arange(1, MAX_SHIFT + 1), np.arange(1, MAX_SHIFT + 1)], 1).ravel()])
        cand = day[:, None] + offsets[None, :]
        cand_sec = cand * DAY + tod[:, None]
        eps = 0.5 / scale
        ok = (cand_sec >= self.numeric_.lo_ / scale - eps) & (cand_sec <= self.numeric_.hi_ / scale + eps)
        wd = weekday_of(cand)
        seen_wd = np.isin(wd, self.weekdays_) if self.weekdays_ else np.ones_like(ok)
        if wd_tok is not None:
            wanted = np.asarray([-1] + self.weekdays_)[wd_tok]
            wd_ok = np.where(wanted[:, None] < 0, seen_wd, wd == wanted[:, None])
        else:
            wd_ok = np.ones_like(ok)
        if cls_tok is not None:
            first, table = self._class_table()
            cls = table[np.clip(cand - first, 0, len(table) - 1)]  # out-of-range days are masked by ``ok``
            wanted = np.asarray([-1] + self.day_classes_)[cls_tok]
            other = ~np.isin(cls, self.day_classes_)
            cls_ok = np.where(wanted[:, None] < 0, other, cls == wanted[:, None])
        else:
            cls_ok = np.ones_like(ok)
        best = np.full(n, -1)
        for level in (ok & cls_ok & wd_ok, ok & cls_ok & seen_wd, ok & cls_ok, ok & wd_ok, ok & seen_wd):
            todo = best < 0
            hit = level.any(axis=1) & todo
            best[hit] = level[hit].argmax(axis=1)
        moved = best >= 0
        out = sec.copy()
        out[moved] = cand_sec[np.flatnonzero(moved), best[moved]]
        return out

    def _class_table(self) -> tuple[int, np.ndarray]:
        """Day classes of every day a move can reach, computed once: (first day, classes)."""
        if getattr(self, "_classes", None) is None:
            lo, hi = self._day_range()
            first = lo - MAX_SHIFT - 1
            self._classes = (first, day_class_of(np.arange(first, hi + MAX_SHIFT + 2)))
        return self._classes

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"formats": self.formats, "k": self.k, "decimals": self.decimals_, "numeric": self.numeric_.to_dict(),
                "date_only": self.date_only_, "weekdays": self.weekdays_, "day_classes": self.day_classes_,
                "min_weekday_tv": self.min_weekday_tv, "heap_factor": self.heap_factor}

    @classmethod
    def from_dict(cls, d: dict) -> "DatetimeCodec":
        c = cls(formats=d["formats"], k=d["k"], min_weekday_tv=d.get("min_weekday_tv", 0.08),
                heap_factor=d.get("heap_factor", 3.0))
        c.decimals_ = d["decimals"]
        c.numeric_ = NumericCodec.from_dict(d["numeric"])
        c.date_only_ = bool(d.get("date_only", False))
        c.weekdays_ = [int(w) for w in d.get("weekdays", [])]
        c.day_classes_ = [int(x) for x in d.get("day_classes", [])]
        return c


def _lookup(values: np.ndarray, kept: list[int], null: np.ndarray) -> np.ndarray:
    """Token 1 + position in ``kept``; 0 for values not kept and for missing rows."""
    table = np.zeros(max(max(kept), int(values.max(initial=0))) + 1, dtype=np.int64)
    table[np.asarray(kept)] = np.arange(1, len(kept) + 1)
    out = table[values]
    out[null] = 0
    return out
