"""Generate tables from a checked spec: vectorised, seeded, with copulas, conditions, keys and nulls.

Every distribution is sampled through its inverse CDF from a uniform ``u``. That one choice gives three
features at once: correlated columns (``u`` from a Gaussian copula), truncation to ``min``/``max`` (squeeze ``u``
into ``[F(min), F(max)]``), and conditional distributions that stay correlated (each case uses the row's ``u``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from lookalike.errors import LookalikeError
from lookalike.io import check_output_folder, check_writable, write_table
from lookalike.simulate.expr import ExpressionEvaluator
from lookalike.simulate.fakers import fake_values
from lookalike.simulate.spec import ColumnSpec, Generator, Spec, TableSpec, load_spec, parse_spec

_EPS = 1e-12


def generate(spec: Spec | dict | str | os.PathLike, n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Make every table of ``spec`` (a Spec, a spec dict, or a YAML file path); ``n`` rows per unsized table."""
    spec = as_spec(spec)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise LookalikeError(f"number of rows must be a whole number > 0, got {n!r}")
    streams = dict(zip(spec.tables, np.random.SeedSequence(seed).spawn(len(spec.tables))))
    tables: dict[str, pd.DataFrame] = {}
    for name in spec.table_order():
        table = spec.tables[name]
        rng = np.random.default_rng(streams[name])
        tables[name] = _generate_table(table, table.n_rows(int(n)), rng, tables, spec.locale)
    return {name: tables[name] for name in spec.tables}


def as_spec(spec) -> Spec:
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec, source="spec")
    return load_spec(spec)


# --------------------------------------------------------------------------------------------------- one table
def _generate_table(table: TableSpec, n: int, rng: np.random.Generator, done: dict, locale) -> pd.DataFrame:
    uniforms = _copula_uniforms(table, n, rng)
    columns: dict[str, np.ndarray] = {}
    for name in table.column_order():
        col = table.columns[name]
        values = _draw(col.generator, n, uniforms.get(name), columns, rng, done, locale, col)
        values = _round(values, col)
        if col.unique:
            values = _make_unique(values, col, n, columns, rng, done, locale)
        columns[name] = values
    out = {}
    for name, col in table.columns.items():  # nulls last, so that expressions saw complete values
        out[name] = _with_nulls(columns[name], col.null_rate, rng)
    return pd.DataFrame(out)


def _copula_uniforms(table: TableSpec, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    if table.correlation is None:
        return {}
    w, v = np.linalg.eigh(table.correlation)
    factor = v * np.sqrt(np.clip(w, 0, None))  # works for singular (perfectly correlated) matrices too
    z = rng.standard_normal((n, len(w))) @ factor.T
    u = np.clip(stats.norm.cdf(z), _EPS, 1 - _EPS)
    return {c: u[:, i] for i, c in enumerate(table.correlation_columns)}


def _draw(gen: Generator, m: int, u, columns, rng, done, locale, col: ColumnSpec, rows=None) -> np.ndarray:
    """Values for ``m`` rows; ``rows`` (a boolean mask over the table) is set inside conditional cases."""
    if gen.kind == "dist":
        if u is None:
            u = rng.random(m)
        return dist_values(gen, u, m)
    if gen.kind == "faker":
        return fake_values(gen.provider, m, rng, args=gen.args, pool=gen.pool, unique=col.unique and rows is None,
                           locale=gen.locale or locale, where=gen.where)
    if gen.kind == "expr":
        n = len(next(iter(columns.values()))) if columns else m
        values = ExpressionEvaluator(columns, n, rng).evaluate(gen.expr, gen.where)
        if values.shape != (n,):
            raise LookalikeError(f"{gen.where}: expression must give one value per row, got shape {values.shape}")
        return values if rows is None else values[rows]
    if gen.kind == "foreign_key":
        parent = done[gen.ref_table][gen.ref_column].dropna().to_numpy()
        if len(parent) == 0:
            raise LookalikeError(f"{gen.where}: {gen.ref_table}.{gen.ref_column} has no values to reference")
        skew = gen.params.get("skew", 0.0)
        if skew <= 0:
            return parent[rng.integers(0, len(parent), size=m)]
        # some parents are popular: weight 1 / rank^skew over a random order of the parents
        weights = rng.permutation(1.0 / np.arange(1, len(parent) + 1) ** skew)
        cdf = np.cumsum(weights) / weights.sum()
        return parent[np.minimum(np.searchsorted(cdf, rng.random(m)), len(parent) - 1)]
    return _draw_cases(gen, m, u, columns, rng, done, locale, col)


def _draw_cases(gen, n, u, columns, rng, done, locale, col):
    evaluator = ExpressionEvaluator(columns, n, rng)
    choice = np.full(n, -1)
    for i, (when, _) in enumerate(gen.cases):
        cond = np.ones(n, bool) if when is None else np.asarray(evaluator.evaluate(when, gen.where), dtype=bool)
        choice[(choice == -1) & cond] = i
    parts = []
    for i, (_, sub) in enumerate(gen.cases):
        rows = choice == i
        if rows.any():
            parts.append((rows, _draw(sub, int(rows.sum()), None if u is None else u[rows], columns, rng, done,
                                      locale, col, rows=rows)))
    arrays = [p for _, p in parts]
    numeric = arrays and all(a.dtype.kind in "biuf" for a in arrays)
    if numeric:
        out = np.full(n, np.nan, dtype=np.result_type(*arrays, np.float64))
    elif arrays and all(a.dtype.kind == "M" for a in arrays):
        out = np.full(n, np.datetime64("NaT"), dtype=np.result_type(*arrays))
    else:
        out = np.full(n, None, dtype=object)
    for rows, values in parts:
        out[rows] = values
    if numeric and (choice >= 0).all() and all(a.dtype.kind in "biu" for a in arrays):
        out = out.astype(np.int64)
    return out


def dist_values(gen: Generator, u: np.ndarray, m: int) -> np.ndarray:
    """Inverse-CDF sampling of one declared distribution at uniforms ``u``."""
    p, dist = gen.params, gen.dist
    if dist == "sequence":
        nums = p["start"] + p["step"] * np.arange(m, dtype=np.int64)
        if p["prefix"] is None and not p["width"]:
            return nums
        text = nums.astype(str)
        if p["width"]:
            text = np.char.zfill(text, p["width"])
        return np.char.add(p["prefix"] or "", text).astype(object)
    if dist == "constant":
        return np.full(m, p["value"], dtype=object if isinstance(p["value"], str) else None)
    if dist == "categorical":
        idx = np.minimum(np.searchsorted(np.cumsum(p["weights"]), u, side="right"), len(p["values"]) - 1)
        values = p["values"]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            arr = np.asarray(values)
        elif all(isinstance(v, bool) for v in values):
            arr = np.asarray(values, dtype=bool)
        else:
            arr = np.asarray([str(v) if not isinstance(v, str) else v for v in values], dtype=object)
        return arr[idx]
    if dist == "bernoulli":
        return u > 1.0 - p["p"]  # larger u -> True, so copulas keep their sign
    if dist == "quantiles":  # piecewise-linear inverse CDF through quantiles at equal probability steps
        knots = p["values"]
        return np.interp(u, np.linspace(0.0, 1.0, len(knots)), knots)
    if dist == "uniform":
        return p["low"] + u * (p["high"] - p["low"])
    if dist in ("date", "datetime"):
        unit = "D" if dist == "date" else "s"
        start, end = p["start"].astype(f"datetime64[{unit}]"), p["end"].astype(f"datetime64[{unit}]")
        span = int((end - start).astype(np.int64)) + 1
        return start + np.minimum(np.floor(u * span).astype(np.int64), span - 1)
    frozen = {
        "normal": lambda: stats.norm(p["mean"], p["sd"]),
        "lognormal": lambda: stats.lognorm(s=p["sigma"], scale=np.exp(p["mu"])),
        "exponential": lambda: stats.expon(scale=p["scale"]),
        "gamma": lambda: stats.gamma(p["shape"], scale=p["scale"]),
        "poisson": lambda: stats.poisson(p["lam"]),
    }[dist]()
    lo = frozen.cdf(p["min"] - (1 if dist == "poisson" else 0)) if "min" in p else 0.0
    hi = frozen.cdf(p["max"]) if "max" in p else 1.0
    if hi - lo <= 0:
        raise LookalikeError(f"{gen.where}: min/max leave no probability mass for {dist}")
    u = np.clip(lo + u * (hi - lo), _EPS, 1 - _EPS)
    if dist == "poisson":  # inverse CDF by table lookup: scipy's discrete ppf is slow for millions of rows
        support = np.arange(int(frozen.ppf(1 - _EPS)) + 2)
        return np.minimum(np.searchsorted(frozen.cdf(support), u, side="left"), support[-1]).astype(np.int64)
    values = frozen.ppf(u)
    if "min" in p or "max" in p:
        values = np.clip(values, p.get("min", -np.inf), p.get("max", np.inf))
    return values


def _round(values: np.ndarray, col: ColumnSpec) -> np.ndarray:
    if col.round is None or values.dtype.kind not in "f":
        return values
    values = np.round(values, col.round)
    if col.round == 0 and np.isfinite(values).all():
        return values.astype(np.int64)
    return values


def _make_unique(values, col: ColumnSpec, n, columns, rng, done, locale):
    gen = col.generator
    redrawable = gen.kind == "dist" and gen.dist not in ("sequence", "constant")
    for _ in range(50 if redrawable else 0):
        dup = pd.Series(values).duplicated().to_numpy()
        if not dup.any():
            return values
        fresh = _round(dist_values(gen, rng.random(int(dup.sum())), int(dup.sum())), col)
        values = values.copy()
        values[dup] = fresh
    dup = pd.Series(values).duplicated()
    if dup.any():
        raise LookalikeError(f"{col.where}: unique: true but {int(dup.sum())} of {n} values repeat "
                             f"(e.g. {values[dup.to_numpy()][0]!r}); widen the distribution or drop 'unique'")
    return values


def _with_nulls(values: np.ndarray, rate: float, rng: np.random.Generator):
    if rate <= 0:
        return values
    mask = rng.random(len(values)) < rate
    if values.dtype.kind in "biu":
        series = pd.Series(values, dtype="Int64" if values.dtype.kind != "b" else "boolean")
        series[mask] = pd.NA
        return series.array
    if values.dtype.kind == "f":
        values = values.copy()
        values[mask] = np.nan
        return values
    if values.dtype.kind == "M":
        values = values.copy()
        values[mask] = np.datetime64("NaT")
        return values
    values = values.astype(object)
    values[mask] = None
    return values


# ------------------------------------------------------------------------------------------------------ writing
def output_paths(table_names: list[str], output: str | os.PathLike, fmt: str = "parquet",
                 force: bool = False) -> list[Path]:
    """Where each table will go; fails (before any work) on existing files without ``force`` or bad folders."""
    output = Path(output)
    if output.suffix.lower() in (".csv", ".parquet", ".pq"):
        if len(table_names) != 1:
            raise LookalikeError(f"{output}: the spec makes {len(table_names)} tables ({', '.join(table_names)}); "
                                 f"give a folder instead of a single file")
        return [check_writable(output, force=force)]
    return list(check_output_folder(output, table_names, fmt, force).values())


def write_tables(tables: dict[str, pd.DataFrame], output: str | os.PathLike, fmt: str = "parquet",
                 force: bool = False) -> list[Path]:
    """One table to ``x.csv``/``x.parquet``, or every table to ``<dir>/<table>.<fmt>``; atomic, no overwrite."""
    paths = output_paths(list(tables), output, fmt, force)
    if len(paths) and paths[0].parent == Path(output):
        Path(output).mkdir(exist_ok=True)
    return [write_table(df, path, force=force) for df, path in zip(tables.values(), paths)]


def fake(spec_path: str | os.PathLike, n: int, output: str | os.PathLike, seed: int = 0,
         force: bool = False) -> list[Path]:
    """Read a spec, generate its tables and write them; returns the written paths."""
    spec = load_spec(spec_path)
    output_paths(list(spec.tables), output, spec.format, force)  # refuse early, before generating
    return write_tables(generate(spec, n, seed=seed), output, fmt=spec.format, force=force)
