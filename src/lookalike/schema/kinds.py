"""The one list of column kinds."""
from __future__ import annotations

from enum import Enum


class Kind(str, Enum):
    """The one list of column kinds. A ``str`` enum, so schema files keep plain words ('numeric').

    numeric: integers or floats; categorical: a small set of labels; boolean: two values in any spelling;
    datetime: dates or timestamps (native or strings with a format); id: keys, unique or an entity's id repeated
    on its rows, regenerated, never learned; constant: one value; text: free text; pii: personal data, replaced
    by fake values, never learned.
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
