"""Write a privacy-safe fake-data spec from a real table: declared statistics only, never raw identifiers.

A spec is a schema plus declared statistics: each column is the entry ``lookalike schema`` writes (name, kind,
dtype, kind options, from :func:`lookalike.schema.infer.infer_schema`), with what the fake generator needs
added. What leaves the table: per column a fitted distribution (parameters, or category weights of categories
seen at least ``min_category_count`` times), null rates, bounds at the 0.5% / 99.5% quantiles rather than the
raw min/max, and one rank correlation matrix between numeric and date columns. Key columns become sequences
and PII columns Faker providers, so none of their values are copied. Numbers and dates kept as text are read
by value (the schema's ``stored_as``/``formats``). The result is a plain dict that ``yaml.safe_dump`` writes
and ``lookalike fake`` reads back.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from lookalike.errors import LookalikeError
from lookalike.privacy.pii_names import faker_provider, pii_kind_from_name
from lookalike.schema.columns import ColumnSchema, Kind
from lookalike.schema.infer import infer_column
from lookalike.schema.values import as_datetimes, as_numbers

# Kinds whose values are labels: a PII-looking name is enough to fake them rather than copy frequent values.
# (Schema inference also wants the values to agree; a spec never learns, so the cautious choice costs little.)
_LABEL_KINDS = (Kind.CATEGORICAL, Kind.ID, Kind.TEXT)


def pii_provider(name: str) -> str | None:
    """The Faker provider for a PII-looking column name, or None (the one name list: privacy/pii_names.py)."""
    kind = pii_kind_from_name(name)
    return None if kind is None else faker_provider(kind)


def spec_from_table(df: pd.DataFrame, name: str = "table", min_category_count: int = 5,
                    correlation: bool = True) -> dict:
    """A spec dict that makes tables like ``df`` from declared statistics only.

    Its columns are schema entries (``name``, ``kind``, ``dtype``, kind options) with statistics added."""
    if not isinstance(df, pd.DataFrame) or df.shape[1] == 0 or len(df) == 0:
        raise LookalikeError(f"table {name!r}: need a DataFrame with rows and columns")
    columns: list[dict] = []
    copula: dict[str, np.ndarray] = {}
    for raw_name in df.columns:
        col = str(raw_name)
        series = df[raw_name]
        schema = _column_schema(col, series, name)
        statistics, measured = _column_statistics(schema, series, min_category_count)
        null_rate = float(series.isna().mean())
        if null_rate > 0 and statistics.get("dist") not in ("sequence", "constant"):
            statistics["null_rate"] = round(min(null_rate, 0.999), 4)
        columns.append({**schema.to_dict(), **statistics})
        if measured is not None:
            copula[col] = measured
    table: dict = {"columns": columns}  # no fixed row count: ``lookalike fake -n`` decides
    if correlation and len(copula) >= 2:
        matrix = _copula_matrix(pd.DataFrame(copula))
        if matrix is not None:
            table["correlation"] = {"columns": list(copula), "matrix": matrix}
    return {"tables": {name: table}}


def spec_to_yaml(spec: dict) -> str:
    """YAML text for a spec dict (keeps column order)."""
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=120)


# ------------------------------------------------------------------------------------------------ per column
def _column_schema(col: str, series: pd.Series, table: str) -> ColumnSchema:
    if series.notna().sum() == 0:
        return ColumnSchema(col, Kind.CONSTANT, str(series.dtype), {"value": None})
    schema = infer_column(col, series, source=table)
    hinted = pii_kind_from_name(col, generic=False)  # a bare 'name' may be a product: values decide
    if schema.kind in _LABEL_KINDS and hinted is not None:
        schema = ColumnSchema(col, Kind.PII, schema.dtype, {"pii": hinted})
    return schema


def _column_statistics(col: ColumnSchema, series: pd.Series, min_count: int) -> tuple[dict, np.ndarray | None]:
    """Declared statistics of one column, and its values as numbers when it joins the rank correlation."""
    values = series.dropna()
    if col.kind == Kind.PII:
        return {"faker": faker_provider(col.options["pii"])}, None
    if col.kind == Kind.CONSTANT:
        return {"dist": "constant", "value": col.options.get("value")}, None
    if col.kind == Kind.ID:
        entry = {"dist": "sequence", "start": 1}
        if col.options.get("id_type") == "string" or values.dtype.kind == "O":
            entry["prefix"] = f"{_tokens(col.name)[:12] or 'id'}_"
            entry["width"] = 6
        return entry, None
    if col.kind == Kind.BOOLEAN:
        if pd.api.types.is_bool_dtype(series):
            return {"dist": "bernoulli", "p": round(float(values.mean()), 6)}, series.astype(float).to_numpy()
        if pd.api.types.is_numeric_dtype(values):
            return _numeric_entry(values.astype(float), min_count)[0], None
        return _categorical_entry(values.astype(str), min_count), None
    if col.kind == Kind.DATETIME:
        stamps = as_datetimes(series, col)
        if stamps.notna().sum() == 0:
            return {"dist": "constant", "value": None}, None
        secs = stamps.to_numpy().astype("int64").astype(float)
        secs[stamps.isna().to_numpy()] = np.nan
        return _datetime_entry(stamps.dropna()), secs
    if col.kind == Kind.NUMERIC:
        numbers = as_numbers(series, col)
        entry, in_copula = _numeric_entry(numbers.dropna(), min_count)
        return entry, numbers.to_numpy() if in_copula else None
    return _categorical_entry(values.astype(str), min_count), None


def _tokens(name: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(name)).lower()
    return re.sub(r"[^a-z0-9]+", "_", snake).strip("_")


def _categorical_entry(values: pd.Series, min_count: int) -> dict:
    counts = values.value_counts()
    kept = counts[counts >= min_count]
    if kept.empty:  # every value rare: free text or hidden identifiers; never copy them
        long_text = values.str.len().mean() > 30
        return {"faker": "sentence" if long_text else "word"}
    weights = (kept / kept.sum()).round(6)
    return {"dist": "categorical", "values": {str(k): float(w) for k, w in weights.items()}}


def _datetime_entry(values: pd.Series) -> dict:
    values = pd.to_datetime(values)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    lo, hi = values.quantile(0.005), values.quantile(0.995)
    is_date = bool((values.dt.normalize() == values).all())
    fmt = "%Y-%m-%d" if is_date else "%Y-%m-%dT%H:%M:%S"
    return {"dist": "date" if is_date else "datetime", "start": lo.strftime(fmt), "end": hi.strftime(fmt)}


def _decimals(values: np.ndarray) -> int | None:
    for d in range(0, 7):
        if np.allclose(values, np.round(values, d), rtol=0, atol=1e-9):
            return d
    return None


def _numeric_entry(series: pd.Series, min_count: int, max_ks: float = 0.05) -> tuple[dict, bool]:
    x = series.to_numpy()
    decimals = _decimals(x)
    distinct = np.unique(x)
    if decimals == 0 and len(distinct) <= 15:  # a count or code: weights of its levels (rare levels dropped)
        counts = series.value_counts()
        kept = counts[counts >= min_count]
        if not kept.empty:
            weights = (kept / kept.sum()).round(6)
            return {"dist": "categorical", "values": {int(k): float(w) for k, w in weights.items()}}, False
    if len(distinct) == 1:
        return {"dist": "constant", "value": float(distinct[0]) if decimals else int(distinct[0])}, False
    sample = x if len(x) <= 5000 else np.random.default_rng(0).choice(x, 5000, replace=False)
    distance, entry = _best_fit(sample, integer=decimals == 0)
    lo, hi = np.quantile(x, [0.005, 0.995])
    if distance > max_ks:  # no parametric law fits (e.g. many zeros, several modes): declare 21 quantiles
        knots = np.quantile(x, np.linspace(0.005, 0.995, 21))
        entry = {"dist": "quantiles", "values": [_nice(k) for k in knots]}
    elif hi > lo and entry["dist"] != "uniform":
        entry["min"], entry["max"] = _nice(lo), _nice(hi)
    if decimals is not None:
        entry["round"] = decimals
    return entry, True


def _nice(v: float) -> float:
    return float(np.format_float_positional(v, precision=6, unique=False, fractional=False, trim="-"))


def _best_fit(x: np.ndarray, integer: bool) -> tuple[float, dict]:
    """The candidate distribution with the smallest Kolmogorov-Smirnov distance to ``x`` (and that distance)."""
    candidates: list[tuple[dict, object]] = []
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    if sd > 0:
        candidates.append(({"dist": "normal", "mean": mean, "sd": sd}, stats.norm(mean, sd)))
    lo, hi = np.quantile(x, [0.005, 0.995])
    if hi > lo:
        candidates.append(({"dist": "uniform", "low": float(lo), "high": float(hi)}, stats.uniform(lo, hi - lo)))
    if x.min() > 0:
        logs = np.log(x)
        mu, sigma = float(logs.mean()), float(logs.std(ddof=1))
        if sigma > 0:
            candidates.append(({"dist": "lognormal", "mu": mu, "sigma": sigma},
                               stats.lognorm(s=sigma, scale=np.exp(mu))))
        shape, _, scale = stats.gamma.fit(x, floc=0)
        candidates.append(({"dist": "gamma", "shape": float(shape), "scale": float(scale)},
                           stats.gamma(shape, scale=scale)))
    if x.min() >= 0:
        candidates.append(({"dist": "exponential", "scale": mean}, stats.expon(scale=mean)))
        if integer and mean > 0 and 0.5 < x.var() / mean < 2:  # counts with Poisson-like dispersion
            candidates.append(({"dist": "poisson", "lam": mean}, stats.poisson(mean)))
    if not candidates:
        raise AssertionError("constant columns are handled before fitting")
    scored = []
    for entry, frozen in candidates:
        if entry["dist"] == "poisson":  # KS on a discrete law: compare mid-step CDFs
            grid = np.arange(int(x.min()), int(x.max()) + 1)
            ecdf = np.searchsorted(np.sort(x), grid, side="right") / len(x)
            d = float(np.abs(ecdf - frozen.cdf(grid)).max())
        else:
            d = float(stats.kstest(x, frozen.cdf).statistic)
        scored.append((d, entry))
    distance, best = min(scored, key=lambda t: t[0])
    return distance, {k: (round(v, 6) if isinstance(v, float) else v) for k, v in best.items()}


def _copula_matrix(data: pd.DataFrame) -> list[list[float]] | None:
    """Normal-scores correlation of columns already measured as numbers (dates in seconds)."""
    spearman = data.corr(method="spearman", min_periods=10).fillna(0.0).to_numpy()
    pearson = 2 * np.sin(np.pi * spearman / 6)  # Spearman -> normal-scores correlation
    np.fill_diagonal(pearson, 1.0)
    w, v = np.linalg.eigh(pearson)
    if w.min() < 1e-6:  # nearest valid correlation matrix: clip eigenvalues and rescale
        fixed = v @ np.diag(np.clip(w, 1e-6, None)) @ v.T
        d = np.sqrt(np.diag(fixed))
        pearson = fixed / np.outer(d, d)
    pearson = np.round((pearson + pearson.T) / 2, 4)
    np.fill_diagonal(pearson, 1.0)
    if np.linalg.eigvalsh(pearson).min() < -1e-8:
        return None
    return pearson.tolist()
