"""What each column is, as plain data that round-trips through YAML so users can read and edit it."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from lookalike.errors import LookalikeError

class Kind(str, Enum):
    """The one list of column kinds. A ``str`` enum, so schema files keep plain words ('numeric').

    numeric: integers or floats; categorical: a small set of labels; boolean: two values in any spelling;
    datetime: dates or timestamps (native or strings with a format); id: unique keys, regenerated, never
    learned; constant: one value; text: free text; pii: personal data, replaced by fake values, never learned.
    """

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ID = "id"
    CONSTANT = "constant"
    TEXT = "text"
    PII = "pii"

    def __str__(self) -> str:  # f-strings and YAML show the word, not 'Kind.NUMERIC'
        return self.value

    @property
    def learned(self) -> bool:
        """Kinds a generator learns; the others are generated (keys, PII) or fixed (constants)."""
        return self in LEARNED_KINDS

    @property
    def categorical_like(self) -> bool:
        """Kinds whose values are a finite set of labels (conditions and rebalancing work on them)."""
        return self in (Kind.CATEGORICAL, Kind.BOOLEAN)


KINDS = tuple(k.value for k in Kind)
LEARNED_KINDS = (Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN, Kind.DATETIME, Kind.TEXT)


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


@dataclass
class TableSchema:
    """All columns of one table, in order, plus table-wide settings (value protection, business rules)."""

    columns: list[ColumnSchema]
    value_protection: dict[str, Any] = field(default_factory=lambda: {"enabled": True, "k": 5})
    rules: list[dict] = field(default_factory=list)
    dialect: dict | None = None  # the CSV dialect the table was read in (lookalike.io.sniff_csv); output uses it

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
        return {
            "value_protection": dict(self.value_protection),
            "columns": [c.to_dict() for c in self.columns],
            "rules": list(self.rules),
            **({"dialect": dict(self.dialect)} if self.dialect else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TableSchema":
        if not isinstance(d, dict) or not isinstance(d.get("columns"), list):
            raise LookalikeError("a schema needs a 'columns' list")
        vp = d.get("value_protection") or {"enabled": True, "k": 5}
        if d.get("dialect") is not None and not isinstance(d["dialect"], dict):
            raise LookalikeError("a schema's 'dialect' must be a mapping such as {delimiter: ';', decimal: ','}")
        return cls(
            columns=[ColumnSchema.from_dict(c) for c in d["columns"]],
            value_protection=dict(vp),
            rules=list(d.get("rules") or []),
            dialect=dict(d["dialect"]) if isinstance(d.get("dialect"), dict) else None,
        )

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str, source: str = "schema") -> "TableSchema":
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise LookalikeError(f"{source}: not valid YAML ({exc})") from None
        try:
            return cls.from_dict(data)
        except LookalikeError as exc:
            raise LookalikeError(f"{source}: {exc}") from None

    @classmethod
    def read(cls, path: str | Path) -> "TableSchema":
        path = Path(path)
        if not path.exists():
            raise LookalikeError(f"{path}: schema file not found")
        return cls.from_yaml(path.read_text(encoding="utf-8"), source=str(path))
