"""Dates and codes are written the way real ones are (issue 10): weekdays, month ends, string shapes, prefixes,
and nothing seen in fewer than k rows comes back."""
import json
import string

import numpy as np
import pandas as pd

from lookalike import Synthesizer
from lookalike.encoding.categorical import CategoricalCodec
from lookalike.encoding.datetime import DatetimeCodec
from lookalike.encoding.identifiers import shape_of


def decode_all(codec, s, seed=0):
    return codec.decode(codec.encode(s), np.random.default_rng(seed))


def reloaded(codec):
    return type(codec).from_dict(json.loads(json.dumps(codec.to_dict())))


# -- dates ------------------------------------------------------------------------------------------

def business_days(n, seed=0):
    rng = np.random.default_rng(seed)
    return pd.Series(rng.choice(pd.bdate_range("2018-01-01", "2023-12-31"), n))


def test_business_day_dates_stay_business_days_through_a_model():
    rng = np.random.default_rng(1)
    n = 1500
    df = pd.DataFrame({"booked": business_days(n), "amount": rng.gamma(2, 50, n).round(2),
                       "branch": rng.choice(["north", "south", "east"], n)})
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1500, seed=3)
    booked = pd.to_datetime(out["booked"])
    assert (booked.dt.weekday < 5).mean() > 0.95
    assert booked.min() >= df["booked"].min() and booked.max() <= df["booked"].max()


def test_weekdays_and_code_shapes_are_learned_jointly_with_other_columns():
    """Shops open every day, offices only on business days; UK sites have UK postcodes, German ones five digits.

    The weekday and shape tokens let a model pair them (one fit of the flagship model covers both)."""
    rng = np.random.default_rng(2)
    n = 1500
    office = rng.random(n) < 0.5
    every_day = rng.choice(pd.date_range("2019-01-01", "2023-12-31"), n)
    days = pd.Series(np.where(office, business_days(n, seed=3).to_numpy(), every_day))
    country = rng.choice(["UK", "DE"], n)
    zone = zones(rng, country)
    df = pd.DataFrame({"when": days, "site": np.where(office, "office", "shop"), "zone": zone, "country": country})
    out = Synthesizer(model="argn", seed=0, max_epochs=8).fit(df).sample(1500, seed=1)
    weekend = pd.to_datetime(out["when"]).dt.weekday >= 5
    assert weekend[out["site"] == "office"].mean() < 0.05  # real: 0
    assert weekend[out["site"] == "shop"].mean() > 0.2  # real: 2/7
    shapes = out["zone"].map(shape_of)
    match = np.where(out["country"] == "UK", shapes == "AA9 9AA", shapes == "99999")
    assert match.mean() > 0.9  # real: 1
    assert_rare_codes_not_favoured(out["zone"], df["zone"], zones(np.random.default_rng(99), country))


def test_month_end_dates_stay_month_ends_and_date_only_stays_date_only():
    rng = np.random.default_rng(4)
    ends = pd.date_range("1980-01-31", periods=500, freq="ME")  # too many dates to be heaped exactly
    s = pd.Series(rng.choice(ends, 1500)).dt.strftime("%Y-%m-%d")
    codec = DatetimeCodec(formats=[["%Y-%m-%d", 1.0]], k=5).fit(s)
    out = pd.to_datetime(decode_all(codec, s), format="%Y-%m-%d")
    assert out.dt.is_month_end.mean() > 0.95
    assert (out == out.dt.normalize()).all()


def test_native_date_only_column_stays_date_only_and_keeps_its_weekdays():
    s = business_days(800, seed=5)
    codec = DatetimeCodec(k=5).fit(s)
    out = decode_all(codec, s)
    assert (out == out.dt.normalize()).all()
    assert (out.dt.weekday < 5).all()


def test_a_partial_month_end_heap_keeps_its_share_and_times_on_the_hour():
    rng = np.random.default_rng(6)
    n = 3000
    anytime = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 24, n), unit="h")
    month_end = pd.Series(rng.choice(pd.date_range("2021-01-31", periods=36, freq="ME"), n))
    month_end = month_end + pd.to_timedelta(rng.integers(0, 24, n), unit="h")
    s = pd.Series(np.where(rng.random(n) < 0.3, month_end.to_numpy(), anytime.to_numpy()))
    codec = DatetimeCodec(k=5).fit(s)
    out = decode_all(codec, s)
    assert abs(out.dt.is_month_end.mean() - s.dt.is_month_end.mean()) < 0.03
    assert (out.dt.minute == 0).all() and (out.dt.second == 0).all()


def test_uniform_timestamps_get_no_calendar_tokens():
    rng = np.random.default_rng(7)
    s = pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**8, 2000), unit="s"))
    codec = DatetimeCodec(k=5).fit(s)
    assert codec.weekdays_ == [] and codec.day_classes_ == []
    assert len(codec.cardinalities) == len(codec.numeric_.cardinalities)


def test_timestamps_on_the_hour_and_weekdays_survive_saving():
    rng = np.random.default_rng(8)
    days = business_days(1000, seed=8) + pd.to_timedelta(rng.integers(8, 18, 1000), unit="h")
    s = days.dt.strftime("%Y-%m-%d %H:%M:%S")
    codec = DatetimeCodec(formats=[["%Y-%m-%d %H:%M:%S", 1.0]], k=5).fit(s)
    out = decode_all(codec, s, seed=2)
    assert out.str.endswith(":00:00").all()
    assert (pd.to_datetime(out).dt.weekday < 5).all()
    assert decode_all(reloaded(codec), s, seed=2).tolist() == out.tolist()


# -- codes --------------------------------------------------------------------------------------------

def uk_postcode(rng):
    letters = string.ascii_uppercase
    return (f"{rng.choice(list('ABCDEFGH'))}{rng.choice(list(letters))}{rng.integers(1, 10)} "
            f"{rng.integers(1, 10)}{rng.choice(list(letters))}{rng.choice(list(letters))}")


def zones(rng, country):
    return [uk_postcode(rng) if c == "UK" else f"{rng.integers(0, 100000):05d}" for c in country]


def postcodes(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    common = ["SW1 1AA", "EC1 2BB", "01067"]
    values = [rng.choice(common) if rng.random() < 0.3 else
              uk_postcode(rng) if rng.random() < 0.5 else f"{rng.integers(0, 100000):05d}" for _ in range(n)]
    values += ["QQ-1", "QQ-2"]  # a shape seen in fewer than k rows
    return pd.Series(values, dtype=object)


def rare_values(s, k=5):
    counts = s.value_counts()
    return set(counts[counts < k].index)


def assert_rare_codes_not_favoured(out, real, unseen):
    """Fresh codes are random draws of a learned shape, so one can equal a rare real code by chance (the model
    keeps nothing that could rule it out). What must hold: the output hits the training set's rare codes no
    more often than an equally large set of codes of the same kind that were never in the training data."""
    rare = rare_values(real)
    unseen = sorted(set(unseen) - set(real))[: len(rare)]
    assert len(unseen) >= 0.9 * len(rare)
    hits_train = len(set(out) & rare)
    hits_unseen = len(set(out) & set(unseen))
    assert hits_train <= 1.5 * hits_unseen + 5, (hits_train, hits_unseen)


def string_leaves(d):
    if isinstance(d, str):
        return [d]
    items = d.values() if isinstance(d, dict) else d if isinstance(d, list) else []
    return [leaf for item in items for leaf in string_leaves(item)]


def test_postcodes_keep_their_shapes_and_lengths_without_leaking_rare_codes():
    s = postcodes()
    codec = CategoricalCodec(k=5).fit(s)
    out = decode_all(codec, s)
    real_shapes = s.map(shape_of).value_counts(normalize=True)
    synth_shapes = out.map(shape_of).value_counts(normalize=True)
    for shape in ["AA9 9AA", "99999"]:
        assert abs(synth_shapes.get(shape, 0) - real_shapes[shape]) < 0.02
    assert abs(out.str.len().mean() - s.str.len().mean()) < 0.1
    assert_rare_codes_not_favoured(out, s, rare_values(postcodes(seed=99)))
    assert "AA-9" not in set(synth_shapes.index)  # seen in 2 rows only
    assert out.notna().all()


def test_prefixes_seen_in_k_rows_survive_and_rare_skus_do_not_reappear():
    rng = np.random.default_rng(1)
    skus = [f"SKU-{rng.integers(0, 10**6):06d}" for _ in range(600)] + [f"ZZ-{i:06d}" for i in range(3)]
    s = pd.Series(skus + ["bolt", "nut"] * 100, dtype=object)
    codec = CategoricalCodec(k=5).fit(s)
    out = decode_all(codec, s, seed=4)
    coded = out[~out.isin(["bolt", "nut"])]
    assert coded.str.match(r"^SKU-\d{6}$").all()
    assert abs(len(coded) - 603) < 30
    unseen = [f"SKU-{v:06d}" for v in np.random.default_rng(99).integers(0, 10**6, 600)]
    assert_rare_codes_not_favoured(out, s, unseen)
    assert not any(v.startswith("ZZ-") for v in out)  # a prefix seen in 3 rows is not published


def test_a_model_file_holds_no_rare_code_and_decodes_identically_after_loading():
    s = postcodes(seed=2)
    codec = CategoricalCodec(k=5, seed=3, name="postcode").fit(s)
    text = json.dumps(codec.to_dict())
    published = list(string_leaves(codec.to_dict()))
    assert "bloom" not in text  # no membership filter over the rare codes either
    assert not [v for v in rare_values(s) if any(v in p for p in published)]
    again = CategoricalCodec(k=5, seed=3, name="postcode").fit(s)
    assert json.dumps(again.to_dict()) == text  # the same data give the same file
    assert decode_all(reloaded(codec), s, seed=5).tolist() == decode_all(codec, s, seed=5).tolist()


def test_codes_through_a_model_keep_their_shapes_and_protection():
    rng = np.random.default_rng(3)
    n = 2000
    country = rng.choice(["UK", "DE"], n)
    df = pd.DataFrame({"zone": zones(rng, country), "country": country})
    syn = Synthesizer(model="copula", seed=0).fit(df)
    assert syn.schema_["zone"].kind == "categorical"
    out = syn.sample(2000, seed=2)
    shapes = out["zone"].map(shape_of)
    assert set(shapes) <= {"AA9 9AA", "99999"}
    assert abs((shapes == "99999").mean() - (country == "DE").mean()) < 0.04
    assert_rare_codes_not_favoured(out["zone"], df["zone"], zones(np.random.default_rng(99), country))


def test_columns_with_few_categories_or_words_keep_the_old_rare_handling():
    rng = np.random.default_rng(5)
    rare_words = ["teal", "olive", "navy", "coral", "ivory", "amber", "plum", "sage", "rust", "mint"]
    words = pd.Series(list(rng.choice(["red", "green", "blue"], 300)) + rare_words * 2, dtype=object)
    codec = CategoricalCodec(k=5).fit(words)
    assert codec.shapes_ == [] and codec.has_rare_
    assert set(decode_all(codec, words)) <= {"red", "green", "blue"}
    few = pd.Series(["A1", "B2", "C3"] * 20 + ["D4"], dtype=object)  # code-like, but one rare row
    codec = CategoricalCodec(k=5).fit(few)
    assert codec.shapes_ == [] and codec.cardinalities == [4] and codec.rare_token == 3
    assert set(decode_all(codec, few)) <= {"A1", "B2", "C3"}
