"""argn's training loop: what every optimiser step is allowed to do."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lookalike.errors import LookalikeError
from lookalike.models.argn import ARGN


def _tokens(n: int = 1500, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, n)
    b = (a + rng.integers(0, 2, n)) % 4
    return np.stack([a, b, rng.integers(0, 12, n)], axis=1).astype(np.int64), [4, 4, 12], [[0], [1], [2]]


def _spy_on_clipping(monkeypatch) -> list[tuple[float, float]]:
    """Record (max_norm, gradient norm after clipping) for every clip_grad_norm_ call."""
    calls: list[tuple[float, float]] = []
    real = torch.nn.utils.clip_grad_norm_

    def spy(parameters, max_norm, *args, **kwargs):
        parameters = [p for p in parameters if p.grad is not None]
        total = real(parameters, max_norm, *args, **kwargs)
        after = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in parameters]))
        calls.append((float(max_norm), float(after)))
        return total

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    return calls


def test_every_step_is_taken_with_gradients_clipped_to_max_grad_norm(monkeypatch):
    calls = _spy_on_clipping(monkeypatch)
    tokens, cards, groups = _tokens()
    model = ARGN(max_epochs=3, patience=100, seed=0, n_threads=1, max_grad_norm=0.05).fit(tokens, cards, groups)
    assert model.max_grad_norm == 0.05
    steps_per_epoch = len(calls) // len(model.history_)
    assert steps_per_epoch >= 2 and len(calls) == steps_per_epoch * len(model.history_)
    assert all(limit == 0.05 and after <= 0.05 * (1 + 1e-4) for limit, after in calls)


def test_clipping_is_on_by_default_and_none_turns_it_off(monkeypatch):
    calls = _spy_on_clipping(monkeypatch)
    tokens, cards, groups = _tokens()
    ARGN(max_epochs=1, seed=0, n_threads=1).fit(tokens, cards, groups)
    assert calls and {limit for limit, _ in calls} == {1.0}
    calls.clear()
    off = ARGN(max_epochs=1, seed=0, n_threads=1, max_grad_norm=None).fit(tokens, cards, groups)
    assert calls == []
    assert off.get_state()[0]["params"]["max_grad_norm"] is None


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
def test_a_max_grad_norm_that_is_not_positive_is_refused(bad):
    with pytest.raises(LookalikeError, match="max_grad_norm"):
        ARGN(max_grad_norm=bad)
