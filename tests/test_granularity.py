"""Numbers are written the way real ones are (issue 10): heaping, rounding units, protected exact values."""
import numpy as np
import pandas as pd

from lookalike.encoding.datetime import DatetimeCodec
from lookalike.encoding.numeric import NumericCodec


def decode_all(codec, x, seed=0):
    return codec.decode(codec.encode(x), np.random.default_rng(seed))


def share_multiple(x, unit):
    x = x[~np.isnan(x) & (x != 0)]
    return np.mean(np.isclose(np.mod(x, unit), 0) | np.isclose(np.mod(x, unit), unit))


def test_heaped_amounts_keep_their_rounding_structure():
    rng = np.random.default_rng(0)
    x = np.where(rng.random(2000) < 0.7, rng.integers(1, 80, 2000) * 100, rng.integers(100, 8000, 2000)).astype(float)
    codec = NumericCodec(decimals=0, k=5).fit(x)
    y = decode_all(codec, x)
    assert abs(share_multiple(y, 100) - share_multiple(x, 100)) < 0.03
    assert len(np.unique(y)) <= 1.5 * len(np.unique(x))


def test_prices_ending_in_99_keep_the_ending():
    rng = np.random.default_rng(1)
    x = rng.integers(1, 200, 1500) + 0.99
    codec = NumericCodec(decimals=2, k=5).fit(x)
    y = decode_all(codec, x)
    cents = np.round(y * 100) % 100
    assert np.mean(cents == 99) > 0.95


def test_integers_stay_integers_and_discrete_columns_stay_discrete():
    x = np.random.default_rng(2).integers(0, 6, 1000).astype(float)
    y = decode_all(NumericCodec(decimals=0, k=5).fit(x), x)
    assert set(np.unique(y)) <= set(np.unique(x))


def test_a_rare_exact_value_never_reappears():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.integers(1, 50, 999) * 10, [123457]]).astype(float)  # one extreme, unique value
    codec = NumericCodec(decimals=0, k=5).fit(x)
    for seed in range(3):
        y = decode_all(codec, x, seed)
        assert 123457 not in y
        assert y.max() <= np.sort(x)[-5]  # clipped to the 5th largest value


def test_timestamps_on_the_hour_stay_on_the_hour():
    rng = np.random.default_rng(4)
    hours = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 5000, 800), unit="h")
    s = pd.Series(hours.strftime("%Y-%m-%d %H:%M:%S"))
    codec = DatetimeCodec(formats=[["%Y-%m-%d %H:%M:%S", 1.0]], k=5).fit(s)
    out = codec.decode(codec.encode(s), np.random.default_rng(0))
    assert out.str.endswith(":00:00").all()


def test_a_number_learned_relative_to_another_keeps_its_own_heaping():
    """A loan amount learned as its excess over a non-round base (to keep loan >= base) is still a multiple of
    1,000 as often as in the real rows, with about the real number of distinct values, and never below its base."""
    from lookalike.encoding.relative import RelativeCodec

    rng = np.random.default_rng(4)
    n = 4000
    base = np.round(rng.gamma(2.0, 3000.0, n))
    round_up = np.ceil((base + rng.gamma(2.0, 800.0, n)) / 1000) * 1000
    loan = np.where(rng.random(n) < 0.5, round_up, base + np.round(rng.gamma(2.0, 800.0, n)))
    codec = RelativeCodec(base="base", decimals=0, k=5).fit((loan, base))
    tokens = codec.encode((loan, base))
    shuffled = tokens[rng.permutation(n)]  # tokens of other rows: base + difference is not round by chance
    y = codec.decode(shuffled, np.random.default_rng(0), base=base)
    assert abs(share_multiple(y, 1000) - share_multiple(loan, 1000)) < 0.05
    assert len(np.unique(y)) <= 1.5 * len(np.unique(loan))
    inside = base <= codec.value_range()[1]  # a base above the column's protected range is clipped (rules repair it)
    assert np.all(y[inside] >= base[inside])


def test_a_relative_column_of_few_values_decodes_to_those_values():
    from lookalike.encoding.relative import RelativeCodec

    rng = np.random.default_rng(5)
    base = rng.choice([0.0, 0.7], 3000)
    x = rng.choice([0.7, 1.0, 2.0], 3000)
    codec = RelativeCodec(base="base", decimals=1, k=5).fit((x, base))
    y = codec.decode(codec.encode((x, base))[rng.permutation(3000)], np.random.default_rng(0), base=base)
    assert set(np.round(np.unique(y), 6)) <= {0.7, 1.0, 2.0}
    assert np.all(y >= base - 1e-9)


def test_float32_numbers_come_back_as_the_same_float32_numbers():
    """Tables saved from float32 (R, many public data sets) hold 3.2 as 3.200000047683716. Rounded to 8
    decimals it would become 3.20000005, a number no real row has; learnt as 3.2 and written back as float32
    it equals the real values exactly."""
    from lookalike import Synthesizer
    from lookalike.schema.infer import infer_column

    rng = np.random.default_rng(7)
    n = 1500
    unemp = rng.choice([3.2, 3.1, 1.8, 4.3, 10.6], n).astype(np.float32).astype(float)
    share = np.round(rng.random(n), 4).astype(np.float32).astype(float)
    df = pd.DataFrame({"unemp": unemp, "share": share, "group": rng.choice(["a", "b"], n)})
    assert infer_column("unemp", df["unemp"]).options == {"integer": False, "decimals": 1, "float32": True}
    assert infer_column("share", df["share"]).options["decimals"] == 4
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    assert set(out["unemp"].dropna()) <= set(unemp)
    assert np.all(out["share"].to_numpy() == out["share"].to_numpy().astype(np.float32).astype(float))
    genuine = pd.Series(rng.random(500) * 1000)  # real float64 numbers are not taken for float32 ones
    assert "float32" not in infer_column("x", genuine).options


def test_float32_numbers_of_full_precision_are_float32_numbers():
    """AER.CollegeDistance's tuition holds 41 float32 numbers such as 0.54734004 (8 decimals at their shortest):
    taken for float64 ones, they came back as 0.54734004 next to real 0.5473400354385376, and the univariate
    accuracy of the column fell to 0.77 against the holdout's 0.96."""
    from lookalike import Synthesizer
    from lookalike.schema.infer import infer_column

    rng = np.random.default_rng(11)
    levels = rng.uniform(0.2, 1.5, 41).astype(np.float32).astype(float)  # up to 9 decimals at their shortest
    tuition = rng.choice(levels, 2000)
    options = infer_column("tuition", pd.Series(tuition)).options
    assert options["float32"] and options["decimals"] >= 8
    df = pd.DataFrame({"tuition": tuition, "group": rng.choice(["a", "b"], 2000)})
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    assert set(out["tuition"]) <= set(levels)


def _state_year_values(rng, n_values=600, rows_each=12):
    """A state-year variable: many values (more than max_heaps), each repeated on many rows."""
    values = np.round(rng.uniform(10_000, 30_000, n_values), 3)
    return rng.permutation(np.repeat(values, rows_each))


def test_a_column_of_many_heavily_repeated_values_is_written_only_on_them():
    rng = np.random.default_rng(5)
    x = _state_year_values(rng)
    codec = NumericCodec(decimals=3, k=5).fit(x)
    assert len(codec.heaps_) == 255  # the rest of the frequent values are not heaps: they share bins
    for seed in range(2):
        y = decode_all(codec, x, seed)
        assert set(np.unique(y)) <= set(np.unique(x))  # drawn continuously, nearly every row was a new value
        assert len(np.unique(y)) <= len(np.unique(x))
    # their shares survive: deciles of the decoded column against the real one
    edges = np.quantile(x, np.linspace(0.1, 0.9, 9))
    real = np.bincount(np.searchsorted(edges, x), minlength=10) / len(x)
    synth = np.bincount(np.searchsorted(edges, y), minlength=10) / len(y)
    assert np.abs(real - synth).sum() / 2 < 0.02


def test_levels_never_include_a_rare_value_and_the_rest_stays_continuous():
    rng = np.random.default_rng(6)
    frequent = _state_year_values(rng, n_values=400, rows_each=10)
    rare = np.round(rng.uniform(10_000, 30_000, 2000), 3)  # each once
    x = rng.permutation(np.concatenate([frequent, rare]))
    codec = NumericCodec(decimals=3, k=5).fit(x)
    kept = np.concatenate([codec.levels_, codec.heaps_]) / 1000
    ends = {codec.lo_ / 1000, codec.hi_ / 1000}  # the protected range's ends (clipping heaps them, as before)
    assert set(frequent) <= set(kept) and set(kept) - ends <= set(frequent)  # every frequent value, no rare one
    y = decode_all(codec, x)
    inside = y[~np.isin(y, list(ends))]
    assert np.isin(inside, rare).sum() <= 3  # only by chance: continuous draws on a grid of 0.001
    on_levels = np.isin(y, frequent)
    assert abs(on_levels.mean() - len(frequent) / len(x)) < 0.03  # the rare rows' share is drawn as before


def test_rare_values_that_repeat_keep_about_their_number_of_distinct_values():
    rng = np.random.default_rng(7)
    values = np.round(rng.lognormal(8, 0.5, 3000), 4)  # household expenditure, seen on each member's row
    x = rng.permutation(np.repeat(values, rng.integers(2, 5, len(values))))  # 2 to 4 rows: rare (k=5)
    codec = NumericCodec(decimals=4, k=5).fit(x)
    y = decode_all(codec, x)
    inside = y[(y != codec.lo_ / 10_000) & (y != codec.hi_ / 10_000)]  # the protected range's ends, as before
    assert np.isin(inside, values).sum() <= 3  # grid positions are not the real values (only by chance)
    ratio = len(np.unique(y)) / len(np.unique(x))
    assert 0.9 < ratio < 1.1  # drawn continuously: one value per row, about 3 times the real number
    edges = np.quantile(x, np.linspace(0.1, 0.9, 9))
    real = np.bincount(np.searchsorted(edges, x), minlength=10) / len(x)
    synth = np.bincount(np.searchsorted(edges, y), minlength=10) / len(y)
    assert np.abs(real - synth).sum() / 2 < 0.03


def test_levels_and_grid_survive_the_saved_state():
    rng = np.random.default_rng(8)
    x = np.concatenate([_state_year_values(rng, 400, 8), np.repeat(np.round(rng.uniform(0, 9_000, 500), 3), 3)])
    codec = NumericCodec(decimals=3, k=5).fit(x)
    assert len(codec.levels_) and len(codec.grid_)
    loaded = NumericCodec.from_dict(codec.to_dict())
    tokens = codec.encode(x)
    np.testing.assert_array_equal(loaded.encode(x), tokens)
    np.testing.assert_array_equal(loaded.decode(tokens, np.random.default_rng(1)),
                                  codec.decode(tokens, np.random.default_rng(1)))


def test_repeated_rare_prices_of_a_skewed_column_keep_their_number_of_distinct_values():
    """Grid sizes per cell, not per bin: the draws crowd into a bin's dense cells, and a grid spread evenly
    over the bin gave those cells too few positions (0.81 of the real distinct values here)."""
    rng = np.random.default_rng(9)
    prices = np.round(rng.gamma(2, 3, 800), 2)
    x = rng.permutation(np.repeat(prices, rng.integers(2, 5, len(prices))))
    codec = NumericCodec(decimals=2, k=5).fit(x)
    y = decode_all(codec, x)
    assert 0.9 < len(np.unique(y)) / len(np.unique(x)) < 1.1


def test_a_relative_column_with_many_frequent_values_comes_back_on_them():
    """A family income learned over a non-mother income: most rows hold one of its frequent values, which
    base + difference almost never hits; the decoded column keeps their share and about its distinct count."""
    from lookalike.encoding.relative import RelativeCodec

    rng = np.random.default_rng(10)
    frequent = np.round(rng.uniform(20_000, 90_000, 300))
    x = np.concatenate([np.repeat(frequent, 10), np.round(rng.uniform(20_000, 90_000, 1000))])  # 3000 on 300 values
    base = x - np.round(rng.gamma(2.0, 3000.0, len(x)))
    codec = RelativeCodec(base="base", decimals=0, k=5).fit((x, base))
    y = codec.decode(codec.encode((x, base)), np.random.default_rng(0), base=base)
    assert abs(np.isin(y, frequent).mean() - 0.75) < 0.05  # base + difference alone: a few percent
    assert len(np.unique(y)) <= 1.2 * len(np.unique(x))
    assert np.all(y >= base - 1e-9)
    shuffled = codec.encode((x, base))[rng.permutation(len(x))]  # other rows' differences: sums land anywhere
    y = codec.decode(shuffled, np.random.default_rng(0), base=base)
    assert np.isin(y, frequent).mean() > 0.5
    assert np.all(y >= base - 1e-9)
    rare = np.setdiff1d(x, frequent)
    assert set(codec.own_levels_) <= set(frequent) | {codec.range_[0], codec.range_[1]}  # never a rare value
    loaded = RelativeCodec.from_dict(codec.to_dict())
    np.testing.assert_array_equal(loaded.decode(codec.encode((x, base)), np.random.default_rng(1), base=base),
                                  codec.decode(codec.encode((x, base)), np.random.default_rng(1), base=base))
    assert np.isin(y, rare).mean() < 0.03  # only by chance: 1,000 rare integers among 70,000


# -- numbers that are no short decimals (issue 15: ISLR.Wage) ------------------------------------------------
def _wage_table(n=2000, seed=12):
    """ISLR.Wage's shape: logwage on a few hundred values written with 14 decimals, wage = exp(logwage) at
    float64's full precision (127.11574381218446), both heaped (each value on several rows)."""
    rng = np.random.default_rng(seed)
    levels = np.round(rng.normal(4.6, 0.35, 300), 14)
    logwage = np.where(rng.random(n) < 0.8, rng.choice(levels[:150], n), rng.choice(levels[150:], n))
    return pd.DataFrame({"age": rng.integers(18, 80, n), "logwage": logwage, "wage": np.exp(logwage),
                         "group": rng.choice(["a", "b", "c"], n)})


def test_full_precision_numbers_are_marked_and_short_decimals_are_not():
    from lookalike.schema.infer import infer_column

    df = _wage_table()
    assert infer_column("wage", df["wage"]).options == {"integer": False, "decimals": 8, "full_precision": True}
    assert infer_column("ratio", pd.Series(np.arange(1, 500) / 7)).options.get("full_precision")
    short = pd.Series(np.round(np.random.default_rng(0).uniform(0, 100, 500), 3))
    assert infer_column("price", short).options == {"integer": False, "decimals": 3}
    single = pd.Series(np.random.default_rng(0).choice([3.2, 1.8], 500).astype(np.float32).astype(float))
    assert "full_precision" not in infer_column("unemp", single).options


def test_heaped_full_precision_values_come_back_as_the_real_floats():
    """Rounded to the grid's 8 decimals, no synthetic wage equalled a real one (87.98103279 against
    87.98103278560542) and a discriminator told the tables apart at AUC 0.91; the formula column logwage,
    recomputed as log(wage), was rounded to 8 decimals too."""
    from lookalike import Synthesizer

    df = _wage_table()
    syn = Synthesizer(model="copula", seed=0).fit(df)
    assert {"type": "formula", "column": "logwage", "expression": "log(wage)", "source": "detected"} in syn.schema_.rules
    out = syn.sample(2000, seed=1)
    heaped = df["wage"].map(df["wage"].value_counts()) >= 5
    assert heaped.mean() > 0.7
    for c in ("wage", "logwage"):
        assert out[c].isin(set(df[c])).mean() > heaped.mean() - 0.1, c
    np.testing.assert_allclose(np.log(out["wage"]), out["logwage"], rtol=0, atol=1e-14)


def test_only_floats_seen_in_k_rows_are_written_and_the_state_keeps_them():
    """A heap's key (its value at 8 decimals) may gather several floats; one seen in fewer than k rows is never
    written, the heap then keeps its grid value. Saved and loaded codecs write the same floats."""
    common, rare = 1 / 3, 1 / 3 + 1e-12  # one key at 8 decimals, two floats
    other = [2 / 3 + 1e-12] * 3 + [2 / 3 + 2e-12] * 3  # a heap (6 rows) of two floats with 3 rows each
    x = np.array([common] * 40 + [rare] * 3 + other + list(np.linspace(5, 6, 200)))
    codec = NumericCodec(decimals=8, k=5, written=True).fit(x)
    y = codec.as_written(decode_all(codec, x))
    assert common in set(y) and rare not in set(y)
    assert not set(other) & set(y) and round(2 / 3, 8) in set(y)  # the heap, at its grid value
    loaded = NumericCodec.from_dict(codec.to_dict())
    np.testing.assert_array_equal(loaded.as_written(decode_all(loaded, x)), y)
    plain = NumericCodec(decimals=8, k=5).fit(x)  # without written=True nothing changes
    assert common not in set(plain.as_written(decode_all(plain, x)))


def test_float32_numbers_are_written_as_the_table_holds_them():
    """A float32 column read from text holds 16-digit decimals (0.1115559935569763), not the float32's widened
    float64 (0.11155599355697632): heaped values come back as the floats the table holds."""
    from lookalike import Synthesizer

    rng = np.random.default_rng(13)
    single = rng.uniform(1, 9, 40).astype(np.float32)
    held = np.array([float(f"{float(v):.16g}") for v in single])  # as R writes them
    assert np.any(held != single.astype(float))
    df = pd.DataFrame({"share": rng.choice(held, 2000), "group": rng.choice(["a", "b"], 2000)})
    syn = Synthesizer(model="copula", seed=0).fit(df)
    assert syn.schema_["share"].options.get("float32")
    out = syn.sample(1000, seed=1)
    assert set(out["share"]) <= set(held)


def test_a_relative_column_equal_to_its_written_base_stays_equal():
    """labsup's faminc = nonmomi + labinc, learned relative to nonmomi (faminc >= nonmomi), where labinc is
    often 0: the base is written as the float the table holds, so must the column be where it equals the base,
    or the inequality breaks by one bit."""
    from lookalike.encoding.table import TableEncoder
    from lookalike.schema.infer import infer_schema

    rng = np.random.default_rng(14)
    n = 3000
    single = rng.uniform(100, 900, 60).astype(np.float32)
    held = np.array([float(f"{float(v):.16g}") for v in single])
    base = rng.choice(held, n)
    labinc = np.where(rng.random(n) < 0.6, 0.0, np.round(rng.uniform(1, 300, n), 2))
    total = (base.astype(np.float32) + labinc.astype(np.float32)).astype(float)
    total = np.where(labinc == 0, base, total)
    df = pd.DataFrame({"nonmomi": base, "faminc": total})
    schema = infer_schema(df)
    assert {"type": "inequality", "left": "nonmomi", "op": "<=", "right": "faminc"} in [
        {k: r[k] for k in ("type", "left", "op", "right")} for r in schema.rules if r["type"] == "inequality"]
    enc = TableEncoder(schema, seed=0).fit(df)
    assert enc.relative_ == {"faminc": "nonmomi"}
    out = enc.decode(enc.encode(df), seed=3)
    assert (out["faminc"] >= out["nonmomi"]).all()
    assert (out["faminc"] == out["nonmomi"]).mean() > 0.4


def test_large_numbers_with_long_decimals_do_not_overflow():
    """A float column of values up to 3e11 at 8 decimals overflowed int64 (decoded as -9.2e10)."""
    from lookalike.schema.infer import decimal_places

    x = np.random.default_rng(15).uniform(1e11, 3e11, 1000)
    d = decimal_places(x)
    assert d == 4
    y = decode_all(NumericCodec(decimals=d, k=5).fit(x), x)
    assert y.min() >= np.sort(x)[4] and y.max() <= np.sort(x)[-5]
    assert decimal_places(np.array([0.123456789, 1.5])) == 8


# -- decoding speed without changing what is decoded ----------------------------------------------------
def _largest_unit_reference(values, units_desc):
    """largest_unit as it was before the class table (one modulo pass per unit)."""
    values = np.asarray(values, dtype=np.int64)
    out = np.ones(len(values), dtype=np.int64)
    done = np.zeros(len(values), dtype=bool)
    for u in units_desc:
        hit = ~done & (values % u == 0)
        out[hit] = u
        done |= hit
    return out


def _snap_reference(v, unit, units_desc):
    """snap_to_unit as it was before the nearest-multiple shortcut (seven candidates for every row)."""
    m = np.round(v / unit).astype(np.int64)
    offsets = np.array([0, -1, 1, -2, 2, -3, 3])
    cand = (m[:, None] + offsets[None, :]) * unit[:, None]
    cls = _largest_unit_reference(cand.ravel(), units_desc).reshape(cand.shape)
    dist = np.abs(cand - v[:, None]).astype(float)
    dist[cls != unit[:, None]] = np.inf
    best = np.argmin(dist, axis=1)
    picked = cand[np.arange(len(v)), best]
    none_valid = ~np.isfinite(dist.min(axis=1))
    return np.where(none_valid, m * unit, picked).astype(float)


def test_largest_unit_and_snapping_decode_as_before():
    from lookalike.encoding.numeric import largest_unit, snap_to_unit, unit_series

    rng = np.random.default_rng(20)
    for units in (unit_series(10**4), unit_series(10**12), [1], [7, 3, 1], [10**6, 999_983, 1]):
        units = np.array(sorted(units, reverse=True), dtype=np.int64)
        x = rng.integers(-10**7, 10**7, 20_000) * rng.choice(units, 20_000)  # period above the table: 2nd path
        np.testing.assert_array_equal(largest_unit(x, units), _largest_unit_reference(x, units))
        v = rng.uniform(-5e6, 5e6, 20_000)
        v[:50] = np.round(v[:50]) + 0.5  # ties between two multiples
        unit = rng.choice(units, 20_000)
        np.testing.assert_array_equal(snap_to_unit(v, unit, units), _snap_reference(v, unit, units))


def _levels_and_grid_case():
    rng = np.random.default_rng(21)
    levels = np.round(rng.uniform(100, 900, 400), 2)  # more frequent values than max_heaps: levels
    rare = np.round(rng.uniform(100, 900, 300), 2)  # values on 2 rows each: a repeat grid
    x = np.concatenate([np.repeat(levels, 6), np.repeat(rare, 2), np.round(rng.uniform(100, 900, 1500), 1),
                        np.round(rng.uniform(100, 900, 500) / 50) * 50, [np.nan] * 40])
    codec = NumericCodec(decimals=2, k=5).fit(x)
    tokens = codec.encode(x)
    tokens = np.column_stack([tokens[rng.permutation(len(x)), j] for j in range(tokens.shape[1])])
    return x, codec, tokens


def test_decoding_gives_the_same_numbers_as_before_the_per_cell_lookups():
    """The digest of this decode was taken with the code before decoding looked grid sizes and level ranges up
    per cell (and before the class table and the snapping shortcut): the same seed writes the same numbers."""
    import hashlib

    x, codec, tokens = _levels_and_grid_case()
    assert len(codec.levels_) and len(codec.grid_) and len(codec.units_) == 10
    y = codec.decode(tokens, np.random.default_rng(5))
    assert hashlib.sha1(np.nan_to_num(y, nan=-1.0).tobytes()).hexdigest() == "37a48758824a129ff676bccfcddcd70bb1edb958"


def test_a_codec_fitted_again_decodes_with_its_new_state():
    x, codec, tokens = _levels_and_grid_case()
    codec.decode(tokens, np.random.default_rng(5))  # fills the per-cell lookups
    other = np.round(np.random.default_rng(22).uniform(100, 900, 3000), 2)
    other = np.concatenate([np.repeat(other[:500], 5), other])
    codec.fit(other)
    fresh = NumericCodec(decimals=2, k=5).fit(other)
    t = fresh.encode(other)
    np.testing.assert_array_equal(codec.decode(t, np.random.default_rng(1)), fresh.decode(t, np.random.default_rng(1)))
def test_a_difference_of_zero_stands_only_where_the_column_ties_its_base():
    """ISLR.Caravan: a contribution level (0, or 5-7 with a policy) is at least its policy count (0-3) and equals
    it only where both are 0. A model that draws the difference 0 over a count of 1-3 got the count itself back,
    values the level never holds (worst distinct ratio 1.75). Such a row goes to one of the column's own values;
    a difference of 0 over a base of 0, where the real rows tie, stands. With and without a rare value (a single
    4: then the column is no few-valued one and its frequent values do the work)."""
    from lookalike.encoding.relative import RelativeCodec

    rng = np.random.default_rng(15)
    n = 4000
    base = rng.choice([0.0, 1.0, 2.0, 3.0], n, p=[0.4, 0.4, 0.15, 0.05])
    for rare in (False, True):
        x = np.where(base == 0, 0.0, rng.choice([5.0, 6.0, 7.0], n))
        if rare:
            x[np.flatnonzero(base == 1)[0]] = 4.0
        codec = RelativeCodec(base="base", decimals=0, k=5).fit((x, base))
        assert bool(len(codec.levels_)) != rare
        tokens = codec.encode((x, base))
        np.testing.assert_array_equal(codec.decode(tokens, np.random.default_rng(0), base=base)[base == 0], 0.0)
        y = codec.decode(tokens[rng.permutation(n)], np.random.default_rng(0), base=base)  # other rows' differences
        assert not np.isin(y, [1.0, 2.0, 3.0]).any(), np.unique(y)  # the base itself: never the column's value
        assert rare or set(np.unique(y)) <= {0.0, 5.0, 6.0, 7.0}, np.unique(y)
        assert np.all(y >= base)
        assert (y[base == 0] == 0).mean() > 0.3  # a tie at 0 stands
        loaded = RelativeCodec.from_dict(codec.to_dict())
        np.testing.assert_array_equal(loaded.decode(tokens, np.random.default_rng(1), base=base[::-1]),
                                      codec.decode(tokens, np.random.default_rng(1), base=base[::-1]))


def test_decimals_with_single_precision_noise_keep_their_grid():
    """Ecdat's scanner panels (Yogurt, Catsup, Cracker) hold prices such as 7.9 next to 7.9000004 and
    88.999999: one-decimal (or whole) numbers that went through single precision. Read as 7-8 decimals, their
    new values spread between the real ones (7.46375, 3.147674) and Yogurt's price.weight showed 1.8 times the
    real number of distinct values at equal rows. Now new values are drawn on the real grid, while heaps keep
    their floats (7.9 and 7.9000004 stay two values where each is seen in k+ rows)."""
    from lookalike import Synthesizer
    from lookalike.schema.infer import infer_column

    rng = np.random.default_rng(4)
    levels = np.round(rng.uniform(2, 11, 40), 1)
    clean = rng.choice(levels, 3000, p=rng.dirichlet(np.ones(40) * 0.5))
    twin = {v: v * (1 + rng.choice([-1, 1]) * rng.uniform(1e-8, 6e-8)) for v in levels}  # 7.9 -> 7.9000004
    noisy = np.where(rng.random(3000) < 0.3, [twin[v] for v in clean], clean)
    options = infer_column("price", pd.Series(noisy)).options
    assert options["full_precision"] and options["grid"] == 1 and options["decimals"] >= 7
    assert infer_column("cents", pd.Series(np.round(noisy * 10) * (1 + 4e-8))).options["grid"] == 0
    assert "grid" not in infer_column("wage", _wage_table()["wage"]).options
    df = pd.DataFrame({"price": noisy, "brand": rng.choice(["a", "b"], 3000)})
    out = Synthesizer(model="copula", seed=0).fit(df).sample(3000, seed=1)["price"].to_numpy()
    off_grid = np.abs(out - np.round(out, 1)) > 1e-6 * np.abs(out)
    assert not off_grid.any(), out[off_grid][:5]
    assert len(np.unique(out)) <= 1.2 * len(np.unique(noisy))
    heaps = pd.Series(noisy).value_counts()
    heaps = set(heaps[heaps >= 20].index)
    assert len({round(v, 1) for v in heaps}) < len(heaps)  # some one-decimal values in two floats, k+ rows each
    assert heaps <= set(out)  # each comes back as the table writes it
