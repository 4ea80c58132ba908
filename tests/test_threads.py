"""Fitting and sampling set torch's process-wide thread count only while they work, and put it back."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lookalike.models.argn import ARGN  # noqa: E402
from lookalike.models.threads import auto_threads, torch_threads  # noqa: E402


@pytest.fixture
def three_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


def tiny_tokens(n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    tokens = np.stack([a, (a + rng.integers(0, 2, n)) % 4, rng.integers(0, 5, n)], axis=1).astype(np.int64)
    return tokens, [3, 4, 5], [[0], [1], [2]]


def test_fit_and_sample_leave_the_callers_thread_count(three_threads):
    tokens, cards, groups = tiny_tokens()
    seen = []
    model = ARGN(max_epochs=1, seed=0, n_threads=1).fit(
        tokens, cards, groups, progress=lambda f, m: seen.append(torch.get_num_threads()))
    assert len(seen) > 1 and set(seen[:-1]) == {1}  # the model's own count while it trains (the last: "trained")
    assert torch.get_num_threads() == 3
    model.sample(50, seed=0)
    assert torch.get_num_threads() == 3
    ARGN(max_epochs=1, seed=0).fit(tokens, cards, groups)  # n_threads=None: the machine's count
    assert torch.get_num_threads() == 3


def test_a_suspended_sampling_generator_does_not_hold_its_thread_count(three_threads):
    tokens, cards, groups = tiny_tokens()
    model = ARGN(max_epochs=1, seed=0, n_threads=1).fit(tokens, cards, groups)
    batches = model.sample_batches(100, seed=0, batch_size=10)
    next(batches)
    assert torch.get_num_threads() == 3 and torch.is_grad_enabled()
    rest = list(batches)
    assert sum(len(b) for b in rest) == 90
    assert torch.get_num_threads() == 3


def test_two_fits_in_one_process_give_the_same_model(three_threads):
    tokens, cards, groups = tiny_tokens()
    first = ARGN(max_epochs=1, seed=4).fit(tokens, cards, groups)
    second = ARGN(max_epochs=1, seed=4).fit(tokens, cards, groups)
    (_, t1), (_, t2) = first.get_state(), second.get_state()
    assert t1.keys() == t2.keys()
    assert all(np.array_equal(t1[k], t2[k]) for k in t1)
    assert np.array_equal(first.sample(64, seed=1), second.sample(64, seed=1))
    assert torch.get_num_threads() == 3


def test_nested_and_overlapping_blocks_restore_the_original_count(three_threads):
    with torch_threads(2) as n:
        assert n == 2 == torch.get_num_threads()
        with torch_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 3
    # blocks that end out of order (a suspended generator, another Python thread)
    a, b = torch_threads(2), torch_threads(1)
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)
    assert torch.get_num_threads() == 1  # b still runs with its count
    b.__exit__(None, None, None)
    assert torch.get_num_threads() == 3
    with pytest.raises(RuntimeError):
        with torch_threads(None) as n:
            assert n == auto_threads() == torch.get_num_threads()
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 3
