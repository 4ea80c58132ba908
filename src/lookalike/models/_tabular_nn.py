"""Pieces the GAN, VAE and diffusion generators share: token layout, per-sub-column softmax, seeded drawing.

Every sub-column of our token matrix is categorical, so the generators read a row as the sum of its tokens'
embeddings (or the one-hot concatenation it stands for) and write one logit block per sub-column (the GAN through
the VAE's decoder). ``TokenLayout``
turns flat logits (rows, sum of cardinalities) into a padded (rows, sub-columns, widest cardinality) tensor, so
softmax, cross-entropy and drawing run as single batched calls instead of a Python loop over sub-columns.

Drawing is by inverse CDF with one uniform per cell, from a generator seeded by (seed, chunk index): a sample is
a pure function of (weights, n, seed) and never depends on torch's global random state.
"""
from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lookalike.errors import LookalikeError
from lookalike.models.threads import torch_threads

log = logging.getLogger(__name__)

SAMPLE_CHUNK = 8192
"""Rows drawn per internal step; fixed, so output never depends on how many rows one call asks for."""

NEG = -1e9
"""Logit of a padding slot or a suppressed token (exp() of it is exactly 0 in float32)."""


class TokenLayout:
    """Where each sub-column's tokens sit in a flat one-hot row, and the padded view used for softmax."""

    def __init__(self, cardinalities: Sequence[int]):
        self.cards = [int(c) for c in cardinalities]
        self.n_sub = len(self.cards)
        self.total = int(sum(self.cards))
        self.width = max(self.cards, default=1)
        self.offsets = torch.tensor(np.concatenate([[0], np.cumsum(self.cards)[:-1]]).astype(np.int64))
        # padded[j, v] = flat index of token v of sub-column j, or `total` (a -inf slot) past its cardinality
        pad = np.full((self.n_sub, self.width), self.total, dtype=np.int64)
        for j, (c, o) in enumerate(zip(self.cards, self.offsets.tolist())):
            pad[j, :c] = np.arange(o, o + c)
        self.pad_index = torch.from_numpy(pad.reshape(-1))
        self.sub_of = torch.from_numpy(np.repeat(np.arange(self.n_sub), self.cards))
        # segments[i, j] = 1 when flat token i belongs to sub-column j: per-sub-column sums as one matmul, whose
        # backward is another matmul (the padded gather's backward is a slow scatter-add on CPU)
        self.segments = torch.zeros(self.total, self.n_sub)
        self.segments[torch.arange(self.total), self.sub_of] = 1.0
        self.segment_means = self.segments / self.segments.sum(0, keepdim=True).clamp(min=1)  # flat -> segment means

    def one_hot(self, x: torch.Tensor) -> torch.Tensor:
        """(rows, n_sub) tokens -> (rows, total) float one-hot."""
        out = torch.zeros(x.shape[0], self.total)
        out.scatter_(1, x + self.offsets, 1.0)
        return out

    def linear_of_one_hot(self, layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        """``layer(one_hot(x))`` without the one-hot: the sum of the weight columns of each row's tokens (an
        embedding-bag), so its cost grows with the sub-columns, not with every token of every sub-column."""
        flat = (x + self.offsets).reshape(-1)
        offsets = torch.arange(0, flat.numel(), self.n_sub)
        return F.embedding_bag(flat, layer.weight.t().contiguous(), offsets, mode="sum") + layer.bias

    def padded(self, flat: torch.Tensor) -> torch.Tensor:
        """(rows, total) logits -> (rows, n_sub, width), padding slots at ``NEG``."""
        ext = torch.cat([flat, flat.new_full((flat.shape[0], 1), NEG)], dim=1)
        return ext[:, self.pad_index].view(flat.shape[0], self.n_sub, self.width)

    def cross_entropy(self, flat_logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(rows, n_sub) cross-entropy of every cell's true token under its sub-column's softmax (computed flat:
        the padded view's backward is a slow scatter-add on CPU, the flat one's is a few matmuls)."""
        z, sums = self._shifted_exp_sums(flat_logits)
        return torch.log(sums) - z.gather(1, x + self.offsets)

    def segment_max(self, flat: torch.Tensor) -> torch.Tensor:
        """(rows, total) -> (rows, total): each entry replaced by the maximum of its sub-column's entries."""
        index = self.sub_of.expand(flat.shape[0], -1)
        top = flat.new_full((flat.shape[0], self.n_sub), -math.inf).scatter_reduce(1, index, flat, "amax")
        return top[:, self.sub_of]

    def log_softmax_flat(self, flat_logits: torch.Tensor) -> torch.Tensor:
        """Per-sub-column log-softmax, computed flat with matmuls (fast to differentiate on CPU)."""
        z, sums = self._shifted_exp_sums(flat_logits)
        return z - torch.log(sums) @ self.segments.T

    def _shifted_exp_sums(self, flat_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits minus a per-segment shift, and each segment's sum of their exponentials. Any constant per
        segment gives the same softmax; the segment's mean is two small matmuls (its maximum, a scatter, cost
        a sixth of a VAE's fit) and keeps every sum at least 1. Where that shift could fail (a logit more than 80
        nats above its segment's mean, a non-finite logit, whose mean is NaN, or a sum that overflows anyway in a
        very wide segment) the exact maximum is used."""
        with torch.no_grad():
            shift = (flat_logits @ self.segment_means) @ self.segments.T
        z = flat_logits - shift
        if float(z.detach().max()) <= 80.0:  # False for NaN too
            sums = torch.exp(z) @ self.segments
            if bool(torch.isfinite(sums.detach()).all()):
                return z, sums
        z = flat_logits - self.segment_max(flat_logits.detach())
        return z, torch.exp(z) @ self.segments

    def banned_mask(self, suppress: Mapping[int, Sequence[int]] | None) -> torch.Tensor | None:
        """(n_sub, width) bool: True where a free cell must never take that token."""
        if not suppress:
            return None
        mask = torch.zeros(self.n_sub, self.width, dtype=torch.bool)
        for j, toks in suppress.items():
            j = int(j)
            if not 0 <= j < self.n_sub:
                raise ValueError(f"suppress names sub-column {j}, but rows have {self.n_sub} sub-columns")
            toks = [int(t) for t in toks if 0 <= int(t) < self.cards[j]]
            if len(set(toks)) >= self.cards[j]:
                raise LookalikeError(f"suppress would forbid every token of sub-column {j}")
            mask[j, toks] = True
        return mask


def draw(padded_logits: torch.Tensor, uniforms: torch.Tensor, banned: torch.Tensor | None = None) -> torch.Tensor:
    """Inverse-CDF draw of one token per (row, sub-column) from padded logits (rows, n_sub, width).

    ``uniforms``: (rows, n_sub) in [0, 1). ``banned``: (n_sub, width) tokens given probability 0. Padding and
    banned slots can never be drawn (the result is clamped to the last token with positive mass).
    """
    logits = padded_logits.clone()
    if banned is not None:
        logits = logits.masked_fill(banned.unsqueeze(0), NEG)
    cdf = (logits - logits.max(dim=-1, keepdim=True).values).exp_().cumsum_(dim=-1)
    tok = torch.searchsorted(cdf, (uniforms * cdf[..., -1]).unsqueeze(-1), right=True).squeeze(-1)
    # the last slot with positive mass: a uniform rounding up at the very top must not land on padding
    positive = (logits > NEG / 2).to(torch.int64)
    last = positive.shape[-1] - 1 - positive.flip(-1).argmax(dim=-1)
    return torch.minimum(tok, last)


def chunk_generators(n: int, seed: int) -> Iterator[tuple[int, int, torch.Generator, np.random.Generator]]:
    """(start, stop, torch generator, numpy generator) for each SAMPLE_CHUNK of ``n`` rows, seeded by (seed, chunk)."""
    for start in range(0, n, SAMPLE_CHUNK):
        torch_seed, np_seed = np.random.SeedSequence([int(seed) % 2**63, start // SAMPLE_CHUNK]).generate_state(2)
        yield (start, min(n, start + SAMPLE_CHUNK), torch.Generator().manual_seed(int(torch_seed)),
               np.random.default_rng(int(np_seed)))


@contextmanager
def seeded(seed: int, n_threads: int | None):
    """Torch seeded for this block only (the caller's global RNG is restored) and a fixed thread count."""
    with torch.random.fork_rng(devices=[]), torch_threads(n_threads):
        torch.manual_seed(int(seed))
        yield


PRECISIONS = ("auto", "float32", "bfloat16")


def matmul_precision(precision: str) -> str:
    """The precision a fit's matrix products run in: "auto" is bfloat16 where the CPU multiplies bfloat16
    natively (the AVX-512 BF16 or AMX instructions), else float32. On this project's 2-core AVX-512 BF16 machine
    a 512 x 256 x 1294 linear layer's forward and backward took 3.8x less CPU in bfloat16; without those
    instructions oneDNN emulates bfloat16 (its own "bf16 supported" flag is true on any AVX-512 CPU), so "auto"
    asks for the instructions themselves."""
    check_precision(precision)
    if precision != "auto":
        return precision
    try:
        native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    except (AttributeError, RuntimeError):  # pragma: no cover - a torch build without these probes
        native = False
    return "bfloat16" if native else "float32"


def check_precision(precision: str, model: str = "") -> None:
    if precision not in PRECISIONS:
        raise LookalikeError(f"{model + ': ' if model else ''}precision must be one of {', '.join(PRECISIONS)}, "
                             f"got {precision!r}")


def fast_matmuls(precision: str):
    """A block whose linear layers run in ``precision`` (bfloat16 through CPU autocast; weights, optimiser state
    and everything outside the block stay float32). Callers cast outputs back with ``.float()`` before losses."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16")


def check_tokens(tokens: np.ndarray, cards: Sequence[int], what: str, allow_free: bool = False) -> None:
    if tokens.ndim != 2 or tokens.shape[1] != len(cards):
        raise ValueError(f"{what} must have shape (rows, {len(cards)}), got {tokens.shape}")
    low = -1 if allow_free else 0
    for j, c in enumerate(cards):
        col = tokens[:, j]
        if col.size and (col.min() < low or col.max() >= c):
            bad = col[(col < low) | (col >= c)][0]
            raise LookalikeError(f"{what}: sub-column {j} holds token {bad}, outside [{low}, {c - 1}]")


def check_fit_input(tokens, cardinalities, groups, model: str, min_rows: int = 2):
    """Validated (tokens int64, cards, groups) or an error naming the generator."""
    tokens = np.asarray(tokens, dtype=np.int64)
    cards = [int(c) for c in cardinalities]
    groups = [[int(j) for j in g] for g in groups] if groups else [[j] for j in range(len(cards))]
    if sorted(j for g in groups for j in g) != list(range(len(cards))):
        raise ValueError("groups must list every sub-column exactly once")
    if min(cards, default=0) < 1:
        raise ValueError("every cardinality must be at least 1")
    check_tokens(tokens, cards, "tokens")
    if tokens.shape[0] < min_rows:
        raise LookalikeError(f"{model} needs at least {min_rows} training rows, got {tokens.shape[0]}")
    return tokens, cards, groups


class Clock:
    """Wall-clock budget of a fit: ``over()`` once ``max_time`` seconds have passed since construction."""

    def __init__(self, max_time: float | None):
        self.start = time.monotonic()
        self.max_time = max_time

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def over(self) -> bool:
        return self.max_time is not None and self.elapsed() > self.max_time


def train_early_stopping(net: nn.Module, opt, sched, x_train: torch.Tensor, batch: int, max_epochs: int,
                         patience: int, gen: torch.Generator, clock: Clock,
                         batch_loss: Callable[[torch.Tensor], torch.Tensor], val_loss: Callable[[], torch.Tensor] | None,
                         progress=None, name: str = "model", verbose: bool = False) -> list[dict]:
    """Minibatch epochs with early stopping on the validation loss (or the training loss without a validation
    split), a plateau scheduler and the fit's time budget; the best epoch's weights end up in ``net``.

    ``batch_loss(xb)`` draws any noise it needs from ``gen`` (after the epoch's shuffle, so a seed gives one
    training run); ``val_loss()`` is evaluated without gradients. Returns the per-epoch history.
    """
    history: list[dict] = []
    best, best_state, bad = math.inf, None, 0
    n_train = len(x_train)
    steps = math.ceil(n_train / batch)
    for epoch in range(max_epochs):
        net.train()
        order = torch.randperm(n_train, generator=gen)
        total, out_of_time = 0.0, False
        for step in range(steps):
            xb = x_train[order[step * batch:(step + 1) * batch]]
            loss = batch_loss(xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(xb)
            if progress is not None:
                progress(min(1.0, (epoch + (step + 1) / steps) / max_epochs), f"epoch {epoch + 1}")
            if clock.over():
                out_of_time = True
                break
        net.eval()
        with torch.no_grad():
            score = float(val_loss()) if val_loss is not None else total / n_train
        history.append({"epoch": epoch + 1, "train_loss": total / n_train, "val_loss": score,
                        "seconds": round(clock.elapsed(), 2)})
        if verbose:
            log.info("%s epoch %d: train %.4f val %.4f %ss", name, epoch + 1, history[-1]["train_loss"], score,
                     history[-1]["seconds"])
        if score < best - 1e-3 * abs(best) or best_state is None:
            best, bad = score, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            bad += 1
        if out_of_time or bad >= patience:
            break
        sched.step(score)
    if best_state is not None:
        net.load_state_dict(best_state)
    return history


class GroupTables(nn.Module):
    """Direct tables from each earlier sub-column of a column group to a later one's logits.

    A numeric codec's "fine" and "unit" tokens are fixed by its main token (a heaped value has neither, coded 0):
    a sharp rule inside one column that a shared MLP learnt poorly. The diffusion model drew a bin row's unit as
    the heaps' 0 in 75% of lending_club's rows (real: 4%), snapping incomes to 50,000 and 100,000; the VAE, whose
    cells are independent given the latent vector, could not express the rule at all. ``logits(x, visible, j)``
    adds, for each visible earlier member i of j's group, row x_i of table (i -> j)."""

    def __init__(self, cards: Sequence[int], groups: Sequence[Sequence[int]]):
        super().__init__()
        self.cards = [int(c) for c in cards]
        self.earlier: dict[int, list[int]] = {int(j): [int(i) for i in g[:p]] for g in groups
                                              for p, j in enumerate(g) if p > 0}
        self.tables = nn.ParameterDict({str(j): nn.Parameter(torch.zeros(sum(self.cards[i] for i in before), self.cards[j]))
                                        for j, before in self.earlier.items()})
        self.offsets = {j: torch.tensor(np.concatenate([[0], np.cumsum([self.cards[i] for i in before])[:-1]]),
                                        dtype=torch.long) for j, before in self.earlier.items()}
        self.per_row = False  # True during DP-SGD: a path torch.func.vmap can take (embedding_bag has no vmap rule)

    def init_from(self, tokens: np.ndarray) -> None:
        """Start each table at the training rows' log P(later | group's first) - log P(later) (smoothed): with the
        output bias at log P(later), the first steps already give the column's own conditional. Adam moves a logit
        by about the learning rate a step, far too slowly for a rule worth 5 nats."""
        with torch.no_grad():
            for j, before in self.earlier.items():
                i, ci, cj = before[0], self.cards[before[0]], self.cards[j]
                joint = np.bincount(tokens[:, i] * cj + tokens[:, j], minlength=ci * cj).reshape(ci, cj) + 0.5 / cj
                ratio = np.log(joint / joint.sum(1, keepdims=True)) - np.log(joint.sum(0) / joint.sum())
                self.tables[str(j)][:ci].copy_(torch.from_numpy(ratio).float())

    def logits(self, x: torch.Tensor, visible: torch.Tensor | None, j: int) -> torch.Tensor:
        """(rows, cardinality of j): the tables' terms from j's earlier group members (those ``visible``; all when
        ``visible`` is None); zeros for a sub-column that starts its group."""
        if j not in self.earlier:
            return x.new_zeros((x.shape[0], self.cards[j]), dtype=torch.float32)
        before = self.earlier[j]
        table = self.tables[str(j)]
        weights = None if visible is None else visible[:, before].to(table.dtype)
        if self.per_row:
            rows = F.embedding(x[:, before] + self.offsets[j], table)  # (rows, earlier members, cardinality of j)
            return (rows if weights is None else rows * weights.unsqueeze(-1)).sum(1)
        return F.embedding_bag(x[:, before] + self.offsets[j], table, per_sample_weights=weights, mode="sum")

    def add_to(self, flat_logits: torch.Tensor, x: torch.Tensor, visible: torch.Tensor | None) -> torch.Tensor:
        """Flat logits (rows, total) plus every sub-column's table terms."""
        if not self.earlier:
            return flat_logits
        blocks = list(torch.split(flat_logits, self.cards, dim=1))
        for j in self.earlier:
            blocks[j] = blocks[j] + self.logits(x, visible, j)
        return torch.cat(blocks, dim=1)


def residual_mlp(d_in: int, width: int, depth: int, dropout: float = 0.0) -> nn.Module:
    """Linear to ``width``, then ``depth`` residual blocks (LayerNorm, Linear, SiLU, dropout)."""
    return _ResidualMLP(d_in, width, depth, dropout)


class _ResidualMLP(nn.Module):
    def __init__(self, d_in: int, width: int, depth: int, dropout: float):
        super().__init__()
        self.inp = nn.Linear(d_in, width)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.SiLU(),
                                                  nn.Dropout(dropout)) for _ in range(depth))
        self.out_norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.inp(x))

    def body(self, h: torch.Tensor) -> torch.Tensor:
        """Everything after the input layer (for callers that compute that layer another way)."""
        for block in self.blocks:
            h = h + block(h)
        return F.silu(self.out_norm(h))


def log_frequencies(tokens: np.ndarray, cards: Sequence[int]) -> torch.Tensor:
    """Flat (total,) log of each token's smoothed training frequency: a good initial output bias."""
    parts = [np.log((np.bincount(tokens[:, j], minlength=c) + 0.5) / (len(tokens) + 0.5 * c))
             for j, c in enumerate(cards)]
    return torch.tensor(np.concatenate(parts), dtype=torch.float32)


def state_to_numpy(module: nn.Module, prefix: str = "") -> dict[str, np.ndarray]:
    return {prefix + k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def load_numpy_state(module: nn.Module, tensors: Mapping[str, np.ndarray], prefix: str = "") -> None:
    state = {k[len(prefix):]: torch.from_numpy(np.array(v)) for k, v in tensors.items() if k.startswith(prefix)}
    module.load_state_dict(state)


def default_batch(n_rows: int, low: int = 64, high: int = 512) -> int:
    """A power of two near n_rows / 16 (about 16 steps an epoch), within [low, high] and at most n_rows."""
    return int(min(n_rows, np.clip(2 ** round(math.log2(max(n_rows, 1) / 16)), low, high)))
