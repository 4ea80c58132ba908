"""A conditional Wasserstein GAN over token sub-columns (the CTGAN family).

What it keeps from CTGAN:
- **Training by sampling.** Each training row gets a condition: one categorical sub-column (the first
  sub-column of a column group: the category, or a number's value bin) chosen uniformly, and a value of it chosen
  with probability proportional to the log of its frequency, so rare values are seen often. The real row shown
  to the critic is drawn among the rows holding that value, and the generator is penalised (cross-entropy) when
  its row does not hold it. The condition goes to both networks as a one-hot "conditional vector".
- **PacGAN critic.** The critic scores packs of ``pac`` rows at once (default 5), which exposes mode collapse.
  Each row first passes one shared row layer; the pack's row features side by side are then scored together.
- **Gradient penalty** (WGAN-GP, weight 10) instead of weight clipping.
- Generator output: one Gumbel-softmax per sub-column (temperature 0.2).

What it changes, each measured on credit_data (benchmarks/family.py; CTGAN's own settings left the critic
unable to separate real from generated rows: its loss stayed positive, the generator's output layer barely moved
in 900 steps and bivariate accuracy fell below the independent-marginals floor):
- Our codecs replace CTGAN's mode-specific normalisation (a Gaussian mixture per numeric column). A number
  arrives as a value-ordered bin token plus its position inside the bin and its rounding unit, all categorical;
  the generator never emits values outside the learned support, and granularity, value protection and rules
  come from the codecs like for every other generator. The generator is a residual MLP.
- A critic that learns fast enough to teach: no dropout, a shared row layer (what it learns about a row is
  learnt once, not once per position in the pack), three critic updates per generator update, learning rate
  1e-3 for both networks, and a generator twice as wide (256).
- **Straight-through Gumbel** (``hard``): rows shown to the critic are exact one-hot vectors, like real rows, so
  the critic cannot score rows by how soft they are; gradients are the relaxed ones.
- **Marginal calibration** (``calibrate``): after training, one bias vector added to the sampling logits makes the
  generator's expected frequency of every token equal to its training frequency (the marginals the codecs
  learned), found by a few fixed-point rounds on fixed noise. Adversarial training drifts the marginals; this
  undoes the drift without touching the dependence the generator learned.
- Fewer, larger steps for a CPU: 25 epochs of batches of 500 by default. 16 epochs were tried for issue 20's
  fit-CPU target (a third of SDV CTGAN's) and measured at seeds 1-2 (benchmarks/family.py, 2026-11-29 21:14 run):
  they met it on credit_data and diamonds, but credit_data's bivariate accuracy fell to 0.907, below its 0.908
  floor, and TSTR fell on every table (diamonds 0.488 -> 0.293), so the default stayed at 25.

Sampling: a condition drawn from the real frequencies (not their logs), noise, the generator's softmax per
sub-column, one inverse-CDF draw per cell (the same distribution as CTGAN's Gumbel argmax). The generator
cannot condition on arbitrary fixed cells, so ``honours_fixed`` is False: conditions go through rejection
(``lookalike.models.constrained``).
"""
from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from lookalike.errors import LookalikeError
from lookalike.models._tabular_nn import (Clock, TokenLayout, check_fit_input, chunk_generators, draw,
                                          load_numpy_state, log_frequencies, residual_mlp, seeded, state_to_numpy)
from lookalike.models.base import ProgressCallback
from lookalike.models.threads import torch_threads

log = logging.getLogger(__name__)


class _Generator(nn.Module):
    def __init__(self, cards: Sequence[int], cond_width: int, noise: int, width: int, depth: int,
                 head_std: float = 0.01):
        super().__init__()
        self.layout = TokenLayout(cards)
        self.body = residual_mlp(noise + cond_width, width, depth)
        self.head = nn.Linear(width, self.layout.total)
        # small output weights (and, in fit, log-frequency biases): training starts from the independent marginals
        nn.init.normal_(self.head.weight, std=head_std)
        # added to the logits when sampling: the marginal calibration set after training (see CTGAN._calibrate)
        self.register_buffer("calibration", torch.zeros(self.layout.total))

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(torch.cat([z, cond], dim=1)))


class _Critic(nn.Module):
    """Scores packs of ``pac`` rows (PacGAN). Each row first goes through one shared row layer (so what is learnt
    about a row is learnt once, not once per position in the pack); the pack's row features side by side are
    then scored together, which is what lets the critic see a pack's diversity (mode collapse)."""

    def __init__(self, row_width: int, pac: int, width: int, dropout: float = 0.0):
        super().__init__()
        self.pac = pac
        self.rows = nn.Sequential(nn.Linear(row_width, width), nn.LeakyReLU(0.2))
        self.net = nn.Sequential(nn.Linear(width * pac, width), nn.LeakyReLU(0.2), nn.Dropout(dropout),
                                 nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Dropout(dropout), nn.Linear(width, 1))

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        h = self.rows(rows)
        return self.net(h.reshape(-1, h.shape[1] * self.pac))


class _Conditions:
    """The conditional vector: which sub-columns can be conditioned on, and how to draw conditions and real rows."""

    def __init__(self, tokens: np.ndarray, cards: Sequence[int], columns: Sequence[int]):
        self.columns = [int(j) for j in columns]
        self.cards = [int(cards[j]) for j in self.columns]
        self.offsets = np.concatenate([[0], np.cumsum(self.cards)[:-1]]).astype(np.int64)
        self.width = int(sum(self.cards))
        self.counts = [np.bincount(tokens[:, j], minlength=c).astype(np.float64) for j, c in zip(self.columns, self.cards)]
        self.rows_by_value = []  # per condition column: (rows sorted by token, start of each token)
        for j, c in zip(self.columns, self.cards):
            order = np.argsort(tokens[:, j], kind="stable")
            starts = np.searchsorted(tokens[order, j], np.arange(c))
            self.rows_by_value.append((order, starts))

    def draw(self, n: int, rng: np.random.Generator, log_frequency: bool) -> tuple[np.ndarray, np.ndarray]:
        """(which condition column, which token) for n rows."""
        col = rng.integers(0, len(self.columns), n)
        val = np.empty(n, dtype=np.int64)
        for c in np.unique(col):
            where = np.flatnonzero(col == c)
            weights = np.log1p(self.counts[c]) if log_frequency else self.counts[c].copy()
            weights = weights / weights.sum()
            val[where] = rng.choice(len(weights), size=len(where), p=weights)
        return col, val

    def real_rows(self, col: np.ndarray, val: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rows = np.empty(len(col), dtype=np.int64)
        u = rng.random(len(col))
        for c in np.unique(col):
            where = np.flatnonzero(col == c)
            order, starts = self.rows_by_value[c]
            count = self.counts[c][val[where]].astype(np.int64)
            rows[where] = order[starts[val[where]] + np.minimum((u[where] * count).astype(np.int64), count - 1)]
        return rows

    def one_hot(self, col: np.ndarray, val: np.ndarray) -> torch.Tensor:
        out = torch.zeros(len(col), self.width)
        if self.width:
            out[torch.arange(len(col)), torch.from_numpy(self.offsets[col] + val)] = 1.0
        return out


class CTGAN:
    """Conditional WGAN-GP with a PacGAN critic over token sub-columns (CTGAN family); conditions by rejection.

    Parameters
    ----------
    max_epochs: passes over the training rows (a GAN has no validation loss to stop on: it trains them all,
        unless ``max_time`` runs out first). max_time: seconds; training stops at this budget.
    batch_size: rows per step (rounded down to a multiple of ``pac``; smaller on tables under 6 batches, so an
        epoch has at least 6 steps). pac: rows per critic pack.
    noise: noise dimensions. width, depth: the generator's residual MLP. critic_width: the critic's hidden width.
    learning_rate: Adam's (betas 0.5, 0.9 as in CTGAN); critic_learning_rate: the critic's, when it differs.
    critic_steps: critic updates per generator update. critic_dropout: dropout in the critic (CTGAN: 0.5).
    tau: Gumbel-softmax temperature. hard: straight-through one-hot rows. calibrate: marginal calibration after
    training. head_std: initial scale of the generator's output weights. seed: training seed.
    n_threads: torch threads.
    """

    name = "gan"
    honours_fixed = False

    def __init__(self, max_epochs: int = 25, max_time: float | None = None, batch_size: int = 500, pac: int = 5,
                 noise: int = 128, width: int = 256, depth: int = 2, critic_width: int = 128,
                 learning_rate: float = 1e-3, critic_steps: int = 3, tau: float = 0.2, hard: bool = True,
                 calibrate: bool = True, critic_dropout: float = 0.0, critic_learning_rate: float | None = None,
                 head_std: float = 0.01, seed: int = 0, n_threads: int | None = None, verbose: bool = False):
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.batch_size = batch_size
        self.pac = pac
        self.noise = noise
        self.width = width
        self.depth = depth
        self.critic_width = critic_width
        self.learning_rate = learning_rate
        self.critic_steps = critic_steps
        self.tau = tau
        self.hard = hard
        self.calibrate = calibrate
        self.critic_dropout = critic_dropout
        self.critic_learning_rate = critic_learning_rate
        self.head_std = head_std
        self.seed = seed
        self.n_threads = n_threads
        self.verbose = verbose

    def _condition_columns(self, cards: Sequence[int], groups: Sequence[Sequence[int]]) -> list[int]:
        return [g[0] for g in groups if cards[g[0]] >= 2]

    def fit(self, tokens: np.ndarray, cardinalities: Sequence[int], groups: Sequence[Sequence[int]], *,
            progress: ProgressCallback | None = None) -> "CTGAN":
        clock = Clock(self.max_time)
        tokens, cards, groups = check_fit_input(tokens, cardinalities, groups, "gan")
        n = len(tokens)
        pac = max(1, min(self.pac, n))
        # at least 6 steps an epoch: a small table still gets ~150 generator steps (tables of 3,000+ rows: batch_size)
        batch = max(pac, (min(self.batch_size, max(n // 6, pac)) // pac) * pac)
        conditions = _Conditions(tokens, cards, self._condition_columns(cards, groups))
        rng = np.random.default_rng(self.seed)
        history: list[dict] = []
        with seeded(self.seed, self.n_threads):
            gen_net = _Generator(cards, conditions.width, self.noise, self.width, self.depth, self.head_std)
            with torch.no_grad():
                gen_net.head.bias.copy_(log_frequencies(tokens, cards))
            critic = _Critic(gen_net.layout.total + conditions.width, pac, self.critic_width, self.critic_dropout)
            opt_g = torch.optim.Adam(gen_net.parameters(), lr=self.learning_rate, betas=(0.5, 0.9), weight_decay=1e-6, fused=True)
            opt_c = torch.optim.Adam(critic.parameters(), lr=self.critic_learning_rate or self.learning_rate, betas=(0.5, 0.9), weight_decay=1e-6, fused=True)
            layout = gen_net.layout
            x_all = torch.from_numpy(tokens)
            steps = max(1, n // batch)
            to_flat = torch.zeros(conditions.width, layout.total)  # condition slot -> its token in a flat row
            for k, j in enumerate(conditions.columns):
                lo = int(layout.offsets[j])
                to_flat[int(conditions.offsets[k]) + torch.arange(cards[j]), lo + torch.arange(cards[j])] = 1.0
            for epoch in range(self.max_epochs):
                out_of_time = False
                sums = np.zeros(2)
                for step in range(steps):
                    for _ in range(self.critic_steps):
                        col, val = conditions.draw(batch, rng, log_frequency=True)
                        cond = conditions.one_hot(col, val)
                        real = layout.one_hot(x_all[torch.from_numpy(conditions.real_rows(col, val, rng))])
                        fake = layout.gumbel_softmax(gen_net(torch.randn(batch, self.noise), cond), self.tau, self.hard)
                        real_in, fake_in = torch.cat([real, cond], 1), torch.cat([fake.detach(), cond], 1)
                        loss_c = critic(fake_in).mean() - critic(real_in).mean() + 10.0 * self._penalty(critic, real_in, fake_in, pac)
                        opt_c.zero_grad(set_to_none=True)
                        loss_c.backward()
                        opt_c.step()
                    col, val = conditions.draw(batch, rng, log_frequency=True)
                    cond = conditions.one_hot(col, val)
                    logits = gen_net(torch.randn(batch, self.noise), cond)
                    fake = layout.gumbel_softmax(logits, self.tau, self.hard)
                    loss_g = -critic(torch.cat([fake, cond], 1)).mean()
                    if conditions.width:  # the generated row must hold the condition's value (cross-entropy)
                        loss_g = loss_g - ((cond @ to_flat) * layout.log_softmax_flat(logits)).sum(1).mean()
                    opt_g.zero_grad(set_to_none=True)
                    loss_g.backward()
                    opt_g.step()
                    sums += (float(loss_c.detach()), float(loss_g.detach()))
                    if progress is not None:
                        progress(min(1.0, (epoch + (step + 1) / steps) / self.max_epochs), f"epoch {epoch + 1}")
                    if clock.over():
                        out_of_time = True
                        break
                history.append({"epoch": epoch + 1, "critic_loss": sums[0] / steps, "generator_loss": sums[1] / steps,
                                "seconds": round(clock.elapsed(), 2)})
                if self.verbose:
                    log.info("gan epoch %d: critic %.4f generator %.4f %ss", epoch + 1, history[-1]["critic_loss"],
                             history[-1]["generator_loss"], history[-1]["seconds"])
                if out_of_time:
                    break
            gen_net.eval()
            if self.calibrate:
                self._calibrate(gen_net, conditions, log_frequencies(tokens, cards))
        self.generator_ = gen_net
        self.conditions_ = conditions
        self.cardinalities_ = cards
        self.groups_ = groups
        self.history_ = history
        self.fit_seconds_ = clock.elapsed()
        if progress is not None:
            progress(1.0, "trained")
        return self

    def _calibrate(self, net: _Generator, conditions: "_Conditions", target_log: torch.Tensor,
                   rows: int = 8192, rounds: int = 6) -> None:
        """Shift the sampling logits so that the generator's expected token frequencies match the training
        frequencies (what the codecs saw): a few fixed-point rounds of bias += log(target) - log(generated), on
        a fixed set of conditions and noise. Corrects marginal drift from adversarial training; one vector."""
        gen = torch.Generator().manual_seed(self.seed + 7)
        col, val = conditions.draw(rows, np.random.default_rng(self.seed + 7), log_frequency=False)
        with torch.no_grad():
            logits = net(torch.randn(rows, self.noise, generator=gen), conditions.one_hot(col, val))
            bias = torch.zeros_like(target_log)
            for _ in range(rounds):
                generated = torch.logsumexp(net.layout.log_softmax_flat(logits + bias), dim=0) - np.log(rows)
                bias += target_log - generated
            net.calibration.copy_(bias)

    @staticmethod
    def _penalty(critic: _Critic, real: torch.Tensor, fake: torch.Tensor, pac: int) -> torch.Tensor:
        """WGAN-GP: (|grad| - 1)^2 at points between real and fake packs (one mixing weight per pack)."""
        alpha = torch.rand(real.shape[0] // pac, 1, 1).expand(-1, pac, 1).reshape(real.shape[0], 1)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
        return ((grad.reshape(-1, pac * real.shape[1]).norm(dim=1) - 1) ** 2).mean()

    def sample(self, n: int, *, seed: int = 0, fixed: np.ndarray | None = None,
               suppress: Mapping[int, Sequence[int]] | None = None,
               progress: ProgressCallback | None = None) -> np.ndarray:
        """n rows of tokens drawn unconditionally. ``fixed`` and ``suppress`` are not honoured here (the Synthesizer
        handles them by rejection, see ``lookalike.models.constrained``); passing cells to fix is an error."""
        if not hasattr(self, "generator_"):
            raise LookalikeError("gan must be fitted (or loaded) before sampling")
        if fixed is not None and (np.asarray(fixed) >= 0).any():
            raise LookalikeError("the gan generator cannot condition on fixed cells itself; sample through "
                                 "lookalike.models.constrained.sample_tokens (the Synthesizer does) or use a generator "
                                 "that supports conditions (argn, copula, diffusion)")
        n = int(n)
        net, conditions = self.generator_, self.conditions_
        out = np.empty((n, len(self.cardinalities_)), dtype=np.int64)
        with torch_threads(self.n_threads), torch.no_grad():
            banned = net.layout.banned_mask(suppress)
            for start, stop, gen, rng in chunk_generators(n, seed):
                m = stop - start
                col, val = conditions.draw(m, rng, log_frequency=False)
                logits = net(torch.randn(m, self.noise, generator=gen), conditions.one_hot(col, val)) + net.calibration
                u = torch.rand(m, len(self.cardinalities_), generator=gen)
                out[start:stop] = draw(net.layout.padded(logits), u, banned).numpy()
                if progress is not None:
                    progress(stop / max(n, 1), "sampling")
        return out

    _PARAMS = ("max_epochs", "max_time", "batch_size", "pac", "noise", "width", "depth", "critic_width",
               "learning_rate", "critic_steps", "tau", "hard", "calibrate", "critic_dropout", "critic_learning_rate", "head_std", "seed", "n_threads", "verbose")

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        if not hasattr(self, "generator_"):
            raise LookalikeError("gan must be fitted before it can be saved")
        c = self.conditions_
        config = {"name": self.name, "params": {k: getattr(self, k) for k in self._PARAMS},
                  "cardinalities": self.cardinalities_, "groups": self.groups_, "history": self.history_,
                  "condition_columns": c.columns}
        tensors = state_to_numpy(self.generator_, "generator.")
        # sampling draws conditions from the token frequencies of the condition columns (counts, no rows)
        tensors.update({f"condition_counts.{k}": counts for k, counts in enumerate(c.counts)})
        return config, tensors

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> "CTGAN":
        model = cls(**config["params"])
        model.cardinalities_ = [int(x) for x in config["cardinalities"]]
        model.groups_ = [[int(j) for j in g] for g in config["groups"]]
        model.history_ = config.get("history", [])
        columns = [int(j) for j in config["condition_columns"]]
        conditions = _Conditions(np.zeros((0, len(model.cardinalities_)), dtype=np.int64), model.cardinalities_, columns)
        conditions.counts = [np.asarray(tensors[f"condition_counts.{k}"], dtype=np.float64) for k in range(len(columns))]
        conditions.rows_by_value = []  # training rows are not kept: a loaded model only samples
        net = _Generator(model.cardinalities_, conditions.width, model.noise, model.width, model.depth)
        load_numpy_state(net, tensors, "generator.")
        net.eval()
        model.generator_ = net
        model.conditions_ = conditions
        return model
