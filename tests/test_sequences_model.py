"""The sequence model: shapes, structure, control, bad inputs, save/load (tiny trainings: copula)."""
import logging

import numpy as np
import pandas as pd
import pytest

from lookalike import LookalikeError, Synthesizer
from lookalike.sequential import SequenceSynthesizer
from sequence_data import events, panel, sensors


@pytest.fixture(scope="module")
def event_model():
    df = events(80)
    return df, Synthesizer(entity="account_id", order="timestamp", model="copula").fit(df)


def test_api_returns_sequence_model_and_n_counts_entities(event_model):
    df, syn = event_model
    assert isinstance(syn, SequenceSynthesizer)
    out = syn.sample(25, seed=3)
    assert out["account_id"].nunique() == 25
    assert list(out.columns) == list(df.columns)
    assert syn.sample(25, seed=3).equals(out)  # seeded, reproducible


def test_events_irregular_times_constant_columns_and_positive_gaps(event_model):
    df, syn = event_model
    assert syn.constant_ == ["segment"] and syn.varying_ == ["channel", "amount"]
    assert syn.gap_unit_ == "seconds"
    out = syn.sample(40, seed=1)
    assert out.groupby("account_id")["segment"].nunique().max() == 1  # learned once per entity
    assert pd.api.types.is_datetime64_any_dtype(out["timestamp"])
    gaps = out.groupby("account_id")["timestamp"].diff().dropna()
    assert (gaps >= pd.Timedelta(0)).all()
    assert (gaps.dt.total_seconds() % 1 == 0).all()  # whole seconds, as the real data
    lengths = out.groupby("account_id").size()
    assert lengths.min() >= 1 and lengths.max() <= df.groupby("account_id").size().max()
    assert set(out["channel"]) <= set(df["channel"])


def test_long_sequence_of_thousands_is_generated():
    df = events(30, long_one=1000)
    syn = Synthesizer(entity="account_id", order="timestamp", model="copula", value_protection=False).fit(df)
    assert syn.max_length_ == 1000
    out = syn.sample(30, seed=0, context=pd.DataFrame({"__length": [1000] + [3] * 29}))
    lengths = out.groupby("account_id", sort=False).size()
    assert lengths.iloc[0] == 1000 and (lengths.iloc[1:] == 3).all()


def test_panel_with_missing_years_keeps_yearly_granularity():
    df = panel()
    syn = Synthesizer(entity="person", order="year", model="copula").fit(df)
    out = syn.sample(50, seed=2)
    assert out["year"].dtype.kind == "i"
    gaps = out.groupby("person")["year"].diff().dropna()
    assert (gaps >= 0).all() and (gaps % 1 == 0).all() and (gaps >= 2).any() | (gaps == 1).all()
    assert out.groupby("person")["sex"].nunique().max() == 1


def test_regular_multi_series_stay_regular():
    df = sensors()
    syn = Synthesizer(entity="station", order="time", model="copula", k=2).fit(df)
    assert syn.gap_unit_ == "hours"
    out = syn.sample(3, seed=0)
    gaps = out.groupby("station")["time"].diff().dropna()
    assert (gaps == pd.Timedelta(hours=1)).all()
    assert (out["time"].dt.minute == 0).all()


def test_seeding_with_first_events_keeps_them_and_continues():
    df = events(80)
    syn = Synthesizer(entity="account_id", order="timestamp", model="copula").fit(df)
    first = df.sort_values("timestamp").groupby("account_id").head(2)
    first = first[first["account_id"].isin(first["account_id"].unique()[:5])]
    out = syn.sample(seed=1, seed_data=first)
    assert set(out["account_id"]) == set(first["account_id"])
    for key, given in first.groupby("account_id"):
        mine = out[out["account_id"] == key].reset_index(drop=True)
        assert len(mine) >= len(given)
        head = mine.head(len(given))
        given = given.sort_values("timestamp").reset_index(drop=True)
        assert (head["timestamp"].to_numpy() == given["timestamp"].to_numpy()).all()
        assert list(head["channel"]) == list(given["channel"])
        assert np.allclose(head["amount"].astype(float), given["amount"])
        assert (mine["timestamp"].diff().dropna() >= pd.Timedelta(0)).all()


def test_fixing_and_rebalancing_the_context(event_model):
    _, syn = event_model
    out = syn.sample(20, seed=0, conditions={"segment": "business"})
    assert (out["segment"] == "business").all()
    out = syn.sample(60, seed=0, rebalance={"segment": {"business": 0.9}})
    shares = out.groupby("account_id")["segment"].first().value_counts(normalize=True)
    assert shares["business"] > 0.7
    out = syn.sample(seed=0, context=pd.DataFrame({"segment": ["retail", "business", "retail"]}))
    assert list(out.groupby("account_id", sort=False)["segment"].first()) == ["retail", "business", "retail"]
    with pytest.raises(LookalikeError, match="varies within entities"):
        syn.parse_value("channel", "web")


def test_entity_table_as_context_and_zero_length_entities():
    df = events(60)
    accounts = pd.DataFrame({"account_id": [f"ACC{a:05d}" for a in range(70)]})  # 10 without events
    accounts["region"] = np.where(np.arange(70) % 2 == 0, "north", "south")
    syn = Synthesizer(entity="account_id", order="timestamp", model="copula").fit(df, context=accounts)
    assert syn.context_columns_ == ["region"] and syn.min_length_ == 0
    out = syn.sample(seed=0, context=pd.DataFrame({"region": ["north"] * 10}))
    assert set(out["account_id"].map(lambda k: k)) and "region" not in out.columns
    with pytest.raises(LookalikeError, match="one row per entity"):
        Synthesizer(entity="account_id", order="timestamp", model="copula").fit(
            df, context=pd.concat([accounts, accounts.head(1)]))


def test_no_whole_sequence_copied(event_model):
    from lookalike.evaluate.sequences import copied_sequences

    df, syn = event_model
    out = syn.sample(80, seed=4)
    multi = out.groupby("account_id").filter(lambda g: len(g) > 1)
    assert copied_sequences(df, multi, "account_id", "timestamp") == 0.0


def test_save_load_round_trip(tmp_path, event_model):
    _, syn = event_model
    path = syn.save(tmp_path / "seq.lookalike")
    again = Synthesizer.load(path)
    assert isinstance(again, SequenceSynthesizer)
    pd.testing.assert_frame_equal(again.sample(10, seed=5), syn.sample(10, seed=5))
    import zipfile
    with zipfile.ZipFile(path) as zf:  # data, not code: JSON and inner model files, no pickles
        assert all(n.endswith((".json", ".lookalike")) for n in zf.namelist())


def test_one_row_per_entity_falls_back_with_a_warning(caplog):
    df = pd.DataFrame({"id": range(40), "t": range(40), "x": np.arange(40) % 7})
    with caplog.at_level(logging.WARNING, logger="lookalike"):
        syn = Synthesizer(entity="id", order="t", model="copula").fit(df)
    assert "not a sequence" in caplog.text
    out = syn.sample(15, seed=0)
    assert len(out) == 15 and list(out.columns) == ["id", "t", "x"]


def test_unsortable_order_and_missing_values_are_named():
    df = events(20)
    bad = df.assign(timestamp=df["timestamp"].astype(str))
    bad.loc[3, "timestamp"] = "soon"
    with pytest.raises(LookalikeError, match="'soon' is neither a number nor a date"):
        Synthesizer(entity="account_id", order="timestamp", model="copula").fit(bad)
    with pytest.raises(LookalikeError, match="no value"):
        Synthesizer(entity="account_id", order="timestamp", model="copula").fit(
            df.assign(timestamp=df["timestamp"].where(df.index != 2)))
    with pytest.raises(LookalikeError, match="not in the table"):
        Synthesizer(entity="acct", order="timestamp", model="copula").fit(df)
    with pytest.raises(LookalikeError, match="order needs entity"):
        Synthesizer(order="timestamp")


def test_dates_as_text_duplicate_timestamps_and_interleaving_are_handled():
    df = events(60)
    dup = pd.concat([df, df.iloc[:40].assign(amount=lambda d: d["amount"] + 1)], ignore_index=True)
    dup = dup.sample(frac=1.0, random_state=1).reset_index(drop=True)  # interleaved, duplicates of timestamps
    dup["timestamp"] = dup["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    syn = Synthesizer(entity="account_id", order="timestamp", model="copula").fit(dup)
    assert syn.order_kind_ == "datetime"
    out = syn.sample(30, seed=0)
    gaps = out.groupby("account_id")["timestamp"].diff().dropna()
    assert (gaps >= pd.Timedelta(0)).all()


def test_no_order_keeps_file_order_within_entity():
    df = panel().drop(columns=["year"])
    syn = SequenceSynthesizer(entity="person", order=None, model="copula").fit(df)
    out = syn.sample(10, seed=0)
    assert out["person"].nunique() == 10 and "year" not in out.columns


def test_boolean_event_columns_keep_their_dtype_and_their_missing_cells():
    # a nullable flag that changes from event to event: missing stays missing (never True), dtype kept
    df = events(60)
    rng = np.random.default_rng(5)
    df["disputed"] = pd.array(rng.choice([True, False, None], size=len(df)), dtype="boolean")
    df["online"] = rng.random(len(df)) < 0.4
    out = Synthesizer(entity="account_id", order="timestamp", model="copula").fit(df).sample(60, seed=2)
    assert out["disputed"].dtype == "boolean" and out["online"].dtype == bool
    missing = out["disputed"].isna().mean()
    assert 0.15 < missing < 0.5, missing  # about a third of the real cells are missing


def test_text_model_choice_reaches_both_inner_models_and_survives_save(tmp_path):
    df = events(40)
    words = np.array(["card", "refund", "late", "fee", "online", "store", "payment", "monthly", "travel", "cash"])
    rng = np.random.default_rng(1)
    df["memo"] = [" ".join(rng.choice(words, size=rng.integers(6, 12))) for _ in range(len(df))]
    syn = Synthesizer(entity="account_id", order="timestamp", model="copula", text_model="chain").fit(df)
    assert syn.step_model_.synthesizer_.text_model == "chain" and syn.entity_model_.text_model == "chain"
    assert not syn.step_model_.synthesizer_.text_models_  # no language model was trained
    syn.save(tmp_path / "m.lookalike")
    again = Synthesizer.load(tmp_path / "m.lookalike")
    assert again.text_model == "chain"
    assert again.sample(10, seed=4).equals(syn.sample(10, seed=4))
    with pytest.raises(LookalikeError, match="text_model must be"):
        Synthesizer(entity="account_id", text_model="gpt")
