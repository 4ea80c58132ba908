"""Differential privacy for the whole pipeline: budget, mechanisms, and what is public.

Unit of privacy: one row of the training table (add/remove neighbours). Relational and sequence tables are
not covered yet; one entity would be the unit there.

The total budget ``(epsilon, delta)`` is split by ``split`` into two blocks. When the generator is itself
zCDP (dp-marginals), the split is of rho (``ZCDP_SPLIT``): ``rho = rho_from(epsilon, delta / 2)``, the two
blocks' rho add up and are converted once (``zcdp_delta``: Canonne, Kamath and Steinke's conversion), and the
other half of delta pays the category thresholds. For
DP-SGD (argn, accounted in RDP by Opacus) the split is of epsilon and delta (``DEFAULT_SPLIT``) and the blocks
compose sequentially (``eps = eps_statistics + eps_model``, ``delta = delta_statistics + delta_model``):

- **statistics**: everything the codecs, the schema and the Synthesizer learn from the data. The block is
  run as zero-concentrated DP (Gaussian and exponential mechanisms, whose costs ``rho`` add up), then
  converted to ``(eps, delta)``. ``rho`` is shared by the releases planned from the public schema
  (``plan_units``), each weighted by ``UNIT_WEIGHTS``. Half of the block's delta pays the conversion, half the key thresholds of the
  stability-based histograms (categories).
- **model**: the generator's own mechanism (DP-SGD with Opacus' RDP accountant for ``argn``; Gaussian
  measurements and exponential selection under zCDP for ``dp-marginals``).

Every random release goes through :func:`release`, so a test can record the released values on one table
and replay them on a neighbouring table: if the saved model files are then identical, nothing derived from
the data reached the file except through a mechanism (see ``tests/test_dp_pipeline.py``).
"""
from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy.special import ndtri

from lookalike.errors import LookalikeError

DEFAULT_SPLIT = {"statistics": 0.2, "model": 0.8}
"""Shares of epsilon and of delta for the codec/schema statistics and for the generator (DP-SGD)."""

ZCDP_SPLIT = {"statistics": 0.4, "model": 0.6}
"""Shares of rho when the generator is itself zCDP (dp-marginals) and the whole fit is composed in zCDP.
40% for the statistics: categories and heaped values must pass a threshold of about 5 sigma to exist at all,
and a category that is not released costs its whole mass in every marginal (first tuned on the seed-42 splits
at 50%; with in-bin shapes and cheap declared categories, 40% did better on the seed-42/43/44 splits at
epsilon 1: mlc_churn TSTR +0.05 in both public settings, bivariate within +-0.003, see
benchmarks/dp_tuning.py)."""

UNIT_WEIGHTS = {"rows": 0.25, "categories": 3.0, "bounds": 1.0, "histogram": 1.0, "decimals": 0.5, "nulls": 0.5,
                "heaps": 2.0, "declared": 0.5, "scale": 0.25, "rules": 0.5}
"""Relative cost (rho) of the statistics block's releases, by what each must resolve: a category is released
only above a threshold of about 5 sigma, so category histograms get the most; the row count needs little.
``declared``: the histogram of a column whose categories a schema declares, under a generator that measures
its own marginals (dp-marginals): it only orders the categories and says whether there are nulls. ``scale``:
a number's median under dp-marginals (``private_scale``), which only places its bins, so a rough one will do.
``rules``: the search for a rate formula of one float column (``lookalike.privacy.dp_rules``)."""

PUBLIC = (
    "column names, their order and pandas dtypes; the CSV dialect of the input file; everything declared in a "
    "schema file (kinds, decimals, formats, bounds, categories, PII kinds, rules, keys, value_protection.k); "
    "the parameters given to the Synthesizer and the generator")
"""What a differentially private fit treats as public (it costs no budget and is not protected)."""

SWITCHED_OFF = (
    "schema inference from values (kinds come from dtypes only: numbers, datetimes, booleans, everything else "
    "categorical; no ids, PII, text or constants unless declared), rule detection (except rate formulas such as "
    "charge = minutes * 0.17, released by the exponential and Gaussian mechanisms) and combination lookups, "
    "relative (difference) columns, exact heaped values (except under dp-marginals, which releases them with a "
    "stability-based histogram), rounding units, calendar tokens (weekday, month ends), "
    "millisecond detection, code shapes of rare categories and id shapes, PII format learning (declared PII "
    "columns get a default format), the generator's validation split, early stopping, loss history and "
    "frequency-initialised output biases")
"""Data-dependent learners that are off under DP (each would need its own mechanism)."""

DP_BINS = 16
"""Quantile bins of a number under DP (48 without): every cell of a marginal is measured with noise, so
small domains measure better (MST-style methods discretise coarsely too)."""

DP_FINE = 1
"""Fine steps inside a bin under DP (8 without): one means no position sub-column, so a number is one
attribute, not two; each attribute costs the generator a noisy 1-way marginal and a tree edge. A number
whose released histogram gives at most ``DP_FEW_BINS`` bins keeps 8 steps: its bins are wide around point
masses (counts mostly 0, say), and uniform values inside them would smear the mass."""
DP_FEW_BINS = 4

DP_SHAPE_CELLS = 32
"""Cells of the noisy histogram the quantile bins come from: a few hundred rows per cell stand above the
noise at small epsilon, 128 cells would not."""

SAMPLING_NOTE = "sampling is post-processing of the released model and costs no privacy budget"

# -- replayable releases ----------------------------------------------------------------------------------
_TAPES: list[dict] = []


def release(label: str, compute: Callable[[], Any]) -> Any:
    """Every noisy value leaves the private data through here. ``label`` must not depend on the data."""
    if _TAPES:
        tape = _TAPES[-1]
        if tape["mode"] == "replay":
            if tape["pos"] >= len(tape["items"]):
                raise AssertionError(f"replay: release {label!r} was never recorded")
            recorded_label, value = tape["items"][tape["pos"]]
            if recorded_label != label:
                raise AssertionError(f"replay: release {label!r} where {recorded_label!r} was recorded")
            tape["pos"] += 1
            return copy.deepcopy(value)
        value = compute()
        tape["items"].append((label, copy.deepcopy(value)))
        return value
    return compute()


@contextmanager
def recording():
    """Record every release made inside the block; yields the tape (for :func:`replaying`)."""
    tape = {"mode": "record", "items": [], "pos": 0}
    _TAPES.append(tape)
    try:
        yield tape
    finally:
        _TAPES.pop()


@contextmanager
def replaying(tape: dict):
    """Answer every release with the value recorded in ``tape`` (in order), whatever the data."""
    replay = {"mode": "replay", "items": tape["items"], "pos": 0}
    _TAPES.append(replay)
    try:
        yield replay
    finally:
        _TAPES.pop()


# -- budget -----------------------------------------------------------------------------------------------
def check_dp(dp: dict | None) -> dict | None:
    """Validate the user's ``dp`` setting (before any work); returns a normalised copy."""
    if dp is None:
        return None
    if not isinstance(dp, dict):
        raise LookalikeError(f"dp must be a dict such as {{'epsilon': 1.0, 'delta': 1e-5}}, got {dp!r}")
    unknown = set(dp) - {"epsilon", "delta", "split", "noise_seed"}
    if unknown:
        raise LookalikeError(f"dp: unknown key(s) {sorted(unknown)}; use epsilon, delta and split")
    eps = dp.get("epsilon")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps <= 0:
        raise LookalikeError(f"dp: epsilon must be a positive number, got {eps!r}")
    delta = dp.get("delta", 1e-5)
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 < delta < 1:
        raise LookalikeError(f"dp: delta must be a number in (0, 1), got {delta!r}")
    if dp.get("split") is None:  # the default depends on the generator (DEFAULT_SPLIT or ZCDP_SPLIT)
        return {"epsilon": float(eps), "delta": float(delta), "split": None}
    split = dict(dp["split"])
    if set(split) != {"statistics", "model"} or any(not 0 < float(v) < 1 for v in split.values()) \
            or abs(sum(split.values()) - 1) > 1e-9:
        raise LookalikeError(f"dp: split must give 'statistics' and 'model' shares in (0, 1) summing to 1, got {split}")
    return {"epsilon": float(eps), "delta": float(delta), "split": {k: float(v) for k, v in split.items()}}


def check_rows(dp: dict, n_rows: int) -> None:
    if dp["delta"] >= 1.0 / n_rows:
        raise LookalikeError(f"dp: delta {dp['delta']:g} must be smaller than 1/n = 1/{n_rows:,}: a delta of 1/n "
                             "allows publishing a whole row; 1e-5 or 1/n^1.1 are usual choices")


def zcdp_delta(rho: float, eps: float) -> float:
    """The delta of (eps, delta)-DP that rho-zCDP implies, by the conversion of Canonne, Kamath and Steinke
    (2020, "The discrete Gaussian for differential privacy", Proposition 12): for every alpha > 1,
    delta = exp((alpha - 1)(alpha rho - eps)) / (alpha - 1) * (1 - 1/alpha)^alpha. Any alpha gives a valid
    bound; the best one is found by bisection on the derivative of the log. smartnoise-synth's MST and AIM
    get the same rho through OpenDP's zCDP-to-approximate-DP conversion (the tests pin four values computed with
    smartnoise-synth 1.0.8's cdp_rho). At epsilon 1
    and delta 5e-6 it allows 44% more rho than the usual eps = rho + 2 sqrt(rho ln(1/delta))."""
    if rho <= 0:
        return 0.0
    lo, hi = 1.01, (eps + 1.0) / (2.0 * rho) + 2.0
    for _ in range(200):
        alpha = (lo + hi) / 2
        if (2 * alpha - 1) * rho - eps + math.log1p(-1.0 / alpha) < 0:
            lo = alpha
        else:
            hi = alpha
    log_delta = (alpha - 1) * (alpha * rho - eps) + alpha * math.log1p(-1.0 / alpha) - math.log(alpha - 1.0)
    return math.exp(min(log_delta, 0.0))


def _bisect(lo: float, hi: float, low_side) -> tuple[float, float]:
    """[lo, hi] after 200 halvings around the point where ``low_side`` turns from true (at lo) to false (at hi):
    lo keeps the last value found true, hi the last found false."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if low_side(mid):
            lo = mid
        else:
            hi = mid
    return lo, hi


def rho_from(eps: float, delta: float) -> float:
    """The largest zCDP rho whose conversion (``zcdp_delta``) gives (eps, delta)-DP: the budget is spent
    exactly, up to the bisection's precision (and never over it)."""
    return _bisect(0.0, eps + 1.0, lambda rho: zcdp_delta(rho, eps) <= delta)[0]


def eps_from(rho: float, delta: float) -> float:
    """The smallest epsilon for which rho-zCDP gives (epsilon, delta)-DP (``zcdp_delta``)."""
    if rho <= 0:
        return 0.0
    hi = rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta)) + 1.0  # the usual bound is above it
    while zcdp_delta(rho, hi) > delta:  # the bisection needs an upper end that meets delta (so its answer does)
        hi *= 2.0
    return _bisect(0.0, hi, lambda eps: zcdp_delta(rho, eps) > delta)[1]


class Budget:
    """The ledger of one private fit: the statistics block's mechanisms and the generator's entry.

    The noise comes from the operating system's entropy, never from the Synthesizer's ``seed``: noise drawn
    from a known seed could be recomputed and subtracted by anyone who knows it. ``seed`` (the ``dp`` key
    ``noise_seed``) is for tests only and the record says so."""

    def __init__(self, dp: dict, seed: int | None = None, zcdp: bool = False):
        self.epsilon, self.delta = dp["epsilon"], dp["delta"]
        self.zcdp = bool(zcdp)
        self.split = dict(dp.get("split") or (ZCDP_SPLIT if zcdp else DEFAULT_SPLIT))
        self.noise = "operating-system entropy" if seed is None else "seeded: tests only, no guarantee"
        self.rng = np.random.default_rng(seed)
        self.public_bins = False  # True: numbers get bins from their bounds alone (the generator measures them)
        self.rows: int | None = None  # the released row count, once released
        if self.zcdp:
            # one zCDP budget for the whole fit, converted once: half of delta for the conversion, half for the
            # category thresholds. Splitting epsilon first and converting each share would square the share
            # (rho grows like epsilon**2): 20% of epsilon is only ~5% of the rho.
            self.rho_total = rho_from(self.epsilon, self.delta / 2)
            self.rho_statistics = self.rho_total * self.split["statistics"]
            self.rho_model = self.rho_total * self.split["model"]
            self.delta_statistics = self.delta  # delta_key takes half of it, like the split mode
            self.eps_statistics = self.eps_model = self.delta_model = None
        else:
            self.eps_statistics = self.epsilon * self.split["statistics"]
            self.delta_statistics = self.delta * self.split["statistics"]
            self.eps_model = self.epsilon * self.split["model"]
            self.delta_model = self.delta * self.split["model"]
            self.rho_statistics = rho_from(self.eps_statistics, self.delta_statistics / 2)
            self.rho_model = None
        self.units = 0.0
        self.key_releases = 0
        self.rho_planned = 0.0  # rho the current plan shares out (the statistics' rho not spent before it)
        self.entries: list[dict] = []
        self.model_entry: dict | None = None

    def plan(self, units: float, key_releases: int) -> None:
        """How many equal-cost releases the rest of the statistics block makes, and how many thresholded
        histograms. A second plan (after the rate formulas, which take some columns out) shares out what the
        first left unspent."""
        self.units = max(float(units), 1.0)
        self.key_releases = int(key_releases)
        self.rho_planned = max(self.rho_statistics - self.spent_rho(), 0.0)

    @property
    def rho_unit(self) -> float:
        if not self.units:
            raise RuntimeError("Budget.plan must be called before a statistic is released")
        return self.rho_planned / self.units

    @property
    def sigma_unit(self) -> float:
        """Gaussian noise of one release of L2 sensitivity 1."""
        return math.sqrt(1.0 / (2.0 * self.rho_unit))

    @property
    def delta_key(self) -> float:
        return self.delta_statistics / 2 / max(self.key_releases, 1)

    def charge(self, what: str, mechanism: str, rho: float, **info) -> None:
        self.entries.append({"what": what, "mechanism": mechanism, "rho": rho, **info})

    def spent_rho(self) -> float:
        return float(sum(e["rho"] for e in self.entries))

    def record(self) -> dict:
        """JSON-able account of the fit: stored in the model file and shown in the report."""
        rho = self.spent_rho()
        if rho > self.rho_statistics * (1 + 1e-9):
            raise RuntimeError(f"statistics overspent: rho {rho} > {self.rho_statistics}")
        model = self.model_entry or {}
        if self.zcdp:
            rho_model = float(model.get("rho", 0.0))
            if rho_model > self.rho_model * (1 + 1e-9):
                raise RuntimeError(f"model overspent: rho {rho_model} > {self.rho_model}")
            eps_stats = None
            eps_total = eps_from(rho + rho_model, self.delta / 2)
            composition = ("zCDP: statistics rho + model rho, converted once to (epsilon, delta/2) by Canonne, Kamath "
                           "and Steinke (2020), Proposition 12; the other half of delta pays the category thresholds")
        else:
            eps_stats = eps_from(rho, self.delta_statistics / 2) if rho > 0 else 0.0
            eps_total = eps_stats + float(model.get("epsilon", 0.0))
            composition = "sequential: statistics + model"
        return {
            "epsilon": self.epsilon, "delta": self.delta, "unit": "one row (add/remove)",
            "split": dict(self.split), "split_of": "rho" if self.zcdp else "epsilon and delta",
            "statistics": {"epsilon": self.eps_statistics, "delta": self.delta_statistics,
                           "epsilon_spent": eps_stats, "rho": self.rho_statistics, "rho_spent": rho,
                           "accounting": "zCDP; half of delta for the conversion, half for the category thresholds"
                                         if not self.zcdp else "zCDP, composed with the model's rho",
                           "releases": self.entries},
            "model": model,
            "epsilon_spent": eps_total,
            "composition": composition, "noise": self.noise,
            "public": PUBLIC, "switched_off": SWITCHED_OFF, "sampling": SAMPLING_NOTE,
        }


# -- mechanisms -------------------------------------------------------------------------------------------
def gaussian(budget: Budget, what: str, values: np.ndarray, units: float | None = None) -> np.ndarray:
    """Values (a count or a histogram: L2 sensitivity 1 under add/remove) plus Gaussian noise. ``units``:
    the release's cost in planned units (default: by the last part of ``what``, see ``UNIT_WEIGHTS``)."""
    if units is None:
        units = UNIT_WEIGHTS.get(what.rsplit(".", 1)[-1], 1.0)
    rho = budget.rho_unit * units
    sigma = math.sqrt(1.0 / (2.0 * rho))
    values = np.asarray(values, dtype=float)
    budget.charge(what, "gaussian", rho, sigma=sigma, cells=int(values.size))
    return np.asarray(release(what, lambda: values + budget.rng.normal(0.0, sigma, values.shape)))


def noisy_rows(budget: Budget, n_rows: int) -> int:
    """The number of training rows, released with Gaussian noise (at least 2)."""
    return int(max(2, round(float(gaussian(budget, "rows", np.array([n_rows]))[0]))))


def stable_histogram(budget: Budget, what: str, counts: pd.Series, n_null: int, k: int) -> tuple[pd.Series, int]:
    """Categories with Gaussian-noised counts; a category is released only above a threshold that a category
    of a single row passes with probability at most ``delta_key`` (stability-based histogram, unknown domain).

    Returns (released categories -> noisy counts rounded, noisy count of missing values or 0)."""
    rho = budget.rho_unit * UNIT_WEIGHTS["categories"]
    sigma = math.sqrt(1.0 / (2.0 * rho))
    threshold = 1.0 + sigma * float(ndtri(1.0 - budget.delta_key))
    keys = list(counts.index)
    values = np.concatenate([[float(n_null)], counts.to_numpy(float)])
    budget.charge(what, "gaussian stability histogram", rho, sigma=sigma, threshold=round(threshold, 2),
                  delta=budget.delta_key)

    def compute():
        noisy = values + budget.rng.normal(0.0, sigma, len(values))
        keep = noisy[1:] > max(threshold, k)
        kept = pd.Series(np.round(noisy[1:][keep]).astype(np.int64), index=[keys[i] for i in np.flatnonzero(keep)],
                         dtype=np.int64)
        null = int(round(noisy[0])) if noisy[0] > threshold else 0
        return kept, null

    return release(what, compute)


def unreleased_tail(budget: Budget, kept: pd.Series, null: int) -> bool:
    """Whether the categories a stability histogram did not release hold clearly more than nothing: the
    released row count minus the released counts, above 2 sigma of its own noise (post-processing). When they
    do not, the tail token's mass is mostly noise, and a column of three colours would gain a placeholder."""
    if budget.rows is None:
        return True
    sigma_rows = budget.sigma_unit / math.sqrt(UNIT_WEIGHTS["rows"])
    sigma_cat = budget.sigma_unit / math.sqrt(UNIT_WEIGHTS["categories"])
    tail = budget.rows - float(kept.sum()) - null
    return bool(tail > 2.0 * math.sqrt(sigma_rows**2 + (len(kept) + 1) * sigma_cat**2))


def exponential(budget: Budget, what: str, utilities: np.ndarray, sensitivity: float, epsilon: float,
                rng: np.random.Generator) -> int:
    """Index drawn with probability proportional to exp(epsilon * u / (2 * sensitivity)) (charged by the caller)."""
    u = np.asarray(utilities, dtype=float)

    def compute():
        logits = epsilon * (u - u.max()) / (2.0 * sensitivity)
        p = np.exp(logits)
        return int(rng.choice(len(u), p=p / p.sum()))

    return release(what, compute)


# -- numbers ----------------------------------------------------------------------------------------------
def _log_edges(per_decade: int = 2, max_exp: int = 15) -> np.ndarray:
    """Public edges for locating the bounds of numbers written as integers (value * 10**decimals):
    (-1, 1) holds 0, then cells 10**(j/per_decade) wide on either side up to 10**max_exp."""
    pos = np.unique(np.round(10 ** (np.arange(0, per_decade * max_exp + 1) / per_decade)))
    return np.concatenate([-pos[::-1], pos])


def _datetime_edges(scale: int) -> np.ndarray:
    """Public edges for datetimes: quarter starts from 1900 to 2100, in seconds * scale."""
    months = np.arange(np.datetime64("1900-01"), np.datetime64("2101-01"), 3, dtype="datetime64[M]")
    return months.astype("datetime64[s]").astype(np.int64).astype(float) * scale


def private_bounds(budget: Budget, what: str, counts: pd.Series, edges: np.ndarray) -> tuple[float, float] | None:
    """(lo, hi) from a Gaussian-noised histogram over public cells. The core is the span between the
    outermost cells clearly above noise (4.5 sigma: of the ~60 public cells, one of pure noise passes with
    probability about 0.0003%, so no absurd bound such as 1e15); it then grows outwards over adjacent cells
    above ``BOUNDS_TAIL_SIGMAS`` sigma, so that a tail spread thinly over several cells (a debt column that
    is 0 for 80% of rows) is kept instead of being clipped into one heap at the bound. A pure-noise cell
    passes 2 sigma with probability 2.3%, and only a run of such cells next to the core extends it.
    None when no cell passes (the column is then all missing or too thin)."""
    values = counts.index.to_numpy(float)
    cell = np.searchsorted(edges, np.clip(values, edges[0], edges[-1]), side="right")
    hist = np.bincount(cell, weights=counts.to_numpy(float), minlength=len(edges) + 1)
    noisy = gaussian(budget, what, hist)
    sigma = budget.sigma_unit / math.sqrt(UNIT_WEIGHTS["bounds"])
    sig = np.flatnonzero(noisy > 4.5 * sigma)
    if not len(sig):
        return None
    first, last = int(sig[0]), int(sig[-1])
    while first > 0 and noisy[first - 1] > BOUNDS_TAIL_SIGMAS * sigma:
        first -= 1
    while last < len(noisy) - 1 and noisy[last + 1] > BOUNDS_TAIL_SIGMAS * sigma:
        last += 1
    full = np.concatenate([[edges[0]], edges, [edges[-1]]])  # cell i spans [full[i], full[i + 1])
    return float(full[first]), float(full[last + 1])


BOUNDS_TAIL_SIGMAS = 2.0


def private_shape(budget: Budget, what: str, counts: pd.Series, n_null: int, lo: float, hi: float,
                  cells: int = DP_SHAPE_CELLS) -> tuple[pd.Series, int]:
    """Pseudo value counts that follow a Gaussian-noised histogram of the values clipped to [lo, hi]
    (cells even in asinh(x / s), so skewed columns keep resolution where the mass is), plus a noisy
    count of missing values. Only their quantiles are used downstream."""
    s = max((hi - lo) / 200.0, 1.0)
    t_edges = np.linspace(np.arcsinh(lo / s), np.arcsinh(hi / s), cells + 1)
    edges = np.sinh(t_edges) * s
    edges[0], edges[-1] = lo, hi
    values = np.clip(counts.index.to_numpy(float), lo, hi)
    cell = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, cells - 1)
    hist = np.bincount(cell, weights=counts.to_numpy(float), minlength=cells)
    noisy = gaussian(budget, what, np.concatenate([[float(n_null)], hist]))
    null = int(round(noisy[0])) if noisy[0] > 3 * budget.sigma_unit else 0
    mass = np.clip(np.round(noisy[1:]), 0, None).astype(np.int64)
    mass[mass < 2 * budget.sigma_unit] = 0  # cells below noise would smear mass over empty ranges
    if mass.sum() == 0:
        mass[:] = 1
    points, weights = [], []
    for i in np.flatnonzero(mass):
        m = int(min(mass[i], 50))  # at most 50 distinct points per cell, weighted to the noisy mass
        pts = np.round(edges[i] + (edges[i + 1] - edges[i]) * (np.arange(m) + 0.5) / m)
        points.append(pts)
        weights.append(np.full(m, mass[i] / m))
    pts = np.concatenate(points).astype(np.int64)
    w = np.concatenate(weights)
    series = pd.Series(w, index=pts).groupby(level=0).sum()
    series = np.maximum(np.round(series), 1).astype(np.int64)
    return series, null


def numeric_state(budget: Budget, name: str, stats: dict, decimals: int, k: int, bounds, datetime: bool = False):
    """A NumericCodec (its dict) learnt from noisy statistics only: DP or declared bounds, quantile bins of
    a noisy histogram, no heaped values and no rounding units. None when no bounds are declared and none
    could be released (too few rows for the budget)."""
    from lookalike.encoding.numeric import NumericCodec

    scale = 10**decimals
    counts = stats["values"]
    if bounds is not None:
        lo, hi = float(bounds[0]) * scale, float(bounds[1]) * scale
    else:
        found = private_bounds(budget, f"{name}.bounds", counts,
                               _datetime_edges(scale) if datetime else _log_edges())
        if found is None:  # nothing stood above the noise: no range to learn values in (see privatise)
            return None
        lo, hi = found
    lo, hi = float(np.floor(lo)), float(np.ceil(hi))
    edges = None
    if budget.public_bins:
        edges = public_edges(lo, hi, scale=None if datetime else private_scale(budget, f"{name}.scale", counts, lo, hi))
        # each edge 10 times: NumericCodec.reduce takes len // 10 bins at these quantiles, which are the edges
        pseudo, null = pd.Series(10, index=edges, dtype=np.int64), private_nulls(budget, name, stats["n_null"])
    else:
        pseudo, null = private_shape(budget, f"{name}.histogram", counts, stats["n_null"], lo, hi)
    codec = NumericCodec(decimals=decimals, k=1, bounds=(lo / scale, hi / scale), max_heaps=0, max_levels=0, units=[1],
                         max_bins=DP_BINS, fine=DP_FINE)
    codec.reduce({"n_null": null, "values": pseudo})
    if budget.public_bins and not datetime:
        _set_heaps(codec, private_heaps(budget, f"{name}.heaps", counts, lo, hi))
    if edges is not None and len(codec.edges_) == len(edges):
        # the values are whole units: a bin [a, b) of integers is [a - 1/2, b - 1/2) of reals, so values
        # drawn uniformly inside it round back into it (edges at integers would send half of a bin's
        # draws to the next integer: a column of mostly zeros would decode to half ones)
        half = edges.astype(float) - 0.5
        half[0], half[-1] = lo - 0.5, hi + 0.5
        codec.edges_ = half
    codec.k = k
    if len(codec.edges_) - 1 <= DP_FEW_BINS:
        codec.fine = 8
    return codec.to_dict()


def private_heaps(budget: Budget, what: str, counts: pd.Series, lo: float, hi: float) -> np.ndarray:
    """Heaped values (whole units, such as 0, 36 or 1000) from a stability-based Gaussian histogram of the
    exact values clipped to [lo, hi]: a value is released only above the threshold that a value of one row
    passes with probability at most ``delta_key``. Uniform decoding inside a bin would smear such point
    masses over their neighbours (a loan term of 36 months would come back as 35 to 40)."""
    rho = budget.rho_unit * UNIT_WEIGHTS["heaps"]
    sigma = math.sqrt(1.0 / (2.0 * rho))
    threshold = 1.0 + sigma * float(ndtri(1.0 - budget.delta_key))
    clipped = pd.Series(counts.to_numpy(float), index=np.clip(counts.index.to_numpy(np.int64), lo, hi))
    clipped = clipped.groupby(level=0).sum()
    keys, values = clipped.index.to_numpy(np.int64), clipped.to_numpy(float)
    budget.charge(what, "gaussian stability histogram", rho, sigma=sigma, threshold=round(threshold, 2),
                  delta=budget.delta_key)
    return np.asarray(release(what, lambda: np.sort(keys[values + budget.rng.normal(0.0, sigma, len(values))
                                                           > threshold])), dtype=np.int64)


def _set_heaps(codec, heaps: np.ndarray) -> None:
    """Give a reduced NumericCodec these heaped values (its main vocabulary: null, then heaps and bins by
    value, as NumericCodec.reduce builds it)."""
    from lookalike.encoding.numeric import BIN, HEAP, NULL

    codec.heaps_ = np.sort(np.asarray(heaps, dtype=np.int64))
    n_bins = max(len(codec.edges_) - 1, 0)
    positions = np.concatenate([codec.heaps_.astype(float), (codec.edges_[:-1] + codec.edges_[1:]) / 2])
    kinds = np.concatenate([np.full(len(codec.heaps_), HEAP), np.full(n_bins, BIN)])
    refs = np.concatenate([np.arange(len(codec.heaps_)), np.arange(n_bins)])
    order = np.argsort(positions, kind="stable")
    codec.main_kind_ = np.concatenate([[NULL] if codec.has_null_ else [], kinds[order]]).astype(np.int64)
    codec.main_ref_ = np.concatenate([[0] if codec.has_null_ else [], refs[order]]).astype(np.int64)
    codec._index_tokens()


def public_edges(lo: float, hi: float, bins: int | None = None, scale: float | None = None) -> np.ndarray:
    """Bin edges (whole units) fixed by the (released or declared) bounds and a released scale alone: one bin
    per integer when the range holds at most ``bins`` integers, else ``bins`` cells even in asinh(x / s), which
    is even in x below s and in log(x) above it. s is the released median (``private_scale``) where that is
    larger than (hi - lo) / PUBLIC_EDGES_SCALE: a bell-shaped number (call minutes around 180 in [0, 351])
    gets bins even where its mass is, where s = (hi - lo) / 200 alone put 16 cells mostly below 40 and its
    bulk into 3; a skewed one (incomes) keeps even cells up to its median and logarithmic ones in its tail.
    Used when the generator measures the 1-way marginal of the bins itself (dp-marginals): a shape histogram
    would pay twice for the same counts."""
    bins = DP_BINS if bins is None else bins
    if hi - lo + 1 <= bins:
        edges = np.arange(lo, hi + 2, dtype=float)
    else:
        s = max((hi - lo) / PUBLIC_EDGES_SCALE, abs(scale or 0.0), 1.0)
        edges = np.sinh(np.linspace(np.arcsinh(lo / s), np.arcsinh(hi / s), bins + 1)) * s
        edges[0], edges[-1] = lo, hi
    return np.unique(np.round(edges).astype(np.int64))


PUBLIC_EDGES_SCALE = 200.0


def private_scale(budget: Budget, what: str, counts: pd.Series, lo: float, hi: float) -> float | None:
    """The median of the values clipped to [lo, hi] (whole units), by the exponential mechanism over public
    candidates (129 points even in [lo, hi] or in asinh, fixed by the bounds) with utility minus the
    difference between the rows below and at or above a candidate (sensitivity 1), charged rho = eps^2 / 8
    (bounded range, Cesar and Rogers 2021, as dp-marginals charges its selections). None, and nothing
    spent, when the range holds at most ``DP_BINS`` integers (one bin per integer needs no scale)."""
    if hi - lo + 1 <= DP_BINS:
        return None
    s0 = max((hi - lo) / PUBLIC_EDGES_SCALE, 1.0)
    candidates = np.unique(np.concatenate([
        np.linspace(lo, hi, 65), np.sinh(np.linspace(np.arcsinh(lo / s0), np.arcsinh(hi / s0), 65)) * s0]))
    values = np.clip(counts.index.to_numpy(float), lo, hi)
    weights = counts.to_numpy(float)
    order = np.argsort(values, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(weights[order])])
    below = cum[np.searchsorted(values[order], candidates, side="left")]
    utility = -np.abs(below - (cum[-1] - below))
    rho = budget.rho_unit * UNIT_WEIGHTS["scale"]
    epsilon = math.sqrt(8.0 * rho)
    budget.charge(what, "exponential mechanism (median)", rho, epsilon=epsilon, candidates=int(len(candidates)))
    return float(candidates[exponential(budget, what, utility, 1.0, epsilon, budget.rng)])


def private_nulls(budget: Budget, name: str, n_null: int) -> int:
    """The number of missing values, with Gaussian noise; 0 (no null token) unless above ``NULL_SIGMAS``
    sigma. Only whether the column gets a null token matters here (the generator measures its share): a
    column without nulls gets one with probability 2.3%, and then little mass; a column whose nulls are
    not released has them written as numbers (8% of credit_data's Income, at 3 sigma and weight 0.25)."""
    noisy = float(gaussian(budget, f"{name}.nulls", np.array([float(n_null)]))[0])
    sigma = budget.sigma_unit / math.sqrt(UNIT_WEIGHTS["nulls"])
    return int(round(noisy)) if noisy > NULL_SIGMAS * sigma else 0


NULL_SIGMAS = 2.0


def decimals_needed(values: np.ndarray, max_decimals: int = 8) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    need = np.full(len(v), max_decimals, dtype=np.int64)
    done = np.zeros(len(v), dtype=bool)
    for d in range(max_decimals + 1):
        scaled = v * 10**d
        ok = ~done & (np.abs(scaled - np.round(scaled)) < 1e-6)
        need[ok] = d
        done |= ok
    return need


def private_decimals(budget: Budget, name: str, values: np.ndarray, max_decimals: int = 6) -> int:
    """Decimals that write 99% of the values exactly, from a Gaussian-noised histogram of the decimals each
    value needs (one row is in one cell: sensitivity 1)."""
    need = np.minimum(decimals_needed(values, max_decimals), max_decimals)
    hist = np.bincount(need, minlength=max_decimals + 1).astype(float)
    noisy = gaussian(budget, f"{name}.decimals", hist)
    sigma = budget.sigma_unit / math.sqrt(UNIT_WEIGHTS["decimals"])
    noisy = np.where(noisy > 3 * sigma, noisy, 0.0)  # cells of pure noise would each add ~0.4 sigma of mass
    if noisy.sum() <= 0:
        return 2
    cdf = np.cumsum(noisy) / noisy.sum()
    return int(np.argmax(cdf >= 0.99))


LINEAR_BINS = True
"""Numbers decode inside a bin by a piecewise-linear density from the generator's released 1-way marginal of
the bins (``NumericCodec.bin_mass_``, see ``encoding.numeric.linear_positions``) instead of uniformly."""


def shape_bins(encoder, marginals: dict) -> None:
    """Give every number's codec (and a datetime's inner one) the masses of its bins under ``marginals``
    (attribute index -> probabilities of its tokens: a generator's released 1-way marginals). Post-processing
    of released values: it costs no budget."""
    if not LINEAR_BINS:
        return
    group_of = dict(zip(encoder.group_columns_, encoder.groups_))
    for name, codec in encoder.codecs_.items():
        codec = getattr(codec, "numeric_", codec)
        if name not in group_of or not hasattr(codec, "bin_token_") or not len(codec.bin_token_):
            continue
        main = marginals.get(group_of[name][0])
        if main is None or len(main) != len(codec.main_kind_):
            continue
        mass = np.asarray(main, dtype=float)[codec.bin_token_]
        codec.bin_mass_ = mass / mass.sum() if mass.sum() > 0 else None


# -- the statistics step of a table (between TableEncoder.analyse and reduce) -------------------------------
def plan_units(schema, public_bins: bool = False, rules: bool = False) -> tuple[float, int]:
    """(planned units of rho, thresholded category histograms) of the statistics block for ``schema``: each
    release costs its ``UNIT_WEIGHTS``: the row count, a histogram per categorical column, bounds and a shape
    per number or date (the shape only when the schema declares bounds), decimals per float column, and with
    ``rules`` the rate-formula search per candidate dependent. A column a formula rule derives costs nothing
    (it is recomputed, not learned) but its decimals. Kinds come from the public schema, so the plan itself costs nothing."""
    from lookalike.schema.columns import Kind

    w = UNIT_WEIGHTS
    units, keys = w["rows"], 0
    if rules:
        units += w["rules"] * len(rate_rule_candidates(schema)[0])
    derived = derived_columns(schema)
    for col in schema.columns:
        if col.name in derived:  # only its decimals, which its formula's result is rounded to
            if col.kind == Kind.NUMERIC and "decimals" in col.options and col.options["decimals"] is None:
                units += w["decimals"]
            continue
        if col.kind == Kind.TEXT:
            raise LookalikeError(f"column '{col.name}' is free text, which has no differentially private learner "
                                 "yet; drop it or declare it categorical in the schema")
        if col.kind.categorical_like:
            declared = bool(col.options.get("categories"))
            units += w["declared"] if declared and public_bins else w["categories"]
            keys += 0 if declared else 1
        elif col.kind in (Kind.NUMERIC, Kind.DATETIME):
            units += (w["nulls"] if public_bins else w["histogram"]) + (0 if col.options.get("bounds") else w["bounds"])
            if public_bins and col.kind == Kind.NUMERIC:  # heaped values (private_heaps), median (private_scale)
                units += w["heaps"] + w["scale"]
                keys += 1
        if col.kind == Kind.NUMERIC and "decimals" in col.options and col.options["decimals"] is None:
            units += w["decimals"]  # decimals to release (schema inferred from dtypes only)
    return units, keys


def rate_rule_candidates(schema) -> tuple[list[str], list[str]]:
    """(dependents, inputs) of the rate-formula search (``lookalike.privacy.dp_rules``) from the public schema: dependents are float numbers (a rate formula of an integer
    column is rare, and each candidate dependent costs budget), inputs are all numbers."""
    from lookalike.schema.columns import Kind

    declared = derived_columns(schema)
    numbers = [c for c in schema.columns if c.kind == Kind.NUMERIC]
    dependents = [c.name for c in numbers if str(c.dtype).lower().startswith("float") and c.name not in declared]
    inputs = [c.name for c in numbers if "`" not in c.name]  # an expression cannot name one (rules.quote_name)
    return (dependents if len(numbers) >= 2 else []), inputs


def _unreleased(name: str) -> dict:
    """A number or date whose range no mechanism could release (every cell of its noisy histogram below the
    noise: too few rows for the budget) is written as missing, never as 0 or 1970-01-01, and the user is told."""
    import logging

    logging.getLogger("lookalike").warning(
        "column '%s': its range could not be released under this privacy budget (too few rows); it is written "
        "as missing. Declare its bounds in a schema file, or give more rows or a larger epsilon", name)
    return {"type": "ConstantCodec", "state": {"value": None}}


def derived_columns(schema) -> set[str]:
    """Numbers a formula rule recomputes from other columns (declared, or released by ``dp_rules``): under DP
    they are neither measured nor learned."""
    from lookalike.schema.columns import Kind

    kinds = {c.name: c.kind for c in schema.columns}
    return {r["column"] for r in schema.rules if r.get("type") == "formula" and kinds.get(r["column"]) == Kind.NUMERIC}


def privatise(stats: dict, schema, budget: Budget) -> dict:
    """Replace a table's exact statistics (``TableEncoder.analyse``) with released ones, column by column.

    categorical / boolean: stability-based Gaussian histogram (or, for categories declared in the schema, a
    Gaussian histogram over them). number: DP or declared bounds and a noisy histogram for the quantile bins.
    datetime: the same on seconds. PII: a default format (nothing learnt). id: no shapes learnt.
    Relative columns are off. The result goes to ``TableEncoder.reduce`` unchanged."""
    from lookalike.encoding.categorical import RARE
    from lookalike.privacy.pii import learn_pii_format
    from lookalike.schema.columns import Kind

    out: dict = {"relative": {}, "columns": {}}
    k = schema.k
    derived = derived_columns(schema)
    for col in schema.columns:
        s = stats["columns"][col.name]
        name = col.name
        if name in derived:  # written by its formula after sampling (RuleSet.apply): nothing to learn
            out["columns"][name] = {"type": "ConstantCodec", "state": {"value": None}}
        elif col.kind == Kind.PII:
            kind = col.options.get("pii")
            out["columns"][name] = {"format": learn_pii_format(kind, pd.Series([], dtype=object, name=name))}
        elif col.kind == Kind.ID:
            empty = {"rows": 0}
            if col.options.get("id_type", "integer") == "string":
                empty["shapes"] = pd.Series([], dtype=np.int64)
            out["columns"][name] = empty
        elif col.kind == Kind.CONSTANT:
            out["columns"][name] = {}
        elif col.kind.categorical_like:
            declared = col.options.get("categories")
            if declared:
                counts = s["values"].reindex(declared, fill_value=0)
                weight = UNIT_WEIGHTS["declared" if budget.public_bins else "categories"]
                noisy = gaussian(budget, f"{name}.categories", np.concatenate([[s["n_null"]], counts.to_numpy()]),
                                 units=weight)
                kept = pd.Series(np.maximum(np.round(noisy[1:]), max(k, 1)).astype(np.int64), index=list(declared))
                null = int(round(noisy[0])) if noisy[0] > 3 * budget.sigma_unit / math.sqrt(weight) else 0
            else:
                kept, null = stable_histogram(budget, f"{name}.categories", s["values"], s["n_null"], k)
            # the rare placeholder is always there: whether a table has rare categories is itself private
            values = pd.concat([kept, pd.Series([0], index=[RARE], dtype=np.int64)])
            # not declared: the rare token stands for every unreleased category and may hold most rows
            # text or not from the public dtype: the released categories may be none at all
            text = col.kind != Kind.BOOLEAN and not col.dtype.lower().startswith(("int", "uint", "float", "bool"))
            out["columns"][name] = {"n_null": null, "values": values, "rare_free": not declared, "text": text,
                                    "tail": not declared and unreleased_tail(budget, kept, null)}
        elif col.kind == Kind.NUMERIC:
            decimals = int(col.options.get("decimals") or 0)
            bounds = col.options.get("bounds")
            state = numeric_state(budget, name, s, decimals, k, bounds)
            out["columns"][name] = {"type": "NumericCodec", "state": state} if state else _unreleased(name)
        elif col.kind == Kind.DATETIME:
            ms = s["values"]
            seconds = ms.set_axis(ms.index.to_numpy(np.int64) // 1000).groupby(level=0).sum()
            bounds = col.options.get("bounds")
            if bounds is not None:  # declared as dates: to seconds
                from lookalike.schema.values import parse_datetimes, seconds as to_seconds

                bounds = list(to_seconds(parse_datetimes(pd.Series(bounds), col.options.get("formats"))))
            numeric = numeric_state(budget, name, {"n_null": s["n_null"], "values": seconds}, 0, k, bounds,
                                    datetime=True)
            if numeric is None:
                out["columns"][name] = _unreleased(name)
                continue
            formats = col.options.get("formats")
            date_only = bool(formats) and all(not any(t in f for t in ("%H", "%M", "%S", "%f")) for f, _ in formats)
            out["columns"][name] = {"type": "DatetimeCodec", "state": {
                "formats": formats, "k": k, "decimals": 0, "numeric": numeric, "date_only": date_only,
                "weekdays": [], "day_classes": []}}
        else:
            raise LookalikeError(f"column '{name}': no differentially private learner for kind '{col.kind}'")
    return out
