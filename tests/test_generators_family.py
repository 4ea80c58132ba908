"""The GAN, VAE and diffusion generators beyond the protocol (test_models_conformance covers that), `--model auto`'s
choice and `lookalike compare`. Every training here is tiny: a few epochs of small networks on a few hundred rows."""
from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

import lookalike
from lookalike import LookalikeError, Synthesizer
from lookalike.cli import main
from lookalike.models import choose_model, make_model
from test_models_conformance import CARDS, GROUPS, TEST_SETTINGS, TOKENS, dependent_tokens

FAMILY = ("gan", "vae", "diffusion")


def small(name: str, **extra):
    params = dict(TEST_SETTINGS[name], n_threads=1)
    max_epochs = extra.pop("max_epochs", params.pop("max_epochs", 3))
    params.pop("max_epochs", None)
    params.update(extra)
    return make_model(name, seed=0, max_epochs=max_epochs, params=params)


def table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    amount = np.round(np.where(group == "a", 10, 50) + rng.normal(0, 5, n), 1)
    flag = np.where(rng.random(n) < 0.8, group == "c", rng.random(n) < 0.5)
    return pd.DataFrame({"group": group, "amount": amount, "flag": flag})


@pytest.mark.parametrize("name", FAMILY)
def test_max_time_is_respected(name):
    small(name, max_epochs=1).fit(TOKENS, CARDS, GROUPS)  # torch's one-time warm-up (seconds on a busy machine)
    model = small(name, max_epochs=100_000, max_time=0.5)
    started = time.monotonic()
    model.fit(TOKENS, CARDS, GROUPS)
    assert time.monotonic() - started < 8  # the budget, plus one step and the final bookkeeping on a busy machine
    assert len(model.history_) < 100_000
    assert model.sample(10, seed=0).shape == (10, len(CARDS))


@pytest.mark.parametrize("name", FAMILY)
def test_progress_reaches_one(name):
    seen = []
    small(name, max_epochs=2).fit(TOKENS, CARDS, GROUPS, progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions and fractions[-1] == 1.0 and all(0 <= f <= 1 for f in fractions)
    assert fractions == sorted(fractions)


@pytest.mark.parametrize("name", ["gan", "vae"])
def test_unconditional_generators_refuse_fixed_cells_clearly(name):
    model = small(name, max_epochs=1).fit(TOKENS, CARDS, GROUPS)
    assert model.honours_fixed is False
    fixed = np.full((5, len(CARDS)), -1, dtype=np.int64)
    fixed[:, 0] = 1
    with pytest.raises(LookalikeError, match="cannot condition on fixed cells"):
        model.sample(5, seed=0, fixed=fixed)


def test_gan_calibration_matches_the_training_marginals():
    """The calibrated generator's expected token frequencies equal the training frequencies; without it they drift."""
    import torch

    from lookalike.models._tabular_nn import log_frequencies

    target = log_frequencies(TOKENS, CARDS).exp()
    drift = {}
    for calibrate in (False, True):
        model = small("gan", max_epochs=3, calibrate=calibrate).fit(TOKENS, CARDS, GROUPS)
        net = model.autoencoder_.net_
        with torch.no_grad():
            codes = model.generator_.codes(torch.randn(4000, model.noise, generator=torch.Generator().manual_seed(5)))
            expected = net.layout.log_softmax_flat(net.decode(codes) + model.calibration_).exp().mean(0)
        drift[calibrate] = float((expected - target).abs().max())
    assert drift[True] < 0.02 and drift[True] < drift[False], drift


def test_gan_learns_the_code_distribution_adversarially():
    """The GAN stage moves the generated codes towards the encoder's codes: after training, a critic-free
    two-sample statistic (energy distance of the standardised codes) is far below that of a generator with the
    trained one's starting weights (same seed, same first draws) that never took a step. Float32 matrix products,
    so the margin does not depend on whether the CPU has bfloat16."""
    import torch

    from lookalike.models.gan import _CodeGenerator
    from lookalike.models.vae import encode_rows

    def energy(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(2 * torch.cdist(a, b).mean() - torch.cdist(a, a).mean() - torch.cdist(b, b).mean())

    model = small("gan", max_epochs=30, calibrate=False, learning_rate=1e-3, precision="float32")
    model.fit(TOKENS, CARDS, GROUPS)
    trained = model.generator_
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        untrained = _CodeGenerator(model.noise, model.gan_width, model.depth, model.latent)
    noise = torch.randn(len(TOKENS), model.noise, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        means, variances = encode_rows(model.autoencoder_.net_, TOKENS)
        real = (means + variances.sqrt() * torch.randn(means.shape, generator=torch.Generator().manual_seed(1))
                - trained.code_mean) / trained.code_std
        distances = {"trained": energy(real, trained(noise)), "untrained": energy(real, untrained(noise))}
    assert distances["trained"] < 0.5 * distances["untrained"], distances


def test_gan_max_time_leaves_the_gan_stage_its_share():
    """The autoencoder may use only part of max_time: given all of it, it used it up and left the GAN one step."""
    small("gan", max_epochs=1).fit(TOKENS, CARDS, GROUPS)  # torch's one-time warm-up
    model = small("gan", max_epochs=100_000, max_time=1.0).fit(TOKENS, CARDS, GROUPS)
    assert model.autoencoder_.history_[-1]["seconds"] < 0.9
    assert sum(h["steps"] for h in model.history_) >= 5, model.history_


def test_an_old_gan_file_is_refused_with_a_clear_error():
    from lookalike.models.gan import LatentGAN

    with pytest.raises(LookalikeError, match="earlier lookalike"):
        LatentGAN.from_state({"name": "gan", "params": {}, "cardinalities": [2], "groups": [[0]],
                              "condition_columns": [0]}, {})


def test_diffusion_conditions_by_inpainting():
    # 1,200 rows, not the shared 400: with 40 validation rows early stopping picked a model whose c|a gap was
    # 0.32 with the within-group tables and 0.56 without (its validation loss was lower: 6.04 against 6.22);
    # at 1,200 rows the gaps are 0.72 and 0.67
    model = small("diffusion", max_epochs=40, width=64).fit(dependent_tokens(1200), CARDS, GROUPS)
    assert model.honours_fixed is True
    n = 600
    fixed = np.full((n, len(CARDS)), -1, dtype=np.int64)
    fixed[:300, 0], fixed[300:, 0] = 0, 1
    fixed[:100, 5] = 3
    out = model.sample(n, seed=2, fixed=fixed, suppress={4: [0]})
    known = fixed >= 0
    np.testing.assert_array_equal(out[known], fixed[known])
    assert not (out[:, 4] == 0).any()
    # c follows a (c = a * 4 + noise in 80% of rows): the free cells must follow the fixed ones
    high_given_a0 = (out[:300, 4] >= 4).mean()
    high_given_a1 = (out[300:, 4] >= 4).mean()
    assert high_given_a1 - high_given_a0 > 0.4, (high_given_a0, high_given_a1)


@pytest.mark.parametrize("name", FAMILY)
def test_synthesizer_round_trip_with_conditions(name, tmp_path):
    df = table()
    params = dict(TEST_SETTINGS[name], n_threads=1)
    epochs = params.pop("max_epochs", 20)
    syn = Synthesizer(model=name, max_epochs=epochs, model_params=params).fit(df)
    out = syn.sample(100, seed=1, conditions={"group": "b"})
    assert list(out.columns) == list(df.columns) and len(out) == 100
    assert (out["group"] == "b").all()
    assert out["amount"].dtype.kind == "f" and out["flag"].dtype == bool
    path = tmp_path / f"{name}.lookalike"
    syn.save(path)
    again = Synthesizer.load(path)
    pd.testing.assert_frame_equal(again.sample(80, seed=3), syn.sample(80, seed=3))


def test_auto_picks_argn_where_it_can_train_and_says_why():
    name, reason = choose_model(5000, 30, None)
    assert name == "argn" and "argn" in reason
    name, reason = choose_model(40, 10, None)
    assert name == "copula" and "40 rows" in reason
    assert choose_model(100, 10, None)[0] == "argn"
    name, reason = choose_model(50_000, 40, max_time=5)
    assert name == "copula" and "time budget" in reason
    assert choose_model(50_000, 40, max_time=60)[0] == "argn"  # a tenth of ARGN's need still helps it


def test_synthesizer_auto_records_its_choice(tmp_path):
    syn = Synthesizer(model="auto").fit(table(40))
    assert syn.model_.name == "copula" and "40 rows" in syn.model_reason_
    syn.save(tmp_path / "m.lookalike")
    assert Synthesizer.load(tmp_path / "m.lookalike").model_reason_ == syn.model_reason_


def test_compare_writes_reports_and_summary(tmp_path):
    df = table(400)
    folder = tmp_path / "cmp"
    result = lookalike.compare(df, models=["copula", "vae"], target="flag", max_time=3, output=folder)
    assert list(result.table["model"]) == ["copula", "vae"]
    for key in ("fit_seconds", "sample_rows_per_second", "bivariate_accuracy", "bivariate_floor",
                "bivariate_accuracy_holdout", "dependence_capture", "discriminator_auc", "dcr_share", "tstr_score"):
        assert result.table[key].notna().all(), key
    assert len(result.holdout) == 80 and len(result.train) == 320
    page = (folder / "index.html").read_text()
    for name in ("copula", "vae"):
        assert (folder / f"report-{name}.html").exists() and f'href="report-{name}.html"' in page
        assert len(pd.read_csv(folder / f"synthetic-{name}.csv")) == 320
    summary = json.loads((folder / "summary.json").read_text())
    assert [g["model"] for g in summary["generators"]] == ["copula", "vae"]
    with pytest.raises(LookalikeError, match="not empty"):
        lookalike.compare(df, models=["copula"], output=folder)
    with pytest.raises(LookalikeError, match="unknown model"):
        lookalike.compare(df, models=["copula", "nope"])


class Broken:
    name = "broken"
    honours_fixed = False

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, tokens, cardinalities, groups, *, progress=None):
        raise RuntimeError("this generator always fails")


def test_compare_keeps_going_when_one_generator_fails(monkeypatch):
    from lookalike.models import REGISTRY

    monkeypatch.setitem(REGISTRY, "broken", Broken)
    result = lookalike.compare(table(200), models=["broken", "copula"])
    errors = result.table.set_index("model")["error"]
    assert "always fails" in errors["broken"] and pd.isna(errors["copula"])
    assert result.table.set_index("model").loc["copula", "bivariate_accuracy"] > 0.5
    assert "error" in result.formatted()


def test_cli_compare(tmp_path, capsys):
    data = tmp_path / "t.csv"
    table(300).to_csv(data, index=False)
    folder = tmp_path / "out"
    code = main(["compare", str(data), "--models", "copula", "--target", "flag", "--max-time", "2", "-o", str(folder)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "copula" in printed and "bi floor" in printed and (folder / "index.html").exists()
    assert main(["compare", str(data), "--models", "copula", "-o", str(folder)]) == 1  # not empty, no --force
    assert main(["compare", str(data), "--models", "copula", "-o", str(folder), "--force"]) == 0


def heaped_numbers(n: int = 2000, seed: int = 0) -> np.ndarray:
    """Tokens shaped like a numeric codec's group: main token (0-3 heaped values, 4-9 bins), then a unit token that
    is 0 for every heaped value and 1-3 (mostly 2) inside a bin; plus an unrelated category."""
    rng = np.random.default_rng(seed)
    main = np.where(rng.random(n) < 0.85, rng.integers(0, 4, n), rng.integers(4, 10, n))
    unit = np.where(main < 4, 0, rng.choice([1, 2, 3], n, p=[0.2, 0.7, 0.1]))
    return np.stack([main, unit, rng.integers(0, 3, n)], axis=1)


@pytest.mark.parametrize("name", ["diffusion", "vae"])
def test_a_group_rule_between_its_own_sub_columns_holds(name):
    """A bin's unit token must not be the heaps' token 0: without the within-group tables the diffusion denoiser
    drew it in most bin rows (lending_club: 75% against 4% real), snapping numbers to round values; the VAE's cells
    were independent given the latent vector."""
    tokens = heaped_numbers()
    cards, groups = [10, 4, 3], [[0, 1], [2]]
    shares = {}
    for within in (True, False):
        model = small(name, max_epochs=4, width=32, within_group=within).fit(tokens, cards, groups)
        out = model.sample(3000, seed=1)
        shares[within] = float((out[out[:, 0] >= 4, 1] == 0).mean())
    assert shares[True] < 0.05 < shares[False], shares


@pytest.mark.parametrize("name", ["diffusion", "vae"])
def test_files_without_within_group_tables_still_load(name):
    from lookalike.models import model_class

    model = small(name, max_epochs=2, width=32, within_group=False).fit(TOKENS, CARDS, GROUPS)
    config, tensors = model.get_state()
    config = json.loads(json.dumps(config))
    del config["params"]["within_group"]  # as written before the parameter existed
    loaded = model_class(name).from_state(config, tensors)
    np.testing.assert_array_equal(loaded.sample(50, seed=3), model.sample(50, seed=3))


def test_flat_cross_entropy_matches_a_per_column_log_softmax_even_for_extreme_logits():
    """The flat log-softmax shifts each sub-column by its mean (cheap) and falls back to its maximum when a
    sub-column spreads over more than 80 nats; both must give torch's own per-column log-softmax."""
    import torch

    from lookalike.models._tabular_nn import TokenLayout

    layout = TokenLayout(CARDS)
    x = torch.from_numpy(TOKENS[:9])
    for scale in (1.0, 400.0):  # 400: logits hundreds of nats apart, exp() of them would overflow unshifted
        logits = torch.randn(9, layout.total, generator=torch.Generator().manual_seed(3)) * scale
        expected = torch.stack([-torch.log_softmax(logits[:, o:o + c], dim=1).gather(1, x[:, j:j + 1]).squeeze(1)
                                for j, (c, o) in enumerate(zip(layout.cards, layout.offsets.tolist()))], dim=1)
        got = layout.cross_entropy(logits, x)
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4)
        flat = layout.log_softmax_flat(logits)
        torch.testing.assert_close(-flat.gather(1, x + layout.offsets), expected, rtol=1e-5, atol=1e-4)


def test_flat_cross_entropy_survives_minus_infinity_and_a_wide_segment_that_would_overflow():
    import torch

    from lookalike.models._tabular_nn import TokenLayout

    layout = TokenLayout([3, 5, 2])
    logits = torch.randn(2, layout.total, generator=torch.Generator().manual_seed(1))
    logits[0, 2] = -math.inf  # a masked token: its segment's mean is -inf, the other segments must not care
    x = torch.tensor([[0, 4, 1], [2, 0, 0]])
    expected = torch.stack([-torch.log_softmax(logits[:, o:o + c], dim=1).gather(1, x[:, j:j + 1]).squeeze(1)
                            for j, (c, o) in enumerate(zip(layout.cards, layout.offsets.tolist()))], dim=1)
    torch.testing.assert_close(layout.cross_entropy(logits, x), expected)
    wide = TokenLayout([20_000])  # every logit within 80 nats of the mean, yet their exponentials overflow a float
    flat = torch.cat([torch.full((1, 19_000), 79.0), torch.full((1, 1_000), -1501.0)], dim=1)
    got = wide.cross_entropy(flat, torch.tensor([[0]]))
    torch.testing.assert_close(got, -torch.log_softmax(flat, dim=1)[:, :1])


def test_input_layer_from_tokens_equals_the_one_hot_product():
    import torch

    from lookalike.models._tabular_nn import TokenLayout

    layout = TokenLayout(CARDS)
    layer = torch.nn.Linear(layout.total, 16)
    x = torch.from_numpy(TOKENS[:11])
    torch.testing.assert_close(layout.linear_of_one_hot(layer, x), layer(layout.one_hot(x)), rtol=1e-5, atol=1e-5)


def test_vae_precision_float32_and_bfloat16_both_train_and_a_bad_value_is_refused():
    from lookalike.models._tabular_nn import matmul_precision

    assert matmul_precision("auto") in ("float32", "bfloat16")
    with pytest.raises(LookalikeError, match="vae: precision must be one of"):  # at construction, before any work
        small("vae", precision="half")
    for precision in ("float32", "bfloat16"):
        model = small("vae", precision=precision).fit(TOKENS, CARDS, GROUPS)
        assert model.precision_ == precision and all(np.isfinite(h["val_loss"]) for h in model.history_)
        assert type(model).from_state(*model.get_state()).precision_ == precision  # the file says what it used
        rows = model.sample(50, seed=1)
        assert rows.shape == (50, len(CARDS)) and (rows < np.asarray(CARDS)).all()
        np.testing.assert_array_equal(rows, small("vae", precision=precision).fit(TOKENS, CARDS, GROUPS).sample(50, seed=1))
