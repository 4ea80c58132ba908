"""Tuning dp-marginals on the seed-42/43/44 splits (never reported): variants against the current setting
with common noise draws.

    python benchmarks/dp_tuning.py --variants base bins8 ... [--tables ...] [--draws 4] [--tstr]

Each variant is a dict of generator parameters (``model_params``) and module constants patched for the fit
(``VARIANTS``). For every (table, split seed, public setting, noise draw) every variant is fitted with the same
``noise_seed``, so differences are paired. Bivariate accuracy is the judge's (its bins, pairs and accuracy
from ``lookalike.evaluate``, computed without the rest of the report); TSTR (``--tstr``) is the judge's
``utility.tstr`` without permutation importances. Prints one JSON line per fit and a summary per variant.

What the last revision kept (epsilon 1, seed-42/43/44 splits, paired noise draws; the commit messages have the
numbers): values inside bins drawn from the slope of the released bin masses; 40% of rho for the statistics
and weight 0.5 for a declared category list; pair cells sqrt(rows / 2.5 sigma); the zCDP conversion of
Canonne, Kamath and Steinke. What it tried and dropped (no gain, or a loss somewhere): 24 or 32 bins, less
logarithmic bins (scale 20 or 5), other generator shares and statistics shares (30-60%), more weight for
heaped values, a released rounding unit for values inside bins (+0.0025 on credit_data with nothing public
in 7 of 12 draws, -0.001 on lending_club), pooling the statistics block's category and heap counts into the
1-way estimates (+0.001 on lending_club, mlc_churn TSTR -0.03), a stop option in the tree selection (a
forest), Norm-Sub for pair tables, a Whittaker smoother over the bins (much worse).

This revision (sampling noise; post-processing only, ``--large-sample`` measures what is left of it): values
inside a bin at stratified quantiles (``iid_decode`` = before), onto the bin's whole units other than its
heaps (``round_decode``), tokens given out by herding against the columns drawn before (``random_rows``,
``lexsort_rows``, ``herd_per_group`` = earlier layouts). Tried and dropped: carrying rounding residuals from
one parent group to the next (+0.0002 on credit_data), pair cells at 2 or 3 sigma and shares 40/10/50 again
(no consistent gain).

The revision after it (epsilon 1, seed-42/43/44 splits, 3-4 paired draws; nothing public / data dictionary):
bins even in asinh(x / s) with s a released median (``no_scale`` = before): bivariate mlc_churn +0.001 /
+0.012, credit_data -0.002 / +0.005, TSTR mlc_churn -0.015 / -0.010, credit_data +0.021 / +0.005; rate formulas released under DP and their columns recomputed
(``no_rules`` = before): mlc_churn +0.014 / +0.013, credit_data (no formula; the search's cost) -0.003 / -0.001,
but mlc_churn TSTR -0.06 / -0.02 (without its four minutes-charge edges, the tree's noisy selection more often
leaves churn joined only to the plans); a small attribute's partner in a pair capped at ``cells`` groups
(``partner_uncapped`` = before; measured before the search's weight went from 1 to 0.5 per column): TSTR +0.04
to +0.09 on mlc_churn and credit_data, -0.01 on lending_club with nothing public, bivariate +0.000 to +0.002.
Tried and dropped: selection scores against the pair's own margins instead of the released 1-way estimates
(sensitivity 4: TSTR -0.05 to -0.13).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402
from dp import data_dictionary, evaluation_codes  # noqa: E402

from lookalike import Synthesizer  # noqa: E402

D = "lookalike.privacy.dp"
M = "lookalike.models.dp_marginals"
from lookalike.privacy.dp import UNIT_WEIGHTS as _W  # noqa: E402


def _classical_rho(eps, delta):
    return (math.sqrt(eps + math.log(1 / delta)) - math.sqrt(math.log(1 / delta))) ** 2


_CLASSICAL = {f"{D}:rho_from": _classical_rho, f"{D}:eps_from": lambda r, d: r + 2 * math.sqrt(r * math.log(1 / d))}

VARIANTS: dict[str, dict] = {
    "base": {},  # the current defaults
    # the revision before this tuning: uniform draws inside bins, 50% of rho for the statistics, declared
    # categories at weight 3, pair cells sqrt(rows / 2 sigma), the classical zCDP conversion
    "before": {"patch": {f"{D}:LINEAR_BINS": False, f"{D}:UNIT_WEIGHTS": {**_W, "declared": 3.0},
                         f"{M}:PAIR_CELL_SIGMAS": 2.0, **_CLASSICAL}, "split": 0.5},
    # one change at a time against the current defaults
    "uniform": {"patch": {f"{D}:LINEAR_BINS": False}},
    "classical": {"patch": _CLASSICAL},
    "split30": {"split": 0.3},
    "split35": {"split": 0.35},
    "split50": {"split": 0.5},
    "split60": {"split": 0.6},
    "declared3": {"patch": {f"{D}:UNIT_WEIGHTS": {**_W, "declared": 3.0}}},
    "heaps3": {"patch": {f"{D}:UNIT_WEIGHTS": {**_W, "heaps": 3.0}}},
    "pcs1.5": {"patch": {f"{M}:PAIR_CELL_SIGMAS": 1.5}},
    "pcs2": {"patch": {f"{M}:PAIR_CELL_SIGMAS": 2.0}},
    "pcs3": {"patch": {f"{M}:PAIR_CELL_SIGMAS": 3.0}},
    "shares_6_1_3": {"params": {"shares": [0.6, 0.1, 0.3]}},
    "shares_4_1_5": {"params": {"shares": [0.4, 0.1, 0.5]}},
    "shares_5_05_45": {"params": {"shares": [0.5, 0.05, 0.45]}},
    "shares_5_2_3": {"params": {"shares": [0.5, 0.2, 0.3]}},
    "bins24": {"patch": {f"{D}:DP_BINS": 24}},
    "bins32": {"patch": {f"{D}:DP_BINS": 32}},
    "scale20": {"patch": {f"{D}:PUBLIC_EDGES_SCALE": 20.0}},
    "scale5": {"patch": {f"{D}:PUBLIC_EDGES_SCALE": 5.0}},
    # diagnosis only, NOT private: what the statistics or the generator's noise cost
    # the decode before stratified in-bin quantiles: independent positions inside a number's bins
    "iid_decode": {"patch": {"lookalike.encoding.numeric:linear_positions": lambda *a: _iid_linear_positions(*a)}},
    # a child's allocated tokens in random order over its rows (before BALANCED_ROWS)
    "random_rows": {"patch": {f"{M}:BALANCED_ROWS": False}},
    # values inside a bin rounded to the nearest unit (heaps and the next bin included), before bin_values
    "round_decode": {"patch": {"lookalike.encoding.numeric:bin_values": lambda bins, edges, heaps, pos: np.round(
        edges[:-1][bins] + pos * (edges[1:] - edges[:-1])[bins])}},
    # a child's tokens laid evenly along its rows sorted by the earlier columns (before the herding)
    "lexsort_rows": {"patch": {f"{M}:_herded": lambda counts, cells, deficit, rng: _lexsort_laid(counts, cells, rng)}},
    # herding with deficits that start afresh in each group of rows (parent's value) instead of carried over
    "herd_per_group": {"patch": {f"{M}:_herded": lambda counts, cells, deficit, rng: _HERDED(
        counts, cells, np.zeros_like(deficit), rng)}},
    # all three sampling changes of this revision undone: the sampler before it
    "sampling_before": {"patch": {
        "lookalike.encoding.numeric:linear_positions": lambda *a: _iid_linear_positions(*a),
        "lookalike.encoding.numeric:bin_values": lambda bins, edges, heaps, pos: np.round(
            edges[:-1][bins] + pos * (edges[1:] - edges[:-1])[bins]),
        f"{M}:BALANCED_ROWS": False}},
    # a binary or small attribute's partner in a pair gets cells**2 // card groups (before partner_cap)
    "partner_uncapped": {"patch": {f"{M}:_pair_groups": lambda a, b, cells: _pair_groups_uncapped(a, b, cells)}},
    # bins from the bounds alone (before the released median)
    "no_scale": {"patch": {f"{D}:private_scale": lambda *a, **k: None}},
    # no rate-formula search (before lookalike.privacy.dp_rules)
    "no_rules": {"patch": {f"{D}:rate_rule_candidates": lambda schema: ([], []),
                          "lookalike.privacy.dp_rules:rate_rule_candidates": lambda schema: ([], [])}},
    "gen_exact": {"patch": {f"{M}:DPMarginals.dp_plan": "EXACT"}},
    "heaps_none": {"patch": {f"{D}:private_heaps": lambda *a, **k: _oracle_heaps(*a, at=10**9)}},
    "heaps_o100": {"patch": {f"{D}:private_heaps": lambda *a, **k: _oracle_heaps(*a, at=100)}},
    "heaps_o60": {"patch": {f"{D}:private_heaps": lambda *a, **k: _oracle_heaps(*a, at=60)}},
}
"""name -> {"params": model_params, "patch": {"module:NAME": value}, "split": statistics share or None}."""


def _iid_linear_positions(bins, edges, mass, rng):
    """``encoding.numeric.linear_positions`` as it was before its stratified quantiles: every row's position
    drawn independently (kept to measure what the stratification is worth)."""
    width = np.maximum(np.diff(edges), 1e-12)
    dens = np.clip(np.asarray(mass, dtype=float), 0, None) / width
    at_edge = np.concatenate([[dens[0]], (dens[:-1] + dens[1:]) / 2, [dens[-1]]])
    left, right = at_edge[bins], at_edge[bins + 1]
    mid = np.clip(2 * dens[bins] - (left + right) / 2, 0, None)
    first, second = (left + mid) / 2, (mid + right) / 2
    total = first + second
    flat = total <= 0
    u0, u = rng.random(len(bins)), rng.random(len(bins))
    in_first = u0 * np.where(flat, 1.0, total) < first
    p, q = np.where(in_first, left, mid), np.where(in_first, mid, right)
    slope = q - p
    safe = np.abs(slope) > 1e-12 * np.maximum(p + q, 1e-300)
    t = np.where(safe, (-p + np.sqrt(np.maximum(p * p + u * (q * q - p * p), 0))) / np.where(safe, slope, 1.0), u)
    pos = np.where(in_first, np.clip(t, 0, 1) / 2, 0.5 + np.clip(t, 0, 1) / 2)
    return np.where(flat, u, np.minimum(pos, np.nextafter(1.0, 0.0)))


from lookalike.models.dp_marginals import _herded as _HERDED  # noqa: E402


def _pair_groups_uncapped(card_a, card_b, cells):
    """``dp_marginals._pair_groups`` before the partner cap: a small attribute's partner got the cells it left."""
    limit = cells * cells
    if cells <= 0 or card_a * card_b <= limit:
        return card_a, card_b
    if card_a <= cells:
        return card_a, max(2, limit // card_a)
    if card_b <= cells:
        return max(2, limit // card_b), card_b
    return cells, cells


def _lexsort_laid(counts, keys, rng):
    """The rows sorted by their keys (random column order was drawn by the caller; random ties), the tokens
    laid along them evenly interleaved: exact balance on the first key only (before ``_herded``)."""
    tokens = np.repeat(np.arange(len(counts)), counts)
    spots = (np.arange(len(tokens)) - np.repeat(np.cumsum(counts) - counts, counts)
             + np.repeat(rng.random(len(counts)), counts)) / np.repeat(np.maximum(counts, 1), counts)
    laid = tokens[np.argsort(spots, kind="stable")]
    keys = np.asarray(keys)[:, rng.permutation(np.asarray(keys).shape[1])]  # random column order
    rows = np.lexsort((rng.random(len(keys)), *keys.T[::-1]))
    out = np.empty(len(keys), dtype=np.int64)
    out[rows] = laid
    return out


def _oracle_heaps(budget, what, counts, lo, hi, at):
    """NOT private (diagnosis only): every value with more than ``at`` rows, charged like private_heaps."""
    import math

    from lookalike.privacy import dp as privacy

    rho = budget.rho_unit * privacy.UNIT_WEIGHTS["heaps"]
    budget.charge(what, "oracle (diagnosis)", rho, sigma=math.sqrt(1 / (2 * rho)))
    keys = counts.index.to_numpy(np.int64)
    return np.sort(keys[(counts.to_numpy(float) > at) & (keys >= lo) & (keys <= hi)])


@contextlib.contextmanager
def patched(patch: dict):
    import importlib

    old = {}
    patch = dict(patch)
    if patch.get(f"{M}:DPMarginals.dp_plan") == "EXACT":  # diagnosis only
        from lookalike.models.dp_marginals import DPMarginals

        fit = DPMarginals.fit
        del patch[f"{M}:DPMarginals.dp_plan"]

        def exact_fit(self, *a, **k):  # the generator's measurements without noise; its record keeps its rho
            rho = self.dp_rho
            self.dp_rho = rho * 1e10
            try:
                return fit(self, *a, **k)
            finally:
                self.dp_rho = rho
                self.dp_record_["rho"] = rho

        DPMarginals.fit = exact_fit
        try:
            with patched(patch):
                yield
        finally:
            DPMarginals.fit = fit
        return
    for key, value in patch.items():
        mod, name = key.split(":")
        m = importlib.import_module(mod)
        old[key] = getattr(m, name)
        setattr(m, name, value)
    try:
        yield
    finally:
        for key, value in old.items():
            mod, name = key.split(":")
            setattr(importlib.import_module(mod), name, value)


def fast_tstr(train, synth, holdout, target, seed=0):
    from lookalike.evaluate import utility
    from lookalike.evaluate.prepare import canonical, evaluation_kind, infer_columns, sample_rows

    described = infer_columns(sample_rows(train, 50_000, seed))
    kinds = {c: evaluation_kind(col.kind) for c, col in described.items()}
    tr, sy, ho = (canonical(f, kinds, described) for f in (train, synth[train.columns], holdout))
    with patched({"lookalike.evaluate.utility:_importances": lambda *a, **k: None}):
        return utility.tstr(tr, sy, ho, kinds, target, seed)["tstr"]["score"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--variants", nargs="+", default=["base"])
    p.add_argument("--tables", nargs="+", default=["credit_data", "lending_club", "mlc_churn"])
    p.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    p.add_argument("--public", nargs="+", default=["none", "dictionary"])
    p.add_argument("--draws", type=int, default=3)
    p.add_argument("--epsilon", type=float, default=1.0)
    p.add_argument("--tstr", action="store_true")
    p.add_argument("--tstr-tables", nargs="*", default=["mlc_churn"])
    p.add_argument("--large-sample", type=int, default=0, help="also score a sample this many times the "
                   "table's rows (``biv_large``): what the model scores with (almost) no sampling noise")
    args = p.parse_args()
    t0 = time.process_time()
    results: dict = {v: [] for v in args.variants}
    for table in args.tables:
        for seed in args.seeds:
            train, holdout, spec = datasets.load(table, seed)
            codes, n_bins, pairs, encode = evaluation_codes(train)
            from lookalike.evaluate import fidelity

            floor = float(fidelity.accuracy(codes, fidelity.shuffle_columns(codes, 0), n_bins, pairs).mean())
            dictionary = data_dictionary(train, holdout)
            for public in args.public:
                for draw in range(args.draws):
                    for v in args.variants:
                        spec_v = VARIANTS[v]
                        dp = {"epsilon": args.epsilon, "delta": 1e-5, "noise_seed": 1000 * seed + draw}
                        if spec_v.get("split"):
                            dp["split"] = {"statistics": spec_v["split"], "model": 1 - spec_v["split"]}
                        with patched(spec_v.get("patch", {})):
                            syn = Synthesizer(model="dp-marginals", seed=seed, dp=dp,
                                              schema=dictionary if public == "dictionary" else None,
                                              model_params=spec_v.get("params") or None).fit(train)
                            synth = syn.sample(len(train), seed=seed)
                            large = syn.sample(args.large_sample * len(train), seed=seed) if args.large_sample else None
                        s = encode(synth[train.columns])
                        biv = float(fidelity.accuracy(codes, s, n_bins, pairs).mean())
                        marg = float(fidelity.accuracy(codes, fidelity.shuffle_columns(s, 0), n_bins, pairs).mean())
                        row = {"variant": v, "table": table, "seed": seed, "public": public, "draw": draw,
                               "bivariate": round(biv, 4), "marginals": round(marg, 4), "floor": round(floor, 4)}
                        if large is not None:
                            row["biv_large"] = round(float(fidelity.accuracy(
                                codes, encode(large[train.columns]), n_bins, pairs).mean()), 4)
                        if args.tstr and table in args.tstr_tables:
                            row["tstr"] = round(float(fast_tstr(train, synth, holdout, spec["target"])), 4)
                        results[v].append(row)
                        print(json.dumps(row), flush=True)
    print("summary (mean over seeds and draws; diff vs first variant, paired):")
    first = args.variants[0]
    for table in args.tables:
        for public in args.public:
            for v in args.variants:
                rs = [r for r in results[v] if r["table"] == table and r["public"] == public]
                b = [r for r in results[first] if r["table"] == table and r["public"] == public]
                line = (f"{table:13s} {public:10s} {v:14s} biv {np.mean([r['bivariate'] for r in rs]):.4f} "
                        f"marg {np.mean([r['marginals'] for r in rs]):.4f} floor {np.mean([r['floor'] for r in rs]):.4f}")
                d = [r["bivariate"] - q["bivariate"] for r, q in zip(rs, b)]
                line += f" dbiv {np.mean(d):+.4f} (up {sum(x > 0 for x in d)}/{len(d)})"
                if rs and "biv_large" in rs[0]:
                    line += f" biv_large {np.mean([r['biv_large'] for r in rs]):.4f}"
                if rs and "tstr" in rs[0]:
                    dt = [r["tstr"] - q["tstr"] for r, q in zip(rs, b)]
                    line += f" tstr {np.mean([r['tstr'] for r in rs]):.4f} dtstr {np.mean(dt):+.4f}"
                print(line)
    print(f"CPU seconds: {time.process_time() - t0:.0f}")


if __name__ == "__main__":
    main()
