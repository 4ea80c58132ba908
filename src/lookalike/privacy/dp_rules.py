"""Rate formulas (``charge = minutes * 0.17``) found under differential privacy, so that a derived column is
recomputed from its input instead of being measured with noise as a column of its own.

Without DP, ``lookalike.rules.detect_rules`` checks candidate formulas on every row; under DP that search is
off, and a table such as mlc_churn (four charges, each its minutes times a tariff) spends a fifth of its
budget measuring four columns that are exact functions of four others, and loses their pairs to noise.

For each float column c (a possible dependent, in column order) the candidates are (a, r): another number a
(not itself derived) and a public rate r with at most three significant digits in [1e-4, 1e4]. A row is
consistent with (a, r) when round(a * r) writes c's value at the decimals that value carries (a row with
a = 0 and c = 0 is consistent with every r; one with c = 0 and a not 0 with none, so that a column that is
mostly 0 is not "derived" by a tiny rate). Two mechanisms per column, each charged to the budget:

1. the exponential mechanism picks a candidate with utility = its consistent rows (sensitivity 1);
2. a Gaussian release of (its consistent rows, the rows where c is present) (L2 sensitivity sqrt 2); the
   rule is kept when the first is at least ``MIN_SHARE`` of the second. A rule that holds in every row is kept
   with high probability once a table has a few thousand rows; one that holds in most rows may be kept too,
   and then c is recomputed in every synthetic row (the rows it did not hold in are not reproduced).

Released rules are public from then on: the model file holds them like declared ones, and
``Synthesizer`` leaves their dependents out of the generator (``lookalike.privacy.dp.privatise``).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lookalike.privacy.dp import (UNIT_WEIGHTS, Budget, decimals_needed, derived_columns, exponential, gaussian,
                                  rate_rule_candidates)
from lookalike.rules import quote_name

MIN_SHARE = 0.9
"""The released share of consistent rows (among the rows where the dependent is present) a rule needs."""

RATES = np.unique(np.round(np.outer(10.0 ** np.arange(-4, 4), np.arange(100, 1000) / 100.0).ravel(), 10))
"""The public candidate rates: every number with at most three significant digits in [1e-4, 1e4)."""


def private_rate_rules(budget: Budget, df: pd.DataFrame, schema) -> list[dict]:
    """Formula rules ``{type: formula, column: c, expression: "a * r"}`` released under DP (see the module)."""
    dependents, inputs = rate_rule_candidates(schema)
    declared = derived_columns(schema)
    values = {name: pd.to_numeric(df[name], errors="coerce").to_numpy(float) for name in inputs}  # once each
    rules: list[dict] = []
    derived: set[str] = set()
    used: set[str] = set()
    for c in dependents:
        if c in used:  # an input of a released rule stays a learned column
            continue
        options = [a for a in inputs if a != c and a not in derived and a not in declared]
        if not options:
            continue
        y = values[c]
        counts = np.stack([_consistent_counts(y, values[a]) for a in options])  # (inputs, rates)
        rho = budget.rho_unit * UNIT_WEIGHTS["rules"] / 2
        epsilon = math.sqrt(8.0 * rho)
        what = f"{c}.rule"
        budget.charge(what, "exponential mechanism (rate formula)", rho, epsilon=epsilon,
                      candidates=int(counts.size))
        pick = exponential(budget, what, counts.ravel(), 1.0, epsilon, budget.rng)
        a, rate = options[pick // len(RATES)], float(RATES[pick % len(RATES)])
        consistent, present = counts.ravel()[pick], float(np.isfinite(y).sum())
        noisy = gaussian(budget, f"{c}.rule_check", np.array([consistent, present]) / math.sqrt(2.0),
                         units=UNIT_WEIGHTS["rules"] / 2) * math.sqrt(2.0)
        if noisy[1] > 0 and noisy[0] >= MIN_SHARE * noisy[1]:
            expression = quote_name(a) if rate == 1 else f"{quote_name(a)} * {rate:.3g}"
            rules.append({"type": "formula", "column": c, "expression": expression, "source": "released under DP"})
            derived.add(c)
            used.add(a)
    return rules


def _consistent_counts(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """For every public rate r, the rows where round(x * r) writes y at y's own decimals (rows where y is
    missing count for no rate; rows with x = 0 count for every rate when y is 0 to its decimals, rows with y 0
    and x not 0 for none)."""
    ok = np.isfinite(y) & np.isfinite(x)
    y, x = y[ok], x[ok]
    half = 0.5001 * 10.0 ** -np.minimum(decimals_needed(y, 6), 6).astype(float)
    zero = x == 0
    everywhere = int(np.sum(zero & (np.abs(y) <= half)))
    # a y of 0 beside an x that is not 0 is no evidence: every tiny rate would write it, and a column that is
    # mostly 0 (credit_data's Debt) would pass as "Seniority * 0.000135"
    keep = ~zero & (np.abs(y) > half)
    x, y, half = x[keep], y[keep], half[keep]
    lo = np.minimum((y - half) / x, (y + half) / x)
    hi = np.maximum((y - half) / x, (y + half) / x)
    started = np.searchsorted(np.sort(lo), RATES, side="right")  # rows with lo <= r
    ended = np.searchsorted(np.sort(hi), RATES, side="left")     # rows with hi < r
    return (started - ended + everywhere).astype(float)
