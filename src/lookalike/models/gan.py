"""A latent Wasserstein GAN: an autoencoder learns to write rows as codes, a GAN learns the distribution of codes.

The adversarial game of CTGAN's family is played over rows of one-hot sub-columns: hundreds of sparse dimensions,
each a categorical choice a critic can read off exactly. On our token rows (a number is a value bin plus its
position in the bin and its rounding unit) a CTGAN-style generator learned the marginals but almost none of the
dependence: an earlier version here (conditional vector with training by sampling, PacGAN critic, WGAN-GP,
straight-through Gumbel rows, marginal calibration) scored dependence capture -0.25 on lending_club and 0.25 on
diamonds, TSTR R^2 0.52 on diamonds against SDV CTGAN's 0.85, at seeds 1-2 (benchmarks/RESULTS.md at commit
f671f8a; the family section's first paragraph keeps those numbers).

So the GAN here plays over a continuous code space instead: a latent WGAN-GP, the l-WGAN of Achlioptas et al.
(2018), whose critic reads codes of a frozen, pretrained autoencoder. (medGAN, Choi et al. 2017, also generates
through a pretrained decoder, but its discriminator judges decoded rows and it fine-tunes the decoder.)

1. **Autoencoder.** The VAE of ``lookalike.models.vae`` (its encoder, decoder, early stopping and bfloat16
   matrix products) is trained on the tokens. Its decoder turns a code into one softmax per sub-column.
2. **GAN over codes.** The training rows' posterior codes (mean plus a fresh draw of the encoder's noise at each
   step: samples of the aggregate posterior), standardised per dimension, are the real data of a WGAN-GP: a
   residual-MLP generator maps noise to a code, an MLP critic scores packs of ``pac`` codes (PacGAN: a pack
   exposes mode collapse), with the gradient penalty (weight 10) and ``critic_steps`` critic updates per
   generator update (Adam, betas 0.5 / 0.9, as CTGAN).
3. **Marginal calibration** (``calibrate``): one bias vector on the decoder's logits, found by a few fixed-point
   rounds on fixed noise, makes the generated token frequencies match the training frequencies (the marginals
   the codecs learned); the GAN's small errors in code space otherwise show as marginal drift.

Defaults: chosen on seed-42/43/44 splits (never the reported seeds), one run per setting and split; a GAN's
run-to-run spread is large, so only differences seen on several splits counted. Every run is in
benchmarks/gan_tuning_runs.jsonl (benchmarks/gan_tuning.py; runs before the 100-epoch cap had the autoencoder
capped at 300 epochs, which it never reached, and the GAN width was then called critic_width).
- bfloat16 matrix products (the autoencoder's ``precision``) against float32, at learning rate 2e-4, three critic
  updates, width 256, lending_club seeds 43/44: bivariate 0.944 / 0.948 against 0.945 / 0.946, at 43 / 57 CPU s
  against 81 / 89.
- 100 epochs against 200 (same settings): 200 gained a little on lending_club (0.949 / 0.949 against
  0.944 / 0.948) and nothing on diamonds (seed 43: 0.910 both), for twice the GAN's CPU seconds.
- learning rate 5e-4 with two critic updates per generator update, against 2e-4 with three or 1e-3 with three:
  within the spread on all four tables (seeds 43/44), and the cheapest.
- GAN width 128 against 256 (learning rate 5e-4, two critic updates, seed 43): diamonds 44 against 62 CPU s,
  bivariate 0.907 against 0.908, TSTR 0.879 against 0.883; lending_club 34 against 54 CPU s, bivariate 0.943
  against 0.945, TSTR 0.660 against 0.683.
- the autoencoder's KL weight 0.2 against 0.5: mlc_churn's TSTR rose (0.719 / 0.744 against 0.659 / 0.732), but
  lending_club's fell (seed 43: TSTR 0.655 against 0.683, bivariate 0.941 against 0.945), and with GAN width 128
  diamonds' bivariate accuracy fell to 0.864 / 0.861; kept at 0.5, the VAE's.
- pac 4, noise 64 and latent 64 (the VAE's) were not varied.

Where this differs from the VAE: the VAE samples codes from one Gaussian fitted to the aggregate posterior; the
GAN learns that distribution adversarially. On the benchmark (benchmarks/RESULTS.md, family, seeds 1-2) that did
not buy quality: the GAN matches the VAE it is built on (bivariate 0.935 / 0.944 / 0.940 / 0.906 against
0.935 / 0.942 / 0.937 / 0.910 on credit_data / lending_club / mlc_churn / diamonds; TSTR 0.792 / 0.707 / 0.687 /
0.883 against 0.804 / 0.694 / 0.700 / 0.896) at 2.2-4.2 times its fit CPU seconds. The file holds no training row and
no per-row code; sampling uses the GAN's generator and the decoder (the encoder's weights are saved with the
autoencoder but not used).

Sampling: noise, the GAN's generator, the decoder's softmax (plus the calibration), one inverse-CDF draw per cell.
The generator cannot condition on fixed cells, so ``honours_fixed`` is False: conditions go through rejection
(``lookalike.models.constrained``).
"""
from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from lookalike.errors import LookalikeError
from lookalike.models._tabular_nn import (Clock, check_fit_input, check_precision, default_batch,
                                          fast_matmuls, load_numpy_state, log_frequencies, residual_mlp, seeded,
                                          state_to_numpy)
from lookalike.models import dp_sgd
from lookalike.models.base import ProgressCallback
from lookalike.models.vae import TVAE, encode_rows, sample_decoded

log = logging.getLogger(__name__)


AUTOENCODER_SHARE = 0.5
"""The most of ``max_time`` the autoencoder may use, so the GAN always gets at least the other half: given the
whole budget, an autoencoder that used it up left the GAN one step (about half of the fit CPU went to each stage
on the benchmark tables)."""


class _CodeGenerator(nn.Module):
    """Noise -> a code in the autoencoder's latent space (standardised inside, in data units outside)."""

    def __init__(self, noise: int, width: int, depth: int, latent: int):
        super().__init__()
        self.body = residual_mlp(noise, width, depth)
        self.head = nn.Linear(width, latent)
        self.register_buffer("code_mean", torch.zeros(latent))
        self.register_buffer("code_std", torch.ones(latent))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Standardised codes (what the critic sees)."""
        return self.head(self.body(z))

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """Codes in the decoder's units."""
        return self.forward(z) * self.code_std + self.code_mean


class _Critic(nn.Module):
    """Scores packs of ``pac`` codes side by side (PacGAN)."""

    def __init__(self, latent: int, pac: int, width: int):
        super().__init__()
        self.pac = pac
        self.net = nn.Sequential(nn.Linear(latent * pac, width), nn.LeakyReLU(0.2), nn.Linear(width, width),
                                 nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.net(codes.reshape(-1, codes.shape[1] * self.pac))


class LatentGAN:
    """WGAN-GP over an autoencoder's codes (medGAN's recipe, module docstring); conditions by rejection.

    Parameters
    ----------
    max_epochs: upper bound on the epochs of each stage: the autoencoder stops earlier on its validation loss
        (``patience``); the GAN, which has no validation loss to stop on, runs them all unless ``max_time`` runs
        out first. max_time: seconds for the whole fit: the autoencoder may use up to AUTOENCODER_SHARE of it, the
        GAN the rest (a GAN stopped before one epoch logs a warning and says so in ``history_``).
    width, depth: the autoencoder's encoder and decoder (residual MLPs). gan_width: the hidden width of the code
        generator (a residual MLP of the same depth) and of the critic.
    latent, beta, patience, precision: the autoencoder's (see ``lookalike.models.vae.TVAE``); ``precision`` sets
        the GAN's matrix products too.
    batch_size: codes per GAN step (None: from the row count; a multiple of ``pac``). pac: codes per critic pack.
    noise: the generator's noise dimensions.
    learning_rate: Adam's, both networks. critic_steps: critic updates per generator update.
    calibrate: marginal calibration after training. seed: training seed. n_threads: torch threads.
    dp_epsilon, dp_delta: train both networks that read real rows by DP-SGD (``lookalike.models.dp_sgd``):
        first the autoencoder (as the VAE under DP), then the critic, each row's critic loss (its code against
        one generated code, with the gradient penalty at a point between them) clipped to
        ``dp_max_grad_norm``; the two phases (``max_epochs`` epochs each, Poisson sampling) share one noise
        multiplier, calibrated so that their composition in one RDP history spends exactly (dp_epsilon,
        dp_delta). The generator's updates read only the critic (post-processing). Under DP: packs of one
        code (a row added would shift every later pack), codes standardised by the prior N(0, I) rather than
        the rows' codes, no marginal calibration (it matches the training token frequencies), no loss
        history. ``dp_rows``: the row count as released by a mechanism. ``dp_noise_seed``: tests only.
    """

    name = "gan"
    honours_fixed = False

    def __init__(self, max_epochs: int = 100, max_time: float | None = None, latent: int = 64, beta: float = 0.5,
                 patience: int = 8, precision: str = "auto", batch_size: int | None = None, pac: int = 4,
                 noise: int = 64, width: int = 256, depth: int = 2, gan_width: int = 128, learning_rate: float = 5e-4, critic_steps: int = 2,
                 calibrate: bool = True, seed: int = 0, n_threads: int | None = None, verbose: bool = False,
                 dp_epsilon: float | None = None, dp_delta: float | None = None, dp_max_grad_norm: float = 1.0,
                 dp_rows: int | None = None, dp_noise_seed: int | None = None):
        check_precision(precision, "gan")
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.latent = latent
        self.beta = beta
        self.patience = patience
        self.precision = precision
        self.batch_size = batch_size
        self.pac = pac
        self.noise = noise
        self.width = width
        self.depth = depth
        self.gan_width = gan_width
        self.learning_rate = learning_rate
        self.critic_steps = critic_steps
        self.calibrate = calibrate
        self.seed = seed
        self.n_threads = n_threads
        self.verbose = verbose
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_rows = dp_rows
        self.dp_noise_seed = dp_noise_seed

    def fit(self, tokens: np.ndarray, cardinalities: Sequence[int], groups: Sequence[Sequence[int]], *,
            progress: ProgressCallback | None = None) -> "LatentGAN":
        clock = Clock(self.max_time)
        tokens, cards, groups = check_fit_input(tokens, cardinalities, groups, "gan")
        if self.dp_epsilon is not None:
            return self._fit_dp(tokens, cards, groups, progress, clock)
        half = None if progress is None else (lambda f, m: progress(0.5 * f, f"autoencoder: {m}"))
        ae_time = None if self.max_time is None else AUTOENCODER_SHARE * self.max_time
        autoencoder = TVAE(max_epochs=self.max_epochs, max_time=ae_time, width=self.width, depth=self.depth,
                           latent=self.latent,
                           beta=self.beta, patience=self.patience, precision=self.precision, seed=self.seed,
                           n_threads=self.n_threads, verbose=self.verbose).fit(tokens, cards, groups, progress=half)
        net = autoencoder.net_
        precision = autoencoder.precision_  # the GAN's matrix products too (2.3x less CPU per step in bfloat16)
        n = len(tokens)
        pac = max(1, min(self.pac, n))
        batch = max(pac, ((self.batch_size or default_batch(n, 64, 512)) // pac) * pac)
        steps = max(1, n // batch)
        history: list[dict] = []
        with seeded(self.seed, self.n_threads):
            with torch.no_grad():
                means, variances = encode_rows(net, tokens)
            stds = variances.sqrt()
            # the aggregate posterior's moments: mean of the means, variance of the means plus mean variance
            centre = means.mean(0)
            scale = (means.var(0, unbiased=False) + variances.mean(0)).sqrt().clamp(min=1e-4)
            gen_net = _CodeGenerator(self.noise, self.gan_width, self.depth, self.latent)
            gen_net.code_mean.copy_(centre)
            gen_net.code_std.copy_(scale)
            critic = _Critic(self.latent, pac, self.gan_width)
            opt_g = torch.optim.Adam(gen_net.parameters(), lr=self.learning_rate, betas=(0.5, 0.9), fused=True)
            opt_c = torch.optim.Adam(critic.parameters(), lr=self.learning_rate, betas=(0.5, 0.9), fused=True)
            gen = torch.Generator().manual_seed(self.seed + 3)

            def real_codes() -> torch.Tensor:
                rows = torch.randint(0, n, (batch,), generator=gen)
                draws = means[rows] + stds[rows] * torch.randn(batch, self.latent, generator=gen)
                return (draws - centre) / scale

            for epoch in range(self.max_epochs):
                out_of_time = False
                sums, done = np.zeros(2), 0
                for step in range(steps):
                    for _ in range(self.critic_steps):
                        real = real_codes()
                        with fast_matmuls(precision):
                            fake = gen_net(torch.randn(batch, self.noise, generator=gen)).detach()
                            loss_c = (critic(fake).float().mean() - critic(real).float().mean()
                                      + 10.0 * self._penalty(critic, real, fake, pac, gen))
                        opt_c.zero_grad(set_to_none=True)
                        loss_c.backward()
                        opt_c.step()
                    critic.requires_grad_(False)  # the generator's step needs no gradient of the critic's weights
                    with fast_matmuls(precision):
                        loss_g = -critic(gen_net(torch.randn(batch, self.noise, generator=gen))).float().mean()
                    opt_g.zero_grad(set_to_none=True)
                    loss_g.backward()
                    opt_g.step()
                    critic.requires_grad_(True)
                    sums += (float(loss_c.detach()), float(loss_g.detach()))
                    done = step + 1
                    if progress is not None:
                        progress(0.5 + 0.5 * min(1.0, (epoch + (step + 1) / steps) / self.max_epochs),
                                 f"gan epoch {epoch + 1}")
                    if clock.over():
                        out_of_time = True
                        break
                history.append({"epoch": epoch + 1, "critic_loss": sums[0] / done, "generator_loss": sums[1] / done,
                                "steps": done, "seconds": round(clock.elapsed(), 2)})
                if self.verbose:
                    log.info("gan epoch %d: critic %.4f generator %.4f %ss", epoch + 1, history[-1]["critic_loss"],
                             history[-1]["generator_loss"], history[-1]["seconds"])
                if out_of_time:
                    break
            if len(history) == 1 and history[0]["steps"] < steps:
                log.warning("gan: max_time ran out after %d of the first epoch's %d GAN steps; the generator is "
                            "barely trained (give more time, or use the vae)", history[0]["steps"], steps)
            gen_net.eval()
            calibration = torch.zeros(net.layout.total)
            if self.calibrate:
                calibration = self._calibration(gen_net, net, log_frequencies(tokens, cards))
        self.autoencoder_ = autoencoder
        self.generator_ = gen_net
        self.calibration_ = calibration
        self.cardinalities_ = cards
        self.groups_ = groups
        self.history_ = history
        self.precision_ = autoencoder.precision_
        self.fit_seconds_ = clock.elapsed()
        if progress is not None:
            progress(1.0, "trained")
        return self

    # ---------------------------------------------------------------- DP-SGD
    supports_dp = True
    DP_DEFAULT_EPOCHS = dp_sgd.DEFAULT_EPOCHS

    def dp_plan(self, n_rows: int) -> dict:
        """One noise multiplier for the autoencoder's and the critic's DP-SGD, composed to exactly the budget
        (``dp_sgd.plan_phases``); an error before any work when the budget cannot pay for the epochs."""
        batch = self.batch_size or dp_sgd.default_batch(n_rows)
        return dp_sgd.plan_phases("gan", self.dp_epsilon, self.dp_delta,
                                  [("autoencoder", self.max_epochs, batch), ("critic", self.max_epochs, batch)],
                                  n_rows, self.dp_max_grad_norm, self.dp_rows is not None)

    def _fit_dp(self, tokens, cards, groups, progress, clock) -> "LatentGAN":
        plan = self.dp_plan(int(self.dp_rows or len(tokens)))
        ae_plan, critic_plan = ({**plan, **part} for part in plan["phases"])
        autoencoder = TVAE(max_epochs=self.max_epochs, width=self.width, depth=self.depth, latent=self.latent,
                           beta=self.beta, seed=self.seed, n_threads=self.n_threads, dp_epsilon=self.dp_epsilon,
                           dp_delta=self.dp_delta, dp_max_grad_norm=self.dp_max_grad_norm, dp_rows=self.dp_rows,
                           dp_noise_seed=self.dp_noise_seed)
        ae_time = None if self.max_time is None else AUTOENCODER_SHARE * self.max_time
        half = None if progress is None else (lambda f, m: progress(0.5 * f, f"autoencoder: {m}"))
        ae_done = autoencoder._train_dp(tokens, cards, groups, ae_plan, half,
                                        lambda: ae_time is not None and clock.elapsed() > ae_time, stream=0)
        net = autoencoder.net_
        x_all = torch.from_numpy(tokens)
        batch = critic_plan["expected_batch"]
        with seeded(self.seed, self.n_threads):
            gen_net = _CodeGenerator(self.noise, self.gan_width, self.depth, self.latent)  # codes in N(0, I) units
            critic = _Critic(self.latent, 1, self.gan_width)
            opt_g = torch.optim.Adam(gen_net.parameters(), lr=self.learning_rate, betas=(0.5, 0.9))
            opt_c = torch.optim.Adam(critic.parameters(), lr=self.learning_rate, betas=(0.5, 0.9))
            public = torch.Generator().manual_seed(self.seed + 3)  # the generator's noise reads no row

            def inputs_of(idx, gen):  # each sampled row's code, one generated code, a mixing weight
                with torch.no_grad():
                    mean, logvar = net.encode(x_all[idx])
                    real = mean + torch.exp(0.5 * logvar) * torch.randn(len(idx), self.latent, generator=gen)
                    fake = gen_net(torch.randn(len(idx), self.noise, generator=gen))
                return real, fake, torch.rand(len(idx), 1, generator=gen)

            def loss_of(critic, real, fake, alpha):  # WGAN-GP per row
                mixed = alpha * real + (1 - alpha) * fake
                slope = torch.func.grad(lambda m: critic(m).sum())(mixed)
                penalty = ((slope.flatten(1).norm(dim=1) - 1) ** 2).mean()
                return critic(fake).mean() - critic(real).mean() + 10.0 * penalty

            def generator_step(done: int) -> None:  # post-processing of the released critic
                if done % self.critic_steps:
                    return
                critic.requires_grad_(False)
                loss_g = -critic(gen_net(torch.randn(batch, self.noise, generator=public))).mean()
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                critic.requires_grad_(True)

            rest = None if progress is None else (lambda f, m: progress(0.5 + 0.5 * f, f"gan: {m}"))
            critic_done, history = dp_sgd.train(critic, loss_of, inputs_of, len(tokens), critic_plan, opt_c,
                                                self.dp_noise_seed, "gan.critic_dp_sgd_step", stop=clock.over,
                                                progress=rest, stream=1, after_step=generator_step)
            gen_net.eval()
        self.autoencoder_ = autoencoder
        self.generator_ = gen_net
        self.calibration_ = torch.zeros(net.layout.total)  # calibration would read the token frequencies
        self.cardinalities_ = cards
        self.groups_ = groups
        self.history_ = history
        self.precision_ = "float32"
        self.dp_record_ = dp_sgd.finish_phases(plan, [ae_done, critic_done])
        self.fit_seconds_ = clock.elapsed()
        if progress is not None:
            progress(1.0, "trained")
        return self

    def _calibration(self, gen_net: _CodeGenerator, net: nn.Module, target_log: torch.Tensor,
                     rows: int = 8192, rounds: int = 6) -> torch.Tensor:
        """A flat logit offset that makes the expected token frequencies of decoded generated codes equal the
        training frequencies: a few fixed-point rounds of bias += log(target) - log(generated) on fixed noise."""
        noise = torch.randn(rows, self.noise, generator=torch.Generator().manual_seed(self.seed + 7))
        with torch.no_grad():
            logits = net.decode(gen_net.codes(noise))
            bias = torch.zeros_like(target_log)
            for _ in range(rounds):
                generated = torch.logsumexp(net.layout.log_softmax_flat(logits + bias), dim=0) - np.log(rows)
                bias += target_log - generated
        return bias

    @staticmethod
    def _penalty(critic: _Critic, real: torch.Tensor, fake: torch.Tensor, pac: int, gen: torch.Generator) -> torch.Tensor:
        """WGAN-GP: (|grad| - 1)^2 at points between real and fake packs (one mixing weight per pack)."""
        alpha = torch.rand(real.shape[0] // pac, 1, 1, generator=gen).expand(-1, pac, 1).reshape(real.shape[0], 1)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
        return ((grad.float().reshape(-1, pac * real.shape[1]).norm(dim=1) - 1) ** 2).mean()

    def sample(self, n: int, *, seed: int = 0, fixed: np.ndarray | None = None,
               suppress: Mapping[int, Sequence[int]] | None = None,
               progress: ProgressCallback | None = None) -> np.ndarray:
        """n rows of tokens drawn unconditionally. ``fixed`` and ``suppress`` are not honoured here (the Synthesizer
        handles them by rejection, see ``lookalike.models.constrained``); passing cells to fix is an error."""
        if not hasattr(self, "generator_"):
            raise LookalikeError("gan must be fitted (or loaded) before sampling")
        return sample_decoded(self.name, self.autoencoder_.net_, len(self.cardinalities_), n, seed, fixed, suppress,
                              progress, self.n_threads,
                              lambda m, gen: self.generator_.codes(torch.randn(m, self.noise, generator=gen)),
                              self.calibration_)

    _PARAMS = ("max_epochs", "max_time", "latent", "beta", "patience", "precision",
               "batch_size", "pac", "noise", "width", "depth", "gan_width", "learning_rate", "critic_steps",
               "calibrate", "seed", "n_threads", "verbose")

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        if not hasattr(self, "generator_"):
            raise LookalikeError("gan must be fitted before it can be saved")
        ae_config, ae_tensors = self.autoencoder_.get_state()
        config = {"name": self.name, "params": {k: getattr(self, k) for k in self._PARAMS},
                  "cardinalities": self.cardinalities_, "groups": self.groups_, "history": self.history_,
                  "autoencoder": ae_config, "trained_in": self.precision_,
                  **({"dp": self.dp_record_} if getattr(self, "dp_record_", None) else {})}
        tensors = state_to_numpy(self.generator_, "generator.")
        tensors.update({f"autoencoder.{k}": v for k, v in ae_tensors.items()})
        tensors["calibration"] = self.calibration_.numpy()
        return config, tensors

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> "LatentGAN":
        if "autoencoder" not in config:
            raise LookalikeError("this gan model file was written by an earlier lookalike (a GAN over one-hot rows, "
                                 "replaced by the latent GAN); fit the model again")
        model = cls(**config["params"])
        model.cardinalities_ = [int(x) for x in config["cardinalities"]]
        model.groups_ = [[int(j) for j in g] for g in config["groups"]]
        model.history_ = config.get("history", [])
        model.precision_ = config.get("trained_in")
        if config.get("dp"):
            model.dp_record_ = config["dp"]
        prefix = "autoencoder."
        model.autoencoder_ = TVAE.from_state(config["autoencoder"], {k[len(prefix):]: v for k, v in tensors.items()
                                                                     if k.startswith(prefix)})
        net = _CodeGenerator(model.noise, model.gan_width, model.depth, model.latent)
        load_numpy_state(net, tensors, "generator.")
        net.eval()
        model.generator_ = net
        model.calibration_ = torch.from_numpy(np.asarray(tensors["calibration"], dtype=np.float32))
        return model
