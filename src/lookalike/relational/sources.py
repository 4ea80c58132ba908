"""Where a database comes from: {name: DataFrame}, a SQL URL (reflected) or a folder of files (keys inferred).

Returns the tables, a :class:`DatabaseSchema` (keys from the database's constraints, from the schema file, or
inferred and said so in ``notes``) and the DDL to write the synthetic copy with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lookalike.errors import LookalikeError
from lookalike.io.sql import ddl_from_frames, is_url, read_folder, reflect
from lookalike.relational.infer import infer_database, table_schema_for
from lookalike.schema.columns import ForeignKey
from lookalike.schema.database import DatabaseSchema


@dataclass
class Source:
    tables: dict[str, pd.DataFrame]
    schema: DatabaseSchema
    ddl: dict
    notes: list[str] = field(default_factory=list)


def _as_schema(schema) -> DatabaseSchema | None:
    if schema is None or isinstance(schema, DatabaseSchema):
        return schema
    if isinstance(schema, dict):
        return DatabaseSchema.from_dict(schema)
    return DatabaseSchema.read(schema)


def load_source(data, schema=None, tables: list[str] | None = None, k: int = 5) -> Source:
    schema = _as_schema(schema)
    notes: list[str] = []
    ddl = None
    if is_url(data):
        frames, ddl, notes = reflect(data, tables)
        if schema is None:
            schemas = {}
            for name, spec in ddl.items():
                fks = [ForeignKey(fk["columns"], fk["references"], fk["referenced_columns"], fk.get("name"))
                       for fk in spec["foreign_keys"]]
                try:
                    schemas[name] = table_schema_for(name, frames[name], spec["primary_key"] or None, fks, k=k)
                except LookalikeError as exc:
                    msg = str(exc)
                    raise LookalikeError(msg if msg.startswith(f"table '{name}'") else f"table '{name}': {msg}") from None
            schema = DatabaseSchema(tables=schemas)
    elif isinstance(data, (str, Path)):
        frames = read_folder(data, tables)
    elif isinstance(data, dict):
        if not data:
            raise LookalikeError("no tables given")
        bad = [n for n, df in data.items() if not isinstance(df, pd.DataFrame)]
        if bad:
            raise LookalikeError(f"table(s) {bad}: expected pandas DataFrames")
        frames = {str(n): df for n, df in data.items()}
        if tables:
            unknown = [t for t in tables if t not in frames]
            if unknown:
                raise LookalikeError(f"unknown table(s) {', '.join(unknown)}; given: {', '.join(frames)}")
            frames = {t: frames[t] for t in tables}
    else:
        raise LookalikeError(f"fit expects {{name: DataFrame}}, a database URL or a folder, got {type(data).__name__}")
    if schema is None:
        schema, inferred = infer_database(frames, k=k)
        notes += inferred
    else:
        unknown = [t for t in schema.tables if t not in frames]
        if unknown:
            raise LookalikeError(f"the schema names unknown table(s) {', '.join(unknown)}; the data has: "
                                 f"{', '.join(frames)}")
        frames = {t: frames[t] for t in schema.tables}
        for name, table in schema.tables.items():
            missing = [c for c in table.names if c not in frames[name].columns]
            if missing:
                raise LookalikeError(f"table '{name}': the schema names column(s) {missing} the data lacks")
    if ddl is None:
        keys = {n: {"primary_key": t.primary_key or [],
                    "foreign_keys": [{"columns": fk.columns, "references": fk.references,
                                      "referenced_columns": fk.referenced_columns or schema.tables[fk.references].primary_key}
                                     for fk in t.foreign_keys]} for n, t in schema.tables.items()}
        ddl = ddl_from_frames(frames, keys)
    else:  # a schema file may change keys: the written DDL follows the schema
        for name, t in schema.tables.items():
            ddl[name]["primary_key"] = list(t.primary_key or [])
            ddl[name]["foreign_keys"] = [{"columns": fk.columns, "references": fk.references,
                                          "referenced_columns": fk.referenced_columns or schema.tables[fk.references].primary_key}
                                         for fk in t.foreign_keys]
        ddl = {n: ddl[n] for n in schema.tables}
    for name, t in schema.tables.items():  # declared unique constraints become rules the output keeps
        fk_cols = {c for fk in t.foreign_keys for c in fk.columns}
        have = [r.get("columns") for r in t.rules if r.get("type") == "unique"]
        for cols in ddl[name].get("unique", []):
            if cols != list(t.primary_key or []) and not set(cols) & fk_cols and list(cols) not in have:
                t.rules.append({"type": "unique", "columns": list(cols), "source": "database"})
    return Source(tables=dict(frames), schema=schema, ddl=ddl, notes=notes)
