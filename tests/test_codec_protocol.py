"""Every codec follows one protocol: analyse (the only step that reads data) -> reduce -> encode/decode.

What this buys users: statistics computed per partition and merged give the same model as statistics of the
whole table (data larger than memory), and the learned state is what the model file stores, nothing more."""
import json

import numpy as np
import pandas as pd
import pytest

from lookalike.encoding.base import Codec, merge_stats
from lookalike.encoding.categorical import CategoricalCodec
from lookalike.encoding.datetime import DatetimeCodec
from lookalike.encoding.identifiers import ConstantCodec, IdCodec
from lookalike.encoding.numeric import NumericCodec
from lookalike.encoding.relative import RelativeCodec
from lookalike.encoding.table import CODECS
from lookalike.encoding.text import TextCodec

RNG = np.random.default_rng(0)
N = 1200


def _numbers():
    x = np.round(RNG.gamma(2.0, 300.0, N), 2)
    x[RNG.random(N) < 0.3] = 500.0  # a heaped value
    x[RNG.random(N) < 0.05] = np.nan
    return x


def _categories():
    # distinct frequencies, so "most frequent first" has no ties to order
    values = [f"c{i}" for i in range(8) for _ in range(10 + 9 * i)] + [f"rare{i}" for i in range(30)]
    return pd.Series(RNG.permutation(np.array(values + [None] * 20, dtype=object)), dtype=object)


def _titles():
    """A long tail of titles seen once, made of words many rows share (``rare: generate`` builds a pool)."""
    words = [["Senior", "Junior", "Lead", "Chief", "Staff", "Head"], ["Data", "Sales", "Legal", "Audit", "Design", "Payroll"],
             ["Analyst", "Manager", "Officer", "Planner", "Advisor", "Director"], ["for", "in", "at", "with", "of", "on"],
             ["Europe", "Asia", "Retail", "Cloud", "Claims", "Mobile"], ["North", "South", "East", "West", "Central", "Remote"]]
    tail = sorted({" ".join(RNG.choice(w) for w in words) for _ in range(700)})[:600]
    values = tail + ["Teacher"] * 400 + ["Nurse"] * 150 + [None] * 50
    return pd.Series(RNG.permutation(np.array(values, dtype=object)), dtype=object)


def _dates():
    days = pd.bdate_range("2020-01-01", "2022-12-31")
    s = pd.Series(RNG.choice(days, N)).dt.strftime("%Y-%m-%d").astype(object)
    s[RNG.random(N) < 0.05] = None
    return s


def _texts():
    words = ["card", "blocked", "refund", "late", "fee", "branch", "call", "again", "please", "thanks"]
    return pd.Series([" ".join(RNG.choice(words, RNG.integers(2, 9))) for _ in range(N)], dtype=object)


def _pairs():
    base = np.round(RNG.gamma(2.0, 1000.0, N))
    return base + np.round(RNG.gamma(2.0, 100.0, N)), base


CASES = {
    "numeric": (lambda: NumericCodec(decimals=2, k=5), _numbers),
    "categorical": (lambda: CategoricalCodec(k=5), _categories),
    "categorical_generate": (lambda: CategoricalCodec(k=5, rare="generate"), _titles),
    "categorical_placeholder": (lambda: CategoricalCodec(k=5, rare="placeholder"), _categories),
    "datetime": (lambda: DatetimeCodec(formats=[["%Y-%m-%d", 1.0]], k=5), _dates),
    "text": (lambda: TextCodec(k=5), _texts),
    "id": (lambda: IdCodec(id_type="string", k=5), lambda: pd.Series([f"AC-{i:05d}" for i in range(N)])),
    "constant": (lambda: ConstantCodec("x"), lambda: pd.Series(["x"] * N)),
    "relative": (lambda: RelativeCodec(base="loan", decimals=0, k=5), _pairs),
}


def _halves(values):
    if isinstance(values, tuple):
        return tuple(v[: N // 2] for v in values), tuple(v[N // 2:] for v in values)
    half = len(values) // 2
    return values[:half], values[half:]


def _state(codec) -> str:
    return json.dumps(codec.to_dict(), sort_keys=True, default=str)


def test_every_codec_of_the_table_encoder_is_covered():
    assert {c.__name__ for c in CODECS.values()} | {"RelativeCodec"} <= {
        type(make()).__name__ for make, _ in CASES.values()}


@pytest.mark.parametrize("name", CASES)
def test_fit_is_reduce_of_analyse_and_follows_the_protocol(name):
    make, data = CASES[name]
    values = data()
    codec = make().fit(values)
    assert isinstance(codec, Codec)
    assert _state(make().reduce(make().analyse(values))) == _state(codec)
    assert all(isinstance(c, int) and c >= 1 for c in codec.cardinalities)
    assert codec.null_token is None or codec.null_token == 0
    assert all(0 <= t < codec.cardinalities[0] for t in codec.blocked_tokens)


@pytest.mark.parametrize("name", CASES)
def test_statistics_of_two_partitions_merge_into_the_whole_tables(name):
    make, data = CASES[name]
    values = data()
    first, second = _halves(values)
    merged = merge_stats(make().analyse(first), make().analyse(second))
    assert _state(make().reduce(merged)) == _state(make().fit(values))


@pytest.mark.parametrize("name", CASES)
def test_the_saved_state_decodes_like_the_fitted_codec(name):
    make, data = CASES[name]
    values = data()
    codec = make().fit(values)
    again = type(codec).from_dict(json.loads(json.dumps(codec.to_dict())))
    tokens = codec.encode(values)
    rows = len(values[0]) if isinstance(values, tuple) else len(values)
    assert tokens.dtype == np.int64 and tokens.shape == (rows, len(codec.cardinalities))
    assert np.array_equal(tokens, again.encode(values))
    extra = {"base": values[1]} if name == "relative" else {}
    a = codec.decode(tokens, np.random.default_rng(3), **extra)
    b = again.decode(tokens, np.random.default_rng(3), **extra)
    assert pd.Series(a).astype(str).tolist() == pd.Series(b).astype(str).tolist()


def test_value_protection_happens_in_reduce_on_the_statistics_alone():
    codec = CategoricalCodec(k=5)
    stats = codec.analyse(_categories())
    assert "rare3" in stats["values"].index  # analyse counts everything ...
    codec.reduce(stats)
    assert not any(str(c).startswith("rare") for c in codec.labels()[0])  # ... reduce drops the rare values
    numbers = NumericCodec(decimals=0, k=5)
    x = np.arange(100, dtype=float)
    lo, hi = numbers.reduce(numbers.analyse(x)).value_range()
    assert (lo, hi) == (4.0, 95.0)  # the k-th smallest and largest values, not the extremes
