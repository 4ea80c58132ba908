"""Entity ids: an identifier repeated on each of an entity's rows is regenerated, never learned with the row.

Learned with the row, a household's id ends up beside that household's own values in the output: a real id
linked to its owner's attributes. These tests check that inference recognises such columns (and leaves
repeated measures alone), that the output's ids carry no link to the real rows, that the number of rows per
id stays realistic, that a schema file can say either way, and that evaluate leaves ids out and names them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer
from lookalike.encoding.identifiers import BLOCK_ROWS, IdCodec
from lookalike.evaluate import evaluate
from lookalike.schema.columns import Kind
from lookalike.schema.infer import entity_id_name, infer_column, infer_schema


def households(n_households: int = 80, seed: int = 0) -> pd.DataFrame:
    """Purchases of households: each household id on 2-30 rows, its spending tied to the household."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 31, n_households)
    ids = np.repeat(rng.permutation(np.arange(1000, 9000))[:n_households], sizes)
    level = {h: 20 * i for i, h in enumerate(np.unique(ids))}  # the id says the household's spending level
    spend = np.array([level[h] for h in ids]) + rng.normal(0, 2, len(ids))
    return pd.DataFrame({"household_id": ids, "spend": spend.round(2),
                         "channel": rng.choice(["web", "store", "phone"], len(ids))})


def test_inference_flags_a_repeated_id_and_leaves_repeated_measures_learned():
    df = households()
    col = infer_column("household_id", df["household_id"])
    assert col.kind == Kind.ID and col.options == {"id_type": "integer", "repeated": True}
    codes = df["household_id"].map(lambda h: f"HH-{h:05d}")
    assert infer_column("customerId", codes).options == {"id_type": "string", "repeated": True}
    panel = pd.Series(np.repeat(np.arange(13, 13 + 60 * 7, 7), 8))  # a person's number on 8 years
    assert infer_column("nr", panel).kind == Kind.ID

    rng = np.random.default_rng(1)
    income = pd.Series(rng.choice(np.arange(10_000, 90_000, 1_000), 2_000))  # whole, repeated, many values
    assert infer_column("income", income).kind == Kind.NUMERIC
    assert infer_column("amount_paid", income).kind == Kind.NUMERIC  # 'paid' is a word, not an id
    assert infer_column("medicaid", income).kind == Kind.NUMERIC
    region = pd.Series(rng.integers(1, 9, 2_000))  # 8 region codes: a category, not an entity
    assert infer_column("region_id", region).kind != Kind.ID
    # a purchase's number within its household (1, 2, 3, ..., low numbers most frequent) is a position
    counter = pd.Series(np.concatenate([np.arange(1, rng.integers(5, 60)) for _ in range(200)]))
    assert infer_column("purchase_id", counter).kind == Kind.NUMERIC
    money = pd.Series(rng.normal(50, 10, 2_000).round(2))
    assert infer_column("account_id", money).kind == Kind.NUMERIC  # not whole numbers


@pytest.mark.parametrize("name, expected", [
    ("id", True), ("household_id", True), ("customerId", True), ("HHID", True), ("unitid", True),
    ("countyid", True), ("intnum", True), ("nr", True), ("case_no", True), ("account number", True),
    ("paid", False), ("medicaid", False), ("valid", False), ("acid", False), ("kids", False), ("no", False),
    ("number", False), ("income", False), ("numkids", False),
])
def test_identifier_names(name, expected):
    assert entity_id_name(name) is expected


def test_output_ids_are_fresh_and_carry_no_link_to_their_real_rows():
    train = households()
    synth = Synthesizer(model="copula", seed=0).fit(train)
    out = synth.sample(len(train), seed=1)
    assert train["household_id"].corr(train["spend"]) > 0.9  # the real id says the spending level
    assert abs(out["household_id"].corr(out["spend"])) < 0.15
    # spending of an output id's rows is no closer to the real household's with that number than to others'
    real_level = train.groupby("household_id")["spend"].mean()
    shared = out[out["household_id"].isin(real_level.index)]
    if len(shared):
        gap = (shared["spend"] - real_level.loc[shared["household_id"]].to_numpy()).abs().mean()
        assert gap > 0.5 * (train["spend"] - train["spend"].mean()).abs().mean()
    # a realistic number of rows per id, the largest no more than the k-th largest real one
    real_sizes, sizes = train["household_id"].value_counts(), out["household_id"].value_counts()
    assert abs(sizes.mean() - real_sizes.mean()) < 0.25 * real_sizes.mean()
    assert sizes.max() <= np.sort(real_sizes.to_numpy())[-5]
    assert out["household_id"].dtype == train["household_id"].dtype


def test_string_entity_ids_keep_their_shape_and_survive_a_model_file(tmp_path):
    train = households().assign(household_id=lambda d: d["household_id"].map(lambda h: f"HH-{h:05d}"))
    synth = Synthesizer(model="copula", seed=0).fit(train)
    path = synth.save(tmp_path / "m.lookalike")
    out = Synthesizer.load(path).sample(len(train), seed=2)
    assert out["household_id"].str.fullmatch(r"[A-Z]{2}-\d{5}").all()  # the shape of HH-01234
    assert out["household_id"].value_counts().max() > 1
    assert out.equals(synth.sample(len(train), seed=2))


def test_schema_file_decides_either_way():
    train = households()
    schema = infer_schema(train).to_dict()
    learned = [dict(c, kind="numeric", integer=True, decimals=0) if c["name"] == "household_id" else c
               for c in schema["columns"]]
    for c in learned:
        if c["name"] == "household_id":
            c.pop("id_type"), c.pop("repeated")
    out = Synthesizer(model="copula", seed=0, schema={**schema, "columns": learned}).fit(train).sample(2_000, seed=1)
    assert out["household_id"].corr(out["spend"]) > 0.5  # declared a number: learned with the row, link kept

    # a repeated column inference leaves learned (no identifier name) declared an id: regenerated, repeated
    renamed = train.rename(columns={"household_id": "household"})
    assert infer_column("household", renamed["household"]).kind == Kind.NUMERIC
    declared = infer_schema(renamed).to_dict()
    declared["columns"] = [{"name": "household", "kind": "id", "dtype": "int64"} if c["name"] == "household" else c
                           for c in declared["columns"]]
    fitted = Synthesizer(model="copula", seed=0, schema=declared).fit(renamed)
    out = fitted.sample(len(train), seed=1)
    assert abs(out["household"].corr(out["spend"])) < 0.15
    assert out["household"].value_counts().mean() > 5


def test_ids_follow_from_row_numbers_so_batches_agree():
    codec = IdCodec("integer", k=5).fit(pd.Series(np.repeat(np.arange(100, 400, 3), 7)))
    rng = np.random.default_rng
    whole = codec.decode(np.zeros((BLOCK_ROWS + 500, 0)), rng(0), start=1, key=(3, 4))
    parts = pd.concat([codec.decode(np.zeros((BLOCK_ROWS - 200, 0)), rng(1), start=1, key=(3, 4)),
                       codec.decode(np.zeros((700, 0)), rng(2), start=BLOCK_ROWS - 199, key=(3, 4))],
                      ignore_index=True)
    assert whole.equals(parts)
    runs = (whole != whole.shift()).cumsum()
    assert whole.groupby(runs).ngroups == whole.nunique()  # an id's rows are one run: no id comes back later
    assert whole.iloc[0] == 112  # spread from the 5th smallest real id (100, 103, 106, 109, 112)
    assert whole.drop_duplicates().iloc[:3].diff().iloc[1:].eq(3).all()  # at the real ids' spacing
    assert IdCodec.from_dict(codec.to_dict()).to_dict() == codec.to_dict()


def test_unique_keys_are_unchanged_and_statistics_without_ids_give_unique_keys():
    codec = IdCodec("integer", k=5).fit(pd.Series(np.arange(50, 150)))
    assert codec.decode(np.zeros((5, 0)), np.random.default_rng(0), start=11).tolist() == [11, 12, 13, 14, 15]
    private = IdCodec("integer", k=5).reduce({"rows": 0})  # what differential privacy hands over
    assert not private.repeated


def test_evaluate_leaves_ids_out_and_names_them():
    train, holdout = households(seed=0), households(seed=1)
    train = train.assign(row_key=np.arange(len(train)))
    holdout = holdout.assign(row_key=np.arange(len(holdout)) + 10_000)
    synthetic = Synthesizer(model="copula", seed=0).fit(train).sample(len(train), seed=1)
    report = evaluate(train, synthetic, holdout, seed=0)
    meta = report.details["meta"]
    assert meta["id_columns"] == ["household_id", "row_key"] and meta["pii_columns"] == []
    assert set(meta["kinds"]) == {"spend", "channel"}
    assert report.details["keys"]["household_id"]["pii_kind"] == "entity id"
    assert report.details["keys"]["row_key"]["pii_kind"] == "key"
    assert report.metrics["id_columns"] == 2 and report.metrics["pii_columns"] == 0
    assert "household_id" not in report.details.get("univariate", {})
    html = report.to_html()
    assert "<h2>Keys</h2>" in html and "entity id" in html and "Personal data" not in html


def test_missing_repeated_ids_keep_their_share_and_keys_never_miss():
    ids = pd.Series(np.repeat(np.arange(1, 201), 10), dtype=float)
    ids[::10] = np.nan  # one row in ten has no id
    out = IdCodec("integer", k=5).fit(ids).decode(np.zeros((20_000, 0)), np.random.default_rng(0), key=1)
    assert 0.08 < out.isna().mean() < 0.12
    keys = pd.Series([np.nan, *range(1, 100)])
    assert IdCodec("integer", k=5).fit(keys).decode(np.zeros((500, 0)), np.random.default_rng(0)).notna().all()
    empty = IdCodec("integer", k=5).fit(pd.Series([np.nan] * 20))  # a declared id with no value: unique keys
    assert empty.decode(np.zeros((3, 0)), np.random.default_rng(0)).tolist() == [1, 2, 3]
