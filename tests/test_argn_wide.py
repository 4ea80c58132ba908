"""argn's projected (wide) path in training: its own backward, and memory reused between steps."""
from __future__ import annotations

import os
import platform
import resource

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


FAULTS_SCRIPT = """
import resource, torch
from lookalike.models import memory

def faults():  # minor page faults taken by filling a 96 MiB tensor after an equal one was allocated, filled, freed
    torch.ones(24 * 2**20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(24 * 2**20)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

outside = faults()
with memory.reuse_freed_memory() as raised:
    inside = faults()
print(outside, int(raised), inside, faults())
"""


@glibc
def test_inside_a_fit_freed_large_tensors_are_reused_without_page_faults(monkeypatch):
    """In a fresh process, as the CLI and the suite fit. (A long-lived process whose main thread glibc moved to a
    secondary arena, after threads contended for malloc, serves 96 MiB from fresh mmaps whatever the threshold:
    such arenas' heaps hold at most 64 MiB. That is why this runs in its own interpreter.)"""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in memory._ENV}
    done = subprocess.run([sys.executable, "-c", FAULTS_SCRIPT], env=env, capture_output=True, text=True, check=True)
    outside, raised, inside, after = map(int, done.stdout.split())
    pages = 96 * 2**20 // resource.getpagesize()
    assert outside > pages / 2  # glibc maps and unmaps each one
    assert raised
    assert inside < pages / 20
    assert after > pages / 2  # thresholds back down after the block


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
