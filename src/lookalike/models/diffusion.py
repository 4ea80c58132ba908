"""Masked (absorbing-state) diffusion over token sub-columns: every cell of a row is noised to a MASK token and
one network learns to denoise any partly masked row.

Why masked diffusion, and not TabDDPM's Gaussian + multinomial diffusion: our codecs already turn every column,
numbers included, into categorical sub-columns, so one discrete process covers the whole row. Of the discrete
processes, absorbing (masking) noise is the one that trains in minutes on a CPU: the forward process at noise
level ``t`` masks a share ``t`` of the cells, its reverse needs one denoiser call per revealed cell (a few dozen
steps, not TabDDPM's 1,000), and its training loss is a plain cross-entropy on the masked cells (the MDLM /
"any-order" form of the ELBO). Multinomial (uniform) noise needs many more steps and learned far slower in our
trials, and Gaussian diffusion would have to undo our tokenisation.

Training: for each row, a random order of the column groups (a group's sub-columns stay in order) and a noise
level ``k`` (cells masked, uniform over 1..n_sub); the last ``k`` cells of the order are masked, the network sees
the rest and predicts every masked cell. Loss: mean cross-entropy over the masked cells (times n_sub, so it reads
as nats per row). The network: the first layer is an embedding bag (a visible token adds its vector, a masked
cell adds its sub-column's MASK vector), then residual MLP blocks, then one softmax head per sub-column.

Within a column group, a later sub-column also reads a direct table indexed by each visible earlier member's
token (initialised from the training rows' log P(later | first) - log P(later)). A numeric codec's "fine" and
"unit" tokens are fixed by its main token (a heaped value has none, coded 0); the shared MLP learnt that rule
poorly: on lending_club's seed-42 split it drew a bin row's unit token as the heaps' 0 in 75% of rows (real: 4%),
snapping incomes to 50,000 and 100,000; with the tables, 5%. Defaults (dropout 0.1, no weight decay, batches of
at most 256) were chosen on the seed-42 splits of credit_data, lending_club and diamonds.

Sampling (the reverse process): start from an all-MASK row and reveal one sub-column per step, in a random group
order per row, drawing each revealed cell from the network's prediction given what is revealed so far.
Conditioning is inpainting: fixed cells start revealed (fully fixed groups first in the order), so free cells are
drawn from the learned conditional given them; ``honours_fixed`` is True. Suppressed tokens get probability 0.

The process is the same as an any-order autoregressive model (ARGN is one, with per-head lookup tables); the
difference is the denoiser: one shared MLP sees the whole masked row, which costs more per step on a CPU.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lookalike.errors import LookalikeError
from lookalike.models._tabular_nn import (Clock, GroupTables, TokenLayout, check_fit_input, check_tokens, chunk_generators,
                                          default_batch, draw, load_numpy_state, log_frequencies, residual_mlp,
                                          seeded, state_to_numpy, train_early_stopping)
from lookalike.models import dp_sgd
from lookalike.models.base import ProgressCallback
from lookalike.models.threads import torch_threads



class _Denoiser(nn.Module):
    def __init__(self, cards: Sequence[int], width: int, depth: int, dropout: float,
                 groups: Sequence[Sequence[int]] = ()):
        super().__init__()
        self.layout = TokenLayout(cards)
        n_sub, total = self.layout.n_sub, self.layout.total
        # indices 0..total-1: tokens; total + j: sub-column j masked
        scale = 1.0 / math.sqrt(max(n_sub, 1))
        # a token's input vector is its own vector plus the running sum of per-token steps within its sub-column:
        # numeric codecs number tokens by value, so "above some value" is one step to learn, not many bins each
        # fit from a few rows (the same device as ARGN's ordered embeddings; it curbs memorising small bins)
        self.own = nn.Parameter(torch.randn(total, width) * scale * 0.3)
        self.steps = nn.Parameter(torch.zeros(total, width))
        self.mask_vectors = nn.Parameter(torch.randn(n_sub, width) * scale)
        starts = torch.repeat_interleave(self.layout.offsets, torch.tensor(self.layout.cards))
        self.register_buffer("segment_start", starts, persistent=False)
        self.body = residual_mlp(width, width, depth, dropout)
        self.head = nn.Linear(width, total)
        self.register_buffer("mask_index", torch.arange(n_sub) + total, persistent=False)
        self.direct = GroupTables(cards, groups)  # see the module docstring

    def input_table(self) -> torch.Tensor:
        """(total + n_sub, width): every token's input vector, then each sub-column's MASK vector."""
        run = torch.cumsum(self.steps, 0)
        before = torch.cat([run.new_zeros(1, run.shape[1]), run])[self.segment_start]  # sum of earlier segments
        return torch.cat([self.own + run - before, self.mask_vectors])

    def forward(self, x: torch.Tensor, visible: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """Flat logits (rows, total) of every cell given the visible ones (x: tokens, visible: bool, both (rows, n_sub))."""
        return self.direct.add_to(self.head(self.hidden(x, visible, table)), x, visible)

    def hidden(self, x: torch.Tensor, visible: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        idx = torch.where(visible, x + self.layout.offsets, self.mask_index)
        return self.body(F.embedding_bag(idx, self.input_table() if table is None else table, mode="sum"))

    def cell_logits(self, h: torch.Tensor, j: int, x: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """(rows, cardinality of j): only sub-column j's logits (sampling needs one sub-column per row and step)."""
        lo = int(self.layout.offsets[j])
        hi = lo + self.layout.cards[j]
        logits = F.linear(h, self.head.weight[lo:hi], self.head.bias[lo:hi])
        return logits + self.direct.logits(x, visible, j) if j in self.direct.earlier else logits


class MaskedDiffusion:
    """Masked (absorbing) diffusion over token sub-columns; conditions by inpainting (see the module docstring).

    Parameters
    ----------
    max_epochs: upper bound on passes over the training rows.
    max_time: seconds; training stops at this budget and keeps the best weights seen so far.
    width, depth: the denoiser's hidden width and number of residual blocks (width None: 128 below 2,000 rows,
        else 256).
    dropout, weight_decay: regularisation (keeps the model from memorising rows).
    batch_size, learning_rate: None picks them from the row count.
    val_fraction, patience: share of rows held out for early stopping; epochs without gain before stopping. 12:
        on lending_club's seed-43 split the validation loss still fell about 0.05 an epoch, less than the 0.1%
        counted as a gain, so patience 8 stopped at epoch 32 (loss 57.21, dependence capture -0.27, discriminator
        AUC 0.91); 12 ran to 59 (56.32, 0.51, 0.67). Seed 44 improved too (0.81 -> 1.17, AUC 0.71 -> 0.65); seed
        42 and credit_data / diamonds' seed-42 splits kept their best epoch (2-15 more CPU s).
    seed: training and default sampling seed. n_threads: torch threads (None: the machine's cores, up to 8).
    within_group: direct tables from a group's earlier sub-columns to its later ones (see the module docstring).
    dp_epsilon, dp_delta: train with DP-SGD (``lookalike.models.dp_sgd``: per-row clipping to
        ``dp_max_grad_norm``, Gaussian noise calibrated with Opacus' RDP accountant so the planned steps spend
        exactly (dp_epsilon, dp_delta), Poisson sampling) for exactly ``max_epochs`` epochs, without dropout.
        No validation split, no early stopping, no loss history; the output biases start uniform and the group
        tables at zero (not from token frequencies). ``dp_rows``: the row count as released by a mechanism
        (None treats the true count as public). ``dp_noise_seed``: tests only.
    """

    name = "diffusion"
    honours_fixed = True

    def __init__(self, max_epochs: int = 300, max_time: float | None = None, width: int | None = None,
                 depth: int = 2, dropout: float = 0.1, weight_decay: float = 0.0, batch_size: int | None = None,
                 learning_rate: float | None = None, val_fraction: float = 0.1, patience: int = 12,
                 seed: int = 0, n_threads: int | None = None, verbose: bool = False, within_group: bool = True,
                 dp_epsilon: float | None = None, dp_delta: float | None = None, dp_max_grad_norm: float = 1.0,
                 dp_rows: int | None = None, dp_noise_seed: int | None = None):
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.width = width
        self.depth = depth
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.val_fraction = val_fraction
        self.patience = patience
        self.seed = seed
        self.n_threads = n_threads
        self.verbose = verbose
        self.within_group = within_group
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_rows = dp_rows
        self.dp_noise_seed = dp_noise_seed

    # ---------------------------------------------------------------- masks
    @staticmethod
    def _group_ranks(groups: Sequence[Sequence[int]], n_sub: int) -> tuple[torch.Tensor, torch.Tensor]:
        group_of = np.empty(n_sub, dtype=np.int64)
        pos_of = np.empty(n_sub, dtype=np.int64)
        for g, members in enumerate(groups):
            for p, j in enumerate(members):
                group_of[j], pos_of[j] = g, p
        return torch.from_numpy(group_of), torch.from_numpy(pos_of)

    def _positions(self, group_keys: torch.Tensor) -> torch.Tensor:
        """(rows, n_sub) position of each sub-column in the row's order, sorted by its group's key * (n_sub + 1) plus
        its place in the group: a group's members keep their order, but the members of groups whose keys are close
        can interleave (groups are not contiguous). Training and sampling use the same rule."""
        sort_key = group_keys[:, self.group_of_] * (self.n_sub_ + 1) + self.pos_of_
        return sort_key.argsort(dim=1).argsort(dim=1)

    def _training_visible(self, rows: int, gen: torch.Generator) -> torch.Tensor:
        keys = torch.rand(rows, len(self.groups_), generator=gen)
        masked = torch.randint(1, self.n_sub_ + 1, (rows, 1), generator=gen)
        return self._positions(keys) < (self.n_sub_ - masked)

    # ---------------------------------------------------------------- fit
    def fit(self, tokens: np.ndarray, cardinalities: Sequence[int], groups: Sequence[Sequence[int]], *,
            progress: ProgressCallback | None = None) -> "MaskedDiffusion":
        clock = Clock(self.max_time)
        tokens, cards, groups = check_fit_input(tokens, cardinalities, groups, "diffusion")
        n = len(tokens)
        self.cardinalities_, self.groups_, self.n_sub_ = cards, groups, len(cards)
        self.group_of_, self.pos_of_ = self._group_ranks(groups, len(cards))
        if self.dp_epsilon is not None:
            return self._fit_dp(tokens, progress, clock)
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(n)
        n_val = min(int(round(n * self.val_fraction)), 5000) if n >= 50 else 0
        val_idx, train_idx = perm[:n_val], perm[n_val:]
        width = self.width or (128 if n < 2000 else 256)
        batch = self.batch_size or default_batch(len(train_idx), 64, 256)
        lr = self.learning_rate or 2e-3 * math.sqrt(batch / 256)
        with seeded(self.seed, self.n_threads):
            net = _Denoiser(cards, width, self.depth, self.dropout, groups if self.within_group else ())
            with torch.no_grad():
                net.head.bias.copy_(log_frequencies(tokens[train_idx], cards))
                net.direct.init_from(tokens[train_idx])
            opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=self.weight_decay, fused=True)
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=lr / 32)
            x_train = torch.from_numpy(tokens[train_idx])
            x_val = torch.from_numpy(tokens[val_idx])
            gen = torch.Generator().manual_seed(self.seed + 1)
            val_visible = self._training_visible(len(val_idx), torch.Generator().manual_seed(self.seed + 2))

            def loss_of(xb: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
                ce = net.layout.cross_entropy(net(xb, visible), xb)
                hidden = (~visible).float()
                return ((ce * hidden).sum(1) / hidden.sum(1).clamp(min=1)).mean() * self.n_sub_

            history = train_early_stopping(
                net, opt, sched, x_train, batch, self.max_epochs, self.patience, gen, clock,
                lambda xb: loss_of(xb, self._training_visible(len(xb), gen)),
                (lambda: loss_of(x_val, val_visible)) if n_val else None,
                progress=progress, name="diffusion", verbose=self.verbose)
        net.eval()
        self.net_ = net
        self.width_ = width
        self.history_ = history
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
        return dp_sgd.plan_model("diffusion", self, n_rows)

    def _fit_dp(self, tokens, progress, clock) -> "MaskedDiffusion":
        n_public = int(self.dp_rows or len(tokens))
        plan = self.dp_plan(n_public)
        cards, groups = self.cardinalities_, self.groups_
        width = self.width or (128 if n_public < 2000 else 256)
        lr = self.learning_rate or 2e-3 * math.sqrt(plan["expected_batch"] / 256)
        with seeded(self.seed, self.n_threads):
            net = _Denoiser(cards, width, self.depth, self.dropout, groups if self.within_group else ())
            with torch.no_grad():
                net.head.bias.copy_(dp_sgd.uniform_logits(cards))  # no token frequencies: they are data
            opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=self.weight_decay)
            x_all = torch.from_numpy(tokens)
            n_sub = self.n_sub_

            def loss_of(net: _Denoiser, xb: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
                idx = torch.where(visible, xb + net.layout.offsets, net.mask_index)
                h = net.body(F.embedding(idx, net.input_table()).sum(1))  # embedding_bag has no vmap rule
                ce = dp_sgd.row_cross_entropy(net.layout, net.direct.add_to(net.head(h), xb, visible), xb)
                hidden = (~visible).float()
                return ((ce * hidden).sum(1) / hidden.sum(1).clamp(min=1)).mean() * n_sub

            def inputs_of(idx, gen):  # the rows and which of their cells are visible
                return x_all[idx], self._training_visible(len(idx), gen)

            net.eval()  # no dropout: vmap's per-row gradients need a deterministic loss
            net.direct.per_row = True
            done, history = dp_sgd.train(net, loss_of, inputs_of, len(tokens), plan, opt, self.dp_noise_seed,
                                         "diffusion.dp_sgd_step", stop=clock.over, progress=progress)
            net.direct.per_row = False
        self.net_ = net
        self.width_ = width
        self.history_ = history
        self.dp_record_ = dp_sgd.finish(plan, done)
        self.fit_seconds_ = clock.elapsed()
        if progress is not None:
            progress(1.0, "trained")
        return self

    # ---------------------------------------------------------------- sampling
    def sample(self, n: int, *, seed: int = 0, fixed: np.ndarray | None = None,
               suppress: Mapping[int, Sequence[int]] | None = None,
               progress: ProgressCallback | None = None) -> np.ndarray:
        """n rows of tokens; cells of ``fixed`` >= 0 are kept and the free ones drawn given them (inpainting)."""
        if not hasattr(self, "net_"):
            raise LookalikeError("diffusion must be fitted (or loaded) before sampling")
        cards = self.cardinalities_
        n = int(n)
        if fixed is not None:
            fixed = np.asarray(fixed, dtype=np.int64)
            if fixed.shape != (n, len(cards)):
                raise ValueError(f"fixed must have shape ({n}, {len(cards)}), got {fixed.shape}")
            check_tokens(fixed, cards, "fixed", allow_free=True)
        banned = self.net_.layout.banned_mask(suppress)
        out = np.empty((n, len(cards)), dtype=np.int64)
        with torch_threads(self.n_threads), torch.no_grad():
            for start, stop, gen, _ in chunk_generators(n, seed):
                part = None if fixed is None else torch.from_numpy(fixed[start:stop])
                out[start:stop] = self._reverse(stop - start, gen, part, banned).numpy()
                if progress is not None:
                    progress(stop / max(n, 1), "sampling")
        return out

    def _reverse(self, n: int, gen: torch.Generator, fixed: torch.Tensor | None,
                 banned: torch.Tensor | None) -> torch.Tensor:
        s = self.n_sub_
        keys = torch.rand(n, len(self.groups_), generator=gen)
        uniforms = torch.rand(n, s, generator=gen)
        x = torch.zeros(n, s, dtype=torch.long)
        visible = torch.zeros(n, s, dtype=torch.bool)
        if fixed is not None:
            known = fixed >= 0
            status = torch.stack([known[:, g].all(1).long() * 2 + known[:, g].any(1).long() for g in self.groups_], 1)
            keys = keys - status  # fully fixed groups first, then partly fixed ones, then free ones
            x = torch.where(known, fixed, x)
            visible = known.clone()
        position = self._positions(keys)
        rows = torch.arange(n)
        table = self.net_.input_table()
        cells = position.argsort(dim=1)  # cells[:, t]: the sub-column revealed at step t
        for t in range(s):
            j = cells[:, t]
            todo = ~visible[rows, j]
            if not bool(todo.any()):
                continue
            r, jr = rows[todo], j[todo]
            h = self.net_.hidden(x[r], visible[r], table)
            for sub in torch.unique(jr).tolist():
                pick = jr == sub
                rp = r[pick]
                logits = self.net_.cell_logits(h[pick], sub, x[rp], visible[rp]).unsqueeze(1)  # (rows, 1, cardinality)
                ban = None if banned is None else banned[sub:sub + 1, :self.cardinalities_[sub]]
                x[rp, sub] = draw(logits, uniforms[rp, sub:sub + 1], ban).squeeze(1)
            visible[r, jr] = True
        return x

    # ---------------------------------------------------------------- persistence
    _PARAMS = ("max_epochs", "max_time", "width", "depth", "dropout", "weight_decay", "batch_size", "learning_rate",
               "val_fraction", "patience", "seed", "n_threads", "verbose", "within_group")

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        if not hasattr(self, "net_"):
            raise LookalikeError("diffusion must be fitted before it can be saved")
        config = {"name": self.name, "params": {k: getattr(self, k) for k in self._PARAMS},
                  "cardinalities": self.cardinalities_, "groups": self.groups_, "width_": self.width_,
                  "history": self.history_, **({"dp": self.dp_record_} if getattr(self, "dp_record_", None) else {})}
        return config, state_to_numpy(self.net_)

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> "MaskedDiffusion":
        # files written before the within-group tables existed have no such tables
        model = cls(**{"within_group": False, **config["params"]})
        cards = [int(c) for c in config["cardinalities"]]
        model.cardinalities_, model.groups_, model.n_sub_ = cards, [[int(j) for j in g] for g in config["groups"]], len(cards)
        model.group_of_, model.pos_of_ = cls._group_ranks(model.groups_, len(cards))
        model.width_ = int(config["width_"])
        model.history_ = config.get("history", [])
        if config.get("dp"):
            model.dp_record_ = config["dp"]
        net = _Denoiser(cards, model.width_, model.depth, model.dropout, model.groups_ if model.within_group else ())
        load_numpy_state(net, tensors)
        net.eval()
        model.net_ = net
        return model
