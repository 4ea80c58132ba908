"""Read and check a declarative fake-data spec; every error names the file line and key at fault.

A spec looks like this (YAML)::

    locale: en_US            # Faker locale (optional)
    format: parquet          # file format when writing several tables into a folder (csv or parquet)
    tables:
      customers:
        rows: 1000           # fixed row count; without it the table gets n * scale rows (-n on the CLI)
        columns:
          customer_id: {dist: sequence, start: 1}
          name:        {faker: name}
          email:       {faker: email, unique: true}
          age:         {dist: normal, mean: 42, sd: 13, min: 18, max: 95, round: 0}
          segment:     {dist: categorical, values: {retail: 0.7, premium: 0.25, private: 0.05}}
          income:                          # conditional distribution: the first matching case wins
            cases:
              - {when: "age < 30", dist: lognormal, mu: 10.2, sigma: 0.4}
              - {dist: lognormal, mu: 10.8, sigma: 0.5}
          score:       {expr: "clip(300 + income / 200 + normal(0, 40), 300, 850)", round: 0}
          joined:      {dist: date, start: 2015-01-01, end: 2024-12-31, null_rate: 0.05}
        correlation:                       # Gaussian copula over the declared marginals
          columns: [age, income]
          matrix: [[1, 0.4], [0.4, 1]]
      orders:
        scale: 5
        columns:
          order_id:    {dist: sequence}
          customer_id: {foreign_key: customers.customer_id, skew: 1.0}   # skew: Zipf-like popular parents
          amount:      {dist: gamma, shape: 2, scale: 30, round: 2}

Column reference (exactly one generator per column, then optional ``unique``, ``null_rate``, ``round``):

- ``dist``: normal (mean, sd), lognormal (mu, sigma of the log), uniform (low, high), exponential (scale),
  gamma (shape, scale), poisson (lam), categorical (values: list or {value: weight}), quantiles (values: quantiles
  at equal probability steps), bernoulli (p), date / datetime (start, end), sequence (start, step, prefix, width),
  constant (value). normal, lognormal, exponential, gamma and poisson accept ``min``/``max`` (exact truncation).
- ``faker``: a Faker provider name, with ``args`` (keyword arguments), ``locale`` and ``pool`` (distinct values
  drawn once and resampled; 0 calls Faker for every row).
- ``expr``: an expression over earlier columns (``+ - * / // % **``, comparisons, ``and or not``, ``x if c else y``,
  ``in [..]``, and functions abs sqrt exp log log10 log1p floor ceil round clip where minimum maximum sin cos
  year month days add_days concat str int, plus random draws normal uniform lognormal poisson choice).
- ``foreign_key``: ``table.column`` of a key column of another table; ``skew`` > 0 makes some parents popular.
- ``cases``: a list of ``{when: <expression>, <generator>}``; the first true case wins, the last may omit ``when``.
Nulls are applied after all columns are made, so expressions always see complete values.

A spec is a schema plus declared statistics. ``columns`` may also be a list of schema entries, exactly as
``lookalike schema`` writes them (``name``, ``kind``, ``dtype`` and kind options such as ``formats``), each
with the keys above added; a whole schema file (top-level ``columns``) is one table named after the file.
Entries that declare nothing get a default from their kind: ``id`` a sequence, ``pii`` its Faker provider,
``text`` sentences, ``constant`` its value, ``boolean`` a fair coin, ``numeric`` with ``min``/``max`` a uniform
law, ``datetime`` with ``start``/``end`` a date range, ``categorical`` with ``values`` those values, a column of
a table-level ``foreign_keys`` entry its parent's keys; for the rest the error names the columns and what to
declare. ``primary_key`` columns are unique.

Why our own loader: ``yaml.compose`` keeps the line of every key, so a typo three levels deep is reported
as ``spec.yaml:14: tables.customers.columns.age.meen: unknown key (did you mean 'mean'?)``.
"""
from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lookalike.errors import LookalikeError
from lookalike.schema.columns import ColumnSchema, TableSchema
from lookalike.schema.statistics import DEFAULT_SOURCES, KIND_OPTIONS, default_statistics, has_statistics
from lookalike.simulate.expr import referenced_names

# distribution -> (required parameters, optional parameters)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "normal": (("mean", "sd"), ("min", "max")),
    "lognormal": (("mu", "sigma"), ("min", "max")),
    "uniform": (("low", "high"), ()),
    "exponential": (("scale",), ("min", "max")),
    "gamma": (("shape", "scale"), ("min", "max")),
    "poisson": (("lam",), ("min", "max")),
    "categorical": (("values",), ()),
    "quantiles": (("values",), ()),
    "bernoulli": (("p",), ()),
    "date": (("start", "end"), ()),
    "datetime": (("start", "end"), ()),
    "sequence": ((), ("start", "step", "prefix", "width")),
    "constant": (("value",), ()),
}
# distributions whose values come from an inverse CDF, so they can take part in a Gaussian copula
COPULA_DISTRIBUTIONS = {"normal", "lognormal", "uniform", "exponential", "gamma", "poisson", "categorical",
                        "quantiles", "bernoulli", "date", "datetime"}
GENERATOR_KEYS = ("dist", "faker", "expr", "foreign_key", "cases")
COLUMN_KEYS = ("unique", "null_rate", "round")
FAKER_KEYS = ("args", "pool", "locale")
TABLE_KEYS = ("rows", "scale", "columns", "correlation")
# keys of a schema file (lookalike schema -o): accepted in a spec, where keys shape the generated tables
SCHEMA_TABLE_KEYS = ("value_protection", "rules", "primary_key", "foreign_keys", "entity", "order", "dialect")
SCHEMA_COLUMN_KEYS = ("name", "kind", "dtype")
TOP_KEYS = ("tables", "locale", "format")


class LineDict(dict):
    """A dict that remembers the YAML line of itself and of each key."""

    line: int | None = None
    key_lines: dict


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        mapping = LineDict(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, _ in node.value:
            try:
                mapping.key_lines[self.construct_object(key_node, deep=True)] = key_node.start_mark.line + 1
            except TypeError:  # unhashable key; the checker reports it
                pass
        return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)


# ----------------------------------------------------------------------------------------------- checked form
@dataclass
class Generator:
    """One way to make a column's values; ``kind`` is dist, faker, expr, foreign_key or cases."""

    kind: str
    where: str
    dist: str | None = None
    params: dict = field(default_factory=dict)
    provider: str | None = None
    args: dict = field(default_factory=dict)
    pool: int = 5000
    locale: str | None = None
    expr: str | None = None
    ref_table: str | None = None
    ref_column: str | None = None
    cases: list = field(default_factory=list)  # [(when expression or None, Generator)]

    def reads(self) -> set[str]:
        """Columns of the same table this generator needs first."""
        if self.kind == "expr":
            return referenced_names(self.expr, self.where)
        if self.kind == "cases":
            out: set[str] = set()
            for when, gen in self.cases:
                if when is not None:
                    out |= referenced_names(when, gen.where)
                out |= gen.reads()
            return out
        return set()

    def copula_ready(self) -> bool:
        if self.kind == "dist":
            return self.dist in COPULA_DISTRIBUTIONS
        if self.kind == "cases":
            return all(g.copula_ready() for _, g in self.cases)
        return False


@dataclass
class ColumnSpec:
    name: str
    generator: Generator
    where: str
    unique: bool = False
    null_rate: float = 0.0
    round: int | None = None


@dataclass
class TableSpec:
    name: str
    columns: dict[str, ColumnSpec]
    where: str
    rows: int | None = None
    scale: float = 1.0
    correlation_columns: list[str] = field(default_factory=list)
    correlation: np.ndarray | None = None

    def n_rows(self, n: int) -> int:
        return self.rows if self.rows is not None else max(1, int(round(n * self.scale)))

    def column_order(self) -> list[str]:
        """Columns in an order where every column comes after the columns it reads."""
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str, chain: list[str]):
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*chain[chain.index(name):], name])
                raise LookalikeError(f"{self.columns[name].where}: circular dependency between columns: {cycle}")
            state[name] = 1
            for dep in sorted(self.columns[name].generator.reads()):
                if dep not in self.columns:
                    raise LookalikeError(f"{self.columns[name].where}: reads unknown column {dep!r}; columns of "
                                         f"table {self.name!r}: {', '.join(self.columns)}")
                visit(dep, [*chain, name])
            state[name] = 2
            order.append(name)

        for name in self.columns:
            visit(name, [])
        return order


@dataclass
class Spec:
    tables: dict[str, TableSpec]
    locale: str | None = None
    format: str = "parquet"
    source: str = "spec"

    def table_order(self) -> list[str]:
        """Tables ordered so that every parent comes before the tables whose foreign keys point to it."""
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str, where: str):
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                raise LookalikeError(f"{where}: circular foreign keys between tables involving {name!r}")
            state[name] = 1
            for col in self.tables[name].columns.values():
                for gen in _all_generators(col.generator):
                    if gen.kind == "foreign_key" and gen.ref_table != name:
                        visit(gen.ref_table, gen.where)
            state[name] = 2
            order.append(name)

        for name in self.tables:
            visit(name, self.tables[name].where)
        return order


def _plain(value):
    """LineDicts back to plain dicts and lists (for the schema classes)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _all_generators(gen: Generator):
    yield gen
    for _, sub in gen.cases:
        yield from _all_generators(sub)


# ----------------------------------------------------------------------------------------------------- loading
def load_spec(path: str | Path) -> Spec:
    """Read a YAML spec file and check it; errors name ``file:line: key.path``."""
    path = Path(path)
    if not path.exists():
        raise LookalikeError(f"{path}: spec file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LookalikeError(f"{path}: cannot read spec ({exc})") from None
    return parse_spec(text, source=str(path))


def parse_spec(text_or_dict: str | dict, source: str = "spec") -> Spec:
    """Check a spec given as YAML text or as an already-loaded dict (e.g. from ``spec_from_table``)."""
    if isinstance(text_or_dict, str):
        try:
            for event in yaml.parse(text_or_dict, Loader=yaml.SafeLoader):
                if isinstance(event, yaml.AliasEvent):  # aliases can expand exponentially ("billion laughs")
                    raise LookalikeError(f"{source}:{event.start_mark.line + 1}: YAML aliases (*name) are not "
                                         f"allowed in specs; write the values out")
            data = yaml.load(text_or_dict, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise LookalikeError(f"{source}{line}: invalid YAML ({problem})") from None
    else:
        data = text_or_dict
    return _Checker(source).spec(data)


class _Checker:
    def __init__(self, source: str):
        self.source = source

    # -- error helpers
    def _loc(self, parent: Any, key: Any, keypath: str) -> str:
        line = None
        if isinstance(parent, LineDict):
            line = parent.key_lines.get(key, parent.line)
        prefix = f"{self.source}:{line}" if line else self.source
        return f"{prefix}: {keypath}" if keypath else prefix

    def fail(self, parent, key, keypath, message):
        raise LookalikeError(f"{self._loc(parent, key, keypath)}: {message}")

    def mapping(self, value, parent, key, keypath) -> dict:
        if not isinstance(value, dict):
            self.fail(parent, key, keypath, f"expected a mapping (key: value), got {type(value).__name__}")
        for k in value:
            if not isinstance(k, str):
                self.fail(value, k, keypath, f"keys must be text, got {k!r}")
        return value

    def known_keys(self, node: dict, allowed, keypath):
        for k in node:
            if k not in allowed:
                close = difflib.get_close_matches(k, list(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f"; allowed: {', '.join(allowed)}"
                self.fail(node, k, f"{keypath}.{k}", f"unknown key{hint}")

    def number(self, node, key, keypath, *, positive=False, nonneg=False, integer=False, lo=None, hi=None):
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(node, key, f"{keypath}.{key}", f"expected a number, got {value!r}")
        if integer and value != int(value):
            self.fail(node, key, f"{keypath}.{key}", f"expected a whole number, got {value!r}")
        if not np.isfinite(value):
            self.fail(node, key, f"{keypath}.{key}", f"expected a finite number, got {value!r}")
        if positive and value <= 0:
            self.fail(node, key, f"{keypath}.{key}", f"must be > 0, got {value!r}")
        if nonneg and value < 0:
            self.fail(node, key, f"{keypath}.{key}", f"must be >= 0, got {value!r}")
        if lo is not None and value < lo or hi is not None and value > hi:
            self.fail(node, key, f"{keypath}.{key}", f"must be between {lo} and {hi}, got {value!r}")
        return int(value) if integer else float(value)

    # -- levels
    def spec(self, data) -> Spec:
        if data is None:
            raise LookalikeError(f"{self.source}: the spec is empty; it needs a 'tables' mapping")
        data = self.mapping(data, None, None, "")
        if "columns" in data and "tables" not in data:  # a one-table schema file: one table named after it
            data = self.as_database(data)
        self.known_keys(data, TOP_KEYS, "")
        if "tables" not in data:
            self.fail(data, None, "", "missing required key 'tables'")
        tables_node = self.mapping(data["tables"], data, "tables", "tables")
        if not tables_node:
            self.fail(data, "tables", "tables", "declares no tables")
        fmt = data.get("format", "parquet")
        if fmt not in ("parquet", "csv"):
            self.fail(data, "format", "format", f"must be 'parquet' or 'csv', got {fmt!r}")
        locale = data.get("locale")
        if locale is not None and not isinstance(locale, str):
            self.fail(data, "locale", "locale", f"expected a locale name like en_US, got {locale!r}")
        tables = {name: self.table(tables_node, name) for name in tables_node}
        spec = Spec(tables=tables, locale=locale, format=fmt, source=self.source)
        self.check_foreign_keys(spec)
        spec.table_order()
        for table in tables.values():
            table.column_order()
        return spec

    def as_database(self, data: dict) -> dict:
        stem = Path(self.source).stem if self.source not in ("spec", "schema") else "table"
        tables = LineDict({stem: data})
        tables.line, tables.key_lines = getattr(data, "line", None), {stem: getattr(data, "line", None)}
        top = LineDict({"tables": tables})
        top.line, top.key_lines = tables.line, {"tables": tables.line}
        return top

    def table(self, tables_node, name) -> TableSpec:
        keypath = f"tables.{name}"
        node = self.mapping(tables_node[name], tables_node, name, keypath)
        self.known_keys(node, (*TABLE_KEYS, *SCHEMA_TABLE_KEYS), keypath)
        if isinstance(node.get("columns"), list):
            node = self.schema_table(tables_node, name, node, keypath)
        where = self._loc(tables_node, name, keypath)
        rows = self.number(node, "rows", keypath, positive=True, integer=True) if "rows" in node else None
        scale = self.number(node, "scale", keypath, positive=True) if "scale" in node else 1.0
        if "rows" in node and "scale" in node:
            self.fail(node, "scale", f"{keypath}.scale", "give either 'rows' or 'scale', not both")
        if "columns" not in node:
            self.fail(tables_node, name, keypath, "missing required key 'columns'")
        cols_node = self.mapping(node["columns"], node, "columns", f"{keypath}.columns")
        if not cols_node:
            self.fail(node, "columns", f"{keypath}.columns", "declares no columns")
        columns = {c: self.column(cols_node, c, f"{keypath}.columns.{c}") for c in cols_node}
        table = TableSpec(name=name, columns=columns, where=where, rows=rows, scale=scale)
        if "correlation" in node:
            self.correlation(node, table, f"{keypath}.correlation")
        return table

    def schema_table(self, tables_node, name, node, keypath) -> dict:
        """A table whose columns are schema entries: check it as a schema, then give every column its
        statistics (declared, or the default of its kind); returns the node with a ``{name: statistics}``
        columns mapping, as the rest of the checker reads."""
        entries = node["columns"]
        cols_path = f"{keypath}.columns"
        for i, entry in enumerate(entries):
            entry = self.mapping(entry, node, "columns", f"{cols_path}[{i}]")
            if not isinstance(entry.get("name"), str) or not entry["name"]:
                self.fail(entry, None, f"{cols_path}[{i}]", "a column entry needs a 'name'")
        try:
            schema = TableSchema.from_dict(_plain(node), name=name)
        except LookalikeError as exc:
            self.fail(tables_node, name, keypath, str(exc).removeprefix(f"table '{name}': "))
        foreign = {c: fk for fk in schema.foreign_keys for c in fk.columns}
        pk = schema.primary_key or []
        columns = LineDict()
        columns.line, columns.key_lines = getattr(node, "key_lines", {}).get("columns"), {}
        missing = []
        for entry, column in zip(entries, schema.columns):
            stats = self.statistics_of(entry, column)
            if not has_statistics(stats):
                fk = foreign.get(column.name)
                if fk is not None:
                    ref = fk.referenced_columns
                    ref_col = ref[fk.columns.index(column.name)] if ref else None
                    if ref_col is None:
                        self.fail(entry, "name", f"{cols_path}.{column.name}", f"the foreign key to "
                                  f"'{fk.references}' needs referenced_columns for fake data")
                    stats["foreign_key"] = f"{fk.references}.{ref_col}"
                else:
                    try:
                        default = default_statistics(column, name)
                    except LookalikeError as exc:
                        missing.append((entry, column, str(exc).split("declare ", 1)[-1]))
                        continue
                    for key in DEFAULT_SOURCES:
                        stats.pop(key, None)
                    stats.update(default)
            if column.name in pk and len(pk) == 1 and "unique" not in stats and stats.get("dist") != "sequence" \
                    and "foreign_key" not in stats:
                stats["unique"] = True  # a primary key never repeats
            columns[column.name] = stats
            columns.key_lines[column.name] = getattr(entry, "line", None)
        if missing:
            entry = missing[0][0]
            listed = "; ".join(f"'{c.name}' ({c.kind}): {what}" for _, c, what in missing)
            self.fail(entry, None, f"{cols_path}.{missing[0][1].name}",
                      f"{len(missing)} column(s) declare no statistics and their kind gives none. Declare "
                      f"them: {listed}. (`lookalike schema DATA --as-spec` writes them from a real table.)")
        out = LineDict({k: v for k, v in node.items() if k not in SCHEMA_TABLE_KEYS})
        out.line, out.key_lines = getattr(node, "line", None), dict(getattr(node, "key_lines", {}))
        out["columns"] = columns
        return out

    def statistics_of(self, entry: dict, column: ColumnSchema) -> dict:
        """An entry's declared statistics: schema keys and kind options (unless a distribution uses them,
        like ``value`` of ``dist: constant``) taken away; line numbers kept for errors."""
        params = DISTRIBUTIONS.get(entry.get("dist"), ((), ()))
        used = set(params[0]) | set(params[1])
        stats = LineDict({k: v for k, v in entry.items()
                          if k not in SCHEMA_COLUMN_KEYS and (k not in KIND_OPTIONS or k in used)})
        stats.line = getattr(entry, "line", None)
        stats.key_lines = dict(getattr(entry, "key_lines", {}))
        return stats

    def column(self, cols_node, name, keypath) -> ColumnSpec:
        node = cols_node[name]
        if isinstance(node, str):  # shorthand: "col: name" means faker provider... too magic; refuse clearly
            self.fail(cols_node, name, keypath, "expected a mapping such as {dist: normal, mean: 0, sd: 1} or "
                                                "{faker: name}")
        node = self.mapping(node, cols_node, name, keypath)
        where = self._loc(cols_node, name, keypath)
        generator = self.generator(node, keypath, extra_keys=COLUMN_KEYS, parent=cols_node, parent_key=name)
        column = ColumnSpec(name=name, generator=generator, where=where)
        if "unique" in node:
            if not isinstance(node["unique"], bool):
                self.fail(node, "unique", f"{keypath}.unique", f"expected true or false, got {node['unique']!r}")
            column.unique = node["unique"]
        if "null_rate" in node:
            column.null_rate = self.number(node, "null_rate", keypath, lo=0.0, hi=1.0)
            if column.null_rate >= 1.0:
                self.fail(node, "null_rate", f"{keypath}.null_rate", "must be below 1 (a column of only nulls)")
        if "round" in node:
            column.round = self.number(node, "round", keypath, nonneg=True, integer=True)
        return column

    def generator(self, node, keypath, extra_keys=(), parent=None, parent_key=None) -> Generator:
        where = self._loc(parent, parent_key, keypath)
        kinds = [k for k in GENERATOR_KEYS if k in node]
        if len(kinds) != 1:
            found = f"found {', '.join(kinds)}" if kinds else "found none"
            self.fail(parent, parent_key, keypath, f"needs exactly one of {', '.join(GENERATOR_KEYS)} ({found})")
        kind = kinds[0]
        if kind == "dist":
            dist = node["dist"]
            if dist not in DISTRIBUTIONS:
                close = difflib.get_close_matches(str(dist), list(DISTRIBUTIONS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f"; use one of {', '.join(DISTRIBUTIONS)}"
                self.fail(node, "dist", f"{keypath}.dist", f"unknown distribution {dist!r}{hint}")
            required, optional = DISTRIBUTIONS[dist]
            self.known_keys(node, ("dist", *required, *optional, *extra_keys), keypath)
            for key in required:
                if key not in node:
                    self.fail(node, "dist", keypath, f"distribution {dist!r} needs key {key!r}")
            return Generator("dist", where, dist=dist, params=self.dist_params(node, dist, keypath))
        if kind == "faker":
            self.known_keys(node, ("faker", *FAKER_KEYS, *extra_keys), keypath)
            provider = node["faker"]
            if not isinstance(provider, str):
                self.fail(node, "faker", f"{keypath}.faker", f"expected a Faker provider name, got {provider!r}")
            from lookalike.simulate.fakers import check_provider

            problem = check_provider(provider, node.get("locale"))
            if problem:
                self.fail(node, "faker", f"{keypath}.faker", problem)
            args = self.mapping(node.get("args", {}), node, "args", f"{keypath}.args")
            pool = self.number(node, "pool", keypath, nonneg=True, integer=True) if "pool" in node else 5000
            return Generator("faker", where, provider=provider, args=dict(args), pool=pool,
                             locale=node.get("locale"))
        if kind == "expr":
            self.known_keys(node, ("expr", *extra_keys), keypath)
            expr = node["expr"]
            try:
                referenced_names(expr, f"{self._loc(node, 'expr', keypath + '.expr')}")
            except LookalikeError:
                raise
            return Generator("expr", where, expr=expr)
        if kind == "foreign_key":
            self.known_keys(node, ("foreign_key", "skew", *extra_keys), keypath)
            ref = node["foreign_key"]
            if not isinstance(ref, str) or ref.count(".") != 1:
                self.fail(node, "foreign_key", f"{keypath}.foreign_key",
                          f"expected 'table.column', got {ref!r}")
            table, column = ref.split(".")
            skew = self.number(node, "skew", keypath, nonneg=True) if "skew" in node else 0.0
            return Generator("foreign_key", self._loc(node, "foreign_key", f"{keypath}.foreign_key"),
                             ref_table=table, ref_column=column, params={"skew": skew})
        # cases
        self.known_keys(node, ("cases", *extra_keys), keypath)
        cases_node = node["cases"]
        if not isinstance(cases_node, list) or not cases_node:
            self.fail(node, "cases", f"{keypath}.cases", "expected a non-empty list of cases")
        cases = []
        for i, case in enumerate(cases_node):
            case_path = f"{keypath}.cases[{i}]"
            case_loc_parent = case if isinstance(case, LineDict) else node
            case = self.mapping(case, case_loc_parent, None, case_path)
            when = case.get("when")
            if when is not None:
                referenced_names(when, self._loc(case, "when", f"{case_path}.when"))
            elif i != len(cases_node) - 1:
                self.fail(case, None, case_path, "only the last case may omit 'when' (it is the default)")
            body = {k: v for k, v in case.items() if k != "when"}
            if isinstance(case, LineDict):
                body = LineDict(body)
                body.line, body.key_lines = case.line, case.key_lines
            sub = self.generator(body, case_path, parent=case, parent_key=None)
            if sub.kind in ("cases", "foreign_key"):
                self.fail(case, None, case_path, f"a case cannot itself use {sub.kind!r}")
            cases.append((when, sub))
        return Generator("cases", where, cases=cases)

    def dist_params(self, node, dist, keypath) -> dict:
        p: dict[str, Any] = {}
        if dist in ("normal",):
            p["mean"] = self.number(node, "mean", keypath)
            p["sd"] = self.number(node, "sd", keypath, positive=True)
        elif dist == "lognormal":
            p["mu"] = self.number(node, "mu", keypath)
            p["sigma"] = self.number(node, "sigma", keypath, positive=True)
        elif dist == "uniform":
            p["low"] = self.number(node, "low", keypath)
            p["high"] = self.number(node, "high", keypath)
            if p["high"] <= p["low"]:
                self.fail(node, "high", f"{keypath}.high", f"must be greater than low ({p['low']})")
        elif dist == "exponential":
            p["scale"] = self.number(node, "scale", keypath, positive=True)
        elif dist == "gamma":
            p["shape"] = self.number(node, "shape", keypath, positive=True)
            p["scale"] = self.number(node, "scale", keypath, positive=True)
        elif dist == "poisson":
            p["lam"] = self.number(node, "lam", keypath, positive=True)
        elif dist == "bernoulli":
            p["p"] = self.number(node, "p", keypath, lo=0.0, hi=1.0)
        elif dist == "categorical":
            p["values"], p["weights"] = self.categories(node, keypath)
        elif dist == "quantiles":
            knots = node["values"]
            ok = isinstance(knots, list) and len(knots) >= 2 and all(
                isinstance(k, (int, float)) and not isinstance(k, bool) and np.isfinite(k) for k in knots)
            if not ok or any(b < a for a, b in zip(knots, knots[1:])):
                self.fail(node, "values", f"{keypath}.values",
                          "expected a non-decreasing list of at least 2 numbers (quantiles at equal steps)")
            p["values"] = np.asarray(knots, dtype=float)
        elif dist in ("date", "datetime"):
            p["start"] = self.when(node, "start", keypath)
            p["end"] = self.when(node, "end", keypath)
            if p["end"] < p["start"]:
                self.fail(node, "end", f"{keypath}.end", f"must not be before start ({node['start']})")
        elif dist == "sequence":
            p["start"] = self.number(node, "start", keypath, integer=True) if "start" in node else 1
            p["step"] = self.number(node, "step", keypath, integer=True) if "step" in node else 1
            if p["step"] == 0:
                self.fail(node, "step", f"{keypath}.step", "must not be 0 (values would repeat)")
            p["prefix"] = node.get("prefix")
            if p["prefix"] is not None and not isinstance(p["prefix"], str):
                self.fail(node, "prefix", f"{keypath}.prefix", f"expected text, got {p['prefix']!r}")
            p["width"] = self.number(node, "width", keypath, nonneg=True, integer=True) if "width" in node else 0
        elif dist == "constant":
            p["value"] = node["value"]
        for bound in ("min", "max"):
            if bound in node:
                p[bound] = self.number(node, bound, keypath)
        if "min" in p and "max" in p and p["max"] <= p["min"]:
            self.fail(node, "max", f"{keypath}.max", f"must be greater than min ({p['min']})")
        return p

    def categories(self, node, keypath):
        values = node["values"]
        if isinstance(values, list):
            if not values:
                self.fail(node, "values", f"{keypath}.values", "needs at least one category")
            return list(values), np.full(len(values), 1.0 / len(values))
        if isinstance(values, dict):
            if not values:
                self.fail(node, "values", f"{keypath}.values", "needs at least one category")
            weights = []
            for k in values:
                w = values[k]
                if isinstance(w, bool) or not isinstance(w, (int, float)) or not np.isfinite(w) or w < 0:
                    self.fail(values, k, f"{keypath}.values.{k}", f"weight must be a number >= 0, got {w!r}")
                weights.append(float(w))
            total = sum(weights)
            if total <= 0:
                self.fail(node, "values", f"{keypath}.values", "weights must not all be 0")
            return list(values), np.asarray(weights) / total
        self.fail(node, "values", f"{keypath}.values", "expected a list of categories or a mapping category: weight")

    def when(self, node, key, keypath) -> np.datetime64:
        value = node[key]
        if isinstance(value, (dt.date, dt.datetime)):
            return np.datetime64(value, "s")
        if isinstance(value, str):
            try:
                return np.datetime64(value, "s")
            except ValueError:
                pass
        self.fail(node, key, f"{keypath}.{key}", f"expected a date like 2024-01-31, got {value!r}")

    def correlation(self, node, table: TableSpec, keypath):
        corr = self.mapping(node["correlation"], node, "correlation", keypath)
        self.known_keys(corr, ("columns", "matrix"), keypath)
        for key in ("columns", "matrix"):
            if key not in corr:
                self.fail(node, "correlation", keypath, f"missing required key {key!r}")
        cols = corr["columns"]
        if not isinstance(cols, list) or len(cols) < 2 or len(set(map(str, cols))) != len(cols):
            self.fail(corr, "columns", f"{keypath}.columns", "expected a list of at least two distinct columns")
        for c in cols:
            if c not in table.columns:
                self.fail(corr, "columns", f"{keypath}.columns", f"unknown column {c!r}")
            if not table.columns[c].generator.copula_ready():
                self.fail(corr, "columns", f"{keypath}.columns",
                          f"column {c!r} must use a distribution with an inverse CDF "
                          f"({', '.join(sorted(COPULA_DISTRIBUTIONS))}) to take part in a correlation")
        try:
            matrix = np.asarray(corr["matrix"], dtype=float)
        except (TypeError, ValueError):
            self.fail(corr, "matrix", f"{keypath}.matrix", "expected a square list of lists of numbers")
        k = len(cols)
        if matrix.shape != (k, k):
            self.fail(corr, "matrix", f"{keypath}.matrix", f"expected a {k}x{k} matrix for {k} columns, "
                                                           f"got shape {matrix.shape}")
        if not np.allclose(matrix, matrix.T) or not np.allclose(np.diag(matrix), 1) or np.abs(matrix).max() > 1:
            self.fail(corr, "matrix", f"{keypath}.matrix",
                      "must be symmetric with 1 on the diagonal and entries in [-1, 1]")
        if np.linalg.eigvalsh(matrix).min() < -1e-8:
            self.fail(corr, "matrix", f"{keypath}.matrix", "is not a valid correlation matrix "
                                                           "(not positive semi-definite)")
        table.correlation_columns = [str(c) for c in cols]
        table.correlation = matrix

    def check_foreign_keys(self, spec: Spec):
        for table in spec.tables.values():
            for col in table.columns.values():
                for gen in _all_generators(col.generator):
                    if gen.kind != "foreign_key":
                        continue
                    if gen.ref_table not in spec.tables:
                        raise LookalikeError(f"{gen.where}: unknown table {gen.ref_table!r}; tables: "
                                             f"{', '.join(spec.tables)}")
                    parent = spec.tables[gen.ref_table]
                    if gen.ref_column not in parent.columns:
                        raise LookalikeError(f"{gen.where}: table {gen.ref_table!r} has no column "
                                             f"{gen.ref_column!r}")
                    target = parent.columns[gen.ref_column]
                    is_key = target.unique or (target.generator.kind == "dist"
                                               and target.generator.dist == "sequence")
                    if not is_key:
                        raise LookalikeError(f"{gen.where}: {gen.ref_table}.{gen.ref_column} must be a key "
                                             f"(unique: true or dist: sequence) to be referenced")
                    if gen.ref_table == table.name:
                        raise LookalikeError(f"{gen.where}: a table cannot reference itself")
