"""Evaluation decides column kinds with the schema inference: numbers and dates read from a CSV as text are
measured by value, not as labels, and evaluation never imports generator code."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lookalike.evaluate import evaluate
from lookalike.evaluate.prepare import canonical, infer_columns, infer_kinds
from lookalike.schema import Kind, infer_schema


@pytest.fixture(scope="module")
def csv_table(tmp_path_factory):
    """Dates and numbers with thousands separators written as text, read back by pandas as dtype object."""
    rng = np.random.default_rng(0)
    n = 300
    days = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    df = pd.DataFrame({
        "opened": days.strftime("%Y-%m-%d"),
        "balance": [f"{x:,.2f}" for x in rng.gamma(2.0, 4000.0, n) + 1000],
        "segment": rng.choice(["retail", "premium", "private"], n, p=[0.6, 0.3, 0.1]),
    })
    path = tmp_path_factory.mktemp("csv") / "accounts.csv"
    df.to_csv(path, index=False)
    read = pd.read_csv(path)
    assert read["opened"].dtype == object and read["balance"].dtype == object
    return read


def test_text_dates_and_numbers_get_schema_kinds(csv_table):
    kinds = infer_kinds(csv_table)
    assert kinds == {"opened": Kind.DATETIME, "balance": Kind.NUMERIC, "segment": Kind.CATEGORICAL}
    columns = infer_columns(csv_table)
    c = canonical(csv_table, kinds, columns)
    assert c["balance"].dtype == np.float64 and c["balance"].notna().all()
    assert c["balance"].min() > 1000  # '1,234.50' is 1234.5, not NaN or 1.0
    assert c["opened"].notna().all()
    assert pd.to_datetime(c["opened"].min(), unit="s") >= pd.Timestamp("2021-01-01")


def test_schema_kinds_map_to_evaluation_kinds():
    n = 40
    df = pd.DataFrame({
        "customer_id": np.arange(n) + 1,  # integer key: compared as labels, no longer as a measurement
        "flag": [0, 1] * (n // 2),
        "country": ["DE"] * n,
        "email": [f"person{i}@example.com" for i in range(n)],
        "amount": np.linspace(1, 100, n),
        "stamp": pd.date_range("2020-01-01", periods=n),
        "empty": [np.nan] * n,  # nothing to infer from: decided by dtype as before
    })
    kinds = infer_kinds(df)
    assert kinds["customer_id"] == Kind.CATEGORICAL and kinds["flag"] == Kind.CATEGORICAL
    assert kinds["country"] == Kind.CATEGORICAL and kinds["email"] == Kind.CATEGORICAL
    assert kinds["amount"] == Kind.NUMERIC and kinds["stamp"] == Kind.DATETIME
    assert kinds["empty"] == Kind.NUMERIC


def test_evaluate_measures_text_dates_by_value(csv_table):
    identical = csv_table.copy()
    shifted = csv_table.copy()
    shifted["opened"] = (pd.to_datetime(csv_table["opened"]) + pd.Timedelta(days=120)).dt.strftime("%Y-%m-%d")
    same = evaluate(csv_table, identical, seed=0)
    moved = evaluate(csv_table, shifted, seed=0)
    kinds = same.details["meta"]["kinds"]
    assert kinds["opened"] == "datetime" and kinds["balance"] == "numeric"
    assert same.details["meta"]["schema_kinds"]["opened"] == "datetime"
    assert same.details["univariate"]["opened"]["accuracy"] == pytest.approx(1.0)
    # binned by value: dates moved by four months land in other deciles. As strings they would all fall
    # into "(other)" of the 10 most frequent labels, in both tables alike, and still score high.
    assert moved.details["univariate"]["opened"]["accuracy"] < 0.8
    assert moved.metrics["univariate_accuracy"] < same.metrics["univariate_accuracy"]


def test_evaluate_accepts_the_fitted_schema(csv_table):
    schema = infer_schema(csv_table, detect_rules=False)
    schema["segment"].kind = Kind.TEXT  # whatever the schema says wins over inference
    report = evaluate(csv_table, csv_table.copy(), schema=schema, seed=0)
    assert report.details["meta"]["schema_kinds"]["segment"] == "text"
    assert report.details["meta"]["kinds"]["segment"] == "categorical"
    assert report.details["meta"]["kinds"]["balance"] == "numeric"


def test_importing_evaluate_pulls_in_no_generator():
    code = ("import sys, lookalike.evaluate, lookalike.evaluate.core, lookalike.evaluate.prepare; "
            "bad = [m for m in ('torch', 'lookalike.models', 'lookalike.synthesizer') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_float_flag_target_is_a_class_label_and_its_positive_class_still_matches():
    rng = np.random.default_rng(3)
    n = 200
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": (x + rng.normal(0, 0.5, n) > 0).astype(float)})
    report = evaluate(df.iloc[:150], df.iloc[:150].copy(), holdout=df.iloc[150:], target="y", positive_class=1.0)
    assert report.details["meta"]["kinds"]["y"] == "categorical"  # 0.0/1.0 is a boolean
    assert report.details["utility"]["positive_class"] == "1"
    assert report.metrics["trtr_score"] > 0.7


def test_float_noise_in_the_16th_digit_is_not_a_difference():
    """8.6000003 and 8.600000300000001 are one value written twice (real files do this): a synthetic table
    that writes every value cleanly scores as the real table itself, not a bin lower at every decile edge."""
    from lookalike import evaluate

    rng = np.random.default_rng(8)
    clean = rng.choice([8.6000003, 8.1, 9.7999997, 6.3000001, 7.4000001], 2000)
    noisy = clean + np.spacing(clean) * rng.integers(0, 2, 2000)  # some rows carry one ulp of noise
    group = rng.choice(["a", "b"], 2000)
    train = pd.DataFrame({"price": noisy, "group": group})
    report = evaluate(train=train, synthetic=pd.DataFrame({"price": clean, "group": group}))
    assert report.metrics["univariate_accuracy"] == 1.0
    assert report.metrics["bivariate_accuracy"] == 1.0
