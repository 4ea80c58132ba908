"""argn's temperature: fitted on the validation rows after early stopping, folded into the output layers."""
from __future__ import annotations

import copy

import numpy as np
import torch

from lookalike.models.argn import ARGN, fold_temperature


def _data(n: int, seed: int):
    """Two columns that depend on each other (their heads keep gaining for many epochs) beside six independent
    uniform ones (whose heads can only memorise the training rows)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 12, n)
    y = (x + rng.integers(0, 2, n)) % 12
    noise = [rng.integers(0, 12, n) for _ in range(6)]
    return np.stack([x, y, *noise], axis=1).astype(np.int64), [12] * 8, [[j] for j in range(8)]


def _held_out_loss(net, tokens, seed: int = 5) -> float:
    x = torch.from_numpy(tokens)
    keys = torch.rand(len(x), net.n_sub, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return float(net.loss(x, keys))


def test_fold_temperature_finds_a_sharpening_and_undoes_it():
    """Logits made 1.6 times sharper are found 1.6 times colder than the model's own (the dependent pair alone,
    whose own temperature is near 1), and folding the found one brings the loss on fresh rows back down."""
    tokens, cards, groups = _data(600, 0)[0][:, :2], [12, 12], [[0], [1]]
    model = ARGN(max_epochs=20, seed=0, n_threads=1).fit(tokens, cards, groups)
    fresh = _data(2000, 1)[0][:, :2]
    x = torch.from_numpy(fresh)
    keys = torch.rand(len(x), len(groups), generator=torch.Generator().manual_seed(3))
    own = fold_temperature(copy.deepcopy(model.net_), x, keys)
    sharp = copy.deepcopy(model.net_)
    with torch.no_grad():
        for w, b in zip(sharp.out_w, sharp.out_b):
            w.mul_(1.6)
            b.mul_(1.6)
    before = _held_out_loss(sharp, fresh)
    found = fold_temperature(sharp, x, keys)
    assert 0.8 < own < 1.25 and abs(found / own - 1.6) < 0.1
    assert _held_out_loss(sharp, fresh) < before - 0.05


def test_a_fit_calibrates_heads_that_memorised_their_rows():
    """Early stopping on the summed loss keeps the dependent pair's gains while the noise heads memorise: the
    fitted temperature is above 1 and the model's loss on fresh rows is lower with it than without it."""
    tokens, cards, groups = _data(400, 0)
    model = ARGN(max_epochs=60, seed=0, n_threads=1, patience=6).fit(tokens, cards, groups)
    assert model.temperature_ > 1.1
    fresh, _, _ = _data(4000, 1)
    unfolded = copy.deepcopy(model.net_)
    with torch.no_grad():
        for w, b in zip(unfolded.out_w, unfolded.out_b):
            w.mul_(model.temperature_)
            b.mul_(model.temperature_)
    assert _held_out_loss(model.net_, fresh) < _held_out_loss(unfolded, fresh) - 0.01
    # the temperature is saved with the model (its weights already carry it)
    config, tensors = model.get_state()
    loaded = ARGN.from_state(config, tensors)
    assert loaded.temperature_ == model.temperature_
    np.testing.assert_array_equal(loaded.sample(300, seed=2), model.sample(300, seed=2))
