"""Fake tables honour what the spec declares: weights, correlations, keys, uniqueness, nulls, conditions."""
import numpy as np
import pandas as pd
import pytest
import yaml

from lookalike.errors import LookalikeError
from lookalike.simulate.fake import fake, generate, write_tables
from lookalike.simulate.from_table import pii_provider, spec_from_table, spec_to_yaml

SPEC = """
tables:
  customers:
    columns:
      customer_id: {dist: sequence, start: 100}
      email: {faker: email, unique: true, pool: 50}
      age: {dist: normal, mean: 45, sd: 12, min: 18, max: 90, round: 0}
      income:
        cases:
          - {when: "age < 30", dist: lognormal, mu: 9.5, sigma: 0.3}
          - {when: "age < 60", dist: lognormal, mu: 10.5, sigma: 0.3}
          - {dist: lognormal, mu: 10.0, sigma: 0.3}
      segment: {dist: categorical, values: {retail: 0.6, premium: 0.3, private: 0.1}}
      spend: {dist: gamma, shape: 2, scale: 100}
      phone: {faker: phone_number, null_rate: 0.2}
      joined: {dist: date, start: 2020-01-01, end: 2020-12-31}
    correlation:
      columns: [age, spend]
      matrix: [[1, 0.7], [0.7, 1]]
  orders:
    scale: 3
    columns:
      order_id: {dist: sequence, prefix: "O-", width: 7}
      customer_id: {foreign_key: customers.customer_id}
      amount: {expr: "round(uniform(5, 500), 2)"}
      code: {dist: uniform, low: 0, high: 200000, round: 0, unique: true}
"""


@pytest.fixture(scope="module")
def tables():
    return generate(yaml.safe_load(SPEC), 4000, seed=3)


def test_row_counts_follow_n_and_scale(tables):
    assert len(tables["customers"]) == 4000 and len(tables["orders"]) == 12000


def test_categorical_weights_are_honoured(tables):
    share = tables["customers"]["segment"].value_counts(normalize=True)
    assert share["retail"] == pytest.approx(0.6, abs=0.03)
    assert share["premium"] == pytest.approx(0.3, abs=0.03)
    assert share["private"] == pytest.approx(0.1, abs=0.02)


def test_gaussian_copula_reproduces_the_declared_correlation(tables):
    c = tables["customers"]
    rho_s = c["age"].corr(c["spend"], method="spearman")
    expected = 6 / np.pi * np.arcsin(0.7 / 2)  # Spearman's rho of a Gaussian copula with r = 0.7
    assert rho_s == pytest.approx(expected, abs=0.05)
    assert abs(c["age"].corr(c["segment"].astype("category").cat.codes, method="spearman")) < 0.05


def test_marginals_and_truncation(tables):
    c = tables["customers"]
    assert c["age"].between(18, 90).all() and c["age"].dtype == np.int64
    assert c["spend"].mean() == pytest.approx(200, rel=0.08)
    assert c["joined"].min() >= pd.Timestamp("2020-01-01") and c["joined"].max() <= pd.Timestamp("2020-12-31")


def test_conditional_distribution_by_age_band(tables):
    c = tables["customers"]
    young = np.log(c.loc[c["age"] < 30, "income"]).mean()
    middle = np.log(c.loc[(c["age"] >= 30) & (c["age"] < 60), "income"]).mean()
    old = np.log(c.loc[c["age"] >= 60, "income"]).mean()
    assert young == pytest.approx(9.5, abs=0.05) and middle == pytest.approx(10.5, abs=0.05)
    assert old == pytest.approx(10.0, abs=0.05)


def test_foreign_keys_point_to_existing_parents(tables):
    assert tables["orders"]["customer_id"].isin(tables["customers"]["customer_id"]).all()
    assert tables["customers"]["customer_id"].is_unique and tables["customers"]["customer_id"].min() == 100
    assert tables["orders"]["order_id"].iloc[0] == "O-0000001"


def test_uniqueness_even_with_a_small_pool_or_a_discrete_law(tables):
    assert tables["customers"]["email"].is_unique
    assert tables["customers"]["email"].str.count("@").eq(1).all()
    assert tables["orders"]["code"].is_unique


def test_null_rates(tables):
    assert tables["customers"]["phone"].isna().mean() == pytest.approx(0.2, abs=0.025)
    assert tables["customers"]["email"].notna().all()


def test_same_seed_same_tables_other_seed_other_tables():
    spec = yaml.safe_load(SPEC)
    a, b, c = generate(spec, 300, seed=9), generate(spec, 300, seed=9), generate(spec, 300, seed=10)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["customers"]["spend"].equals(c["customers"]["spend"])


def test_unique_that_cannot_be_met_names_the_column():
    spec = {"tables": {"t": {"columns": {"x": {"dist": "categorical", "values": ["a", "b"], "unique": True}}}}}
    with pytest.raises(LookalikeError, match=r"tables.t.columns.x.*unique"):
        generate(spec, 10, seed=0)


def test_bad_n_is_refused():
    with pytest.raises(LookalikeError, match="-5"):
        generate(yaml.safe_load(SPEC), -5)


def test_write_one_file_or_a_folder_and_refuse_overwrite(tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC)
    out = tmp_path / "out"
    paths = fake(spec_path, 50, out, seed=1)
    assert sorted(p.name for p in paths) == ["customers.parquet", "orders.parquet"]
    first = (out / "orders.parquet").read_bytes()
    with pytest.raises(LookalikeError, match="already exists"):
        fake(spec_path, 50, out, seed=1)
    fake(spec_path, 50, out, seed=1, force=True)
    assert (out / "orders.parquet").read_bytes() == first  # reproducible files
    with pytest.raises(LookalikeError, match="2 tables"):
        fake(spec_path, 50, tmp_path / "one.csv", seed=1)
    single = generate({"tables": {"t": {"columns": {"x": {"dist": "uniform", "low": 0, "high": 1}}}}}, 5)
    write_tables(single, tmp_path / "t.csv")
    assert pd.read_csv(tmp_path / "t.csv").shape == (5, 1)
    with pytest.raises(LookalikeError, match="does not exist"):
        write_tables(single, tmp_path / "no" / "such" / "dir")


# ------------------------------------------------------------------------------------------- spec_from_table
@pytest.fixture(scope="module")
def real():
    rng = np.random.default_rng(0)
    n = 2000
    age = rng.normal(40, 10, n).round()
    df = pd.DataFrame({
        "customer_id": np.arange(n) + 5000,
        "full_name": [f"Person {i}" for i in range(n)],
        "email": [f"p{i}@corp.example" for i in range(n)],
        "age": age,
        "income": np.exp(9 + 0.03 * age + rng.normal(0, 0.3, n)),
        "debt": np.where(rng.random(n) < 0.5, 0.0, rng.gamma(2, 500, n)).round(2),
        "tier": rng.choice(["A", "B", "C", "Zed", "Q"], n, p=[0.5, 0.3, 0.198, 0.001, 0.001]),
        "children": rng.poisson(1.2, n),
    })
    df.loc[rng.random(n) < 0.1, "income"] = np.nan
    return df


def test_spec_from_table_declares_statistics_not_values(real):
    spec = spec_from_table(real, "clients")
    text = spec_to_yaml(spec)
    cols = {c["name"]: c for c in spec["tables"]["clients"]["columns"]}  # schema entries plus statistics
    assert cols["full_name"]["faker"] == "name" and cols["email"]["faker"] == "email"
    assert cols["full_name"]["kind"] == "pii" and cols["email"]["pii"] == "email"
    assert cols["customer_id"]["dist"] == "sequence" and cols["customer_id"]["kind"] == "id"
    assert "Person 1" not in text and "corp.example" not in text and "5000" not in text
    assert set(cols["tier"]["values"]) == {"A", "B", "C"}  # rare categories (< 5 rows) dropped
    assert cols["income"]["null_rate"] == pytest.approx(real["income"].isna().mean(), abs=1e-3)
    assert "correlation" in spec["tables"]["clients"]


def test_spec_from_table_round_trip_reproduces_marginals_and_dependence(real):
    spec = yaml.safe_load(spec_to_yaml(spec_from_table(real, "clients")))
    fake_df = generate(spec, len(real), seed=1)["clients"]
    assert list(fake_df.columns) == list(real.columns)
    for col in ("age", "income", "debt"):
        assert fake_df[col].median() == pytest.approx(real[col].median(), rel=0.1, abs=1.0)
    assert (fake_df["debt"] == 0).mean() == pytest.approx(0.5, abs=0.06)  # zero-inflation kept via quantiles
    assert fake_df["income"].isna().mean() == pytest.approx(0.1, abs=0.03)
    real_r = real["age"].corr(real["income"], method="spearman")
    assert fake_df["age"].corr(fake_df["income"], method="spearman") == pytest.approx(real_r, abs=0.07)
    assert not fake_df["email"].isin(real["email"]).any()


@pytest.mark.parametrize("name, provider", [("email", "email"), ("customerEmail", "email"), ("phone", "phone_number"),
                                            ("first_name", "first_name"), ("home_address", "street_address"),
                                            ("age", None), ("amount", None), ("full_name", "name"),
                                            # quasi-identifiers and logins are not PII kinds: categories or keys
                                            ("username", None), ("city", None), ("zip", None)])
def test_pii_names_map_to_faker_providers(name, provider):
    assert pii_provider(name) == provider


def test_dates_quantiles_faker_args_and_locale():
    spec = {"locale": "de_DE", "tables": {"t": {"rows": 3000, "columns": {
        "day": {"dist": "date", "start": "2024-02-01", "end": "2024-02-29"},
        "stamp": {"dist": "datetime", "start": "2024-01-01T00:00:00", "end": "2024-01-01T23:59:59"},
        "debt": {"dist": "quantiles", "values": [0, 0, 0, 10, 100]},
        "flag": {"dist": "bernoulli", "p": 0.25},
        "born": {"faker": "date_of_birth", "args": {"minimum_age": 30, "maximum_age": 40}, "pool": 200},
        "city": {"faker": "city"},
        "due": {"expr": "add_days(day, 30)"},
        "band": {"expr": "'high' if debt > 10 else 'low'"},
    }}}}
    t = generate(spec, 1, seed=4)["t"]
    assert len(t) == 3000  # fixed rows win over n
    assert t["day"].min() >= pd.Timestamp("2024-02-01") and t["day"].max() <= pd.Timestamp("2024-02-29")
    assert t["day"].nunique() == 29 and t["stamp"].dt.date.nunique() == 1
    assert (t["debt"] == 0).mean() == pytest.approx(0.5, abs=0.03) and t["debt"].max() <= 100
    assert t["flag"].mean() == pytest.approx(0.25, abs=0.03)
    ages = (pd.Timestamp.today() - pd.to_datetime(t["born"])).dt.days / 365.25
    assert ages.between(29.9, 41.1).all()
    assert ((t["due"] - t["day"]).dt.days == 30).all()
    assert set(t["band"]) == {"high", "low"}
    # German locale: at least some cities carry umlauts or typical suffixes
    assert t["city"].str.contains("ü|ö|ä|burg|dorf|stadt|heim").any()


def test_spec_file_cli_style_errors_for_bad_faker_args(tmp_path):
    spec = {"tables": {"t": {"columns": {"x": {"faker": "name", "args": {"nope": 1}}}}}}
    with pytest.raises(LookalikeError, match="tables.t.columns.x.*bad args.*'name'"):
        generate(spec, 5)


def test_foreign_key_skew_makes_some_parents_popular():
    spec = {"tables": {
        "p": {"columns": {"id": {"dist": "sequence"}}},
        "c": {"scale": 20, "columns": {"flat": {"foreign_key": "p.id"}, "hot": {"foreign_key": "p.id", "skew": 1.2}}},
    }}
    t = generate(spec, 500, seed=2)
    flat, hot = t["c"]["flat"].value_counts(), t["c"]["hot"].value_counts()
    assert t["c"]["hot"].isin(t["p"]["id"]).all()
    assert hot.iloc[0] > 5 * flat.iloc[0]  # the most popular parent has far more children
    assert hot.head(50).sum() / 10_000 > 0.5 and flat.head(50).sum() / 10_000 < 0.2
