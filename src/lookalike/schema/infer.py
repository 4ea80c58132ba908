"""Guess each column's kind from its name and values; users can override the result with a schema file.

The order of checks matters: PII before ids and text (an email column is unique too), booleans before
numbers (0/1), numbers-as-strings and dates before categories.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lookalike.errors import LookalikeError
from lookalike.schema.columns import ColumnSchema, ForeignKey, Kind, TableSchema, _names

BOOL_PAIRS = [
    {"yes", "no"}, {"y", "n"}, {"true", "false"}, {"t", "f"}, {"1", "0"}, {"on", "off"},
    {"ja", "nein"}, {"oui", "non"}, {"si", "no"},
]
DATETIME_FORMATS = [
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
    "%d-%m-%Y", "%m-%d-%Y", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M", "%d %b %Y", "%b %d, %Y",
    "%d %B %Y", "%B %d, %Y", "%Y%m%d%H%M%S",
]
NUMBER_STRING = re.compile(r"^\s*[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*$")
ID_NAME = re.compile(r"(^|[_\s.-])(id|key|uuid|guid|rownames|index|idx|pk)$|^(id|rownames)$|[a-z]Id$|ID$", re.I)
# Repeated identifiers (an entity's id on each of its rows): the name's last word, or a word ending in one
# (unitid, countyid, intnum, housenr); ordinary English words that end in 'id' are not identifiers.
ENTITY_WORDS = {"id", "ids", "key", "nr", "uuid", "guid", "pk"}
ENTITY_LAST_WORDS = {"no", "num", "number"}    # an identifier only after another word: case_no, account_number
ENTITY_GLUED = ("id", "num", "nr")
NOT_ID_ENDINGS = ("aid", "oid", "valid", "solid", "fluid", "liquid", "acid", "rapid", "humid", "hybrid", "rigid",
                  "vivid", "lipid", "grid", "kid", "bid", "lid", "mid", "squid", "covid", "stupid", "timid", "tepid",
                  "placid", "candid", "morbid", "avid", "arid", "lucid", "orchid", "cupid", "florid", "torrid",
                  "horrid", "putrid", "insipid", "frigid", "did", "rid", "platinum")
MIN_ENTITIES = 20
"""A repeated identifier needs at least this many distinct values; fewer are a small set of labels (a region
code), learned as a category (SDV calls a whole-number column with at most 10 values ordinal)."""
SCALED_DIGITS = 16
"""At most this many digits in a number scaled to an integer by its column's decimals: 10**16 is about as many
as float64 holds, and a thousandth of int64's limit (9.2e18), which a float column of values up to 3e11 at 8
decimals overflowed into meaningless integers."""
FULL_PRECISION = "full_precision"
"""Numeric option of float columns whose values are no short decimals (results of exp, log or division kept at
float64's precision, ISLR.Wage's wage = exp(logwage)): ``decimals`` (capped at 8) is only the grid on which new
values are drawn, and values seen in at least k rows are written exactly as the table holds them. Rounded to
8 decimals instead, no generated value equalled a real one and a discriminator told them apart."""


def infer_schema(df: pd.DataFrame, k: int = 5, source: str = "table", detect_rules: bool = True, *,
                 primary_key: str | list[str] | None = None, foreign_keys: list | None = None,
                 entity: str | None = None, order: str | None = None) -> TableSchema:
    """Infer a :class:`TableSchema` for ``df`` (with the business rules that hold in every row);
    raises for tables nothing can be learned from.

    Keys and sequence settings are declared, not guessed: ``primary_key`` (a column or a list),
    ``foreign_keys`` (:class:`ForeignKey` objects or their dicts), ``entity`` and ``order`` (for sequence
    tables). They are checked against the inferred kinds: a single-column primary key must be unique (it
    becomes an ``id``), an order column must be numeric or datetime (an integer counter inferred as ``id``
    becomes numeric)."""
    if df.shape[1] == 0:
        raise LookalikeError(f"{source}: the table has no columns")
    if len(df) == 0:
        raise LookalikeError(f"{source}: the table has no rows")
    dupes = df.columns[df.columns.duplicated()].tolist()
    if dupes:
        raise LookalikeError(f"{source}: duplicate column names {dupes}")
    columns = [infer_column(str(name), df[name], source=source) for name in df.columns]
    schema = TableSchema(columns=columns, value_protection={"enabled": True, "k": int(k)})
    if primary_key is not None or foreign_keys or entity is not None or order is not None:
        _declare_keys(schema, df, source, primary_key, foreign_keys, entity, order)
    if detect_rules:
        from lookalike.rules import detect_rules as _detect

        schema.rules = _detect(df, schema)
    return schema


def public_schema(df: pd.DataFrame, k: int = 5) -> TableSchema:
    """The schema that differential privacy may use without a schema file: it reads column names and pandas
    dtypes only, never values. Booleans, datetimes and numbers by dtype (integers with 0 decimals, floats with
    ``decimals: None``, to be released by a mechanism); every other column is categorical. No ids, PII, text,
    constants or rules: those must be declared in a schema file to be used under DP."""
    if df.shape[1] == 0:
        raise LookalikeError("table: the table has no columns")
    columns = []
    for name in df.columns:
        dtype = str(df[name].dtype)
        s = df[name]
        if pd.api.types.is_bool_dtype(s.dtype):
            columns.append(ColumnSchema(str(name), Kind.BOOLEAN, dtype))
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            columns.append(ColumnSchema(str(name), Kind.DATETIME, dtype, {"formats": None}))
        elif pd.api.types.is_integer_dtype(s.dtype):
            columns.append(ColumnSchema(str(name), Kind.NUMERIC, dtype, {"integer": True, "decimals": 0}))
        elif pd.api.types.is_float_dtype(s.dtype):
            columns.append(ColumnSchema(str(name), Kind.NUMERIC, dtype, {"integer": False, "decimals": None}))
        else:
            columns.append(ColumnSchema(str(name), Kind.CATEGORICAL, dtype))
    return TableSchema(columns=columns, value_protection={"enabled": True, "k": int(k)})


def _declare_keys(schema: TableSchema, df: pd.DataFrame, source: str, primary_key, foreign_keys, entity,
                  order) -> None:
    where = f"table '{source}'"
    if primary_key is not None:
        schema.primary_key = _names(primary_key, f"{where}: primary_key")
        for c in schema.primary_key:
            if c not in schema.names:
                raise LookalikeError(f"{where}: primary key column {c!r} is not a column of the table; "
                                     f"columns: {', '.join(schema.names)}")
        duplicated = df.duplicated(subset=schema.primary_key, keep=False)
        if duplicated.any():
            example = df.loc[duplicated, schema.primary_key].iloc[0].tolist()
            raise LookalikeError(f"{where}: primary key {schema.primary_key} is not unique "
                                 f"({int(duplicated.sum())} rows share a value, e.g. {example})")
        if len(schema.primary_key) == 1:
            col = schema[schema.primary_key[0]]
            if col.kind not in (Kind.ID, Kind.PII):  # a key is regenerated, never learned
                integer = pd.api.types.is_integer_dtype(df[col.name].dtype)
                col.kind, col.options = Kind.ID, {"id_type": "integer" if integer else "string"}
    schema.foreign_keys = [fk if isinstance(fk, ForeignKey) else ForeignKey.from_dict(fk, source)
                           for fk in (foreign_keys or [])]
    schema.entity = entity
    if order is not None and order in schema.names:
        col = schema[order]
        if col.kind == Kind.ID and col.options.get("id_type") == "integer":  # a step counter, not a key
            col.kind, col.options = Kind.NUMERIC, {"integer": True, "decimals": 0}
    schema.order = order
    schema.validate(source)


def infer_column(name: str, s: pd.Series, source: str = "table") -> ColumnSchema:
    dtype = str(s.dtype)
    values = s.dropna()
    if len(values) == 0:
        raise LookalikeError(
            f"{source}: column '{name}' is entirely missing; drop it or give it values"
        )
    n_unique = values.nunique()
    if n_unique == 1 and len(values) == len(s):
        return ColumnSchema(name, Kind.CONSTANT, dtype, {"value": _json_scalar(values.iloc[0])})

    if pd.api.types.is_bool_dtype(s.dtype):
        return ColumnSchema(name, Kind.BOOLEAN, dtype)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return ColumnSchema(name, Kind.DATETIME, dtype, {"formats": None})

    pii = _detect_pii(name, s)
    if pii is not None:
        return ColumnSchema(name, Kind.PII, dtype, {"pii": pii})

    if pd.api.types.is_numeric_dtype(s.dtype):
        return _infer_numeric(name, s, values, dtype, n_unique)

    strings = values.map(str)  # plain str, also for numpy.str_ values (pandas' .str refuses those)
    lowered = set(strings.str.strip().str.lower().unique())
    if len(lowered) <= 2 and any(lowered <= pair for pair in BOOL_PAIRS):
        return ColumnSchema(name, Kind.BOOLEAN, dtype)

    has_leading_zero = strings.str.match(r"^\s*0\d").any()
    if not has_leading_zero and strings.str.match(NUMBER_STRING).all():
        numbers = pd.to_numeric(strings.str.replace(",", "", regex=False), errors="coerce")
        col = _infer_numeric(name, numbers.reindex(s.index), numbers, dtype, n_unique)
        if col.kind == Kind.NUMERIC:
            col.options["stored_as"] = "string"
            col.options["thousands"] = bool(strings.str.contains(",", regex=False).any())
        return col

    formats = infer_datetime_formats(strings)
    if formats:
        return ColumnSchema(name, Kind.DATETIME, dtype, {"formats": formats})

    all_unique = n_unique == len(values) and len(values) == len(s)
    lengths = strings.str.len()
    wordy = strings.str.count(r"\s+").mean() >= 2 and lengths.mean() >= 20
    if wordy and n_unique >= 0.5 * len(values):
        return ColumnSchema(name, Kind.TEXT, dtype)
    if all_unique and len(values) >= 10 and lengths.max() <= 64:
        return ColumnSchema(name, Kind.ID, dtype, {"id_type": "string"})
    if lengths.max() <= 64 and not strings.str.contains(r"\s").any() and is_repeated_id(name, strings):
        return ColumnSchema(name, Kind.ID, dtype, {"id_type": "string", "repeated": True})
    return ColumnSchema(name, Kind.CATEGORICAL, dtype)


def entity_id_name(name: str) -> bool:
    """Whether a column name reads as an identifier: its last word (split at ``_ . - `` spaces and camelCase)
    is id, key, nr, uuid, guid or pk; or no, num or number after another word (case_no); or the last word ends
    in id, num or nr glued onto another (unitid, countyid, intnum, housenr) and is no English word such as
    paid, valid or medicaid."""
    words = [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]
    if not words:
        return False
    last = words[-1]
    if last in ENTITY_WORDS or (last in ENTITY_LAST_WORDS and len(words) > 1):
        return True
    return (len(last) > 2 and last.endswith(ENTITY_GLUED) and not last.endswith(NOT_ID_ENDINGS)
            and last not in ENTITY_LAST_WORDS)


def is_repeated_id(name: str, values: pd.Series) -> bool:
    """Whether a column holds an entity's identifier repeated on each of its rows (a household's id on its
    purchases, a person's on each year of a panel): named like an identifier (:func:`entity_id_name`), at
    least ``MIN_ENTITIES`` distinct values, some of them repeated, and not a step counter. A counter (a
    purchase's number within its household: 1, 2, 3, ..., the low numbers the most frequent) starts at 0 or 1
    and is rarer the higher it goes; it is a position, not an entity, and stays learned. ``values``: the
    non-missing values (whole numbers of at least 0, or codes)."""
    if not entity_id_name(name):
        return False
    counts = values.value_counts()
    if len(counts) < MIN_ENTITIES or counts.iloc[0] < 2:
        return False
    if pd.api.types.is_numeric_dtype(values.dtype):
        counts = counts.sort_index()
        if counts.index[0] in (0, 1) and pd.Series(counts.index).corr(pd.Series(counts.to_numpy()),
                                                                       method="spearman") <= -0.5:
            return False
    return True


def _infer_numeric(name, s, values, dtype, n_unique) -> ColumnSchema:
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    integer = bool(np.all(np.isfinite(numbers)) and np.all(np.mod(numbers, 1) == 0))
    if integer and set(np.unique(numbers)) <= {0.0, 1.0} and n_unique == 2:
        return ColumnSchema(name, Kind.BOOLEAN, dtype)
    all_unique = n_unique == len(values) and len(values) == len(s)
    if integer and all_unique and len(values) >= 10:
        span = numbers.max() - numbers.min() + 1
        if ID_NAME.search(name) or span <= 2 * len(values):
            return ColumnSchema(name, Kind.ID, dtype, {"id_type": "integer"})
    if integer and numbers.min() >= 0 and not all_unique and is_repeated_id(name, numbers):
        return ColumnSchema(name, Kind.ID, dtype, {"id_type": "integer", "repeated": True})
    options = {"integer": integer, "decimals": 0 if integer else decimal_places(numbers)}
    if not integer and not _written_exactly(numbers, options["decimals"]):
        short = float32_decimals(numbers)
        if short is not None:  # 3.200000047683716 is 3.2 stored as float32: learn 3.2, write it back as it was
            options.update(decimals=short, float32=True)
        else:  # exp(logwage) = 127.11574381218446: no short decimal writes it; see FULL_PRECISION
            options[FULL_PRECISION] = True
            grid = noisy_decimals(numbers)
            if grid is not None and grid < options["decimals"]:  # 7.9 and 7.9000004: see GRID
                options[GRID] = grid
    return ColumnSchema(name, Kind.NUMERIC, dtype, options)


def _written_exactly(values, decimals: int) -> bool:
    """Whether rounding to ``decimals`` gives back every value exactly."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(np.array_equal(np.round(v, decimals), v))


def float32_decimals(values, max_decimals: int = 9) -> int | None:
    """Decimals of the shortest writing of every value when all values are float32 numbers widened to float64
    (tables saved from R or from float32 arrays: 3.2 becomes 3.200000047683716); None otherwise.

    Rounding such values to 8 decimals makes new numbers (3.20000005) that equal no real value, so a heaped
    value is never reproduced and a discriminator tells every synthetic row apart."""
    v = np.asarray(values, dtype=float)
    v = np.unique(v[np.isfinite(v)])
    if len(v) == 0 or np.any(np.abs(v) > 3e38):
        return None
    # float32 numbers printed with 8-16 digits sit within a few hundredths of a float32 step of a float32
    # number; genuine float64 numbers are spread over the whole step (each passes with probability 0.1)
    single = v.astype(np.float32)
    if np.any(np.abs(v - single.astype(float)) > 0.05 * np.spacing(np.abs(single)).astype(float)):
        return None
    decimals = 0
    for x in single:
        text = np.format_float_positional(x, unique=True, trim="-")
        decimals = max(decimals, len(text.split(".")[1]) if "." in text else 0)
        if decimals > max_decimals:
            return None
    return decimals


GRID = "grid"
"""Numeric option of full-precision columns whose values are short decimals up to single precision's error
(:func:`noisy_decimals`): the decimals of the grid new values are drawn on, while heaps keep the table's own
floats at ``decimals`` (7.9 and 7.9000004 stay two values where the table holds both in k+ rows)."""
SINGLE_NOISE = 2.0 ** -22
"""Relative error of a number that went through single precision (float32 keeps 24 bits) and was written back
with 8 significant digits: 7.9 stored as 7.9000004, 8.6 as 8.600000300000001 (Ecdat's Yogurt, Catsup and Cracker
prices)."""


def noisy_decimals(values, max_decimals: int = 8) -> int | None:
    """Decimals of the coarsest grid that every value lies on to within single precision's error
    (``SINGLE_NOISE``), where that grid's step is at least 1,000 times the error (so values spread over the
    line pass with odds of about 1 in 500 each); None if there is none. Such a column is decimals plus noise:
    rounded to 8 decimals its new values (7.46375, 3.147674) spread over values the table never holds, and at
    equal rows it showed 1.8 times the real number of distinct values (the option ``GRID``)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return None
    tolerance = SINGLE_NOISE * np.maximum(np.abs(v), 1.0)
    for d in range(max_decimals + 1):
        if 10.0 ** -d < 1000 * float(tolerance.max()):
            return None
        if np.all(np.abs(v - np.round(v, d)) <= tolerance):
            return d
    return None


def decimal_places(values: pd.Series | np.ndarray, max_decimals: int = 8) -> int:
    """Smallest number of decimals that writes every value exactly (up to ``max_decimals``, fewer for large
    numbers: a value times 10**decimals stays below 10**SCALED_DIGITS, as the numeric codec computes on integers
    scaled by 10**decimals, and 3e11 scaled by 10**8 would overflow int64)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v):
        digits = int(np.floor(np.log10(max(float(np.abs(v).max()), 1.0)))) + 1  # before the decimal point
        max_decimals = int(np.clip(SCALED_DIGITS - digits, 0, max_decimals))
    for d in range(max_decimals + 1):
        scaled = v * 10**d
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6):
            return d
    return max_decimals


def infer_datetime_formats(strings: pd.Series, min_share: float = 0.95) -> list[list] | None:
    """Per-value strftime formats with their shares, or None if the strings are not dates.

    Mixed formats are kept as a mixture, so the output mixes them in the same proportions.
    """
    uniques = pd.Series(strings.unique())
    if uniques.str.len().max() > 40 or not uniques.str.contains(r"\d").all():
        return None
    assigned = pd.Series([None] * len(uniques), dtype=object)
    for fmt in DATETIME_FORMATS:
        todo = assigned.isna()
        if not todo.any():
            break
        parsed = pd.to_datetime(uniques[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        assigned.loc[ok[ok].index] = fmt
    if assigned.isna().mean() > 1 - min_share:
        return None
    counts = strings.map(dict(zip(uniques, assigned))).value_counts(normalize=True)
    return [[fmt, round(float(share), 6)] for fmt, share in counts.items()]


def _detect_pii(name: str, s: pd.Series) -> str | None:
    if pd.api.types.is_float_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return None
    try:
        from lookalike.privacy.pii import detect_pii
    except ImportError:  # the PII module is optional only while it is being built
        return None
    return detect_pii(name, s)


def _json_scalar(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v
