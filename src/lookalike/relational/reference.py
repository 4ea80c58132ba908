"""Reference tables: small, public lookup tables (carriers, airports, currencies) kept as they are.

A lookup table is not data about people: synthesizing its 16 rows only loses the link between each real
carrier and its flights. A **reference table** is therefore copied as is into the model file and into every
synthetic database (``scale`` does not change it), and a foreign key to it is learned by the child's model as
an ordinary categorical column: the child's rows keep their real distribution over the lookup's rows and their
dependence on them (which carrier flies which routes), and every generated key exists.

Which tables are reference tables (decided parents first):

- **Declared**: ``reference: true`` (or ``false``) on a table of the database schema file wins.
- **Inferred** (``reference="auto"``, the default): a table that other tables reference, whose own parents
  are all reference tables, with at most :data:`MAX_ROWS` rows, a primary key that is one text column (a
  code such as ``AA`` or ``JFK``; integer surrogate keys suggest entities such as customers), and no
  personal-data or free-text column. Every inferred one is named in a note.
- ``reference="declared"`` infers none; a list of table names declares those in addition to the schema file.

Value protection still applies to the child's foreign-key column: a lookup row referenced by fewer than k
child rows is never generated (``rare: drop``: those child rows take frequent values instead).
"""
from __future__ import annotations

import pandas as pd

from lookalike.errors import LookalikeError
from lookalike.schema.columns import Kind
from lookalike.schema.database import DatabaseSchema

MAX_ROWS = 100
PERSONAL_KINDS = (Kind.PII, Kind.TEXT)


def _inferred(name: str, df: pd.DataFrame, schema: DatabaseSchema) -> str | None:
    """Why ``name`` looks like a lookup table, or None."""
    table = schema.tables[name]
    pk = table.primary_key or []
    if not schema.children(name) or len(df) > MAX_ROWS or len(pk) != 1:
        return None
    key = df[pk[0]]
    if pd.api.types.is_numeric_dtype(key) or pd.api.types.is_datetime64_any_dtype(key):
        return None
    if any(c.kind in PERSONAL_KINDS for c in table.columns):
        return None
    return (f"{len(df)} rows, a text code as key ({pk[0]}), no personal data or free text, referenced by "
            f"{', '.join(schema.children(name))}")


def reference_tables(schema: DatabaseSchema, data: dict[str, pd.DataFrame], mode="auto") -> tuple[list[str], list[str]]:
    """The reference tables in generation order, and one note per table saying why it is one."""
    if not (mode in ("auto", "declared") or isinstance(mode, (list, tuple, set))):
        raise LookalikeError(f"reference must be 'auto', 'declared' or a list of table names, got {mode!r}")
    listed = set() if isinstance(mode, str) else {str(t) for t in mode}
    unknown = sorted(listed - set(schema.tables))
    if unknown:
        raise LookalikeError(f"reference: unknown table(s) {', '.join(unknown)}; tables: {', '.join(schema.tables)}")
    chosen: list[str] = []
    notes: list[str] = []
    for name in schema.order():
        declared = True if name in listed else schema.tables[name].reference
        outside = [p for p in schema.parents(name) if p not in chosen]
        if declared:
            if outside:
                raise LookalikeError(
                    f"table '{name}' is declared a reference table (kept as is) but references "
                    f"{', '.join(repr(p) for p in outside)}, which is synthesized, so its keys would name rows that do "
                    f"not exist; declare {', '.join(repr(p) for p in outside)} a reference table too, or not '{name}'")
            chosen.append(name)
            notes.append(f"table '{name}' is a reference table (declared): kept as is, its {len(data[name])} rows are "
                         f"copied into the model file and every synthetic database")
            continue
        if declared is False or mode != "auto" or outside:
            continue
        why = _inferred(name, data[name], schema)
        if why:
            chosen.append(name)
            notes.append(f"table '{name}' is kept as is as a reference table ({why}): its rows are copied into the "
                         f"model file and every synthetic database; declare 'reference: false' for it in the schema "
                         f"file to synthesize it")
    return chosen, notes
