"""Write a privacy-safe fake-data spec from a real table: declared statistics only, never raw identifiers.

What leaves the table: per column a fitted distribution (parameters, or category weights of categories seen at
least ``min_category_count`` times), null rates, bounds at the 0.5% / 99.5% quantiles rather than the raw
min/max, and one rank correlation matrix between numeric columns. ID-like columns become sequences and
PII-looking columns (name, email, phone, address, ...) become Faker providers, so none of their values are
copied. The result is a plain dict that ``yaml.safe_dump`` writes and ``lookalike fake`` reads back.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from lookalike.errors import LookalikeError

# (pattern over the snake_case tokens of a column name, Faker provider); first match wins
PII_PROVIDERS: list[tuple[str, str]] = [
    (r"(^|_)e?mail(_?address)?($|_)", "email"),
    (r"(^|_)(phone|mobile|tel|telephone|fax)($|_)", "phone_number"),
    (r"(^|_)(first_?name|given_?name|forename)($|_)", "first_name"),
    (r"(^|_)(last_?name|surname|family_?name)($|_)", "last_name"),
    (r"(^|_)(user_?name|login|handle)($|_)", "user_name"),
    (r"(^|_)(company|employer|organi[sz]ation)(_?name)?($|_)", "company"),
    (r"(^|_)((full|customer|client|person|contact|account_?holder)_)?name($|_)", "name"),
    (r"(^|_)(street|address|addr)($|_)", "street_address"),
    (r"(^|_)city($|_)", "city"),
    (r"(^|_)(zip|zip_?code|post_?code|postal_?code)($|_)", "postcode"),
    (r"(^|_)(ssn|social_security|national_id|passport|tax_?id)($|_)", "ssn"),
    (r"(^|_)iban($|_)", "iban"),
    (r"(^|_)(credit_?card|card_?number|pan)($|_)", "credit_card_number"),
    (r"(^|_)(ip|ip_?address)($|_)", "ipv4"),
    (r"(^|_)(url|website|homepage)($|_)", "url"),
    (r"(^|_)(birth_?date|date_of_birth|dob|birthday)($|_)", "date_of_birth"),
]
ID_PATTERN = r"(^|_)(id|uuid|guid|key|pk)$"


def _tokens(name: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(name)).lower()
    return re.sub(r"[^a-z0-9]+", "_", snake).strip("_")


def pii_provider(name: str) -> str | None:
    """The Faker provider for a PII-looking column name, or None."""
    tokens = _tokens(name)
    for pattern, provider in PII_PROVIDERS:
        if re.search(pattern, tokens):
            return provider
    return None


def _looks_like_id(name: str, series: pd.Series) -> bool:
    values = series.dropna()
    if re.search(ID_PATTERN, _tokens(name)) and values.is_unique:
        return True
    if len(values) >= 20 and values.is_unique and values.dtype.kind in "iuO" and series.dtype.kind != "f":
        return True  # every value distinct and not a measurement: a key, whatever its name
    return False


def spec_from_table(df: pd.DataFrame, name: str = "table", min_category_count: int = 5,
                    correlation: bool = True) -> dict:
    """A spec dict that makes tables like ``df`` from declared statistics only."""
    if not isinstance(df, pd.DataFrame) or df.shape[1] == 0 or len(df) == 0:
        raise LookalikeError(f"table {name!r}: need a DataFrame with rows and columns")
    columns: dict[str, dict] = {}
    copula: list[str] = []
    for raw_name in df.columns:
        col = str(raw_name)
        series = df[raw_name]
        entry, in_copula = _column_entry(col, series, min_category_count)
        null_rate = float(series.isna().mean())
        if null_rate > 0 and entry.get("dist") != "sequence":
            entry["null_rate"] = round(min(null_rate, 0.999), 4)
        columns[col] = entry
        if in_copula:
            copula.append(col)
    table: dict = {"columns": columns}  # no fixed row count: ``lookalike fake -n`` decides
    if correlation and len(copula) >= 2:
        matrix = _copula_matrix(df, copula)
        if matrix is not None:
            table["correlation"] = {"columns": copula, "matrix": matrix}
    return {"tables": {name: table}}


def spec_to_yaml(spec: dict) -> str:
    """YAML text for a spec dict (keeps column order)."""
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=120)


# ------------------------------------------------------------------------------------------------ per column
def _column_entry(col: str, series: pd.Series, min_count: int) -> tuple[dict, bool]:
    provider = pii_provider(col)
    if provider is not None:
        return {"faker": provider}, False
    values = series.dropna()
    if len(values) == 0:
        return {"dist": "constant", "value": None}, False
    if _looks_like_id(col, series):
        entry = {"dist": "sequence", "start": 1}
        if values.dtype.kind == "O":
            entry["prefix"] = f"{_tokens(col)[:12] or 'id'}_"
            entry["width"] = 6
        return entry, False
    if pd.api.types.is_bool_dtype(values):
        return {"dist": "bernoulli", "p": round(float(values.astype(bool).mean()), 6)}, True
    if pd.api.types.is_datetime64_any_dtype(values):
        return _datetime_entry(values), True
    if pd.api.types.is_numeric_dtype(values):
        return _numeric_entry(values.astype(float), min_count)
    return _categorical_entry(values.astype(str), min_count), False


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


def _copula_matrix(df: pd.DataFrame, columns: list[str]) -> list[list[float]] | None:
    data = df[columns].apply(lambda s: pd.to_datetime(s).astype("int64") if pd.api.types.is_datetime64_any_dtype(s)
                             else s.astype(float))
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
