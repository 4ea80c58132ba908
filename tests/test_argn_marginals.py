"""argn's marginal rounds: after training, the model's own draws keep the training rows' token frequencies."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lookalike.errors import LookalikeError
from lookalike.models.argn import ARGN


def _clustered(n: int = 2000, seed: int = 0):
    """Ten columns that share one value per cluster (as ISLR.Caravan's zip-code columns do), clusters of unequal
    size, and one cell in ten replaced by noise."""
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 10, (40, 10))
    weights = rng.dirichlet(np.full(40, 0.5))
    rows = prototypes[rng.choice(40, n, p=weights)]
    noise = rng.random(rows.shape) < 0.1
    rows[noise] = rng.integers(0, 10, noise.sum())
    return rows.astype(np.int64), [10] * 10, [[j] for j in range(10)]


def _drawn_gap(model, tokens) -> float:
    """Mean over columns of the total variation between drawn and training token frequencies."""
    drawn = model.sample(20_000, seed=123)
    return float(np.mean([0.5 * np.abs(np.bincount(drawn[:, j], minlength=10) / len(drawn)
                                       - np.bincount(tokens[:, j], minlength=10) / len(tokens)).sum()
                          for j in range(tokens.shape[1])]))


def test_the_rounds_pull_drifted_draws_back_to_the_training_token_frequencies():
    tokens, cards, groups = _clustered()
    model = ARGN(max_epochs=10, seed=0, n_threads=1, marginal_rounds=0).fit(tokens, cards, groups)
    with torch.no_grad():  # a drift: every head's first token made e^1.5 times likelier than the net learned
        for j in range(len(cards)):
            b, k = model.net_.head_slot[j]
            model.net_.out_b[b][k, 0] += 1.5
    before = _drawn_gap(model, tokens)
    model.marginal_rounds = 3
    model._match_marginals(tokens)
    after = _drawn_gap(model, tokens)
    assert before > 0.1 and after < before / 3, (before, after)


def test_a_fit_ends_with_the_rounds_which_move_only_output_biases():
    tokens, cards, groups = _clustered()
    plain = ARGN(max_epochs=10, seed=0, n_threads=1, marginal_rounds=0).fit(tokens, cards, groups)
    matched = ARGN(max_epochs=10, seed=0, n_threads=1).fit(tokens, cards, groups)
    moved = {k for k, v in plain.net_.state_dict().items() if not torch.equal(v, matched.net_.state_dict()[k])}
    assert moved and all(k.startswith("out_b.") for k in moved)
    assert _drawn_gap(matched, tokens) < 0.03
    # saved with the model; a loaded model draws the same rows
    config, tensors = matched.get_state()
    assert config["params"]["marginal_rounds"] == 3
    np.testing.assert_array_equal(ARGN.from_state(config, tensors).sample(500, seed=4), matched.sample(500, seed=4))


def test_a_context_model_is_left_to_its_own_calibration():
    """With given groups the unconditional draws read untrained heads: the rounds are skipped."""
    tokens, cards, groups = _clustered(600)
    a = ARGN(max_epochs=3, seed=0, n_threads=1, given_groups=[0], marginal_rounds=0).fit(tokens, cards, groups)
    b = ARGN(max_epochs=3, seed=0, n_threads=1, given_groups=[0]).fit(tokens, cards, groups)
    for k, v in a.net_.state_dict().items():
        assert torch.equal(v, b.net_.state_dict()[k]), k


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True, None])
def test_a_marginal_rounds_that_is_not_a_whole_number_of_at_least_0_is_refused(bad):
    with pytest.raises(LookalikeError, match="marginal_rounds"):
        ARGN(marginal_rounds=bad)
