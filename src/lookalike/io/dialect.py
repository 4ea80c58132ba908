"""CSV dialects of real users' files: sniff them on read, write them back the same way.

A dialect is a small plain dict (it travels in ``DataFrame.attrs`` and in schema files)::

    {"delimiter": ";", "decimal": ",", "thousands": ".", "encoding": "cp1252", "bom": False,
     "lineterminator": "\\r\\n"}

Sniffing only decides these few settings from a sample of the file; pandas still does all the parsing.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
from pathlib import Path

import pandas as pd

from lookalike.errors import LookalikeError

DELIMITERS = (",", ";", "\t", "|")
DEFAULT_DIALECT = {"delimiter": ",", "decimal": ".", "thousands": None, "encoding": "utf-8", "bom": False,
                   "lineterminator": "\n"}
SAMPLE_BYTES = 512 * 1024
_UTF8_BOM = codecs.BOM_UTF8
# pandas' missing-value spellings and infinities: they say nothing about the number format
_NA = {"", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "<NA>", "#N/A", "#NA",
       "#N/A N/A", "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN", "inf", "-inf", "Infinity", "-Infinity"}
# a number as written with ',' for decimals and optional '.' between groups of three digits: 1.234.567,89 / 12,5 / 7
_EU_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?(?:[eE][+-]?\d+)?")
# a number that can only be read with '.' for decimals: 2.5 / .5 / 1,234.56 / 1.5e3 (but not 1.234, which is ambiguous)
_DOT_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})*|\d*)\.\d+(?:[eE][+-]?\d+)?")
_DOT_GROUP = re.compile(r"\d\.\d{3}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def sniff_csv(path: str | os.PathLike, sample_bytes: int = SAMPLE_BYTES) -> dict:
    """The dialect of a CSV file: delimiter, decimal mark, thousands separator, encoding, BOM, line ends.

    Looks at the first ``sample_bytes`` of the file, read with a real CSV reader (quoted fields may hold
    newlines and delimiters). Anything it cannot decide stays at pandas' defaults (``,`` and ``.``), so a
    plain comma file reads exactly as ``pd.read_csv`` would read it.
    """
    return _sniff(Path(path), sample_bytes)[0]


def _sniff(path: Path, sample_bytes: int = SAMPLE_BYTES) -> tuple[dict, list[str]]:
    """(dialect, columns to keep as text so the thousands separator cannot mangle them)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(sample_bytes + 1)
    except FileNotFoundError:
        raise LookalikeError(f"{path}: file not found") from None
    except PermissionError:
        raise LookalikeError(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise LookalikeError(f"{path}: is a directory, expected a CSV file") from None
    complete = len(raw) <= sample_bytes
    raw = raw[:sample_bytes]
    dialect = dict(DEFAULT_DIALECT)
    bom = raw.startswith(_UTF8_BOM)
    if bom:
        raw = raw[len(_UTF8_BOM):]
    text, encoding = _decode(path, raw, complete)
    dialect.update(encoding=encoding, bom=bom, lineterminator=_line_end(text))
    if not complete:  # the last line may be cut; keep only whole lines
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[:cut + 1] if cut > 0 else text
    rows_by_delimiter = {d: _rows(text, d) for d in DELIMITERS}
    delimiter = _pick_delimiter(rows_by_delimiter, drop_last=not complete)
    dialect["delimiter"] = delimiter
    rows = rows_by_delimiter[delimiter]
    if not complete and len(rows) > 2:
        rows = rows[:-1]  # may end inside a quoted field
    protect: list[str] = []
    if delimiter != "," and len(rows) > 1:
        decimal, thousands, protect = _number_format(rows)
        dialect.update(decimal=decimal, thousands=thousands)
    return dialect, protect


def _decode(path: Path, raw: bytes, complete: bool) -> tuple[str, str]:
    if b"\x00" in raw:
        raise LookalikeError(f"{path}: not a text CSV file (it holds NUL bytes: binary, or UTF-16 text; "
                             "save it as UTF-8 CSV)")
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(raw, final=complete)
        encoding = "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:  # bytes cp1252 leaves undefined; latin-1 decodes every byte
            text, encoding = raw.decode("latin-1"), "latin-1"
    controls = len(_CONTROL.findall(text))
    if text and controls > 0.05 * len(text):
        raise LookalikeError(f"{path}: not a text CSV file ({controls:,} control characters in the first "
                             f"{len(text):,}; is it binary?)")
    return text, encoding


def _line_end(text: str) -> str:
    n = text.find("\n")
    if n > 0 and text[n - 1] == "\r":
        return "\r\n"
    if n < 0 and "\r" in text:
        return "\r"
    return "\n"


def _rows(text: str, delimiter: str) -> list[list[str]]:
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]
    except csv.Error:
        return []


def _pick_delimiter(rows_by_delimiter: dict[str, list[list[str]]], drop_last: bool) -> str:
    """The candidate that splits the header into the most fields and (nearly) every row into as many.

    Counting whole parsed rows (not characters per line) keeps quoted delimiters and newlines out of it.
    A decimal comma in every row of a ';' file splits rows consistently too, but not the header.
    """
    best, best_score = ",", None
    for d, rows in rows_by_delimiter.items():
        if drop_last and len(rows) > 2:
            rows = rows[:-1]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:]
        agree = sum(len(r) == width for r in body) / len(body) if body else 1.0
        if agree < 0.9:
            continue
        score = (agree, width)
        if best_score is None or score > best_score:
            best, best_score = d, score
    return best


def _number_format(rows: list[list[str]]) -> tuple[str, str | None, list[str]]:
    """(decimal, thousands, columns to read as text) from the sample rows of a non-comma file.

    ',' is the decimal mark only on unambiguous evidence: some column holds only numbers written the
    European way and at least one of them has a comma that cannot be a thousands separator ('12,5',
    '1.234,56'), and no value anywhere needs '.' as the decimal mark ('2.5'). '.' is the thousands
    separator only if such a number shows dot groups; columns with other dotted values (dates
    '01.02.2023', addresses '10.0.0.1') are then read as text so pandas cannot strip their dots.
    """
    header, body = rows[0], rows[1:]
    width = len(header)
    columns = [[r[i].strip() for r in body if i < len(r) and r[i].strip() not in _NA] for i in range(width)]
    evidence, groups, dotted_text = False, False, []
    for name, values in zip(header, columns):
        if any(_DOT_NUMBER.fullmatch(v) and not _EU_NUMBER.fullmatch(v) for v in values):
            return ".", None, []
        if values and all(_EU_NUMBER.fullmatch(v) for v in values):
            for v in values:
                if "," in v and ("." in v or len(v) - v.index(",") - 1 != 3):
                    evidence = True
                if _DOT_GROUP.search(v):
                    groups = True
        elif any("." in v for v in values):
            dotted_text.append(name)
    if not evidence:
        return ".", None, []
    if not groups:
        return ",", None, []
    if dotted_text and (len(set(header)) != len(header) or any(not h for h in header)):
        return ",", None, []  # cannot name the columns to protect; decimals without thousands is still safe
    return ",", ".", dotted_text


def check_dialect(dialect: dict | None) -> dict:
    """A complete, valid dialect (missing keys take the defaults); raises naming the bad setting."""
    if dialect is None:
        return dict(DEFAULT_DIALECT)
    if not isinstance(dialect, dict):
        raise LookalikeError(f"CSV dialect must be a mapping, got {type(dialect).__name__}")
    unknown = set(dialect) - set(DEFAULT_DIALECT)
    if unknown:
        raise LookalikeError(f"CSV dialect: unknown settings {sorted(unknown)}; known: {list(DEFAULT_DIALECT)}")
    d = {**DEFAULT_DIALECT, **{k: v for k, v in dialect.items() if v is not None or k == "thousands"}}
    if not isinstance(d["delimiter"], str) or len(d["delimiter"]) != 1 or d["delimiter"] in "\"\r\n":
        raise LookalikeError(f"CSV dialect: delimiter must be one character, got {d['delimiter']!r}")
    if d["decimal"] not in (".", ","):
        raise LookalikeError(f"CSV dialect: decimal must be '.' or ',', got {d['decimal']!r}")
    if d["decimal"] == d["delimiter"]:
        raise LookalikeError(f"CSV dialect: decimal and delimiter are both {d['decimal']!r}")
    if d["thousands"] not in (None, ".", ",", " ") or d["thousands"] in (d["decimal"], d["delimiter"]):
        raise LookalikeError(f"CSV dialect: thousands {d['thousands']!r} clashes or is not one of '.', ',', ' '")
    if d["lineterminator"] not in ("\n", "\r\n", "\r"):
        raise LookalikeError(f"CSV dialect: lineterminator must be \\n, \\r\\n or \\r, got {d['lineterminator']!r}")
    try:
        d["encoding"] = codecs.lookup(str(d["encoding"])).name
    except LookupError:
        raise LookalikeError(f"CSV dialect: unknown encoding {d['encoding']!r}") from None
    if d["encoding"] == "utf-8-sig":
        d["encoding"], d["bom"] = "utf-8", True
    d["bom"] = bool(d["bom"]) and d["encoding"] == "utf-8"
    return d


def read_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV file in its sniffed dialect; the dialect is attached as ``df.attrs["csv_dialect"]``.

    Numbers are parsed exactly (``float_precision="round_trip"``): pandas' default parser is off by one bit
    for about 16% of 17-digit numbers (127.11574381218446, float32 numbers written in full), so a number
    read and written back was not always the number the file held.

    Errors are left to the caller (``read_table`` puts the file name in front of them).
    """
    path = Path(path)
    dialect, protect = _sniff(path)
    encoding = dialect["encoding"]

    def read(encoding: str) -> pd.DataFrame:
        return pd.read_csv(path, sep=dialect["delimiter"], decimal=dialect["decimal"],
                           thousands=dialect["thousands"], encoding="utf-8-sig" if dialect["bom"] else encoding,
                           keep_default_na=True, dtype={c: str for c in protect} or None,
                           float_precision="round_trip")

    try:
        df = read(encoding)
    except UnicodeDecodeError:  # the sample was valid UTF-8, a later part is not: a legacy code page
        if encoding != "utf-8" or dialect["bom"]:
            raise
        try:
            encoding = "cp1252"
            df = read(encoding)
        except UnicodeDecodeError:  # a byte cp1252 leaves undefined; latin-1 decodes every byte
            encoding = "latin-1"
            df = read(encoding)
    dialect["encoding"] = encoding
    df.attrs["csv_dialect"] = dialect
    return df


def _to_csv_kwargs(dialect: dict | None, first: bool) -> dict:
    """pandas ``to_csv`` settings for ``dialect``. pandas cannot write thousands separators, so numbers are
    written without them ('1234,56'); ``sniff_csv`` still reads that back with a decimal comma."""
    if dialect is None:
        return {}
    d = check_dialect(dialect)
    encoding = "utf-8-sig" if d["bom"] and first else d["encoding"]
    kwargs = dict(sep=d["delimiter"], decimal=d["decimal"], encoding=encoding, lineterminator=d["lineterminator"])
    if d["encoding"] != "utf-8":
        kwargs["errors"] = "replace"  # a character the code page lacks (a fake name, say) becomes '?'
    return kwargs


def write_csv(df: pd.DataFrame, path: str | os.PathLike, dialect: dict | None = None) -> None:
    """Write ``df`` as CSV in ``dialect`` (None: pandas' defaults). Not atomic: see ``write_table``."""
    df.to_csv(path, index=False, **_to_csv_kwargs(dialect, first=True))


def write_csv_batch(df: pd.DataFrame, path: str | os.PathLike, first: bool, dialect: dict | None = None) -> None:
    """Write one batch of a streamed CSV: the first batch creates the file with the header (and BOM),
    later ones append rows only, all in the same ``dialect`` (None: pandas' defaults)."""
    df.to_csv(path, mode="w" if first else "a", header=first, index=False, **_to_csv_kwargs(dialect, first))

