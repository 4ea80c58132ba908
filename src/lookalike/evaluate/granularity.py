"""Granularity: do synthetic numbers look like the real ones at the digit level?

Real money amounts are often whole hundreds, ages whole years; a generator that emits 1234.5678 gives itself
away even when the distribution is right. For each numeric column we find the real column's main rounding unit
and compare the share of values on that unit, plus distinct-value counts at an equal number of rows.

The main unit is a unit of the ladder ..., 0.01, 0.02, 0.05, 0.1, ..., 1, 2, 5, 10, ... that the real values
prefer beyond chance. Whole numbers are half even by chance, so "even" is no rounding unit of a count, yet it
holds half of them; a unit only counts when its share clears what the column's resolution (the largest unit
holding 95% of the values) gives by chance by a clear margin, and by more than the column's few values allow by
luck: 14 evens among 19 counts are no unit (a 3% chance), 140 among 190 are. Nor is a unit that the values'
central range spans only a few times: years of schooling are mostly 12 or 16, so mostly even, but that is their
distribution (univariate accuracy judges it), not rounding; a rounding unit needs ``MIN_MULTIPLES`` of itself
between the 5th and 95th percentiles.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom

UNITS = sorted({m * 10.0 ** e for e in range(-6, 10) for m in (1, 2, 5)})


def on_unit(values: np.ndarray, unit: float) -> np.ndarray:
    """Non-zero multiples of ``unit`` (a value smaller than the unit is not on it)."""
    ratio = values / unit
    rounded = np.round(ratio)
    return (rounded != 0) & (np.abs(ratio - rounded) < 1e-6)


RESOLUTION_SHARE = 0.95  # a column's resolution: the largest unit holding this share of its non-zero values
EXCESS = 0.4  # a larger unit must close this part of the distance from chance to all values
ALPHA = 0.01  # ... and its count must be this unlikely under chance alone (one-sided binomial test)
MIN_MULTIPLES = 10  # a unit other than the resolution must fit this often into the values' central 90%


def chance_on_unit(unit: float, resolution: float) -> float:
    """Share of the points of the resolution's grid that are multiples of ``unit``: what chance puts there."""
    a, b = round(unit * 1e6), round(resolution * 1e6)  # ladder units are whole multiples of 1e-6
    return b / math.lcm(a, b)


def main_unit(values: np.ndarray, min_share: float = 0.5) -> float | None:
    """Largest unit holding ``min_share`` of the non-zero values beyond chance; None when they are continuous.

    When the values have a resolution, a larger unit also needs ``chance + EXCESS * (1 - chance)`` of them
    (evens among whole numbers 70%, fives 52%), in a count that chance reaches with probability under ``ALPHA``
    (so a column of a few dozen non-zero values keeps its resolution as its unit). Without one (continuous
    values with some heaping) the plain ``min_share`` rule applies. Either way a unit other than the resolution
    must fit ``MIN_MULTIPLES`` times between the values' 5th and 95th percentiles.
    """
    nz = values[np.isfinite(values) & (values != 0)]
    if len(nz) == 0:
        return None
    hits = {unit: int(on_unit(nz, unit).sum()) for unit in UNITS}
    shares = {unit: count / len(nz) for unit, count in hits.items()}
    resolution = next((u for u in reversed(UNITS) if shares[u] >= RESOLUTION_SHARE), None)
    low, high = np.percentile(nz, [5, 95])
    for unit in reversed(UNITS):
        if unit != resolution and (high - low) < MIN_MULTIPLES * unit:
            continue
        needed = min_share
        if resolution is not None:
            if unit <= resolution:
                return resolution
            chance = chance_on_unit(unit, resolution)
            needed = max(min_share, chance + EXCESS * (1 - chance))
            if binom.sf(hits[unit] - 1, len(nz), chance) >= ALPHA:  # P(at least this many by chance)
                continue
        if shares[unit] >= needed:
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
