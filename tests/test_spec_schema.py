"""One language: a fake-data spec is a schema with declared statistics, and a schema file is a spec."""
import textwrap

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lookalike.cli import app
from lookalike.errors import LookalikeError
from lookalike.schema import DatabaseSchema, ForeignKey, Kind, TableSchema, infer_schema
from lookalike.simulate.fake import generate
from lookalike.simulate.from_table import spec_from_table
from lookalike.simulate.spec import parse_spec

runner = CliRunner()

OLD_SPEC = """\
tables:
  customers:
    columns:
      customer_id: {dist: sequence, start: 100}
      email: {faker: email, unique: true}
      age: {dist: normal, mean: 45, sd: 12, min: 18, max: 90, round: 0}
      segment: {dist: categorical, values: {retail: 0.6, premium: 0.4}}
      active: {dist: bernoulli, p: 0.8}
      joined: {dist: date, start: 2020-01-01, end: 2020-12-31, null_rate: 0.1}
      city: {faker: city}
      note: {faker: sentence}
      score: {expr: "age * 2"}
  orders:
    scale: 2
    columns:
      order_id: {dist: sequence}
      customer_id: {foreign_key: customers.customer_id}
"""


def _error(text: str, source: str = "spec.yaml") -> str:
    with pytest.raises(LookalikeError) as info:
        parse_spec(textwrap.dedent(text), source=source)
    return str(info.value)


# ------------------------------------------------------------------------------------ spec -> schema
def test_a_spec_reads_as_a_database_schema_with_statistics_in_options():
    db = DatabaseSchema.from_dict(yaml.safe_load(OLD_SPEC))
    customers, orders = db["customers"], db["orders"]
    kinds = {c.name: c.kind for c in customers.columns}
    assert kinds == {"customer_id": Kind.ID, "email": Kind.PII, "age": Kind.NUMERIC, "segment": Kind.CATEGORICAL,
                     "active": Kind.BOOLEAN, "joined": Kind.DATETIME, "city": Kind.CATEGORICAL,
                     "note": Kind.TEXT, "score": Kind.NUMERIC}
    assert customers["age"].options == {"dist": "normal", "mean": 45, "sd": 12, "min": 18, "max": 90, "round": 0}
    assert customers["age"].dtype == "int64" and customers["joined"].dtype == "datetime64[ns]"
    assert orders.foreign_keys == [ForeignKey(["customer_id"], "customers", ["customer_id"])]
    assert orders.statistics == {"scale": 2}
    assert db.order() == ["customers", "orders"]
    # the schema written back is still a spec that makes the same tables
    again = generate(yaml.safe_load(db.to_yaml()), 50, seed=3)
    before = generate(yaml.safe_load(OLD_SPEC), 50, seed=3)
    for name in before:
        pd.testing.assert_frame_equal(again[name], before[name])


def test_spec_from_table_is_a_schema_with_statistics(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({
        "id": np.arange(n) + 1,
        "email": [f"user{i}@example.org" for i in range(n)],
        "opened": (pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")).strftime("%d.%m.%Y"),
        "balance": [f"{x:,.2f}" for x in rng.gamma(3, 2000, n)],
        "city": rng.choice(["Berlin", "Hamburg", "Munich", "Tinyville"], n, p=[0.5, 0.3, 0.195, 0.005]),
    })
    spec = spec_from_table(df, "accounts")
    cols = {c["name"]: c for c in spec["tables"]["accounts"]["columns"]}
    learned = infer_schema(df, detect_rules=False)
    for col in learned.columns:  # every schema entry is there, kind options included
        assert {k: cols[col.name][k] for k in col.to_dict()} == col.to_dict()
    assert cols["opened"]["kind"] == "datetime" and cols["opened"]["dist"] == "date"  # text dates read by value
    assert cols["balance"]["kind"] == "numeric" and cols["balance"]["dist"] != "categorical"
    assert cols["city"]["dist"] == "categorical" and "Tinyville" not in cols["city"]["values"]  # not PII
    assert cols["email"]["faker"] == "email"
    assert set(spec["tables"]["accounts"]["correlation"]["columns"]) == {"opened", "balance"}
    schema = TableSchema.from_dict(spec["tables"]["accounts"], name="accounts")
    assert schema.names == list(df.columns) and schema["balance"].options["thousands"] is True
    fake = generate(spec, 200, seed=0)["accounts"]
    assert fake.shape == (200, 5)
    assert pd.to_datetime(fake["opened"]).between("2022-01-01", "2022-12-31").all()


# ------------------------------------------------------------------------------------ schema -> spec
def test_lookalike_fake_reads_a_schema_file_from_lookalike_schema(tmp_path):
    data = tmp_path / "people.csv"
    pd.DataFrame({"person_id": np.arange(1, 31), "email": [f"p{i}@mail.example.com" for i in range(30)],
                  "country": ["DE"] * 30, "vip": ["yes", "no", "no"] * 10}).to_csv(data, index=False)
    schema_file = tmp_path / "people.yaml"
    result = runner.invoke(app, ["schema", str(data), "-o", str(schema_file)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "fake.csv"
    result = runner.invoke(app, ["fake", str(schema_file), "-n", "40", "-o", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output or result.exception
    fake = pd.read_csv(out)
    assert list(fake.columns) == ["person_id", "email", "country", "vip"] and len(fake) == 40
    assert fake["person_id"].is_unique and (fake["country"] == "DE").all()
    assert fake["email"].str.contains("@").all()


def test_a_schema_without_statistics_names_each_column_and_what_to_declare(tmp_path):
    schema = infer_schema(pd.DataFrame({"amount": np.linspace(1, 50, 30), "segment": ["a", "b", "c"] * 10,
                                        "day": pd.date_range("2024-01-01", periods=30).strftime("%Y-%m-%d")}))
    path = tmp_path / "schema.yaml"
    path.write_text(schema.to_yaml())
    msg = _error(path.read_text(), source=str(path))
    assert "3 column(s) declare no statistics" in msg
    assert "'amount' (numeric): a distribution, e.g. dist: normal" in msg
    assert "'segment' (categorical): its categories" in msg and "'day' (datetime): a range" in msg
    assert "lookalike schema DATA --as-spec" in msg
    # declaring bounds or statistics in the schema entries makes it a spec
    d = schema.to_dict()
    d["columns"][0].update(min=1, max=50)
    d["columns"][1].update(dist="categorical", values={"a": 0.5, "b": 0.5})
    d["columns"][2].update(start="2024-01-01", end="2024-01-30")
    t = generate(d, 100, seed=0)["table"]
    assert t["amount"].between(1, 50).all() and set(t["segment"]) <= {"a", "b"}
    assert t["day"].between(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-30")).all()


def test_a_database_schema_file_drives_keys_between_tables():
    text = """\
        tables:
          customers:
            primary_key: [customer_id]
            columns:
              - {name: customer_id, kind: id, dtype: int64}
              - {name: tier, kind: categorical, dtype: object, dist: categorical, values: [gold, silver]}
          orders:
            rows: 60
            primary_key: [order_no]
            foreign_keys:
              - {columns: [customer_id], references: customers}
            columns:
              - {name: order_no, kind: numeric, dtype: int64, dist: uniform, low: 0, high: 1000000, round: 0}
              - {name: customer_id, kind: categorical, dtype: int64}
        """
    with pytest.raises(LookalikeError, match="needs referenced_columns for fake data"):
        parse_spec(textwrap.dedent(text))
    text = text.replace("references: customers}", "references: customers, referenced_columns: [customer_id]}")
    tables = generate(parse_spec(textwrap.dedent(text)), 20, seed=0)
    assert tables["orders"]["customer_id"].isin(tables["customers"]["customer_id"]).all()
    assert tables["orders"]["order_no"].is_unique  # a primary key column is unique


def test_schema_entry_errors_keep_lines_and_suggestions():
    msg = _error("""\
        tables:
          t:
            columns:
              - {name: a, kind: numeric, dtype: float64, dist: normal, meen: 0, sd: 1}
        """)
    assert msg.startswith("spec.yaml:4: tables.t.columns.a.meen") and "did you mean 'mean'" in msg
    msg = _error("""\
        tables:
          t:
            order: b
            columns:
              - {name: a, kind: numeric, dist: normal, mean: 0, sd: 1}
              - {name: b, kind: categorical, dist: categorical, values: [x]}
        """)
    assert "order column 'b' is categorical" in msg and "tables.t" in msg
    msg = _error("""\
        tables:
          t:
            columns:
              - {kind: numeric}
        """)
    assert "needs a 'name'" in msg


def test_a_schema_of_float32_and_full_precision_numbers_is_a_spec_once_bounds_are_declared():
    """Schema inference marks float32 numbers and full-precision floats in the column's options; a schema
    file with those options and declared bounds must generate, not fail on an unknown key."""
    frame = pd.DataFrame({"rate": np.round(np.linspace(1, 50, 30), 1).astype(np.float32).astype(float),
                          "wage": np.exp(np.linspace(3, 5, 30))})
    d = infer_schema(frame).to_dict()
    assert d["columns"][0].get("float32") and d["columns"][1].get("full_precision")
    d["columns"][0].update(min=1, max=50)
    d["columns"][1].update(min=20, max=150)
    t = generate(d, 50, seed=0)["table"]
    assert t["rate"].between(1, 50).all() and t["wage"].between(20, 150).all()
