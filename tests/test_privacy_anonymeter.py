"""The report's privacy attacks agree with the anonymeter package where the answer is known.

Cheap version of benchmarks/privacy_crosscheck.py: the bundled ANES 1996 table (944 real rows) is split in
three seeded parts (train, holdout, and a fresh real sample that plays a perfect generator). Publishing the
training rows ("copy of train") must be flagged for singling out by both implementations; the fresh real
sample, which knows nothing about the training rows, must be flagged by neither.
"""
from __future__ import annotations

import warnings
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("anonymeter")
from anonymeter.evaluators import LinkabilityEvaluator, SinglingOutEvaluator  # noqa: E402

from lookalike.evaluate import evaluate  # noqa: E402

FLAG = 0.10  # the report's review threshold on the low end of a risk's 95% interval
N_ATTACKS = 200


@pytest.fixture(scope="module")
def parts():
    df = pd.read_csv(files("lookalike") / "data" / "anes96.csv")
    part = np.random.default_rng(0).integers(0, 3, len(df))
    train, holdout, fresh = (df[part == i].reset_index(drop=True) for i in range(3))
    n = min(len(train), len(holdout), len(fresh))  # equal sizes, as the report samples them
    return train.iloc[:n], holdout.iloc[:n], fresh.iloc[:n]


def _both(train, synthetic, holdout):
    priv = evaluate(train=train, synthetic=synthetic, holdout=holdout, seed=0).details["privacy"]
    ours = {"singling_out": priv["singling_out"], "linkability": priv["linkability"]}
    halves = (list(priv["linkability"]["columns_a"]), list(priv["linkability"]["columns_b"]))
    np.random.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        so = SinglingOutEvaluator(ori=train, syn=synthetic, control=holdout, n_attacks=N_ATTACKS, n_cols=3,
                                  seed=0).evaluate(mode="multivariate").risk()
        link = LinkabilityEvaluator(ori=train, syn=synthetic, control=holdout, aux_cols=halves,
                                    n_attacks=N_ATTACKS).evaluate(n_jobs=1).risk()
    theirs = {"singling_out": {"risk": so.value, "ci_low": so.ci[0], "ci_high": so.ci[1]},
              "linkability": {"risk": link.value, "ci_low": link.ci[0], "ci_high": link.ci[1]}}
    return ours, theirs


def test_copy_of_train_is_flagged_by_both(parts):
    train, holdout, _ = parts
    ours, theirs = _both(train, train.copy(), holdout)
    for side in (ours, theirs):
        assert side["singling_out"]["ci_low"] > FLAG, side
        assert side["linkability"]["ci_low"] > FLAG, side


def test_fresh_real_sample_is_flagged_by_neither(parts):
    train, holdout, fresh = parts
    ours, theirs = _both(train, fresh, holdout)
    for side in (ours, theirs):
        for attack in ("singling_out", "linkability"):
            assert side[attack]["ci_low"] <= FLAG, (attack, side)
    for attack in ("singling_out", "linkability"):  # and the two intervals overlap
        assert ours[attack]["ci_low"] <= theirs[attack]["ci_high"] and theirs[attack]["ci_low"] <= ours[attack]["ci_high"], attack
