"""Keys of tables that carry no declared constraints (folders of CSV/Parquet files, plain DataFrames).

Inferred, and said so (every guess is returned as a note): a **primary key** is a column named ``id``,
``<table>_id`` or ``<singular table>_id`` (also ``<table>id``, case-insensitive) that is unique and never
missing; a **foreign key** is a column of another table whose name is that key's name (or
``<parent>_id``/``<singular parent>_id`` when the key is called ``id``) and whose values are (almost all)
values of the key: at least 95% of its non-missing values, so that orphans are reported rather than hiding
the relation. Nothing else is guessed: edit the schema file (``lookalike schema-db ... -o db.yaml``) to add
composite keys or keys with other names.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.schema.columns import ForeignKey, TableSchema
from lookalike.schema.database import DatabaseSchema
from lookalike.schema.infer import infer_schema

MIN_INCLUSION = 0.95


def _singular(name: str) -> str:
    n = name.lower()
    if n.endswith("ies"):
        return n[:-3] + "y"
    if n.endswith(("ses", "ches", "shes", "xes", "zes")):  # addresses, branches, boxes
        return n[:-2]
    return n[:-1] if n.endswith("s") else n


def key_strings(df: pd.DataFrame, columns) -> pd.Series:
    """Key values as comparable strings (1, 1.0 and '1' agree); missing when any part is missing."""
    parts = []
    for c in columns:
        s = df[c]
        if pd.api.types.is_float_dtype(s) and np.all(np.mod(s.dropna().to_numpy(), 1) == 0):
            s = s.astype("Int64")
        parts.append(s.astype(str).where(s.notna()).reset_index(drop=True))
    out = parts[0] if len(parts) == 1 else parts[0].str.cat(parts[1:], sep="\x1f")
    out.index = df.index
    return out

def _primary_key(name: str, df: pd.DataFrame) -> str | None:
    candidates = {"id", f"{name.lower()}_id", f"{_singular(name)}_id", f"{name.lower()}id", f"{_singular(name)}id"}
    for col in df.columns:
        if str(col).lower() in candidates and df[col].notna().all() and df[col].is_unique:
            return str(col)
    return None


def infer_database(tables: dict[str, pd.DataFrame], k: int = 5) -> tuple[DatabaseSchema, list[str]]:
    """A :class:`DatabaseSchema` for ``tables`` with inferred keys, and one note per inferred key."""
    notes: list[str] = []
    pks = {name: _primary_key(name, df) for name, df in tables.items()}
    fks: dict[str, list[ForeignKey]] = {name: [] for name in tables}
    for parent, pk in pks.items():
        if pk is None:
            continue
        names = {pk.lower()} if pk.lower() != "id" else set()
        names |= {f"{parent.lower()}_id", f"{_singular(parent)}_id"}
        parent_keys = set(key_strings(tables[parent], [pk]).dropna())
        for child, df in tables.items():
            for col in df.columns:
                if str(col).lower() not in names or (child == parent and str(col) == pk):
                    continue
                values = key_strings(df, [col]).dropna()
                if len(values) == 0:
                    continue
                share = float(np.mean([v in parent_keys for v in values]))
                if share >= MIN_INCLUSION:
                    fks[child].append(ForeignKey([str(col)], parent, [pk]))
                    notes.append(f"inferred foreign key {child}.{col} -> {parent}.{pk} "
                                 f"({share:.1%} of its values are {parent} keys)")
    schemas = {}
    for name, df in tables.items():
        if pks[name]:
            notes.append(f"inferred primary key {name}.{pks[name]} (named like a key, unique, never missing)")
        schema = infer_schema(df, k=k, source=name, primary_key=pks[name], foreign_keys=fks[name])
        schemas[name] = schema
    return DatabaseSchema(tables=schemas), notes


def table_schema_for(name: str, df: pd.DataFrame, primary_key, foreign_keys, k: int = 5) -> TableSchema:
    """Inferred column kinds with declared keys (reflection gives the keys, inference the kinds)."""
    return infer_schema(df, k=k, source=name, primary_key=primary_key, foreign_keys=foreign_keys)
