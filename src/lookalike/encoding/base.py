"""The contract every codec fulfils, and the one place where codecs learn from data.

A codec turns one column into integer tokens and back. Learning is split in two steps so that the statistics
a codec needs can be replaced or combined without touching the codec:

- ``analyse(values) -> stats``: every data-dependent statistic the codec will ever use (value counts, counts
  of shapes, words, days...), as a dict of plain counts. This is the only step that reads data. Differential
  privacy will replace these exact counts with noisy ones; data larger than memory will compute them per
  partition and combine them with :func:`merge_stats`.
- ``reduce(stats) -> codec``: value protection applied to those statistics (a value seen in fewer than k rows
  is dropped, ranges are clipped to the k-th extremes) and the codec's learned state derived from what is
  left. It never sees the data.
- ``encode(values) -> tokens`` and ``decode(tokens, rng) -> values`` use the learned state only.

``fit(values)`` is ``reduce(analyse(values))``. What callers may ask a fitted codec (the Synthesizer reads
nothing else): ``cardinalities``, ``null_token``, ``blocked_tokens``, and, for codecs of labels or numbers,
``labels()`` / ``value_range()``.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

Stats = dict[str, Any]
"""Plain counts: ints, pandas Series of counts indexed by value, or nested Stats."""


@runtime_checkable
class Codec(Protocol):
    k: int

    def analyse(self, values) -> Stats: ...

    def reduce(self, stats: Stats) -> "Codec": ...

    def fit(self, values) -> "Codec": ...

    def encode(self, values) -> np.ndarray: ...

    def decode(self, tokens: np.ndarray, rng: np.random.Generator): ...

    @property
    def cardinalities(self) -> list[int]: ...

    @property
    def null_token(self) -> int | None:
        """The token of the first sub-column that decodes to a missing value, if the column has one."""

    @property
    def blocked_tokens(self) -> list[int]:
        """Tokens of the first sub-column a generator must never emit (placeholders with no value of their own)."""

    def to_dict(self) -> dict: ...


class FitByAnalysis:
    """``fit`` for every codec: analyse, then reduce. Codecs without missing values or placeholders inherit
    the empty answers."""

    def fit(self, values):
        return self.reduce(self.analyse(values))

    @property
    def null_token(self) -> int | None:
        return None

    @property
    def blocked_tokens(self) -> list[int]:
        return []


def value_counts(values) -> pd.Series:
    """Counts per distinct value, missing values left out, most frequent first."""
    return pd.Series(values).dropna().value_counts()


def merge_stats(a: Stats, b: Stats) -> Stats:
    """Combine the statistics of two partitions of one column: counts add up, nested stats merge."""
    out: Stats = {}
    for key in a.keys() | b.keys():
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            out[key] = x if y is None else y
        elif isinstance(x, dict):
            out[key] = merge_stats(x, y)
        elif isinstance(x, pd.Series):
            out[key] = x.add(y, fill_value=0).astype(np.int64)
        elif isinstance(x, (int, np.integer, float, np.floating)):
            out[key] = x + y
        elif isinstance(x, str) and x == y:
            out[key] = x
        else:
            raise TypeError(f"cannot merge statistic '{key}' of type {type(x).__name__}")
    return out
