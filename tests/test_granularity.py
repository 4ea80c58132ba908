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
