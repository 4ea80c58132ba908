"""Declared statistics: what turns a schema column into a fake-data spec column.

A spec file is a schema file whose columns may also declare how their values are distributed (``dist``,
``faker``, ``expr``, ``foreign_key`` or ``cases``, plus ``null_rate``, ``unique``, ``round``). This module
knows the two directions between kinds and statistics: the kind a declared statistic implies (for spec
entries that omit ``kind``), and the statistics a kind implies when a column declares none (a key becomes a
sequence, a PII column a Faker provider) or the message that says what to declare.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lookalike.errors import LookalikeError
from lookalike.schema.kinds import Kind

if TYPE_CHECKING:
    from lookalike.schema.columns import ColumnSchema

GENERATOR_KEYS = ("dist", "faker", "expr", "foreign_key", "cases")
COLUMN_STATISTICS = ("unique", "null_rate", "round")
# options schema inference writes; a spec column may carry them beside its statistics
KIND_OPTIONS = ("integer", "decimals", "stored_as", "thousands", "formats", "id_type", "pii", "value",
                "float32", "full_precision", "grid")
# kind options that give a column without a distribution its default one
DEFAULT_SOURCES = ("min", "max", "start", "end", "values")

DIST_KINDS: dict[str, Kind] = {
    "normal": Kind.NUMERIC, "lognormal": Kind.NUMERIC, "uniform": Kind.NUMERIC, "exponential": Kind.NUMERIC,
    "gamma": Kind.NUMERIC, "poisson": Kind.NUMERIC, "quantiles": Kind.NUMERIC, "categorical": Kind.CATEGORICAL,
    "bernoulli": Kind.BOOLEAN, "date": Kind.DATETIME, "datetime": Kind.DATETIME, "sequence": Kind.ID,
    "constant": Kind.CONSTANT,
}
TEXT_PROVIDERS = {"sentence", "sentences", "paragraph", "paragraphs", "text"}


def has_statistics(entry: dict) -> bool:
    return any(k in entry for k in GENERATOR_KEYS)


def kind_from_statistics(entry: dict) -> Kind | None:
    """The kind a spec entry's declared statistic implies, or None when it declares none.

    An expression is taken as numeric; declare ``kind`` for expressions that make text or dates."""
    if "dist" in entry:
        return DIST_KINDS.get(str(entry["dist"]))
    if "faker" in entry:
        from lookalike.privacy.pii_names import pii_kind_of_provider

        provider = str(entry["faker"])
        if pii_kind_of_provider(provider) is not None:
            return Kind.PII
        return Kind.TEXT if provider in TEXT_PROVIDERS else Kind.CATEGORICAL
    if "foreign_key" in entry:
        return Kind.ID  # a key column; the table-level foreign key says what it references
    if "expr" in entry:
        return Kind.NUMERIC
    if "cases" in entry:
        cases = entry["cases"]
        if isinstance(cases, list) and cases and isinstance(cases[0], dict):
            return kind_from_statistics(cases[0])
    return None


def default_dtype(kind: Kind | None, entry: dict) -> str:
    """The dtype a spec column without ``dtype`` gets from its kind."""
    if kind == Kind.NUMERIC:
        return "int64" if entry.get("round") == 0 or entry.get("integer") is True else "float64"
    if kind == Kind.BOOLEAN:
        return "bool"
    if kind == Kind.DATETIME:
        return "datetime64[ns]"
    if kind == Kind.ID and entry.get("id_type") == "integer":
        return "int64"
    return "object"


def default_statistics(column: ColumnSchema, table: str = "table") -> dict[str, Any]:
    """Statistics for a column that declares none, from its kind and options; raises naming what to declare."""
    kind, o = column.kind, column.options

    def missing(what: str) -> LookalikeError:
        return LookalikeError(f"table '{table}': column '{column.name}' ({kind}) declares no statistics; "
                              f"declare {what}")

    if kind == Kind.ID:
        if o.get("id_type") == "string":
            return {"dist": "sequence", "start": 1, "prefix": f"{column.name[:12]}_", "width": 6}
        return {"dist": "sequence", "start": 1}
    if kind == Kind.PII:
        from lookalike.privacy.pii_names import FAKER_PROVIDERS

        if o.get("pii") not in FAKER_PROVIDERS:
            raise missing(f"its PII kind (pii: one of {', '.join(FAKER_PROVIDERS)}) or a Faker provider "
                          f"(faker: name)")
        return {"faker": FAKER_PROVIDERS[o["pii"]]}
    if kind == Kind.TEXT:
        return {"faker": "sentence"}
    if kind == Kind.CONSTANT:
        if "value" not in o:
            raise missing("its value (value: ...)")
        return {"dist": "constant", "value": o["value"]}
    if kind == Kind.BOOLEAN:
        if "values" in o:
            return {"dist": "categorical", "values": o["values"]}
        return {"dist": "bernoulli", "p": 0.5}
    if kind == Kind.CATEGORICAL:
        if "values" in o:
            return {"dist": "categorical", "values": o["values"]}
        raise missing("its categories, e.g. dist: categorical, values: {a: 0.7, b: 0.3}")
    if kind == Kind.NUMERIC:
        if "min" in o and "max" in o:
            entry: dict[str, Any] = {"dist": "uniform", "low": o["min"], "high": o["max"]}
            if o.get("integer") is True:
                entry["round"] = 0
            elif isinstance(o.get("decimals"), int):
                entry["round"] = o["decimals"]
            return entry
        raise missing("a distribution, e.g. dist: normal, mean: 40, sd: 12 (or bounds min: and max: for a "
                      "uniform one)")
    if kind == Kind.DATETIME:
        if "start" in o and "end" in o:
            formats = o.get("formats") or []
            timed = any("%H" in str(f[0] if isinstance(f, list) else f) for f in formats)
            timed = timed or any(len(str(o[k])) > 10 for k in ("start", "end"))
            return {"dist": "datetime" if timed else "date", "start": o["start"], "end": o["end"]}
        raise missing("a range, e.g. dist: date, start: 2020-01-01, end: 2024-12-31 (or start: and end:)")
    raise missing("dist, faker, expr, foreign_key or cases")
