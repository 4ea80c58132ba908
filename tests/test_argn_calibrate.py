"""ARGN.calibrate: a head's average prediction over the rows equals the rows' token frequencies afterwards."""
from __future__ import annotations

import numpy as np
import pytest

from lookalike.errors import LookalikeError
from lookalike.models.argn import ARGN


def _skewed(n: int = 3000, seed: int = 0):
    """A context column c (0..3) and an own column y (0..5) whose distribution depends on c."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 4, n)
    y = np.minimum(c + rng.integers(0, 3, n), 5)
    return np.stack([c, y], axis=1).astype(np.int64), [4, 6], [[0], [1]]


def _average_gap(model, tokens) -> float:
    p = model.predict_proba(tokens, 1, [0]).mean(axis=0)
    observed = np.bincount(tokens[:, 1], minlength=6) / len(tokens)
    return float(0.5 * np.abs(p - observed).sum())


def test_calibrate_matches_the_average_prediction_to_the_frequencies():
    tokens, cards, groups = _skewed()
    model = ARGN(max_epochs=1, seed=0, n_threads=1, given_groups=[0]).fit(tokens, cards, groups)  # barely trained
    before = _average_gap(model, tokens)
    model.calibrate(tokens, [1], [0])
    after = _average_gap(model, tokens)
    assert before > 0.02 and after < 0.005 and after < before / 4
    # what the model draws follows: given the rows' own contexts, y's frequencies are the data's
    fixed = np.full_like(tokens, -1)
    fixed[:, 0] = tokens[:, 0]
    drawn = model.sample(len(tokens), seed=1, fixed=fixed)
    assert np.abs(np.bincount(drawn[:, 1], minlength=6) - np.bincount(tokens[:, 1], minlength=6)).sum() / len(tokens) \
        < 0.06
    # the dependence on the context is kept (only the output biases moved)
    assert drawn[drawn[:, 0] == 3, 1].mean() - drawn[drawn[:, 0] == 0, 1].mean() > 2.0  # real 3.0; independent 0


def test_calibrate_refuses_a_dp_model_and_an_unfitted_one():
    tokens, cards, groups = _skewed(400)
    with pytest.raises(LookalikeError, match="fitted"):
        ARGN().calibrate(tokens, [1], [0])
    dp = ARGN(max_epochs=1, dp_epsilon=5.0, dp_delta=1e-5, seed=0, n_threads=1, dp_noise_seed=1)
    dp.fit(tokens, cards, groups)
    with pytest.raises(LookalikeError, match="differentially private"):
        dp.calibrate(tokens, [1], [0])


def test_the_calibrated_biases_are_saved_with_the_model():
    tokens, cards, groups = _skewed(1000)
    model = ARGN(max_epochs=1, seed=0, n_threads=1, given_groups=[0]).fit(tokens, cards, groups)
    model.calibrate(tokens, [1], [0])
    again = ARGN.from_state(*model.get_state())
    np.testing.assert_allclose(again.predict_proba(tokens, 1, [0]), model.predict_proba(tokens, 1, [0]), atol=1e-6)
    assert _average_gap(again, tokens) < 0.005
