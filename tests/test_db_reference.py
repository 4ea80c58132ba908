"""Reference tables (small public lookups) are kept as they are: inferred by a stated rule or declared in the
schema file, children keep their real distribution over the lookup's rows, and every key stays valid."""
import numpy as np
import pandas as pd
import pytest

from lookalike.errors import LookalikeError
from lookalike.evaluate.relational import evaluate_database
from lookalike.relational.synthesizer import DatabaseSynthesizer
from lookalike.schema.database import DatabaseSchema


def lookup_db(seed: int = 0, n_orders: int = 2000):
    """currencies (6 codes, very unequal use) <- orders -> customers (integer ids)."""
    rng = np.random.default_rng(seed)
    currencies = pd.DataFrame({"code": ["EUR", "USD", "GBP", "CHF", "JPY", "SEK"],
                               "name": ["euro", "dollar", "pound", "franc", "yen", "krona"],
                               "decimals": [2, 2, 2, 2, 0, 2]})
    customers = pd.DataFrame({"customer_id": np.arange(1, 301), "segment": rng.choice(["a", "b"], 300)})
    code = rng.choice(currencies.code, n_orders, p=[0.5, 0.25, 0.12, 0.07, 0.04, 0.02])
    orders = pd.DataFrame({"order_id": np.arange(1, n_orders + 1), "customer_id": rng.integers(1, 301, n_orders),
                           "currency": code,
                           "amount": np.where(code == "JPY", 10_000, 100) * rng.uniform(0.5, 2, n_orders).round(2)})
    return {"currencies": currencies, "customers": customers, "orders": orders}


def schema(reference: dict | None = None) -> DatabaseSchema:
    from lookalike.schema.columns import ForeignKey
    from lookalike.schema.infer import infer_schema

    t = lookup_db()
    out = {"currencies": infer_schema(t["currencies"], source="currencies", primary_key="code"),
           "customers": infer_schema(t["customers"], source="customers", primary_key="customer_id"),
           "orders": infer_schema(t["orders"], source="orders", primary_key="order_id", foreign_keys=[
               ForeignKey(["customer_id"], "customers"), ForeignKey(["currency"], "currencies")])}
    for name, flag in (reference or {}).items():
        out[name].reference = flag
    return DatabaseSchema(tables=out)


def test_a_small_lookup_is_inferred_kept_and_its_children_keep_their_distribution():
    real = lookup_db()
    db = DatabaseSynthesizer(model="copula", seed=0).fit(real, schema())
    assert db.references_ == ["currencies"]
    assert any("'currencies' is kept as is as a reference table" in n and "text code" in n for n in db.notes_)
    out = db.sample(seed=1)
    pd.testing.assert_frame_equal(out["currencies"], real["currencies"])
    assert len(out["customers"]) == 300 and "customers" in db.models_  # synthesized, not kept
    m = evaluate_database(real, out, db.schema_)
    assert m["integrity"] == 1.0
    share_real = real["orders"]["currency"].value_counts(normalize=True)
    share_syn = out["orders"]["currency"].value_counts(normalize=True).reindex(share_real.index).fillna(0)
    assert (share_syn - share_real).abs().max() < 0.03  # per-currency shares, not a re-drawn lookup


def test_scale_and_save_load_keep_the_reference_rows(tmp_path):
    real = lookup_db()
    db = DatabaseSynthesizer(model="copula", seed=0).fit(real, schema())
    path = db.save(tmp_path / "m.lookalike")
    again = DatabaseSynthesizer.load(path)
    big = again.sample(scale=2.0, seed=3)
    pd.testing.assert_frame_equal(big["currencies"], real["currencies"])
    assert len(big["orders"]) > 1.8 * len(real["orders"])
    assert big["orders"]["currency"].isin(real["currencies"]["code"]).all()
    pd.testing.assert_frame_equal(again.sample(seed=4)["orders"], db.sample(seed=4)["orders"])


def test_declared_flags_win_over_inference():
    real = lookup_db()
    db = DatabaseSynthesizer(model="copula", seed=0).fit(real, schema({"customers": True}))
    assert db.references_ == ["currencies", "customers"]
    assert any("'customers' is a reference table (declared)" in n for n in db.notes_)
    out = db.sample(seed=1)
    pd.testing.assert_frame_equal(out["customers"], real["customers"])
    assert out["orders"]["customer_id"].isin(real["customers"]["customer_id"]).all()
    assert evaluate_database(real, out, db.schema_)["integrity"] == 1.0
    # declared false (or reference="declared"): synthesized, which 6 rows do not allow under value protection
    for params, flags in (({}, {"currencies": False}), ({"reference": "declared"}, {})):
        with pytest.raises(LookalikeError, match="table 'currencies': the table has 6 rows"):
            DatabaseSynthesizer(model="copula", seed=0, **params).fit(real, schema(flags))


def test_schema_file_round_trips_the_flag_and_refuses_a_bad_one():
    text = schema({"currencies": True}).to_yaml()
    assert "reference: true" in text
    assert DatabaseSchema.from_yaml(text).tables["currencies"].reference is True
    with pytest.raises(LookalikeError, match="table 'currencies'.*reference must be true or false"):
        DatabaseSchema.from_yaml(text.replace("reference: true", "reference: maybe"))


def test_a_reference_table_cannot_reference_a_synthesized_one():
    real = lookup_db()
    with pytest.raises(LookalikeError, match="'orders' is declared a reference table.*'customers', which is synthesized"):
        DatabaseSynthesizer(model="copula").fit(real, schema({"orders": True}))


def test_orphan_lookup_keys_become_missing_keys():
    real = lookup_db()
    real["orders"].loc[:49, "currency"] = "XXX"
    db = DatabaseSynthesizer(model="copula", seed=0).fit(real, schema())
    assert any("matches no row of 'currencies'" in n and "missing key" in n for n in db.notes_)
    out = db.sample(seed=1)
    codes = out["orders"]["currency"]
    assert codes.dropna().isin(real["currencies"]["code"]).all() and codes.isna().sum() > 0
