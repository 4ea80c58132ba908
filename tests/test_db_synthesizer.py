"""DatabaseSynthesizer on the small bank database (tests/db_data.py): keys, chains, self-references,
composite keys, a second parent, scale, save/load, and the context mechanism it is built on."""
import numpy as np
import pandas as pd
import pytest

from db_data import bank_tables
from lookalike import Synthesizer
from lookalike.context import ContextSynthesizer
from lookalike.errors import LookalikeError
from lookalike.evaluate.relational import evaluate_database
from lookalike.relational.synthesizer import DatabaseSynthesizer, match_rows
from lookalike.schema.database import DatabaseSchema

SCHEMA = {"tables": {
    "branches": {"primary_key": ["branch_id"]},
    "customers": {"primary_key": ["customer_id"], "foreign_keys": [{"columns": ["home_branch"], "references": "branches"}]},
    "accounts": {"primary_key": ["account_id"], "foreign_keys": [
        {"columns": ["customer_id"], "references": "customers"}, {"columns": ["branch_id"], "references": "branches"}]},
    "cards": {"primary_key": ["card_id"], "foreign_keys": [{"columns": ["account_id"], "references": "accounts"}]},
    "transactions": {"primary_key": ["tx_id"], "foreign_keys": [{"columns": ["card_id"], "references": "cards"}]},
    "employees": {"primary_key": ["emp_id"], "foreign_keys": [{"columns": ["manager_id"], "references": "employees"}]},
    "orders": {"primary_key": ["order_id"]},
    "order_lines": {"primary_key": ["order_id", "line_no"], "foreign_keys": [{"columns": ["order_id"], "references": "orders"}]},
}}


def schema_for(tables):
    from lookalike.schema.columns import ForeignKey
    from lookalike.schema.infer import infer_schema

    out = {}
    for name, d in SCHEMA["tables"].items():
        fks = [ForeignKey(fk["columns"], fk["references"], fk.get("referenced_columns")) for fk in d.get("foreign_keys", [])]
        out[name] = infer_schema(tables[name], source=name, primary_key=d["primary_key"], foreign_keys=fks)
    return DatabaseSchema(tables=out)


@pytest.fixture(scope="module")
def fitted():
    real = bank_tables()
    db = DatabaseSynthesizer(model="copula", seed=0).fit(real, schema_for(real))
    return real, db


def test_every_key_is_valid_at_any_scale(fitted):
    real, db = fitted
    for scale in (0.5, 2.0):
        out = db.sample(scale=scale, seed=1)
        m = evaluate_database(real, out, db.schema_)
        assert m["integrity"] == 1.0
        for name, t in db.schema_.tables.items():
            assert not out[name].duplicated(subset=t.primary_key).any(), name
            assert list(out[name].columns) == list(real[name].columns)


def test_scale_grows_the_whole_database_consistently(fitted):
    real, db = fitted
    small, big = db.sample(scale=0.5, seed=2), db.sample(scale=2.0, seed=2)
    for name in ("branches", "customers", "accounts", "transactions"):
        ratio = len(big[name]) / len(small[name])
        assert 2.5 < ratio < 6, (name, ratio)
    assert len(big["branches"]) == 40 and len(small["branches"]) == 10


def test_chain_of_five_levels_keeps_children_per_parent(fitted):
    real, db = fitted
    assert db.order_.index("branches") < db.order_.index("customers") < db.order_.index("accounts") \
        < db.order_.index("cards") < db.order_.index("transactions")
    out = db.sample(seed=3)
    m = {(r["parent"], r["child"]): r for r in evaluate_database(real, out, db.schema_)["relations"]}
    assert m[("accounts", "cards")]["children_tv"] < 0.2
    assert m[("cards", "transactions")]["children_tv"] < 0.2


def test_children_count_depends_on_parent_attributes(fitted):
    real, db = fitted
    out = db.sample(seed=4)
    n = out["accounts"].groupby("customer_id").size()
    seg = out["customers"].set_index("customer_id")["segment"]
    per = n.reindex(seg.index, fill_value=0).groupby(seg).mean()
    assert per["premium"] > per["retail"] + 0.5  # real: 3.0 against 1.5


def test_child_attributes_follow_the_parent(fitted):
    real, db = fitted
    out = db.sample(seed=5)
    j = out["accounts"].merge(out["customers"], on="customer_id")
    mean = j.groupby("segment")["balance"].mean()
    assert mean["premium"] > 2 * mean["retail"]


def test_self_reference_points_to_earlier_rows(fitted):
    real, db = fitted
    e = db.sample(seed=6)["employees"]
    refs = e["manager_id"].dropna().astype(int)
    assert refs.isin(e["emp_id"]).all()
    pos = pd.Series(range(len(e)), index=e["emp_id"])
    assert (pos[refs.to_numpy()].to_numpy() < np.flatnonzero(e["manager_id"].notna())).all()
    assert e["manager_id"].isna().sum() >= 1


def test_composite_key_is_unique_and_numbered_within_its_parent(fitted):
    real, db = fitted
    lines = db.sample(seed=7)["order_lines"]
    assert not lines.duplicated(subset=["order_id", "line_no"]).any()
    assert (lines.groupby("order_id")["line_no"].min() == 1).all()


def test_composite_key_of_other_kinds_is_refused_naming_table_and_key():
    real = bank_tables()
    real["order_lines"]["line_no"] = real["order_lines"]["line_no"].map(lambda i: f"L{i}x")
    with pytest.raises(LookalikeError, match=r"table 'order_lines': composite primary key \['order_id', 'line_no'\]"):
        DatabaseSynthesizer(model="copula").fit(real, schema_for(real))


def test_second_parent_is_matched_on_its_generated_attributes():
    rng = np.random.default_rng(0)
    cand = pd.DataFrame({"region": ["north"] * 50 + ["south"] * 50, "size": np.arange(100)})
    wanted = pd.DataFrame({"region": ["south"] * 200, "size": rng.integers(50, 100, 200)})
    pos = match_rows(wanted, cand, rng)
    assert (cand["region"].to_numpy()[pos] == "south").all()
    assert len(np.unique(pos)) > 10  # drawn among the matches, not always the same row


def test_save_and_load_give_the_same_database(fitted, tmp_path):
    real, db = fitted
    path = db.save(tmp_path / "bank.lookalike")
    again = DatabaseSynthesizer.load(path)
    a, b = db.sample(seed=9), again.sample(seed=9)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    with pytest.raises(LookalikeError, match="already exists"):
        db.save(path)


def test_cycle_is_refused_naming_its_tables():
    a = pd.DataFrame({"a_id": range(1, 21), "b_id": range(1, 21), "x": range(20)})
    b = pd.DataFrame({"b_id": range(1, 21), "a_id": range(1, 21), "y": range(20)})
    schema = {"tables": {
        "a": {"primary_key": ["a_id"], "foreign_keys": [{"columns": ["b_id"], "references": "b"}],
              "columns": [{"name": "a_id", "kind": "id"}, {"name": "b_id", "kind": "id"}, {"name": "x", "kind": "numeric"}]},
        "b": {"primary_key": ["b_id"], "foreign_keys": [{"columns": ["a_id"], "references": "a"}],
              "columns": [{"name": "b_id", "kind": "id"}, {"name": "a_id", "kind": "id"}, {"name": "y", "kind": "numeric"}]}}}
    with pytest.raises(LookalikeError, match="cycle between tables: a -> b -> a"):
        DatabaseSynthesizer(model="copula").fit({"a": a, "b": b}, schema)


def test_orphans_are_reported_and_kept_or_dropped():
    real = bank_tables()
    real["cards"].loc[:4, "account_id"] = 99_999
    db = DatabaseSynthesizer(model="copula").fit(real, schema_for(real))
    assert any("5 row(s)" in n and "orphans" in n for n in db.notes_)
    out = db.sample(seed=1)
    assert evaluate_database(real, out, db.schema_)["integrity"] == 1.0
    dropped = DatabaseSynthesizer(model="copula", orphans="drop").fit(real, schema_for(real))
    assert dropped.plans_["cards"].n_rows == len(real["cards"]) - 5


def test_unknown_tables_are_named():
    real = bank_tables()
    with pytest.raises(LookalikeError, match="unknown table.*nope"):
        DatabaseSynthesizer(model="copula").fit(real, tables=["customers", "nope"])


def test_context_model_fixes_the_context_and_keeps_dependence():
    rng = np.random.default_rng(0)
    seg = rng.choice(["a", "b"], 600)
    rows = pd.DataFrame({"amount": np.where(seg == "a", 1000.0, 10.0) + rng.normal(0, 1, 600).round(2)})
    model = ContextSynthesizer(prefix="parent", model="copula").fit(rows, pd.DataFrame({"segment": seg}))
    ctx = pd.DataFrame({"segment": ["a"] * 100 + ["b"] * 100})
    out = model.sample(ctx, seed=1, with_context=True)
    assert (out["parent.segment"] == ctx["segment"]).all()
    assert out["amount"][:100].mean() > 2 * out["amount"][100:].mean()
    again = ContextSynthesizer.from_bytes(model.to_bytes()).sample(ctx, seed=1)
    pd.testing.assert_frame_equal(again, out[["amount"]])


def test_matching_weighs_parents_by_their_generated_children():
    rng = np.random.default_rng(1)
    cand = pd.DataFrame({"region": ["south"] * 4})
    wanted = pd.DataFrame({"region": ["south"] * 4000})
    pos = match_rows(wanted, cand, rng, weights=np.array([0, 1, 3, 0]))
    share = np.bincount(pos, minlength=4) / 4000
    assert share[0] == 0 and share[3] == 0 and 0.7 < share[2] < 0.8


def test_streamed_tables_come_parents_first_and_equal_sample(fitted):
    real, db = fitted
    seen = []
    for name, df in db.sample_tables(seed=5):
        for parent in db.schema_.parents(name):
            assert parent in seen, (name, parent)
        seen.append(name)
        pd.testing.assert_frame_equal(df.reset_index(drop=True), db.sample(seed=5)[name].reset_index(drop=True))
    assert sorted(seen) == sorted(real)
    last = db._needed_until()
    assert last["branches"] == max(db.order_.index(c) for c in ("customers", "accounts"))  # freed after accounts


def test_skewed_children_counts_keep_the_table_sizes():
    # a few parents hold most children: value protection clips their counts, the total must still hold
    rng = np.random.default_rng(3)
    parents = pd.DataFrame({"parent_id": np.arange(1, 301), "kind": rng.choice(["a", "b"], 300)})
    weights = 1.0 / np.arange(1, 301) ** 1.1
    owner = rng.choice(parents.parent_id, 4000, p=weights / weights.sum())
    children = pd.DataFrame({"child_id": np.arange(1, 4001), "parent_id": owner, "x": rng.normal(size=4000).round(2)})
    grandchildren = pd.DataFrame({"gc_id": np.arange(1, 8001), "child_id": rng.choice(children.child_id, 8000)})
    tables = {"parents": parents, "children": children, "grandchildren": grandchildren}
    db = DatabaseSynthesizer(model="copula", seed=0).fit(tables)
    out = db.sample(seed=1)
    for name in tables:
        assert abs(len(out[name]) / len(tables[name]) - 1) < 0.03, (name, len(out[name]))
    assert evaluate_database(tables, out, db.schema_)["integrity"] == 1.0


def test_argn_learns_children_given_the_context_and_orphans_keep_a_missing_context():
    """argn learns a child table given its context (never the context itself): a missing context cell (a child
    without a parent) stays missing at sampling where the context had missing values in training, and the
    model file keeps that."""
    rng = np.random.default_rng(0)
    seg = rng.choice(["a", "b"], 1200).astype(object)
    seg[:200] = None  # orphans: no parent, and their own behaviour
    amount = np.where(seg == "a", 100.0, 10.0) * rng.uniform(0.8, 1.2, 1200)
    amount[:200] = 1000.0 * rng.uniform(0.8, 1.2, 200)
    model = ContextSynthesizer(prefix="parent", model="argn", max_epochs=30, seed=0).fit(
        pd.DataFrame({"amount": amount}), pd.DataFrame({"segment": seg}))
    assert model.synthesizer_.given == ["parent.segment"]
    ctx = pd.DataFrame({"segment": ["a"] * 200 + ["b"] * 200 + [None] * 200})
    out = ContextSynthesizer.from_bytes(model.to_bytes()).sample(ctx, seed=1, with_context=True)
    assert out["parent.segment"][:400].tolist() == ctx["segment"][:400].tolist()
    assert out["parent.segment"][400:].isna().all()  # kept missing, not drawn
    a, b, orphan = (out["amount"][i:i + 200].median() for i in (0, 200, 400))
    assert 70 < a < 130 and 7 < b < 13 and 700 < orphan < 1300


def test_a_given_column_the_table_lacks_is_named_before_any_work():
    df = pd.DataFrame({"a": np.arange(60) % 3, "b": np.arange(60) % 5})
    with pytest.raises(LookalikeError, match="given: unknown column.*'nope'.*a, b"):
        Synthesizer(model="argn", given=["a", "nope"]).fit(df)
