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
