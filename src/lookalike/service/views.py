"""Small helpers that turn library objects into what a page shows: each column's kind with the reason it was
inferred, and a spec's lines with the one an error points at."""
from __future__ import annotations

import re

from lookalike.schema.columns import TableSchema

SHOWN_OPTIONS = ("formats", "decimals", "integer", "stored_as", "thousands", "id_type", "repeated", "value", "pii")


def reason(kind: str, options: dict) -> str:
    """Why inference chose this kind, in plain words (the checks of ``schema.infer.infer_column``)."""
    if kind == "constant":
        return f"the same value ({options.get('value')!r}) in every row"
    if kind == "boolean":
        return "two values that spell yes/no, true/false, 1/0 or alike"
    if kind == "datetime":
        formats = options.get("formats")
        return f"values read as dates ({', '.join(map(str, _flat(formats)))})" if formats else "stored as dates"
    if kind == "pii":
        return f"name or values look like personal data ({options.get('pii')}); replaced by fakes, never learned"
    if kind == "numeric":
        text = "numbers" + (" written as text" if options.get("stored_as") == "string" else "")
        if options.get("integer"):
            text += ", whole"
        elif options.get("decimals") is not None:
            text += f", {options['decimals']} decimals"
        return text
    if kind == "id":
        if options.get("repeated"):
            return ("named like an identifier, its values repeated: an entity's id, regenerated (fresh ids, as many "
                    "rows per id as in your data) rather than learned")
        return "every value is different: a key, regenerated rather than learned"
    if kind == "text":
        return "long, wordy, mostly distinct values: free text"
    if kind == "categorical":
        return "a set of repeated labels"
    return ""


def describe_columns(schema: TableSchema, inferred: TableSchema) -> list[dict]:
    was = {c.name: c for c in inferred.columns}
    rows = []
    for i, col in enumerate(schema.columns):
        before = was.get(col.name)
        edited = before is not None and before.kind != col.kind
        why = reason(col.kind.value, col.options)
        if edited:
            why = f"set by you; inferred as {before.kind.value} ({reason(before.kind.value, before.options)})"
        details = ", ".join(f"{k}: {col.options[k]}" for k in SHOWN_OPTIONS if k in col.options and k != "pii")
        rows.append({"index": i, "name": col.name, "kind": col.kind.value, "pii": col.options.get("pii") or "",
                     "details": details, "reason": why, "edited": edited})
    return rows


def spec_lines(text: str, message: str) -> tuple[list[tuple[int, str]], int | None]:
    """The spec's numbered lines and the line number an error message (``spec:LINE: ...``) names."""
    match = re.match(r"^spec:(\d+):", message)
    return list(enumerate(text.splitlines(), start=1)), int(match.group(1)) if match else None


def _flat(formats) -> list:
    out = []
    for item in formats or []:
        out.extend(item if isinstance(item, list) else [item])
    return [f for f in out if isinstance(f, str)][:3]
