"""Read a column's values the way its schema says they are written: numbers kept as text (with thousands
separators), dates kept as text in the inferred formats. Used wherever a column is measured rather than
learned (evaluation, fake-data specs from a table)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.schema.columns import ColumnSchema


def as_numbers(s: pd.Series, column: ColumnSchema | None = None) -> pd.Series:
    """Float values; text that is not a number becomes NaN. Thousands separators (','), as inference
    records them in ``thousands``, are removed first."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(float)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.to_numeric(s, errors="coerce").astype("float64")
    text = s.astype("string").str.strip()
    options = column.options if column is not None else {}
    if options.get("thousands", True):  # without a schema, '1,234' is read as 1234 too
        text = text.str.replace(",", "", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def as_datetimes(s: pd.Series, column: ColumnSchema | None = None) -> pd.Series:
    """Timezone-naive timestamps (UTC for aware ones); text is parsed with the column's inferred formats,
    tried in order, and values no format reads become NaT."""
    formats = (column.options.get("formats") if column is not None else None) or None
    return parse_datetimes(s, None if pd.api.types.is_datetime64_any_dtype(s.dtype) else formats)


def parse_datetimes(s: pd.Series, formats: list | None) -> pd.Series:
    """Timezone-naive timestamps from native values, or from text with ``[[format, share], ...]`` tried in
    order (the codec's and evaluation's one parser)."""
    if not formats:
        ts = pd.to_datetime(s, errors="coerce")
    else:
        ts = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        text = s.astype("string")
        for fmt, _share in formats:
            todo = ts.isna() & text.notna()
            if not todo.any():
                break
            ts[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.astype("datetime64[ns]")


def seconds(ts: pd.Series) -> np.ndarray:
    """Seconds since the epoch as float64, NaN where missing."""
    secs = ts.to_numpy().astype("int64").astype("float64") / 1e9
    secs[ts.isna().to_numpy()] = np.nan
    return secs


def as_seconds(s: pd.Series, column: ColumnSchema | None = None) -> np.ndarray:
    """Seconds since the epoch as float64, NaN where missing or unreadable."""
    return seconds(as_datetimes(s, column))
