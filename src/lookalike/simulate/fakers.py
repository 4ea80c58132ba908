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
    values = np.asarray(values, dtype=object)
    if size < n:
        values = values[rng.integers(0, size, size=n)]
    if unique:
        values = make_unique(values)
    return values


def make_unique(values: np.ndarray) -> np.ndarray:
    """Give repeats a numeric suffix (``anna.lee2@x.org``) until all values differ."""
    out = pd.Series(values.astype(str), dtype=object)
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
