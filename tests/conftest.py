"""Shared fixtures: small, seeded tables that exercise every column kind."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def mixed_table() -> pd.DataFrame:
    """300 rows with heaped amounts, decimals, categories with a rare one, booleans, dates and ids."""
    rng = np.random.default_rng(0)
    n = 300
    segment = rng.choice(["retail", "business", "private"], size=n, p=[0.6, 0.3, 0.1])
    amount = np.where(rng.random(n) < 0.7, rng.integers(1, 50, n) * 100, rng.integers(100, 5000, n))
    income = np.round(rng.lognormal(8, 0.5, n), 2)
    income[rng.random(n) < 0.1] = np.nan
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")
    df = pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + n),
        "segment": segment,
        "amount": amount.astype(np.int64),
        "income": income,
        "active": rng.choice(["yes", "no"], size=n),
        "opened": start.strftime("%Y-%m-%d"),
        "score": np.round(rng.normal(600, 50, n), 1),
    })
    df.loc[5, "segment"] = "very-rare-segment"
    return df


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster for one test module (address="local": its own, never one a user started here)."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, object_store_memory=200 * 1024**2, include_dashboard=False,
             logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()
