"""The screens that make rule detection grow with the columns, not their pairs or triples, never drop a rule: each
is compared with the brute-force check it stands in front of, on tables that hold the rules it could miss."""
import itertools

import numpy as np
import pandas as pd
import pytest

from lookalike import rules as R
from lookalike.schema import infer_schema


def _brute_pairs(x: np.ndarray, y: np.ndarray, decimals: int, tol: np.ndarray) -> list[tuple[int, int]]:
    """The pairs for which some two-input form matches y on every probe row (a missing value never rules out)."""
    out = []
    with np.errstate(all="ignore"):
        for i, j in itertools.combinations(range(len(x)), 2):
            for _, f, _ in R._forms("a", "b", x[i], x[j], squares=False):
                if not (np.abs(np.round(f, decimals) - y) > tol).any():
                    out.append((i, j))
                    break
    return out


@pytest.mark.parametrize("kind", ["counts", "normal", "zeros", "mixed", "uniform"])
def test_the_one_row_screen_keeps_every_pair_the_probe_keeps(kind):
    rng = np.random.default_rng(["counts", "normal", "zeros", "mixed", "uniform"].index(kind))
    for trial in range(40):
        n, probe, decimals = int(rng.integers(2, 30)), 32, int(rng.integers(0, 4))
        values = {}
        for k in range(n):
            v = {"counts": lambda: rng.integers(0, 5, probe).astype(float),
                 "normal": lambda: np.round(rng.normal(0, 10, probe), decimals),
                 "zeros": lambda: np.round(rng.gamma(2, 100, probe), decimals) * (rng.random(probe) < 0.7),
                 "mixed": lambda: rng.choice([0.0, 1.0, 2.0, -1.0, 1e5, 3.5], probe),
                 "uniform": lambda: np.round(rng.uniform(-3, 3, probe), decimals)}[kind]()
            v[rng.random(probe) < 0.05] = np.nan
            values[f"a{k}"] = v
        a, b = rng.choice(n, 2, replace=False)
        xa, xb = values[f"a{a}"], values[f"a{b}"]
        planted = [xa + xb, xa * xb, xa - xb, xb - xa, xa * xa - (xa - xb) ** 2, xb * xb - (xb - xa) ** 2]
        values["c"] = np.round(planted[trial % 6], decimals)
        inputs = [f"a{k}" for k in range(n)]
        tol = np.full(probe, 0.5001 * 10.0 ** -decimals)
        found = R._pairs_passing_probe(inputs, "c", values, np.arange(probe), decimals, tol)
        x = np.stack([values[c] for c in inputs])
        expected = [(inputs[i], inputs[j]) for i, j in _brute_pairs(x, values["c"], decimals, tol)]
        assert found == expected
        assert (inputs[min(a, b)], inputs[max(a, b)]) in found


def test_refuted_never_refutes_a_column_constant_within_the_cells():
    rng = np.random.default_rng(5)
    rows = 256
    cell = rng.integers(-1, 30, (8, rows))  # -1: a row in no cell
    codes = rng.integers(0, 4, (rows, 40))
    for g in range(8):  # column g is a function of group g's cell (any value in rows of no cell)
        codes[:, g] = np.where(cell[g] >= 0, (cell[g] * 7) % 5, rng.integers(0, 9, rows))
    refuted = R._refuted(cell, R._differ_bits(codes), codes.shape[1])
    for g in range(8):
        assert not refuted[g, g]
        assert refuted[g, 8:].mean() > 0.9  # random columns are refuted


def test_refuted_with_gaps_compares_only_present_values():
    rng = np.random.default_rng(6)
    rows = 256
    cell = rng.integers(0, 10, (1, rows))
    codes = np.stack([cell[0] % 3, rng.integers(0, 3, rows)], axis=1)
    codes[rng.random(rows) < 0.3, 0] = -1  # the dependent is missing in some rows: no evidence there
    refuted = R._refuted(cell, R._differ_bits(codes, codes >= 0), 2)
    assert not refuted[0, 0] and refuted[0, 1]


def _brute_equal(probe: np.ndarray, outputs: list[int]) -> list[tuple[int, int]]:
    same = ((probe[:, :, None] == probe[:, None, :]) | np.isnan(probe[:, :, None])
            | np.isnan(probe[:, None, :])).all(axis=0)
    return [(i, int(j)) for i in outputs for j in np.flatnonzero(same[i]) if j != i]


def test_equal_columns_are_matched_as_every_pair_would_be():
    rng = np.random.default_rng(7)
    for _ in range(50):
        probe = rng.integers(0, 3, (8, 12)).astype(float)
        probe[:, 3] = probe[:, 1]
        probe[:, 5] = -probe[:, 1] * 0.0 + probe[:, 1]  # -0.0 where column 1 is 0
        probe[:, 7] = probe[:, 6]  # a pair held by two columns only
        outputs = list(rng.permutation(12)[:8]) + [7]
        assert R._equal_on_probe(probe, outputs) == _brute_equal(probe, outputs)  # no gaps: matched by hash only
        assert (7, 6) in R._equal_on_probe(probe, outputs)
        probe[rng.random(probe.shape) < 0.1] = np.nan
        assert R._equal_on_probe(probe, outputs) == _brute_equal(probe, outputs)


def _brute_categorical(df: pd.DataFrame, cats: list[str]) -> list[dict]:
    rules = []
    for a, b in itertools.permutations(cats, 2):
        pair = df[[a, b]].dropna()
        na, nb = pair[a].nunique(), pair[b].nunique()
        if len(pair) < 20 or nb < 2 or na <= nb or na > 0.5 * len(pair):
            continue
        if pair.groupby(a)[b].nunique().max() == 1:
            rules.append({"type": "combination", "columns": [a, b], "source": "detected"})
    return rules


def test_categorical_combinations_are_those_every_pair_would_give():
    rng = np.random.default_rng(8)
    n = 600
    city = rng.choice([f"city{i}" for i in range(30)], n).astype(object)
    df = pd.DataFrame({"city": city, "region": [f"r{int(c[4:]) % 6}" for c in city],
                       "country": [f"k{int(c[4:]) % 2}" for c in city], "noise": rng.choice(list("abc"), n),
                       "id": [f"id{i}" for i in range(n)]})
    df.loc[rng.random(n) < 0.2, "region"] = None  # a determined column with gaps is still determined
    df.loc[rng.random(n) < 0.05, "city"] = None
    cats = list(df.columns)
    found = R._categorical_combinations(df, cats)
    assert found == _brute_categorical(df, cats)
    assert {"type": "combination", "columns": ["city", "region"], "source": "detected"} in found


def test_a_year_determines_a_column_that_has_gaps():
    """The few-valued screen compares present values only: a yearly figure missing in some rows is still the
    year's."""
    rng = np.random.default_rng(9)
    n = 2000
    year = rng.integers(1990, 2000, n)
    cpi = (year - 1989) * 1.7 + 100
    cpi[rng.random(n) < 0.3] = np.nan
    df = pd.DataFrame({"year": year, "cpi": cpi, "x": np.round(rng.normal(size=n), 2)})
    rules = infer_schema(df).rules
    assert {"type": "combination", "columns": ["year", "cpi"], "source": "detected"} in rules, rules


def test_a_scale_base_is_kept_by_the_screen_with_many_groups():
    rng = np.random.default_rng(10)
    n = 4000
    group = rng.integers(0, 60, n)
    factor = 1 + rng.uniform(0, 1, 60)
    base = np.round(rng.gamma(2, 1000, n), 2)
    y = np.round(base * factor[group], 2)
    values = {"base": base, "other": np.round(rng.gamma(2, 1000, n), 2)}
    rows = R._screen_rows(n)
    tol = np.full(n, 1.0001e-2)
    clusters = R._scale_clusters(["base", "other"], values, y[rows], tol[rows], rows, 2)
    assert clusters[0] <= 60 < clusters[1]
    assert R._one_factor_per_group(base[rows], y[rows], tol[rows], group[rows], 2)
    assert not R._one_factor_per_group(values["other"][rows], y[rows], tol[rows], group[rows], 2)


def test_rank_correlation_is_the_correlation_of_ranks():
    rng = np.random.default_rng(11)
    x = np.round(rng.normal(size=(300, 6)), 1)  # ties
    x[:, 1] = x[:, 0] * 2 + rng.normal(scale=0.05, size=300)
    x[:, 2] = 1.0  # constant: no correlation
    ranks = pd.DataFrame(x).rank().to_numpy(float)
    assert np.allclose(R._rank_correlation(x, 40), R._pairwise_correlation(ranks, 40), equal_nan=True)
    assert np.array_equal(R._dense_ranks(R._dense_codes(x)), ranks)
    assert np.allclose(R._rank_correlation(x, 40, R._dense_codes(x)), R._pairwise_correlation(ranks, 40),
                       equal_nan=True)
    exact, screened = R._pairwise_correlation(ranks, 40), R._rank_correlation(x, 40, R._dense_codes(x), below=0.95)
    strong = ~(exact < 0.95)  # the pairs the screen must keep, a constant column's included: exact there
    assert np.allclose(screened[strong], exact[strong], equal_nan=True) and strong[0, 1]
    assert (screened[~strong] < 0.95).all()
    x[rng.random(x.shape) < 0.1] = np.nan
    ranks = pd.DataFrame(x).rank().to_numpy(float)
    assert np.allclose(R._rank_correlation(x, 40), R._pairwise_correlation(ranks, 40), equal_nan=True)


def test_flag_products_are_those_every_pair_would_give():
    rng = np.random.default_rng(12)
    n, probe = 400, np.arange(32)
    flags = {f"d{k}": rng.integers(0, 2, n).astype(float) for k in range(6)}
    values = {f"a{k}": np.round(rng.gamma(2, 50, n), 1) for k in range(8)}
    values["a3"][rng.random(n) < 0.1] = np.nan
    flags["d2"][rng.random(n) < 0.1] = np.nan
    for d, a in (("d2", "a3"), ("d4", "a1")):
        y = np.round(flags[d] * values[a], 1)
        tol = np.full(n, 0.5001 * 0.1)
        found = R._flag_products_passing_probe(list(flags), flags, list(values), values, y, probe, 1, tol)
        f = np.stack([flags[k][probe] for k in flags])
        x = np.stack([values[k][probe] for k in values])
        with np.errstate(all="ignore"):
            bad = (np.abs(np.round(f[:, None] * x[None], 1) - y[probe]) > tol[probe]).any(axis=2)
        on = (f == 1).any(axis=1)
        expected = [(list(flags)[i], list(values)[j]) for i, j in zip(*np.nonzero(~bad & on[:, None]))]
        assert found == expected and (d, a) in found


def test_inequality_pairs_with_overlapping_ranges_are_kept():
    rng = np.random.default_rng(13)
    n = 500
    start = rng.uniform(0, 100, n)
    values = {"start": start, "end": start + rng.uniform(0, 5, n), "age": rng.uniform(200, 300, n),
              "gappy": np.where(rng.random(n) < 0.2, np.nan, start - 1)}
    pairs = R._ordered_pairs_passing_probe(list(values), values, np.arange(32))
    assert ("start", "end") in pairs and ("start", "gappy") in pairs
    assert ("start", "age") not in pairs  # age is above start in every row: never broken by chance


def _old_scale_probe(inputs, values, y, tol, codes, probe):
    x = np.stack([values[a][probe] for a in inputs])
    yp, tp, g = y[probe], tol[probe], codes[probe]
    keep = np.ones(len(inputs), dtype=bool)
    with np.errstate(all="ignore"):
        q = yp / x
        e = 1.01 * tp / np.abs(x)
        usable = np.isfinite(q) & (x != 0) & np.isfinite(e) & (g >= 0)
        for group in np.unique(g[g >= 0]):
            rows = usable & (g == group)
            keep &= np.where(rows, q - e, -np.inf).max(axis=1) <= np.where(rows, q + e, np.inf).min(axis=1)
    return keep


def test_the_scale_probe_for_every_grouping_at_once_is_the_probe_for_each():
    rng = np.random.default_rng(14)
    n, probe = 1000, np.arange(0, 1000, 31)
    group = rng.integers(0, 5, n)
    base = np.round(rng.gamma(2, 100, n), 1)
    values = {"base": base, "small": rng.integers(0, 4, n).astype(float), "other": np.round(rng.normal(size=n), 1)}
    y = np.round(base * (1 + group / 10), 1)
    bys = [group, rng.integers(0, 3, n), np.where(rng.random(n) < 0.5, -1, rng.integers(0, 2, n)), np.full(n, -1)]
    bys += [rng.integers(0, 8, n) for _ in range(70)]  # more than a block of 64
    tol = np.full(n, 1.0001e-1)
    table = R._scale_inputs_passing_probe(list(values), values, y, tol, probe, R._scale_segments(bys, probe))
    for k, codes in enumerate(bys):
        assert table[:, k].tolist() == _old_scale_probe(list(values), values, y, tol, codes, probe).tolist()
    assert table[0, 0]


def test_inequality_pairs_the_extreme_rows_refute_are_left_out_and_true_ones_kept():
    rng = np.random.default_rng(15)
    n = 2000
    small = rng.integers(0, 12, n).astype(float)
    values = {"small": small, "big": np.round(rng.gamma(2, 1000, n), 2),
              "above": small + rng.integers(0, 3, n), "gappy": np.where(rng.random(n) < 0.3, np.nan, small - 1)}
    values["big"][np.flatnonzero(small == 11)[0]] = 3.0  # big's minimum row holds small above it
    pairs = R._ordered_pairs_passing_probe(list(values), values, np.arange(32))
    for a, b in itertools.combinations(values, 2):  # every pair one of whose columns is below the other's in every row
        both = ~np.isnan(values[a]) & ~np.isnan(values[b])
        if np.all(values[a][both] <= values[b][both]) or np.all(values[b][both] <= values[a][both]):
            assert (a, b) in pairs
    assert ("small", "big") not in pairs
