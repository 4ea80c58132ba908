"""A variational autoencoder over token sub-columns (the TVAE family).

The encoder reads a row as the concatenation of its sub-columns' one-hot vectors and outputs a Gaussian over a
latent vector; the decoder maps a latent vector to one softmax per sub-column. Training maximises the evidence
lower bound: the cross-entropy of every cell plus ``beta`` times the KL divergence to a standard normal (TVAE
weighs its reconstruction term twice, which is ``beta = 0.5``). Our codecs replace TVAE's mode-specific
normalisation: numbers arrive as value-ordered bin tokens plus a position inside the bin, so the decoder never
has to fit a Gaussian mixture and cannot emit values the codec would not round-trip.

One change from TVAE: with ``beta < 1`` the encoded training rows do not fill the standard normal, so sampling
from N(0, I) lands in regions the decoder never learned. After training we fit a single full-covariance
Gaussian to the aggregate posterior (the mean of the encoder means and their covariance plus the mean encoder
variance) and sample latents from it. That is two summary statistics of all rows, not a memory of any row.

Within a column group, a later sub-column's logits also get a direct table term from the group's earlier members
(``GroupTables``: a number's position in its bin and its rounding unit follow its value bin; teacher-forced in
training, drawn in group order when sampling). On the seed-42 splits: lending_club validation loss 59.1 -> 57.7,
dependence capture 0.37 -> 0.47, discriminator AUC 0.885 -> 0.865; diamonds AUC 0.814 -> 0.771; credit_data
dependence capture 0.87 -> 0.61 and AUC 0.664 -> 0.698 (worse there). Off by default (``within_group=False``):
besides the mixed results, the sharper VAE failed the conformance test of conditions by rejection (one of 300
rows fixed to a real row's whole group found no match in 7,056 draws), which was not looked into.

Sampling: latent from that Gaussian, decoder softmax, one inverse-CDF draw per cell (a group's later cells again,
given its earlier ones). The decoder treats columns as independent given the latent vector, so the model cannot
condition on fixed cells; ``honours_fixed`` is False and
conditions go through rejection (``lookalike.models.constrained``).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from lookalike.errors import LookalikeError
from lookalike.models._tabular_nn import (Clock, GroupTables, TokenLayout, check_fit_input, chunk_generators, default_batch,
                                          check_precision, draw, fast_matmuls, load_numpy_state, log_frequencies, matmul_precision,
                                          residual_mlp, seeded, state_to_numpy, train_early_stopping)
from lookalike.models import dp_sgd
from lookalike.models.base import ProgressCallback
from lookalike.models.threads import torch_threads



class _VAENet(nn.Module):
    def __init__(self, cards: Sequence[int], width: int, depth: int, latent: int, groups: Sequence[Sequence[int]] = ()):
        super().__init__()
        self.layout = TokenLayout(cards)
        total = self.layout.total
        self.encoder = residual_mlp(total, width, depth)
        self.to_mean = nn.Linear(width, latent)
        self.to_logvar = nn.Linear(width, latent)
        self.decoder = residual_mlp(latent, width, depth)
        self.head = nn.Linear(width, total)
        # the aggregate posterior, set after training: latents are drawn as mean + noise @ chol.T
        self.register_buffer("prior_mean", torch.zeros(latent))
        self.register_buffer("prior_chol", torch.eye(latent))
        self.direct = GroupTables(cards, groups)  # a column's later sub-columns read its earlier ones (module docstring)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder.body(self.layout.linear_of_one_hot(self.encoder.inp, x))
        return self.to_mean(h), self.to_logvar(h).clamp(-10, 6)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Flat logits given the latent vector alone (the group tables' terms come on top, see ``TVAE.sample``)."""
        return self.head(self.decoder(z))


def encode_rows(net: _VAENet, tokens: np.ndarray, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder's posterior mean and variance of every row (float32, in chunks; call under no_grad)."""
    means, variances = [], []
    for i in range(0, len(tokens), chunk):
        m, lv = net.encode(torch.from_numpy(tokens[i:i + chunk]))
        means.append(m)
        variances.append(lv.exp())
    return torch.cat(means), torch.cat(variances)


def draw_rows(net: _VAENet, z: torch.Tensor, u: torch.Tensor, banned: torch.Tensor | None,
              bias: torch.Tensor | None = None) -> torch.Tensor:
    """Rows of tokens decoded from latent vectors: the decoder's softmax per sub-column (plus ``bias``, a flat
    logit offset), one inverse-CDF draw per cell from the uniforms ``u``; a group's later sub-columns are drawn
    again, in group order, given the members already drawn (the group tables, when the net has them)."""
    logits = net.decode(z)
    if bias is not None:
        logits = logits + bias
    x = draw(net.layout.padded(logits), u, banned)
    for j in net.direct.earlier:
        lo = int(net.layout.offsets[j])
        cell = logits[:, lo:lo + net.layout.cards[j]] + net.direct.logits(x, None, j)
        ban = None if banned is None else banned[j:j + 1, :net.layout.cards[j]]
        x[:, j] = draw(cell.unsqueeze(1), u[:, j:j + 1], ban).squeeze(1)
    return x


def sample_decoded(name: str, net: _VAENet, n_sub: int, n: int, seed: int, fixed: np.ndarray | None,
                   suppress: Mapping[int, Sequence[int]] | None, progress: ProgressCallback | None,
                   n_threads: int | None, codes_of, bias: torch.Tensor | None = None) -> np.ndarray:
    """n rows of tokens decoded from latent vectors (``draw_rows``), drawn chunk by chunk: ``codes_of(rows,
    generator)`` gives each chunk's codes, then one uniform per cell comes from the same seeded generator. The
    decoder draws cells independently given the code, so fixed cells are refused (the Synthesizer conditions
    such generators by rejection); ``suppress`` bans tokens."""
    if fixed is not None and (np.asarray(fixed) >= 0).any():
        raise LookalikeError(f"the {name} generator cannot condition on fixed cells itself; sample through "
                             "lookalike.models.constrained.sample_tokens (the Synthesizer does) or use a generator "
                             "that supports conditions (argn, copula, diffusion)")
    n = int(n)
    out = np.empty((n, n_sub), dtype=np.int64)
    with torch_threads(n_threads), torch.no_grad():
        banned = net.layout.banned_mask(suppress)
        for start, stop, gen, _ in chunk_generators(n, seed):
            m = stop - start
            codes = codes_of(m, gen)
            out[start:stop] = draw_rows(net, codes, torch.rand(m, n_sub, generator=gen), banned, bias).numpy()
            if progress is not None:
                progress(stop / max(n, 1), "sampling")
    return out


class TVAE:
    """Variational autoencoder over token sub-columns (TVAE family); conditions by rejection.

    Parameters
    ----------
    max_epochs: upper bound on passes over the training rows. max_time: seconds; training stops at this budget.
    width, depth: hidden width and residual blocks of the encoder and of the decoder. latent: latent dimensions.
    beta: weight of the KL term (0.5 as in TVAE's loss factor 2; smaller reconstructs more, generalises less).
    batch_size, learning_rate: None picks them from the row count. weight_decay: AdamW's.
    val_fraction, patience: rows held out for early stopping on the validation ELBO; epochs without gain. 8: on
        the seed-42 splits (bfloat16) patience 6 stopped lending_club at epoch 33 on a chance bump of the validation
        loss (bivariate 0.939, discriminator AUC 0.911) where 8 ran to 43 (0.942, 0.857; float32 at 6: 0.940,
        0.878); the other three tables moved by at most 2 epochs and 0.001. Patience 4 had stopped lending_club's
        seed 1 before its best epoch (bivariate 0.936, at the floor).
    seed: training seed. n_threads: torch threads (None: the machine's cores, up to 8).
    precision: the networks' matrix products in training: "auto" (bfloat16 where the CPU multiplies it natively,
        else float32; ``_tabular_nn.matmul_precision``), "float32" or "bfloat16". Weights, optimiser and losses
        stay float32. On diamonds (seed-1 split, 1 thread) bfloat16 with the token-sum input layer cut the fit from
        29.7 to 14-15 CPU s at the same validation loss (32.76 against 32.89). ``precision_`` (saved in the
        model file) is what a fit used. A seed gives the same model only with the same precision, thread count,
        CPU type and torch version (AVX-512 BF16 and AMX, or AVX2 and AVX-512, round differently).
    dp_epsilon, dp_delta: train with DP-SGD (``lookalike.models.dp_sgd``: per-row clipping to
        ``dp_max_grad_norm``, Gaussian noise calibrated with Opacus' RDP accountant so the planned steps spend
        exactly (dp_epsilon, dp_delta), Poisson sampling) for exactly ``max_epochs`` epochs, in float32. No
        validation split, no early stopping, no loss history; the output biases start uniform and the group
        tables at zero (not from token frequencies), and sampling draws latents from the standard normal prior,
        not from the aggregate posterior (the encoder's means of the real rows are data). ``dp_rows``: the row
        count as released by a mechanism (None treats the true count as public). ``dp_noise_seed``: tests only.
    """

    name = "vae"
    honours_fixed = False

    def __init__(self, max_epochs: int = 300, max_time: float | None = None, width: int = 256, depth: int = 2,
                 latent: int = 64, beta: float = 0.5, batch_size: int | None = None,
                 learning_rate: float | None = None, weight_decay: float = 1e-5, val_fraction: float = 0.1,
                 patience: int = 8, seed: int = 0, n_threads: int | None = None, verbose: bool = False,
                 within_group: bool = False, precision: str = "auto", dp_epsilon: float | None = None,
                 dp_delta: float | None = None, dp_max_grad_norm: float = 1.0, dp_rows: int | None = None,
                 dp_noise_seed: int | None = None):
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.width = width
        self.depth = depth
        self.latent = latent
        self.beta = beta
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.patience = patience
        self.seed = seed
        self.n_threads = n_threads
        self.verbose = verbose
        self.within_group = within_group
        check_precision(precision, "vae")
        self.precision = precision
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_rows = dp_rows
        self.dp_noise_seed = dp_noise_seed

    def fit(self, tokens: np.ndarray, cardinalities: Sequence[int], groups: Sequence[Sequence[int]], *,
            progress: ProgressCallback | None = None) -> "TVAE":
        clock = Clock(self.max_time)
        precision = matmul_precision(self.precision)
        tokens, cards, groups = check_fit_input(tokens, cardinalities, groups, "vae")
        n = len(tokens)
        if self.dp_epsilon is not None:
            return self._fit_dp(tokens, cards, groups, progress, clock)
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(n)
        n_val = min(int(round(n * self.val_fraction)), 5000) if n >= 50 else 0
        val_idx, train_idx = perm[:n_val], perm[n_val:]
        batch = self.batch_size or default_batch(len(train_idx), 64, 512)
        lr = self.learning_rate or 2e-3 * math.sqrt(batch / 256)
        with seeded(self.seed, self.n_threads):
            net = _VAENet(cards, self.width, self.depth, self.latent, groups if self.within_group else ())
            with torch.no_grad():
                net.head.bias.copy_(log_frequencies(tokens[train_idx], cards))
            net.direct.init_from(tokens[train_idx])
            opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=self.weight_decay, fused=True)
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=lr / 32)
            x_train, x_val = torch.from_numpy(tokens[train_idx]), torch.from_numpy(tokens[val_idx])
            gen = torch.Generator().manual_seed(self.seed + 1)
            val_noise = torch.randn(len(val_idx), self.latent, generator=torch.Generator().manual_seed(self.seed + 2))

            def loss_of(xb: torch.Tensor, noise: torch.Tensor, precision: str = precision) -> torch.Tensor:
                with fast_matmuls(precision):
                    mean, logvar = net.encode(xb)
                mean, logvar = mean.float(), logvar.float()
                z = mean + noise * torch.exp(0.5 * logvar)
                with fast_matmuls(precision):
                    logits = net.decode(z)
                recon = net.layout.cross_entropy(net.direct.add_to(logits.float(), xb, None), xb).sum(1)
                kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(1)
                return (recon + self.beta * kl).mean()

            history = train_early_stopping(
                net, opt, sched, x_train, batch, self.max_epochs, self.patience, gen, clock,
                lambda xb: loss_of(xb, torch.randn(len(xb), self.latent, generator=gen)),
                (lambda: loss_of(x_val, val_noise, "float32")) if n_val else None,  # early stopping on exact sums
                progress=progress, name="vae", verbose=self.verbose)
            net.eval()
            with torch.no_grad():  # the aggregate posterior as one Gaussian (module docstring)
                means_t, variances = (t.double() for t in encode_rows(net, tokens))
                cov = torch.cov(means_t.T).reshape(self.latent, self.latent) if n > 1 else torch.zeros(self.latent, self.latent, dtype=torch.float64)
                cov = cov + torch.diag(variances.mean(0)) + 1e-6 * torch.eye(self.latent, dtype=torch.float64)
                net.prior_mean.copy_(means_t.mean(0).float())
                net.prior_chol.copy_(torch.linalg.cholesky(cov).float())
        self.net_ = net
        self.cardinalities_ = cards
        self.groups_ = groups
        self.history_ = history
        self.precision_ = precision
        self.fit_seconds_ = clock.elapsed()
        if progress is not None:
            progress(1.0, "trained")
        return self

    # ---------------------------------------------------------------- DP-SGD
    supports_dp = True
    DP_DEFAULT_EPOCHS = dp_sgd.DEFAULT_EPOCHS

    def dp_plan(self, n_rows: int) -> dict:
        """The DP-SGD plan (``dp_sgd.plan``); an error before any work when the budget cannot pay for
        ``max_epochs`` epochs."""
        return dp_sgd.plan_model("vae", self, n_rows)

    def _fit_dp(self, tokens, cards, groups, progress, clock) -> "TVAE":
        plan = self.dp_plan(int(self.dp_rows or len(tokens)))
        done = self._train_dp(tokens, cards, groups, plan, progress, clock.over)
        self.dp_record_ = dp_sgd.finish(plan, done)
        self.fit_seconds_ = clock.elapsed()
        if progress is not None:
            progress(1.0, "trained")
        return self

    def _train_dp(self, tokens, cards, groups, plan: dict, progress, stop, stream: int | None = None) -> int:
        """DP-SGD on ``plan`` (this model's, or one phase of the latent GAN's); returns the steps done."""
        lr = self.learning_rate or 2e-3 * math.sqrt(plan["expected_batch"] / 256)
        with seeded(self.seed, self.n_threads):
            net = _VAENet(cards, self.width, self.depth, self.latent, groups if self.within_group else ())
            with torch.no_grad():
                net.head.bias.copy_(dp_sgd.uniform_logits(cards))  # no token frequencies: they are data
            opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=self.weight_decay)
            x_all = torch.from_numpy(tokens)

            def loss_of(net: _VAENet, xb: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
                h = net.encoder.body(dp_sgd.linear_of_tokens(net.layout, net.encoder.inp, xb))
                mean, logvar = net.to_mean(h), net.to_logvar(h).clamp(-10, 6)
                logits = net.decode(mean + noise * torch.exp(0.5 * logvar))
                recon = dp_sgd.row_cross_entropy(net.layout, net.direct.add_to(logits, xb, None), xb).sum(1)
                kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(1)
                return (recon + self.beta * kl).mean()

            def inputs_of(idx, gen):  # the rows and their reparameterisation noise
                return x_all[idx], torch.randn(len(idx), self.latent, generator=gen)

            net.direct.per_row = True
            done, history = dp_sgd.train(net, loss_of, inputs_of, len(tokens), plan, opt, self.dp_noise_seed,
                                         "vae.dp_sgd_step", stop=stop, progress=progress, stream=stream)
            net.direct.per_row = False
        net.eval()  # prior_mean / prior_chol stay N(0, I): the aggregate posterior would read the real rows
        self.net_ = net
        self.cardinalities_ = cards
        self.groups_ = groups
        self.history_ = history
        self.precision_ = "float32"
        return done

    def sample(self, n: int, *, seed: int = 0, fixed: np.ndarray | None = None,
               suppress: Mapping[int, Sequence[int]] | None = None,
               progress: ProgressCallback | None = None) -> np.ndarray:
        """n rows of tokens drawn unconditionally. ``fixed`` and ``suppress`` are not honoured here (the Synthesizer
        handles them by rejection, see ``lookalike.models.constrained``); passing cells to fix is an error."""
        if not hasattr(self, "net_"):
            raise LookalikeError("vae must be fitted (or loaded) before sampling")
        net = self.net_

        def prior_codes(m: int, gen: torch.Generator) -> torch.Tensor:  # from the fitted aggregate posterior
            return net.prior_mean + torch.randn(m, self.latent, generator=gen) @ net.prior_chol.T

        return sample_decoded(self.name, net, len(self.cardinalities_), n, seed, fixed, suppress, progress,
                              self.n_threads, prior_codes)

    _PARAMS = ("max_epochs", "max_time", "width", "depth", "latent", "beta", "batch_size", "learning_rate",
               "weight_decay", "val_fraction", "patience", "seed", "n_threads", "verbose", "within_group", "precision")

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        if not hasattr(self, "net_"):
            raise LookalikeError("vae must be fitted before it can be saved")
        config = {"name": self.name, "params": {k: getattr(self, k) for k in self._PARAMS},
                  "cardinalities": self.cardinalities_, "groups": self.groups_, "history": self.history_,
                  "trained_in": getattr(self, "precision_", None),
                  **({"dp": self.dp_record_} if getattr(self, "dp_record_", None) else {})}
        return config, state_to_numpy(self.net_)

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> "TVAE":
        model = cls(**{"within_group": False, **config["params"]})  # older files have no group tables
        model.cardinalities_ = [int(c) for c in config["cardinalities"]]
        model.groups_ = [[int(j) for j in g] for g in config["groups"]]
        model.history_ = config.get("history", [])
        model.precision_ = config.get("trained_in")  # None: a file written before precision was recorded
        if config.get("dp"):
            model.dp_record_ = config["dp"]
        net = _VAENet(model.cardinalities_, model.width, model.depth, model.latent,
                      model.groups_ if model.within_group else ())
        load_numpy_state(net, tensors)
        net.eval()
        model.net_ = net
        return model
