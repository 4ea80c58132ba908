"""Fast, seeded Faker columns.

Faker makes one value per Python call (tens of microseconds), far too slow for millions of rows. We draw a
pool of distinct values once and sample rows from it with numpy; ``unique`` columns then get a numeric
suffix on repeats (before the ``@`` of e-mails), which keeps the look of the provider's values.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from lookalike.errors import LookalikeError


@lru_cache(maxsize=16)
def _faker(locale: str | None):
    from faker import Faker

    try:
        return Faker(locale) if locale else Faker()
    except AttributeError:
        raise LookalikeError(f"unknown Faker locale {locale!r}") from None


def check_provider(provider: str, locale: str | None = None) -> str | None:
    """Return a message if ``provider`` is not a callable Faker provider, else None."""
    if provider.startswith("_") or provider in ("seed", "seed_instance", "seed_locale", "unique", "optional"):
        return f"{provider!r} is not a Faker provider"
    try:
        fake = _faker(locale)
    except LookalikeError as exc:
        return str(exc)
    try:
        attr = getattr(fake, provider)
    except AttributeError:
        return f"unknown Faker provider {provider!r} (examples: name, email, phone_number, address, company, uuid4)"
    if not callable(attr):
        return f"{provider!r} is not a Faker provider"
    return None


def fake_values(provider: str, n: int, rng: np.random.Generator, *, args: dict | None = None, pool: int = 5000,
                unique: bool = False, locale: str | None = None, where: str = "faker") -> np.ndarray:
    """``n`` values from a Faker provider, reproducible from ``rng``."""
    fake = _faker(locale)
    fake.seed_instance(int(rng.integers(0, 2**31 - 1)))
    method = getattr(fake, provider)
    size = n if pool == 0 else min(n, pool)
    try:
        values = [method(**(args or {})) for _ in range(size)]
    except TypeError as exc:
        raise LookalikeError(f"{where}: bad args for Faker provider {provider!r}: {exc}") from None
    pool_values = pd.unique(np.asarray(values, dtype=object))
    if unique:
        return unique_from_pool(pool_values, n, rng)
    idx = np.arange(n) if len(pool_values) == n else rng.integers(0, len(pool_values), size=n)
    return pool_values[idx]


def unique_from_pool(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct values drawn from ``pool``: the k-th repeat of a pool value gets suffix k+1
    (``anna.lee2@x.org``, ``ACME Ltd-2``)."""
    idx = np.arange(n) if len(pool) >= n else rng.integers(0, len(pool), size=n)
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    group_start = np.r_[0, np.flatnonzero(np.diff(sorted_idx)) + 1]
    starts = np.repeat(group_start, np.diff(np.r_[group_start, n]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts
    text = [str(v) for v in pool]
    split = [t.partition("@") for t in text]  # e-mails get the suffix before the "@"
    out = np.array([(f"{split[i][0]}{r + 1}@{split[i][2]}" if split[i][1] else f"{text[i]}-{r + 1}") if r
                    else text[i] for i, r in zip(idx.tolist(), rank.tolist())], dtype=object)
    return make_unique(out)


def make_unique(values: np.ndarray) -> np.ndarray:
    """Give the rare remaining repeats a further suffix until all values differ."""
    out = pd.Series(values.astype(str), dtype=object)
    if not out.duplicated().any():
        return out.to_numpy(dtype=object)
    for _ in range(10):
        repeat = out.groupby(out, sort=False).cumcount()
        dup = repeat > 0
        if not dup.any():
            return out.to_numpy(dtype=object)
        suffix = (repeat[dup] + 1).astype(str)
        base = out[dup]
        has_at = base.str.contains("@", regex=False)
        local = base.str.split("@", n=1).str[0]
        domain = base.str.split("@", n=1).str[1]
        out[dup] = np.where(has_at, local + suffix + "@" + domain.fillna(""), base + "-" + suffix)
    raise LookalikeError("could not make Faker values unique")
