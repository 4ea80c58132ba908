"""What each column is, as plain data that round-trips through YAML so users can read and edit it."""
from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import Any

import yaml

from lookalike.errors import LookalikeError
from lookalike.schema.kinds import KINDS, LEARNED_KINDS, Kind  # noqa: F401  (re-exported)


@dataclass
class ColumnSchema:
    """One column: its kind, original dtype and kind-specific options (formats, precision, PII kind...)."""

    name: str
    kind: Kind
    dtype: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.kind = Kind(self.kind)
        except ValueError:
            raise LookalikeError(
                f"column '{self.name}': unknown kind '{self.kind}'; use one of {', '.join(KINDS)}"
            ) from None

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind.value, "dtype": self.dtype, **self.options}

    @classmethod
    def from_dict(cls, d: dict) -> "ColumnSchema":
        if not isinstance(d, dict) or "name" not in d or "kind" not in d:
            raise LookalikeError(f"schema column entry {d!r} needs at least 'name' and 'kind'")
        d = dict(d)
        name, kind = str(d.pop("name")), str(d.pop("kind"))
        dtype = str(d.pop("dtype", "object"))
        return cls(name=name, kind=kind, dtype=dtype, options=d)

    @classmethod
    def from_entry(cls, d: dict, name: str | None = None) -> "ColumnSchema":
        """A column from a schema entry or a fake-data spec entry (``{dist: normal, mean: 40, sd: 9}``).

        Spec entries may omit ``kind`` and ``dtype``: both follow from the declared statistics, which stay in
        ``options``. ``name`` is given when the entry comes from a mapping ``{column name: entry}``."""
        if not isinstance(d, dict):
            raise LookalikeError(f"column {name!r}: expected a mapping such as {{name: age, kind: numeric}}, "
                                 f"got {type(d).__name__}")
        d = dict(d)
        if name is not None:
            d.setdefault("name", name)
        if "name" not in d:
            raise LookalikeError(f"schema column entry {d!r} needs a 'name'")
        from lookalike.schema.statistics import default_dtype, kind_from_statistics

        if "kind" not in d:
            kind = kind_from_statistics(d)
            if kind is None:
                raise LookalikeError(f"column '{d['name']}': needs a 'kind' ({', '.join(KINDS)}) or a declared "
                                     f"statistic (dist, faker, expr, foreign_key or cases) it follows from")
            d["kind"] = kind
        if "dtype" not in d:
            d["dtype"] = default_dtype(Kind(d["kind"]) if d["kind"] in KINDS else None, d)
        return cls.from_dict(d)


@dataclass
class ForeignKey:
    """Columns of this table that reference a key of another table (or of this one: a self-reference).

    ``referenced_columns`` None means the referenced table's primary key, as in SQL. The field names follow
    what SQLAlchemy's inspector reports (constrained columns, referred table and columns, constraint name)."""

    columns: list[str]
    references: str
    referenced_columns: list[str] | None = None
    name: str | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"columns": list(self.columns), "references": self.references}
        if self.referenced_columns is not None:
            d["referenced_columns"] = list(self.referenced_columns)
        if self.name is not None:
            d["name"] = self.name
        return d

    @classmethod
    def from_dict(cls, d: dict, table: str = "table") -> "ForeignKey":
        where = f"table '{table}': foreign key"
        if not isinstance(d, dict):
            raise LookalikeError(f"{where} {d!r}: expected a mapping with 'columns' and 'references'")
        unknown = set(d) - {"columns", "references", "referenced_columns", "name"}
        if unknown:
            raise LookalikeError(f"{where} {d!r}: unknown key(s) {sorted(unknown)}; "
                                 f"use columns, references, referenced_columns, name")
        if "columns" not in d or "references" not in d:
            raise LookalikeError(f"{where} {d!r}: needs 'columns' and 'references' (the referenced table)")
        ref = d.get("referenced_columns")
        return cls(columns=_names(d["columns"], f"{where} columns"), references=str(d["references"]),
                   referenced_columns=None if ref is None else _names(ref, f"{where} referenced_columns"),
                   name=d.get("name"))


def _names(value, where: str) -> list[str]:
    """A column list given as one name or a list of names."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise LookalikeError(f"{where}: expected a column name or a non-empty list of names, got {value!r}")
    if len(set(names)) != len(names):
        raise LookalikeError(f"{where}: a column is named twice in {names}")
    return list(names)


# Table-level keys of a fake-data spec kept as declared statistics (see lookalike.simulate.spec).
TABLE_STATISTICS = ("rows", "scale", "correlation")
# What the rows of a category's tail (values seen in fewer than k rows) become: a schema column option
# ``rare`` or the table default ``value_protection: {rare: ...}`` (see lookalike.encoding.categorical).
RARE_CHOICES = ("generate", "placeholder", "drop")
# Kinds an order column may have: positions in a sequence are numbers or timestamps.
ORDER_KINDS = (Kind.NUMERIC, Kind.DATETIME)

MAX_DECIMALS = 15
"""Most decimals a schema may give a number: the numeric codec computes on value x 10**decimals in int64."""


def _check_precision(column: ColumnSchema, where: str) -> None:
    """A numeric column's ``decimals`` (None: released by a mechanism) and ``grid`` (at most ``decimals``) are
    whole numbers from 0 to MAX_DECIMALS; anything else would fail deep in the codec or draw nonsense (grid -1
    made every new value 0)."""
    if column.kind != Kind.NUMERIC:
        return
    options = column.options

    def whole(key):
        value = options[key]
        if isinstance(value, bool) or not isinstance(value, Integral) or not 0 <= value <= MAX_DECIMALS:
            raise LookalikeError(f"{where}: column '{column.name}': {key} must be a whole number from 0 to "
                                 f"{MAX_DECIMALS}, got {value!r}")
        return value

    decimals = whole("decimals") if options.get("decimals") is not None else None
    if "grid" in options:
        grid = whole("grid")
        if decimals is not None and grid > decimals:
            raise LookalikeError(f"{where}: column '{column.name}': grid ({grid}) must not exceed decimals "
                                 f"({decimals}); it is the coarser grid new values are drawn on")


@dataclass
class TableSchema:
    """All columns of one table, in order, plus table-wide settings (value protection, business rules),
    keys (primary and foreign) and, for sequence tables, the entity key and order columns.

    ``value_protection``: ``enabled``, ``k`` and, for categories, ``rare`` (generate, placeholder or drop: what
    rows holding a value seen in fewer than k rows become; a column's own ``rare`` option wins) and
    ``placeholder`` (the string ``rare: placeholder`` writes, "(other)" unless set)."""

    columns: list[ColumnSchema]
    value_protection: dict[str, Any] = field(default_factory=lambda: {"enabled": True, "k": 5})
    rules: list[dict] = field(default_factory=list)
    primary_key: list[str] | None = None
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    entity: str | None = None  # sequences: the column naming whose sequence a row belongs to
    order: str | None = None  # sequences: the column that orders the rows of one entity
    statistics: dict[str, Any] = field(default_factory=dict)  # declared table statistics (rows, correlation)
    dialect: dict | None = None  # the CSV dialect the table was read in (lookalike.io.sniff_csv); output uses it
    reference: bool | None = None  # databases: a lookup table kept as is (True), synthesized (False), or inferred

    def __getitem__(self, name: str) -> ColumnSchema:
        for c in self.columns:
            if c.name == name:
                return c
        raise LookalikeError(f"unknown column '{name}'; the table has: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def k(self) -> int:
        """Rare-value threshold: values seen in fewer rows than this never appear verbatim."""
        return int(self.value_protection.get("k", 5)) if self.value_protection.get("enabled", True) else 1

    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "value_protection": dict(self.value_protection),
            "columns": [c.to_dict() for c in self.columns],
            "rules": list(self.rules),
            **({"dialect": dict(self.dialect)} if self.dialect else {}),
        }
        # keys and sequence settings only when set, so plain schema files look as they always did
        if self.primary_key is not None:
            d["primary_key"] = list(self.primary_key)
        if self.foreign_keys:
            d["foreign_keys"] = [fk.to_dict() for fk in self.foreign_keys]
        if self.entity is not None:
            d["entity"] = self.entity
        if self.order is not None:
            d["order"] = self.order
        if self.reference is not None:
            d["reference"] = self.reference
        d.update(self.statistics)
        return d

    @classmethod
    def from_dict(cls, d: dict, name: str = "table") -> "TableSchema":
        """A schema from its dict; also reads a fake-data spec table, whose ``columns`` may be a mapping
        ``{column: entry}`` and whose entries may omit kind and dtype (see :meth:`ColumnSchema.from_entry`).
        Raises :class:`LookalikeError` naming the table and column at fault."""
        if not isinstance(d, dict) or not isinstance(d.get("columns"), (list, dict)):
            raise LookalikeError("a schema needs a 'columns' list")
        vp = d.get("value_protection") or {"enabled": True, "k": 5}
        if d.get("dialect") is not None and not isinstance(d["dialect"], dict):
            raise LookalikeError("a schema's 'dialect' must be a mapping such as {delimiter: ';', decimal: ','}")
        entries = d["columns"]
        if isinstance(entries, dict):  # spec form: {column name: entry}
            columns = [ColumnSchema.from_entry(e, name=str(n)) for n, e in entries.items()]
        else:
            columns = [ColumnSchema.from_entry(e) for e in entries]
        pk = d.get("primary_key")
        foreign_keys = [ForeignKey.from_dict(fk, name) for fk in (d.get("foreign_keys") or [])]
        for c in columns:  # a spec column {foreign_key: customers.id} declares a table-level foreign key
            ref = c.options.get("foreign_key")
            if isinstance(ref, str) and ref.count(".") == 1 and not any(c.name in fk.columns for fk in foreign_keys):
                table, column = ref.split(".")
                foreign_keys.append(ForeignKey([c.name], table, [column]))
        schema = cls(
            columns=columns,
            value_protection=dict(vp),
            rules=list(d.get("rules") or []),
            primary_key=None if pk is None else _names(pk, f"table '{name}': primary_key"),
            foreign_keys=foreign_keys,
            entity=d.get("entity"),
            order=d.get("order"),
            statistics={k: d[k] for k in TABLE_STATISTICS if k in d},
            dialect=dict(d["dialect"]) if isinstance(d.get("dialect"), dict) else None,
            reference=d.get("reference"),
        )
        return schema.validate(name)

    def validate(self, name: str = "table") -> "TableSchema":
        """Check that keys and sequence settings name columns of this table, with fitting kinds; returns self."""
        where = f"table '{name}'"
        names = self.names
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise LookalikeError(f"{where}: column(s) {dupes} described twice")
        known = ", ".join(names)
        if self.reference is not None and not isinstance(self.reference, bool):
            raise LookalikeError(f"{where}: reference must be true or false, got {self.reference!r}")
        for owner, options in [("value_protection", self.value_protection)] + [
                (f"column '{c.name}'", c.options) for c in self.columns]:
            if "rare" in options and options["rare"] not in RARE_CHOICES:
                raise LookalikeError(f"{where}: {owner}: rare must be one of {', '.join(RARE_CHOICES)}, "
                                     f"got {options['rare']!r}")
        for c in self.columns:
            _check_precision(c, where)

        def check(column, role):
            if not isinstance(column, str) or column not in names:
                raise LookalikeError(f"{where}: {role} column {column!r} is not a column of the table; "
                                     f"columns: {known}")

        for c in self.primary_key or []:
            check(c, "primary key")
        for fk in self.foreign_keys:
            for c in fk.columns:
                check(c, f"foreign key (to '{fk.references}')")
            if fk.referenced_columns is not None and len(fk.referenced_columns) != len(fk.columns):
                raise LookalikeError(f"{where}: foreign key {fk.columns} has {len(fk.columns)} column(s) but "
                                     f"references {len(fk.referenced_columns)} of '{fk.references}' "
                                     f"({fk.referenced_columns})")
        if self.entity is not None:
            check(self.entity, "entity")
        if self.order is not None:
            check(self.order, "order")
            kind = self[self.order].kind
            if kind not in ORDER_KINDS:
                raise LookalikeError(f"{where}: order column '{self.order}' is {kind}; an order column must be "
                                     f"numeric or datetime")
            if self.order == self.entity:
                raise LookalikeError(f"{where}: column '{self.order}' cannot be both the entity and the order")
        return self

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str, source: str = "schema") -> "TableSchema":
        name = Path(source).stem if source != "schema" else "table"
        return from_yaml_text(text, source, lambda data: cls.from_dict(data, name=name))

    @classmethod
    def read(cls, path: str | Path) -> "TableSchema":
        path = Path(path)
        if not path.exists():
            raise LookalikeError(f"{path}: schema file not found")
        return cls.from_yaml(path.read_text(encoding="utf-8"), source=str(path))


def from_yaml_text(text: str, source: str, build):
    """``build(data)`` on the parsed YAML; every error (syntax or content) starts with ``source``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LookalikeError(f"{source}: not valid YAML ({exc})") from None
    try:
        return build(data)
    except LookalikeError as exc:
        raise LookalikeError(f"{source}: {exc}") from None
