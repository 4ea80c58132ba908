"""Several tables and the foreign keys between them, as plain data that round-trips through YAML.

A database schema file is a fake-data spec's shape without statistics::

    tables:
      customers:
        primary_key: [customer_id]
        columns:
          - {name: customer_id, kind: id, dtype: int64}
          - {name: segment, kind: categorical, dtype: object}
      orders:
        primary_key: [order_id]
        foreign_keys:
          - {columns: [customer_id], references: customers, referenced_columns: [customer_id]}
        columns: [...]

Relations are derived from the foreign keys; :meth:`DatabaseSchema.order` walks them parents first, which
is the order in which tables are generated. Nothing here reads a database: the fields mirror what
SQLAlchemy's inspector reports (``get_pk_constraint``, ``get_foreign_keys``), so reflection fills them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lookalike.errors import LookalikeError
from lookalike.schema.columns import TableSchema, from_yaml_text

# Top-level keys of a fake-data spec kept as declared settings (see lookalike.simulate.spec).
DATABASE_SETTINGS = ("locale", "format")


@dataclass(frozen=True)
class Relation:
    """``child.child_columns`` reference ``parent.parent_columns`` (parent's primary key when resolved)."""

    parent: str
    child: str
    parent_columns: tuple[str, ...]
    child_columns: tuple[str, ...]

    @property
    def is_self_reference(self) -> bool:
        return self.parent == self.child


@dataclass
class DatabaseSchema:
    """Tables by name (insertion order kept) and database-wide settings."""

    tables: dict[str, TableSchema]
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def __getitem__(self, name: str) -> TableSchema:
        try:
            return self.tables[name]
        except KeyError:
            raise LookalikeError(f"unknown table '{name}'; the database has: {', '.join(self.tables)}") from None

    # -- relations ---------------------------------------------------------------------------------
    @property
    def relations(self) -> list[Relation]:
        """One relation per foreign key, with referenced columns resolved to the parent's primary key when
        the foreign key names none."""
        out = []
        for child, table in self.tables.items():
            for fk in table.foreign_keys:
                parent = self.tables[fk.references]
                ref = fk.referenced_columns if fk.referenced_columns is not None else parent.primary_key
                out.append(Relation(fk.references, child, tuple(ref), tuple(fk.columns)))
        return out

    @property
    def self_references(self) -> list[Relation]:
        """Foreign keys from a table to itself (a manager of an employee): allowed, generated within the table."""
        return [r for r in self.relations if r.is_self_reference]

    def parents(self, table: str) -> list[str]:
        self[table]
        return list(dict.fromkeys(r.parent for r in self.relations if r.child == table and not r.is_self_reference))

    def children(self, table: str) -> list[str]:
        self[table]
        return list(dict.fromkeys(r.child for r in self.relations if r.parent == table and not r.is_self_reference))

    def order(self) -> list[str]:
        """Table names, every parent before the tables that reference it (ties keep the file's order).

        Raises naming the tables of a cycle; a table referencing itself is not a cycle (see
        :attr:`self_references`)."""
        done: list[str] = []
        state: dict[str, int] = {}  # 1: on the current path, 2: placed

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = [*path[path.index(name):], name]
                raise LookalikeError("foreign keys form a cycle between tables: " + " -> ".join(cycle) +
                                     "; one of these keys must be dropped or made a self-reference")
            state[name] = 1
            for parent in self.parents(name):
                visit(parent, [*path, name])
            state[name] = 2
            done.append(name)

        for name in self.tables:
            visit(name, [])
        return done

    # -- checks ------------------------------------------------------------------------------------
    def validate(self) -> "DatabaseSchema":
        """Each table on its own, then every foreign key against the table it references; returns self."""
        if not isinstance(self.tables, dict) or not self.tables:
            raise LookalikeError("a database schema needs at least one table")
        for name, table in self.tables.items():
            if not isinstance(table, TableSchema):
                raise LookalikeError(f"table '{name}': expected a TableSchema, got {type(table).__name__}")
            table.validate(name)
        for name, table in self.tables.items():
            for fk in table.foreign_keys:
                where = f"table '{name}': foreign key {fk.columns}"
                if fk.references not in self.tables:
                    raise LookalikeError(f"{where} references unknown table '{fk.references}'; tables: "
                                         f"{', '.join(self.tables)}")
                parent = self.tables[fk.references]
                ref = fk.referenced_columns
                if ref is None:
                    if parent.primary_key is None:
                        raise LookalikeError(f"{where} names no referenced_columns and table '{fk.references}' "
                                             f"has no primary_key; give one of them")
                    ref = parent.primary_key
                if len(ref) != len(fk.columns):
                    raise LookalikeError(f"{where} has {len(fk.columns)} column(s) but the referenced key of "
                                         f"'{fk.references}' has {len(ref)} ({list(ref)})")
                for c in ref:
                    if c not in parent.names:
                        raise LookalikeError(f"{where} references column '{c}' that table '{fk.references}' "
                                             f"does not have; its columns: {', '.join(parent.names)}")
        self.order()
        return self

    # -- files -------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {**self.settings, "tables": {name: t.to_dict() for name, t in self.tables.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "DatabaseSchema":
        """From ``{tables: {name: table schema}}``; a multi-table fake-data spec reads too."""
        if not isinstance(d, dict) or not isinstance(d.get("tables"), dict) or not d["tables"]:
            raise LookalikeError("a database schema needs a 'tables' mapping of table name to table schema")
        unknown = set(d) - {"tables", *DATABASE_SETTINGS}
        if unknown:
            raise LookalikeError(f"database schema: unknown key(s) {sorted(unknown)}; use tables, "
                                 f"{', '.join(DATABASE_SETTINGS)}")
        tables = {}
        for name, table in d["tables"].items():
            try:
                tables[str(name)] = TableSchema.from_dict(table, name=str(name))
            except LookalikeError as exc:
                msg = str(exc)
                raise LookalikeError(msg if msg.startswith(f"table '{name}'") else f"table '{name}': {msg}") from None
        return cls(tables=tables, settings={k: d[k] for k in DATABASE_SETTINGS if k in d})

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str, source: str = "schema") -> "DatabaseSchema":
        return from_yaml_text(text, source, cls.from_dict)

    @classmethod
    def read(cls, path: str | Path) -> "DatabaseSchema":
        path = Path(path)
        if not path.exists():
            raise LookalikeError(f"{path}: schema file not found")
        return cls.from_yaml(path.read_text(encoding="utf-8"), source=str(path))
