"""Granularity: do synthetic numbers look like the real ones at the digit level?

Real money amounts are often whole hundreds, ages whole years; a generator that emits 1234.5678 gives itself
away even when the distribution is right. For each numeric column we find the real column's main rounding unit
(the largest of ..., 0.01, 0.1, 1, 2, 5, 10, 20, 50, 100, ... that holds at least half of its non-zero values)
and compare the share of values on that unit, plus distinct-value counts at an equal number of rows.
"""
from __future__ import annotations

import numpy as np

UNITS = sorted({m * 10.0 ** e for e in range(-6, 10) for m in (1, 2, 5)})


def on_unit(values: np.ndarray, unit: float) -> np.ndarray:
    """Non-zero multiples of ``unit`` (a value smaller than the unit is not on it)."""
    ratio = values / unit
    rounded = np.round(ratio)
    return (rounded != 0) & (np.abs(ratio - rounded) < 1e-6)


def main_unit(values: np.ndarray, min_share: float = 0.5) -> float | None:
    """Largest unit holding at least ``min_share`` of the non-zero values; None when the values are continuous."""
    nz = values[np.isfinite(values) & (values != 0)]
    if len(nz) == 0:
        return None
    for unit in reversed(UNITS):
        if on_unit(nz, unit).mean() >= min_share:
            return unit
    return None


def share_on_unit(values: np.ndarray, unit: float) -> float | None:
    nz = values[np.isfinite(values) & (values != 0)]
    return float(on_unit(nz, unit).mean()) if len(nz) else None


def granularity_table(train, synth, holdout, numeric_cols: list[str], seed: int) -> dict[str, dict]:
    """Per numeric column: main unit, share on it (real / synthetic / holdout), distinct counts at equal rows."""
    sizes = [len(train), len(synth)] + ([len(holdout)] if holdout is not None else [])
    n = min(sizes)
    rng = np.random.default_rng(seed)

    def take(frame, col):
        values = frame[col].to_numpy()
        idx = rng.choice(len(values), size=n, replace=False) if len(values) > n else slice(None)
        return values[idx]

    out = {}
    for col in numeric_cols:
        real = train[col].to_numpy()
        unit = main_unit(real)
        row = {"unit": unit, "rows_compared": n}
        for name, frame in (("real", train), ("synthetic", synth), ("holdout", holdout)):
            if frame is None:
                row[f"{name}_share"], row[f"{name}_distinct"] = None, None
                continue
            values = frame[col].to_numpy()
            row[f"{name}_share"] = share_on_unit(values, unit) if unit is not None else None
            sample = take(frame, col)
            row[f"{name}_distinct"] = int(len(np.unique(sample[np.isfinite(sample)])))
        if unit is not None and row["synthetic_share"] is not None and row["real_share"] is not None:
            row["gap"] = abs(row["synthetic_share"] - row["real_share"])
        else:
            row["gap"] = None
        out[col] = row
    return out


def worst_gap(table: dict[str, dict], other: str = "synthetic") -> float | None:
    """Largest |other - real| share on the main rounding unit over numeric columns (other: synthetic or holdout)."""
    gaps = [abs(r[f"{other}_share"] - r["real_share"]) for r in table.values()
            if r.get(f"{other}_share") is not None and r.get("real_share") is not None]
    return max(gaps) if gaps else None
