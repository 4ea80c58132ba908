"""The flagship through the user-facing API: the same contract as the copula, with a neural model behind it."""
import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 1000
    fraud = rng.random(n) < 0.12
    amount = np.where(fraud, rng.integers(20, 50, n) * 100, rng.integers(1, 20, n) * 50)
    channel = np.where(fraud, rng.choice(["online", "atm"], n, p=[0.8, 0.2]),
                       rng.choice(["online", "branch", "atm"], n, p=[0.4, 0.4, 0.2]))
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    return pd.DataFrame({
        "is_fraud": np.where(fraud, "yes", "no"), "channel": channel, "amount": amount.astype(np.int64),
        "opened": start.strftime("%Y-%m-%d"),
        "closed": (start + pd.to_timedelta(rng.integers(1, 90, n), unit="D")).strftime("%Y-%m-%d"),
    })


@pytest.fixture(scope="module")
def fitted(table):
    return Synthesizer(model="argn", seed=0, max_epochs=30).fit(table)


def test_auto_picks_the_flagship(table):
    assert Synthesizer(model="auto", max_epochs=1).fit(table.head(100)).model_.name == "argn"


def test_output_types_rules_and_learned_dependence(fitted, table):
    out = fitted.sample(3000, seed=1)
    assert out.dtypes.to_dict() == table.dtypes.to_dict()
    assert (pd.to_datetime(out["closed"]) >= pd.to_datetime(out["opened"])).all()
    fraud_amount = out.loc[out.is_fraud == "yes", "amount"].mean()
    normal_amount = out.loc[out.is_fraud == "no", "amount"].mean()
    assert fraud_amount > 2 * normal_amount  # the model learned that fraud means large amounts


def test_rebalanced_fraud_keeps_its_own_profile(fitted):
    out = fitted.sample(2000, seed=2, rebalance={"is_fraud": {"yes": 0.3}})
    assert abs((out.is_fraud == "yes").mean() - 0.3) < 0.04
    fraud = out[out.is_fraud == "yes"]
    assert (fraud["channel"] == "branch").mean() < 0.15  # real fraud never happens at a branch
    assert fraud["amount"].median() >= 1500


def test_conditions_and_save_load(fitted, tmp_path):
    out = fitted.sample(500, seed=3, conditions={"channel": "branch"})
    assert (out.channel == "branch").all()
    assert (out.is_fraud == "yes").mean() < 0.05
    loaded = Synthesizer.load(fitted.save(tmp_path / "m.lookalike"))
    pd.testing.assert_frame_equal(loaded.sample(300, seed=4), fitted.sample(300, seed=4))


def test_impute_with_the_flagship(fitted, table):
    holes = table.head(40).copy()
    holes.loc[::2, "amount"] = np.nan
    filled = fitted.impute(holes, seed=0)
    assert filled["amount"].notna().all()
    assert (filled.loc[1::2, "amount"] == table.loc[1:39:2, "amount"]).all()


def test_same_data_and_seed_give_the_same_bytes(fitted, table):
    again = Synthesizer(model="argn", seed=0, max_epochs=30).fit(table)
    assert again.sample(500, seed=5).to_csv(index=False) == fitted.sample(500, seed=5).to_csv(index=False)
