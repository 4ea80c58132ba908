"""Every registered generator keeps the TokenModel contract (lookalike.models.base).

Parametrised over ``REGISTRY``: a newly registered generator is tested here without writing a test.
Constraints are checked through ``sample_tokens``, so generators that do not honour fixed cells
themselves are held to the same promise through the rejection fallback.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from lookalike.models import REGISTRY, available, make_model, model_settings
from lookalike.models.constrained import sample_tokens

NAMES = sorted(REGISTRY)
CARDS = [2, 12, 5, 3, 8, 4]
GROUPS = [[0], [1, 2, 3], [4], [5]]


def dependent_tokens(n: int = 400, seed: int = 0) -> np.ndarray:
    """a bit; a three-sub-column group driven by a; c follows a; d follows the group's second sub-column."""
    rng = np.random.default_rng(seed)
    a = (rng.random(n) < 0.35).astype(np.int64)
    b0 = (a * 6 + rng.integers(0, 6, n)) % 12
    b1 = np.where(rng.random(n) < 0.8, b0 % 5, rng.integers(0, 5, n))
    b2 = np.where(rng.random(n) < 0.7, b0 // 4, rng.integers(0, 3, n))
    c = np.where(rng.random(n) < 0.8, a * 4 + rng.integers(0, 4, n), rng.integers(0, 8, n))
    d = np.where(rng.random(n) < 0.75, b1 % 4, rng.integers(0, 4, n))
    return np.stack([a, b0, b1, b2, c, d], axis=1).astype(np.int64)


TOKENS = dependent_tokens()


TEST_SETTINGS: dict[str, dict] = {
    # Small networks keep the file fast (the defaults are sized for real tables).
    "gan": {"width": 64, "gan_width": 64, "noise": 16, "latent": 8},
    "vae": {"width": 64, "latent": 8},
    "diffusion": {"width": 64},
}
"""name -> constructor settings for this test (a generator's defaults may be sized for real tables)."""


def build(name: str, seed: int = 3):
    # few epochs and one thread: the whole file stays fast on a busy machine (ignored by generators without them);
    # a generator that is always differentially private (a default dp_epsilon) gets a generous budget: this
    # file checks the protocol, not DP utility (that is benchmarks/dp.py), and 400 rows at epsilon 1 are mostly
    # noise. Generators where DP is optional (argn) are tested here without it.
    settings = model_settings(name)
    params = dict(TEST_SETTINGS.get(name, {}))
    max_epochs = params.pop("max_epochs", 2)
    if "n_threads" in settings:
        params["n_threads"] = 1
    if settings.get("dp_epsilon") is not None:
        params["dp_epsilon"] = 100.0
    return make_model(name, seed=seed, max_epochs=max_epochs, params=params or None)


@pytest.fixture(scope="module", params=NAMES)
def fitted(request):
    name = request.param
    if not available(name):
        pytest.skip(f"generator {name} is not installed")
    return name, build(name).fit(TOKENS, CARDS, GROUPS)


def test_output_has_the_right_shape_dtype_and_range(fitted):
    _, model = fitted
    out = model.sample(500, seed=1)
    assert isinstance(out, np.ndarray) and out.shape == (500, len(CARDS)) and out.dtype == np.int64
    assert (out >= 0).all() and (out < np.array(CARDS)).all()
    assert isinstance(model.name, str) and model.name
    assert isinstance(getattr(model, "honours_fixed", False), bool)


def test_fitting_and_sampling_are_deterministic(fitted):
    name, model = fitted
    again = build(name).fit(TOKENS, CARDS, GROUPS)
    _, tensors_a = model.get_state()  # configs may carry diagnostics (ARGN: seconds per epoch)
    _, tensors_b = again.get_state()
    assert sorted(tensors_a) == sorted(tensors_b)
    for key in tensors_a:
        np.testing.assert_array_equal(tensors_a[key], tensors_b[key], err_msg=f"{name}: tensor {key}")
    np.testing.assert_array_equal(model.sample(300, seed=5), again.sample(300, seed=5))
    np.testing.assert_array_equal(model.sample(300, seed=5), model.sample(300, seed=5))
    assert not np.array_equal(model.sample(300, seed=5), model.sample(300, seed=6))


def test_fixed_cells_come_back_as_given(fitted):
    _, model = fitted
    n = 300
    fixed = np.full((n, len(CARDS)), -1, dtype=np.int64)
    fixed[:150, 0] = 1                       # a condition on a whole column
    fixed[100:200, 4] = 2                    # overlapping with another one
    fixed[200:, 1:4] = TOKENS[:100, 1:4]     # a whole group, from real rows
    fixed[250:, 5] = TOKENS[50:100, 5]       # and one more cell
    out = sample_tokens(model, n, seed=7, fixed=fixed)
    assert out.shape == (n, len(CARDS)) and out.dtype == np.int64
    known = fixed >= 0
    np.testing.assert_array_equal(out[known], fixed[known])
    assert (out >= 0).all() and (out < np.array(CARDS)).all()
    np.testing.assert_array_equal(out, sample_tokens(model, n, seed=7, fixed=fixed))


def test_suppressed_tokens_never_appear_in_free_cells(fitted):
    _, model = fitted
    n = 400
    frequent_b = int(np.bincount(TOKENS[:, 1], minlength=12).argmax())
    frequent_c = int(np.bincount(TOKENS[:, 4], minlength=8).argmax())
    suppress = {1: [frequent_b], 4: [frequent_c, 7]}
    out = sample_tokens(model, n, seed=8, suppress=suppress)
    assert not np.isin(out[:, 1], [frequent_b]).any()
    assert not np.isin(out[:, 4], [frequent_c, 7]).any()
    # a fixed cell keeps its token even where that token is suppressed in free cells
    fixed = np.full((n, len(CARDS)), -1, dtype=np.int64)
    fixed[:50, 4] = frequent_c
    out = sample_tokens(model, n, seed=9, fixed=fixed, suppress=suppress)
    assert (out[:50, 4] == frequent_c).all()
    assert not np.isin(out[50:, 4], [frequent_c, 7]).any()
    assert not np.isin(out[:, 1], [frequent_b]).any()


def test_saved_state_samples_identically(fitted):
    name, model = fitted
    config, tensors = model.get_state()
    config = json.loads(json.dumps(config))  # model files hold JSON ...
    raw = save_tensors({k: np.ascontiguousarray(v) for k, v in tensors.items()}) if tensors else b""
    tensors = load_tensors(raw) if raw else {}  # ... and safetensors
    loaded = type(model).from_state(config, tensors)
    assert loaded.name == name
    np.testing.assert_array_equal(loaded.sample(300, seed=11), model.sample(300, seed=11))
    fixed = np.full((100, len(CARDS)), -1, dtype=np.int64)
    fixed[:, 0] = 1
    np.testing.assert_array_equal(sample_tokens(loaded, 100, seed=12, fixed=fixed),
                                  sample_tokens(model, 100, seed=12, fixed=fixed))


def test_marginals_are_roughly_learned(fitted):
    name, model = fitted
    out = model.sample(2000, seed=13)
    for j, card in enumerate(CARDS):
        real = np.bincount(TOKENS[:, j], minlength=card) / len(TOKENS)
        fake = np.bincount(out[:, j], minlength=card) / len(out)
        tv = 0.5 * np.abs(real - fake).sum()
        assert tv < 0.15, f"{name}: sub-column {j} total variation {tv:.3f}"
