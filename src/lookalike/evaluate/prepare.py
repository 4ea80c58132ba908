"""Shared preparation: column kinds, canonical values, seeded sampling and the binning every fidelity metric uses.

Evaluation reads DataFrames only. Kinds come from schema inference (the synthesizer's own), so text that holds
numbers or dates is measured by value. Values are made comparable first (numbers as float, dates as seconds,
everything else as text), so a synthetic column stored as float still matches a real integer column.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.errors import LookalikeError
from lookalike.schema.columns import ColumnSchema, Kind, TableSchema
from lookalike.schema.infer import infer_column
from lookalike.schema.values import as_numbers, as_seconds

# The three kinds evaluation measures by. Every schema kind maps onto one of them (see ``evaluation_kind``).
NUMERIC, CATEGORICAL, DATETIME = Kind.NUMERIC, Kind.CATEGORICAL, Kind.DATETIME


def evaluation_kind(kind: Kind) -> Kind:
    """numeric -> numeric, datetime -> datetime; everything else (boolean, categorical, constant, and the
    generated kinds id, pii and text, whose values are compared as labels) -> categorical."""
    return kind if kind in (NUMERIC, DATETIME) else CATEGORICAL


def infer_columns(train: pd.DataFrame, schema: TableSchema | None = None) -> dict[str, ColumnSchema]:
    """The schema column of every training column: from ``schema`` where it describes the column, else from
    :func:`lookalike.schema.infer.infer_column`, the same inference the synthesizer uses. So numbers and dates
    read from a CSV as text are measured as numbers and dates, not as labels."""
    described = {c.name: c for c in schema.columns} if schema is not None else {}
    out = {}
    for col in train.columns:
        if col in described:
            out[col] = described[col]
            continue
        try:
            out[col] = infer_column(str(col), train[col], source="train")
        except LookalikeError:  # nothing to infer from (an all-missing column): decide by dtype
            out[col] = ColumnSchema(str(col), _dtype_kind(train[col]), str(train[col].dtype))
    return out


def _dtype_kind(s: pd.Series) -> Kind:
    if pd.api.types.is_bool_dtype(s):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(s):
        return NUMERIC
    if pd.api.types.is_datetime64_any_dtype(s):
        return DATETIME
    return CATEGORICAL


def infer_kinds(train: pd.DataFrame, schema: TableSchema | None = None) -> dict[str, Kind]:
    """Evaluation kind (numeric, datetime or categorical) of every column, decided on the real training data
    by schema inference (or by ``schema`` where given)."""
    return {col: evaluation_kind(c.kind) for col, c in infer_columns(train, schema).items()}


def canonical(df: pd.DataFrame, kinds: dict[str, str], columns: dict[str, ColumnSchema] | None = None) -> pd.DataFrame:
    """Numbers and dates as float64 (dates in seconds), categories as Python strings; missing stays NaN/None.

    ``columns`` (schema columns by name) says how text holds numbers (thousands separators) and dates
    (formats); without it, text is read as plainly as possible."""
    columns = columns or {}
    out = {}
    for col, kind in kinds.items():
        s = df[col]
        if kind == NUMERIC:
            out[col] = significant(as_numbers(s, columns.get(col)).to_numpy(dtype="float64", na_value=np.nan))
        elif kind == DATETIME:
            out[col] = as_seconds(s, columns.get(col))
        else:
            values = s.astype(object).to_numpy()
            missing = pd.isna(values)
            text = np.array([_as_text(v) for v in values], dtype=object)
            text[missing] = None
            out[col] = text
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


SIGNIFICANT_DIGITS = 12


def significant(x: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """Numbers rounded to ``digits`` significant digits. Real files write one value as 8.6000003 in one row
    and 8.600000300000001 in another (float noise in the 16th digit); compared raw, a decile edge at one of
    them puts the other in the next bin, and a generator that writes the value cleanly is scored as if it
    had moved it. Equal to 12 digits means equal here."""
    x = np.asarray(x, dtype="float64")
    with np.errstate(all="ignore"):
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(x))))
        rounded = np.round(x * scale) / scale
    return np.where(np.isfinite(rounded) & (x != 0), rounded, x)


def _as_text(value) -> str:
    """Integers stored as floats (1.0) and as ints (1) must give the same category."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def sample_rows(df: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """A seeded random subset of at most ``max_rows`` rows (the whole table when it is smaller)."""
    if df is None or len(df) <= max_rows:
        return df
    return df.sample(n=max_rows, random_state=seed).reset_index(drop=True)


def check_columns(train: pd.DataFrame, other: pd.DataFrame, name: str) -> None:
    """Synthetic and holdout tables must have exactly the training columns; name the ones that differ."""
    missing = [c for c in train.columns if c not in other.columns]
    extra = [c for c in other.columns if c not in train.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(map(repr, missing))}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(map(repr, extra))}")
        raise LookalikeError(f"{name} table does not match the training columns: {'; '.join(parts)}")
    if len(other) == 0:
        raise LookalikeError(f"{name} table has no rows")


RARE_LABEL = "(rare or new)"
TAIL_NOTE = ("Categories seen in fewer than {k} training rows, and values the real training data never had "
             "(such as generated or placeholder values), count as one \"rare or new\" category here.")


class Binner:
    """Bins every column on the real training data: deciles for numbers, top values plus "other" for
    categories, and missing as its own bin. All accuracy metrics compare frequencies of these bins.

    ``rare_k`` (univariate accuracy only): the tail counts as one bin. The top values are then chosen among
    those seen in >= rare_k training rows, "other" holds the remaining such values, and a last category bin
    "(rare or new)" holds values seen in fewer than rare_k training rows and values never seen in training
    (a generator's fresh or placeholder values, a holdout's own rare values)."""

    def __init__(self, n_quantiles: int = 10, top_k: int = 10, rare_k: int | None = None):
        self.n_quantiles = n_quantiles
        self.top_k = top_k
        self.rare_k = rare_k

    def fit(self, train: pd.DataFrame, kinds: dict[str, str]) -> "Binner":
        self.kinds_ = dict(kinds)
        self.columns_ = list(kinds)
        self.edges_, self.categories_, self.n_bins_, self.labels_ = {}, {}, {}, {}
        qs = np.linspace(0, 1, self.n_quantiles + 1)[1:-1]
        for col, kind in kinds.items():
            values = train[col].to_numpy()
            if kind in (NUMERIC, DATETIME):
                finite = values[~np.isnan(values)]
                edges = np.unique(np.quantile(finite, qs)) if len(finite) else np.array([])
                self.edges_[col] = edges
                n = len(edges) + 1
                labels = _interval_labels(edges, kind)
            else:
                counts = pd.Series(values[pd.notna(values)]).value_counts()
                if self.rare_k is None:
                    top = list(counts.index[: self.top_k])
                    self.categories_[col] = {v: i for i, v in enumerate(top)}
                    n = len(top) + 1
                    labels = [str(v) for v in top] + ["(other)"]
                else:
                    kept = list(counts.index[counts.to_numpy() >= self.rare_k])
                    top = kept[: self.top_k]
                    mapping = {v: i for i, v in enumerate(top)}
                    mapping.update({v: len(top) for v in kept[self.top_k:]})  # "other": kept, not in the top
                    self.categories_[col] = mapping
                    n = len(top) + 2
                    labels = [str(v) for v in top] + ["(other)", RARE_LABEL]
            self.n_bins_[col] = n + 1  # last bin: missing
            self.labels_[col] = labels + ["(missing)"]
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Integer bin codes, one column per input column (shape rows x columns)."""
        codes = np.empty((len(df), len(self.columns_)), dtype=np.int64)
        for j, col in enumerate(self.columns_):
            values = df[col].to_numpy()
            missing_bin = self.n_bins_[col] - 1
            if self.kinds_[col] in (NUMERIC, DATETIME):
                c = np.searchsorted(self.edges_[col], values, side="right")
                c[np.isnan(values)] = missing_bin
            else:
                mapping = self.categories_[col]
                other = self.n_bins_[col] - 2  # "other" (or, with rare_k, "rare or new")
                c = np.fromiter((mapping.get(v, other) if v is not None else missing_bin for v in values),
                                dtype=np.int64, count=len(values))
            codes[:, j] = c
        return codes


def _interval_labels(edges: np.ndarray, kind: str) -> list[str]:
    fmt = (lambda x: pd.to_datetime(x, unit="s").strftime("%Y-%m-%d")) if kind == DATETIME else (lambda x: f"{x:.4g}")
    if len(edges) == 0:
        return ["(all)"]
    labels = [f"< {fmt(edges[0])}"]
    labels += [f"[{fmt(a)}, {fmt(b)})" for a, b in zip(edges[:-1], edges[1:])]
    labels.append(f">= {fmt(edges[-1])}")
    return labels
