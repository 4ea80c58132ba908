"""Datetimes as numbers of seconds, so heaping (midnight, on the hour) is learned like numeric granularity."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.encoding.numeric import NumericCodec

SECOND_UNITS = [86400, 3600, 1800, 900, 300, 60, 1]  # day, hour, half/quarter hour, 5 min, minute, second


class DatetimeCodec:
    """Parses with the learned formats, models seconds since the epoch, writes back in the same formats.

    ``formats`` is a list of [strftime format, share]: a column that mixes formats keeps the mixture.
    ``None`` means a native datetime column.
    """

    def __init__(self, formats: list | None = None, k: int = 5):
        self.formats = formats
        self.k = int(k)

    def to_seconds(self, s: pd.Series) -> np.ndarray:
        if self.formats is None:
            ts = pd.to_datetime(s, errors="coerce")
        else:
            ts = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
            strings = s.astype("string")
            for fmt, _ in self.formats:
                todo = ts.isna() & strings.notna()
                if not todo.any():
                    break
                ts[todo] = pd.to_datetime(strings[todo], format=fmt, errors="coerce")
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = ts.astype("datetime64[ns]").to_numpy().astype("int64").astype(float)
        ns[ts.isna().to_numpy()] = np.nan
        return ns / 1e9

    def fit(self, s: pd.Series) -> "DatetimeCodec":
        sec = self.to_seconds(s)
        frac = sec[~np.isnan(sec)] % 1
        self.decimals_ = 3 if np.any(frac > 1e-9) else 0
        scale = 10**self.decimals_
        self.numeric_ = NumericCodec(decimals=self.decimals_, k=self.k,
                                     units=[u * scale for u in SECOND_UNITS]).fit(sec)
        return self

    @property
    def cardinalities(self) -> list[int]:
        return self.numeric_.cardinalities

    def encode(self, s: pd.Series) -> np.ndarray:
        return self.numeric_.encode(self.to_seconds(s))

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        sec = self.numeric_.decode(tokens, rng)
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

    def to_dict(self) -> dict:
        return {"formats": self.formats, "k": self.k, "decimals": self.decimals_, "numeric": self.numeric_.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "DatetimeCodec":
        c = cls(formats=d["formats"], k=d["k"])
        c.decimals_ = d["decimals"]
        c.numeric_ = NumericCodec.from_dict(d["numeric"])
        return c
