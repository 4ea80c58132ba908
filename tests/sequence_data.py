"""Small sequence tables made here (seeded), in the three shapes the sequence model must handle."""
from __future__ import annotations

import numpy as np
import pandas as pd


def events(n_accounts: int = 60, seed: int = 0, long_one: int = 0) -> pd.DataFrame:
    """Transactions per account: irregular timestamps on whole seconds, lengths 1..~40 (plus one account of
    ``long_one`` events), a segment constant per account, a state-like channel, amounts with a trend."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_accounts):
        segment = rng.choice(["retail", "business"], p=[0.7, 0.3])
        n = long_one if (long_one and a == 0) else int(rng.integers(1, 40 if segment == "business" else 12))
        t = pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=int(rng.integers(0, 86400 * 30)))
        channel = "web"
        level = 100.0 if segment == "retail" else 1000.0
        for i in range(n):
            if rng.random() < 0.2:
                channel = {"web": "app", "app": "branch", "branch": "web"}[channel]
            level *= 1.02
            rows.append({"account_id": f"ACC{a:05d}", "timestamp": t, "segment": segment, "channel": channel,
                         "amount": round(level * rng.lognormal(0, 0.2), 2)})
            t += pd.Timedelta(seconds=int(rng.exponential(3600 * 6)) + 1)
    df = pd.DataFrame(rows)
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # entities interleaved


def panel(n_people: int = 80, seed: int = 1) -> pd.DataFrame:
    """One row per person per year (1990..1999), some years missing; wage grows with experience."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_people):
        sex = rng.choice(["f", "m"])
        base = rng.normal(10, 1)
        years = [y for y in range(1990, 2000) if rng.random() > 0.15] or [1990]
        for k, y in enumerate(years):
            rows.append({"person": p + 1, "year": y, "sex": sex, "exp": k + 1,
                         "wage": round(base + 0.3 * k + rng.normal(0, 0.2), 3),
                         "married": bool(k > 4)})
    return pd.DataFrame(rows)


def sensors(n_series: int = 3, hours: int = 120, seed: int = 2) -> pd.DataFrame:
    """Hourly readings of several stations, exactly regular, with a daily cycle."""
    rng = np.random.default_rng(seed)
    frames = []
    for s in range(n_series):
        t = pd.date_range("2023-03-01", periods=hours, freq="h")
        temp = 10 + 3 * s + 5 * np.sin(2 * np.pi * (t.hour - 9) / 24) + rng.normal(0, 0.5, hours).cumsum() * 0.1
        frames.append(pd.DataFrame({"station": f"S{s}", "time": t, "temp": temp.round(1),
                                    "wind": rng.gamma(2, 3, hours).round(1)}))
    return pd.concat(frames, ignore_index=True)
