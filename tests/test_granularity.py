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
