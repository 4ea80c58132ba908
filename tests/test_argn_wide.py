"""argn's projected (wide) path in training: its own backward, and memory reused between steps."""
from __future__ import annotations

import platform

import numpy as np
import pytest
import torch

from lookalike.models import memory
from lookalike.models.argn import ARGN, _Net


def _projected_net_and_batch(seed: int = 0, rows: int = 200):
    rng = np.random.default_rng(seed)
    cards, groups = [3, 7, 50, 2, 11, 5, 9], [[0], [1, 2], [3], [4, 5], [6]]
    tokens = np.stack([rng.integers(0, c, rows) for c in cards], axis=1)
    torch.manual_seed(seed)
    net = _Net(cards, groups, 8, 1, 0.0, [np.zeros(c) for c in cards], context=6)
    for st in net.steps:
        torch.nn.init.normal_(st)
    return net, torch.from_numpy(tokens), torch.rand(rows, len(groups))


@pytest.mark.parametrize("heads", [None, [1, 2, 4, 6], [5]])
def test_the_projected_contexts_backward_gives_the_prefix_sums_gradients(heads):
    """Projected nets train through ``_PrefixContexts`` (a step loop with its own backward); its pre-activations and
    gradients must be those of the plain prefix sums (``_context``, which DP-SGD's vmap uses), for every head or a
    subset (a context's trained heads)."""
    net, x, keys = _projected_net_and_batch()
    assert net.projected
    subset = None if heads is None else torch.tensor(heads)
    weights = torch.randn(len(x), net.n_sub if heads is None else len(heads), net.hidden)
    pre, grads = [], []
    for lookup in (True, False):
        net.zero_grad(set_to_none=True)
        out = net.pre_activations(x, keys, lookup, subset)
        (out * weights).sum().backward()
        pre.append(out.detach())
        grads.append({k: p.grad.clone() for k, p in net.named_parameters() if p.grad is not None})
    torch.testing.assert_close(pre[0], pre[1], rtol=1e-5, atol=1e-5)
    assert grads[0].keys() == grads[1].keys() and {"head_in", "proj.0", "embeddings.6", "steps.2"} <= grads[0].keys()
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-4, atol=1e-5, msg=k)


def test_in_bfloat16_the_projected_contexts_are_the_plain_ones_rounded():
    """Under the bfloat16 autocast of a wide fit both ways round the same float32 sums to bfloat16."""
    net, x, keys = _projected_net_and_batch()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        ours, plain = (net.pre_activations(x, keys, lookup) for lookup in (True, False))
    assert ours.dtype == plain.dtype == torch.bfloat16
    torch.testing.assert_close(ours.float(), plain.float(), rtol=1e-2, atol=1e-2)


def test_a_projected_training_step_never_cumsums_rows_by_sub_columns_by_context():
    """The composed prefix sum streamed a (rows x sub-columns x context) tensor through cumsum, gathers, a permute
    and their backwards: most of a wide table's fit CPU. The step loop carries one (rows x context) sum."""
    from torch.profiler import ProfilerActivity, profile

    net, x, keys = _projected_net_and_batch()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        net.loss(x, keys).backward()
    big = [len(x), net.n_sub, net.context]
    cumsums = [e.input_shapes for e in prof.key_averages(group_by_input_shape=True) if e.key == "aten::cumsum"]
    assert cumsums and not any(shapes and list(shapes[0]) == big for shapes in cumsums)


def test_a_projected_fit_learns_a_dependence_and_is_reproducible(monkeypatch):
    import lookalike.models.argn as argn_module

    monkeypatch.setattr(argn_module, "CONTEXT_WIDTH", 4)  # project even these three narrow columns
    rng = np.random.default_rng(1)
    a = rng.integers(0, 6, 3000)
    tokens = np.stack([a, (a + rng.integers(0, 2, 3000)) % 6, rng.integers(0, 40, 3000)], axis=1)
    cards, groups = [6, 6, 40], [[0], [1], [2]]
    fits = [ARGN(max_epochs=6, seed=3, n_threads=1).fit(tokens, cards, groups) for _ in range(2)]
    assert fits[0].net_.projected
    assert [h["val_loss"] for h in fits[0].history_] == [h["val_loss"] for h in fits[1].history_]
    out = fits[0].sample(3000, seed=0)
    assert np.mean((out[:, 1] - out[:, 0]) % 6 <= 1) > 0.9


glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc malloc only")


class _RecordingLibc:
    """Stands in for glibc: records the malloc settings a block makes."""

    def __init__(self):
        self.calls = []

    def mallopt(self, parameter, value):
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


def test_inside_a_fit_freed_large_tensors_stay_in_mallocs_heap(monkeypatch):
    """The block raises glibc's mmap and trim thresholds above a training step's tensors, so a freed one is reused
    instead of being unmapped and faulted in again (measured in benchmarks/RESULTS.md, argn-wide-fit: 0.6 of 1.9 CPU
    s a step on the 100-column table); nested blocks keep them raised; the last one puts glibc's ceiling back and
    trims. (A page-fault count in a test process was flaky: it depends on where the heap can grow.)"""
    libc = _RecordingLibc()
    monkeypatch.setattr(memory, "_libc", lambda: libc)
    with memory.reuse_freed_memory() as raised:
        assert raised
        with memory.reuse_freed_memory():
            pass
        assert libc.calls == [("mallopt", memory.M_MMAP_THRESHOLD, memory.HELD_BYTES),
                              ("mallopt", memory.M_TRIM_THRESHOLD, memory.HELD_BYTES)]
    assert memory.HELD_BYTES >= 180 * 2**20  # above the largest tensors of a wide step
    assert libc.calls[2:] == [("mallopt", memory.M_MMAP_THRESHOLD, memory.CEILING_BYTES),
                              ("mallopt", memory.M_TRIM_THRESHOLD, 2 * memory.CEILING_BYTES), ("malloc_trim", 0)]


@glibc
def test_malloc_tuned_by_the_user_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    with memory.reuse_freed_memory() as raised:
        assert not raised


def test_the_step_loops_run_on_one_torch_thread_inside_a_two_thread_fit(monkeypatch):
    """Their ops are small: on a busy machine a second thread made each one wait (AER.STAR: 3.4 against 1.4 CPU s a
    step). The fit's own count holds around them."""
    from lookalike.models.threads import torch_threads

    seen = {"forward": set(), "backward": set()}
    real_put, real_add = torch.Tensor.index_put_, torch.Tensor.index_add_

    def put(self, *args, **kwargs):
        seen["forward"].add(torch.get_num_threads())
        return real_put(self, *args, **kwargs)

    def add(self, *args, **kwargs):
        seen["backward"].add(torch.get_num_threads())
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "index_put_", put)
    monkeypatch.setattr(torch.Tensor, "index_add_", add)
    net, x, keys = _projected_net_and_batch()
    with torch_threads(2):
        pre = net.pre_activations(x, keys, True)
        assert torch.get_num_threads() == 2
        pre.sum().backward()
        assert torch.get_num_threads() == 2
    assert seen == {"forward": {1}, "backward": {1}}
