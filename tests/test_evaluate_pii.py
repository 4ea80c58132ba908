"""evaluate() leaves columns replaced as personal data out of fidelity, realism and privacy, names them, and
checks them on their own: the share of synthetic values equal to a real one (issue 15)."""
import numpy as np
import pandas as pd
from faker import Faker

from lookalike import evaluate


def _people(n: int, seed: int) -> pd.DataFrame:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)
    income = np.round(rng.lognormal(10, 0.5, n), -2)
    return pd.DataFrame({
        "email": [fake.unique.email() for _ in range(n)],
        "age": rng.integers(18, 80, n),
        "income": income,
        "segment": np.where(income > 25_000, "high", "low"),
    })


def test_pii_columns_are_left_out_of_every_row_level_figure_and_checked_apart():
    train, holdout = _people(600, 1), _people(300, 2)
    synthetic = train.sample(frac=1.0, random_state=3).reset_index(drop=True)  # perfect rows ...
    synthetic["email"] = _people(600, 4)["email"]                               # ... with fresh fake e-mails
    synthetic.loc[:59, "email"] = train["email"][:60].to_numpy()                # 10% leak real e-mails
    report = evaluate(train=train, synthetic=synthetic, holdout=holdout)
    m, d = report.metrics, report.details
    assert d["meta"]["pii_columns"] == ["email"]
    assert "email" not in d["univariate"] and "email" not in d["meta"]["kinds"]
    assert all("email" not in (p["a"], p["b"]) for p in d["bivariate"]["pairs"])
    assert m["univariate_accuracy"] > 0.99  # the fake e-mails no longer count as a mismatch ...
    assert m["discriminator_auc"] < 0.65    # ... nor as a tell for the discriminator
    assert m["pii_columns"] == 1
    expected = synthetic["email"].isin(set(train["email"])).mean()  # 10% leaked, plus any chance collision
    assert 0.10 <= expected < 0.12 and abs(d["pii"]["email"]["synthetic_equal_real_share"] - expected) < 1e-12
    assert m["pii_equal_real_share_worst"] == d["pii"]["email"]["synthetic_equal_real_share"]
    assert d["pii"]["email"]["holdout_equal_real_share"] == holdout["email"].isin(set(train["email"])).mean() < 0.05
    html = report.to_html()
    assert "Personal data" in html and "email" in html


def test_a_table_with_no_pii_reports_none():
    train, holdout = _people(300, 5).drop(columns="email"), _people(200, 6).drop(columns="email")
    report = evaluate(train=train, synthetic=train.copy(), holdout=holdout)
    assert report.metrics["pii_columns"] == 0 and report.metrics["pii_equal_real_share_worst"] is None
    assert report.details["pii"] == {}
