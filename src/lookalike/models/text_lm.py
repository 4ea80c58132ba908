"""A small language model for one free-text column, trained from scratch on CPU, conditioned on its row.

Why: the word chain (``encoding.text``) writes words that fit the column but not the row, and does not read
like the real text. This model is a GRU over BPE pieces (a tokenizer learned on the column with the
``tokenizers`` package) whose state starts from an embedding of the row's other columns -- the tabular
tokens the table model generated -- and that also sees that embedding at every step. It is trained after the
table model and writes its column after the tabular columns.

Privacy, in the order the text meets it:

1. PII inside the text (``privacy.pii_text``) becomes a placeholder (``<EMAIL>``...) before anything is
   learned; generated placeholders become fresh fakes.
2. Rare words are protected as rare categories are: a word (a run of letters/digits) used in fewer than
   ``k`` distinct rows is replaced, before the tokenizer and the model see the text, by a marker of its shape
   (``<Word>``, ``<word>``, ``<NUM>``). Generation fills markers with words used in at least ``k`` rows, and
   any word the model composes from pieces that is not one of those is replaced the same way. So every word
   written was used in at least ``k`` training rows: a secret unique to one row cannot be written.
3. The model file holds weights, the tokenizer (pieces of protected text) and the protected word counts --
   never a training text.

A prompt (``prompts=`` in ``fit`` and ``generate``) is optional text read before a row's own text: a
conversation's earlier messages, so that a reply is written given what it replies to. The GRU reads its pieces
(each earlier text closed by ``[EOS]``, only the last ``max_prompt_pieces`` pieces kept) from the row's
initial state, and the text starts from the state that leaves, at its ``[BOS]``: the prompt is pieces before
the text in one token stream, with no loss on them (in training and sampling alike, ``_read_prompt``). It
passes through the same protection as the text (PII masked, words not kept replaced by their shape marker),
so no secret enters through a prompt either.

Training is capped at 270 CPU seconds per 10,000 texts by default (``max_time``), so it takes at most about
4.5 minutes of one busy core per 10,000 texts, plus tokenizer training.
"""
from __future__ import annotations

import json
import re
import time
from collections import Counter

import numpy as np
import pandas as pd
import torch
from torch import nn

from lookalike.errors import LookalikeError
from lookalike.models.threads import torch_threads
from lookalike.privacy.pii_text import PLACEHOLDERS, fill_pii, mask_pii

PAD, BOS, EOS = 0, 1, 2
SPECIAL = ["[PAD]", "[BOS]", "[EOS]"]
MARKERS = {"cap": "<Word>", "lower": "<word>", "num": "<NUM>"}
WORD_RE = re.compile(r"<[A-Za-z]+>|\w+")  # a placeholder or marker is one unit, never a word to protect
_RESERVED = set(PLACEHOLDERS.values()) | set(MARKERS.values())
SECONDS_PER_10K = 270.0
TOP_CANDIDATES = 256  # top-p is taken within the 256 most likely pieces (a full sort of the vocabulary is slow)


def _shape(word: str) -> str:
    if any(c.isdigit() for c in word):
        return "num"
    return "cap" if word[:1].isupper() else "lower"


def protect_words(texts: list[str], k: int, kept: dict[str, int] | None = None) -> tuple[list[str], dict[str, int]]:
    """Texts with every word used in fewer than ``k`` rows replaced by its shape marker; {word: rows} kept.
    ``kept``: the words to keep, counted before (a prompt is protected with its text column's counts)."""
    if kept is None:
        rows = Counter(w for t in texts for w in set(WORD_RE.findall(t)) if w not in _RESERVED)
        kept = {w: int(c) for w, c in sorted(rows.items()) if c >= k}

    def swap(m: re.Match) -> str:
        w = m.group(0)
        return w if w in kept or w in _RESERVED else MARKERS[_shape(w)]

    return [WORD_RE.sub(swap, t) for t in texts], kept


class _Net(nn.Module):
    def __init__(self, cardinalities: list[int], vocab: int, embed: int, hidden: int):
        super().__init__()
        self.context = nn.ModuleList(nn.Embedding(int(c), embed) for c in cardinalities)
        self.mix = nn.Sequential(nn.Linear(embed, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.Tanh())
        self.step_context = nn.Linear(hidden, embed)
        self.token = nn.Embedding(vocab, embed)
        self.gru = nn.GRU(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)
        self.hidden = hidden

    def condition(self, ctx: torch.Tensor) -> torch.Tensor:
        """The row's tabular tokens -> one vector (zeros for a table with no other learned column)."""
        if not len(self.context):
            return torch.zeros(ctx.shape[0], self.hidden)
        summed = sum(emb(ctx[:, j]) for j, emb in enumerate(self.context))
        return self.mix(summed)

    def forward(self, ctx: torch.Tensor, tokens: torch.Tensor, h: torch.Tensor | None = None):
        c = self.condition(ctx)
        x = self.token(tokens) + self.step_context(c)[:, None, :]
        y, h = self.gru(x, c[None] if h is None else h)
        return self.out(y), h


class TextLM:
    """Fit on one text column and the row's tabular tokens; generate texts for new rows' tokens.

    temperature, top_p: sampling settings (also accepted by ``generate``; the nucleus is taken within the
    256 most likely pieces). max_time: training budget in CPU seconds of this process, all threads together
    (None: 270 per 10,000 texts, at least 20), so a busy machine trains the same model, only slower;
    training stops earlier when the validation loss stops improving. Set n_threads to fix torch's thread count (same seed + same threads = same model).
    max_prompt_pieces: the most prompt pieces read before a text (the most recent ones; see the module doc)."""

    def __init__(self, k: int = 5, seed: int = 0, vocab_size: int = 3000, embed: int = 96, hidden: int = 256,
                 max_pieces: int = 96, batch_size: int = 64, lr: float = 3e-3, max_epochs: int = 100,
                 max_time: float | None = None, temperature: float = 1.0, top_p: float = 0.95,
                 n_threads: int | None = None, verbose: bool = False, max_prompt_pieces: int = 64):
        self.k, self.seed, self.vocab_size, self.embed, self.hidden = int(k), int(seed), vocab_size, embed, hidden
        self.max_pieces, self.batch_size, self.lr, self.max_epochs = max_pieces, batch_size, lr, max_epochs
        self.max_time, self.temperature, self.top_p = max_time, temperature, top_p
        self.n_threads, self.verbose = n_threads, verbose
        self.max_prompt_pieces = int(max_prompt_pieces)

    # -- fit --------------------------------------------------------------------------------------
    def fit(self, texts: pd.Series, context: np.ndarray, cardinalities: list[int],
            prompts: list[list[str]] | None = None) -> "TextLM":
        """``prompts``: optional, per row (aligned with ``texts``) the texts read before it, oldest first."""
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        wall, cpu = time.monotonic(), time.process_time()
        present = texts.notna().to_numpy()
        raw = texts[present].astype(str).tolist()
        if len(raw) < 2:
            raise LookalikeError(f"text column '{texts.name}': fewer than 2 texts to learn from")
        masked = [mask_pii(t)[0] for t in raw]
        protected, self.words_ = protect_words(masked, self.k)
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=self.vocab_size, min_frequency=max(2, self.k),
                                      special_tokens=SPECIAL, show_progress=False)
        tok.train_from_iterator(protected, trainer)
        self.tokenizer_ = tok
        ids = [e.ids[: self.max_pieces] for e in tok.encode_batch(protected)]
        self.prompted_ = prompts is not None
        if self.prompted_ and len(prompts) != len(texts):
            raise LookalikeError(f"text column '{texts.name}': {len(prompts)} prompts for {len(texts)} texts; give "
                                 "one prompt (or None) per row")
        prompt_ids = self._prompt_ids([p for p, keep in zip(prompts, present) if keep]) if self.prompted_ else None
        lengths = np.array([len(i) for i in ids])
        self.max_len_ = int(min(self.max_pieces, np.quantile(lengths, 0.995) + 2))
        self.cardinalities_ = [int(c) for c in cardinalities]
        ctx = np.asarray(context, dtype=np.int64)[present]
        with torch.random.fork_rng(devices=[]), torch_threads(self.n_threads):
            torch.manual_seed(self.seed)
            self.net_ = _Net(self.cardinalities_, tok.get_vocab_size(), self.embed, self.hidden)
            self._train(ids, ctx, prompt_ids)
        self.fit_seconds_ = {"wall": time.monotonic() - wall, "cpu": time.process_time() - cpu, "texts": len(raw)}
        return self

    def _batches(self, ids: list[list[int]], order: np.ndarray, rng: np.random.Generator):
        """Batches of similar length (little padding), in random order."""
        order = order[np.argsort([len(ids[i]) for i in order], kind="stable")]
        chunks = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        for j in rng.permutation(len(chunks)):
            yield chunks[j]

    def _prompt_ids(self, prompts: list) -> list[list[int]]:
        """Each row's earlier texts as pieces, each closed by [EOS], the last ``max_prompt_pieces`` kept; masked
        and word-protected exactly as the column's texts were (the words kept are the column's)."""
        rows = [[str(t) for t in (p if isinstance(p, (list, tuple)) else [p]) if t is not None and pd.notna(t)]
                if p is not None else [] for p in prompts]
        flat = [t for r in rows for t in r]
        protected, _ = protect_words([mask_pii(t)[0] for t in flat], self.k, kept=self.words_)
        pieces = iter(e.ids[: self.max_pieces] + [EOS] for e in self.tokenizer_.encode_batch(protected))
        out = []
        for r in rows:
            ids = [i for _ in r for i in next(pieces)]
            out.append(ids[len(ids) - self.max_prompt_pieces:] if len(ids) > self.max_prompt_pieces else ids)
        return out

    def _tensor(self, ids: list[list[int]], rows: np.ndarray) -> torch.Tensor:
        seqs = [[BOS] + ids[i][: self.max_len_] + [EOS] for i in rows]
        out = np.full((len(seqs), max(map(len, seqs))), PAD, dtype=np.int64)
        for r, s in enumerate(seqs):
            out[r, : len(s)] = s
        return torch.from_numpy(out)

    def _loss(self, ids, ctx, rows, prompts=None) -> torch.Tensor:
        seq = self._tensor(ids, rows)
        context = torch.from_numpy(ctx[rows])
        # a prompt is read into the state the text starts from; no loss on it (only the text is learned)
        h = self._read_prompt(self.net_.condition(context), [prompts[i] for i in rows]) if prompts else None
        logits, _ = self.net_(context, seq[:, :-1], h)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), seq[:, 1:].reshape(-1),
                                           ignore_index=PAD)

    def _train(self, ids: list[list[int]], ctx: np.ndarray, prompts: list[list[int]] | None = None) -> None:
        rng = np.random.default_rng(self.seed)
        n = len(ids)
        perm = rng.permutation(n)
        n_val = min(max(int(0.1 * n), 1), 2000) if n >= 20 else 0
        val, train = perm[:n_val], perm[n_val:]
        budget = self.max_time if self.max_time is not None else max(20.0, SECONDS_PER_10K * n / 10_000)
        opt = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=0.01)
        best, best_state, stale, started = np.inf, None, 0, time.process_time()
        self.epochs_ = 0
        for epoch in range(self.max_epochs):
            self.net_.train()
            for rows in self._batches(ids, train, rng):
                loss = self._loss(ids, ctx, rows, prompts)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.net_.parameters(), 1.0)
                opt.step()
                if time.process_time() - started > budget:
                    break
            self.epochs_ = epoch + 1
            if n_val:
                self.net_.eval()
                with torch.no_grad():
                    chunks = [val[i:i + 512] for i in range(0, n_val, 512)]
                    v = sum(float(self._loss(ids, ctx, c, prompts)) * len(c) for c in chunks) / n_val
                if self.verbose:
                    print(f"text epoch {epoch + 1}: validation loss {v:.3f}")
                if v < best - 1e-3:
                    best, stale = v, 0
                    best_state = {k: t.detach().clone() for k, t in self.net_.state_dict().items()}
                else:
                    stale += 1
                if stale >= 2:
                    break
            if time.process_time() - started > budget:
                break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.val_loss_ = None if not n_val else float(best)
        self.net_.eval()

    # -- generate ---------------------------------------------------------------------------------
    def generate(self, context: np.ndarray, seed: int, temperature: float | None = None,
                 top_p: float | None = None, batch_size: int = 4096,
                 prompts: list[list[str]] | None = None) -> list[str]:
        """One text per row of tabular tokens; a pure function of (model, context, seed, prompts).
        ``prompts``: per row, the texts read before it (a model fitted with prompts; see the module doc)."""
        temperature = self.temperature if temperature is None else float(temperature)
        top_p = self.top_p if top_p is None else float(top_p)
        if temperature <= 0 or not 0 < top_p <= 1:
            raise LookalikeError(f"text sampling needs temperature > 0 and 0 < top_p <= 1, got {temperature}, {top_p}")
        ctx = np.asarray(context, dtype=np.int64)
        if prompts is not None and not getattr(self, "prompted_", False):
            raise LookalikeError("this text model was fitted without prompts; it cannot read one")
        if prompts is not None and len(prompts) != len(ctx):
            raise LookalikeError(f"{len(prompts)} prompts for {len(ctx)} rows; give one prompt (or None) per row")
        prompt_ids = self._prompt_ids(prompts) if prompts is not None else None
        out: list[str] = []
        with torch_threads(self.n_threads), torch.no_grad():
            for start in range(0, len(ctx), batch_size):
                gen = torch.Generator().manual_seed(int(np.random.default_rng([seed, start]).integers(2**62)))
                ids = self._sample_ids(torch.from_numpy(ctx[start:start + batch_size]), gen, temperature, top_p,
                                       None if prompt_ids is None else prompt_ids[start:start + batch_size])
                out.extend(self._decode(ids))
        rng = np.random.default_rng([seed, 1])
        out = [self._protect(t, rng) for t in out]
        return fill_pii(out, seed=int(rng.integers(2**31)))

    def _read_prompt(self, c: torch.Tensor, prompts: list[list[int]]) -> torch.Tensor:
        """The GRU state after reading each row's prompt pieces (the initial state where a row has none)."""
        h = c[None].clone()
        rows = [i for i, p in enumerate(prompts) if p]
        if rows:
            lengths = [len(prompts[i]) for i in rows]
            pieces = torch.full((len(rows), max(lengths)), PAD, dtype=torch.long)
            for r, i in enumerate(rows):
                pieces[r, : lengths[r]] = torch.tensor(prompts[i])
            x = self.net_.token(pieces) + self.net_.step_context(c[rows])[:, None, :]
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, read = self.net_.gru(packed, h[:, rows].contiguous())
            h[:, rows] = read
        return h

    def _sample_ids(self, ctx, gen, temperature, top_p, prompts=None) -> np.ndarray:
        n = ctx.shape[0]
        c = self.net_.condition(ctx)
        h, step = (c[None] if prompts is None else self._read_prompt(c, prompts)), self.net_.step_context(c)
        token = torch.full((n,), BOS, dtype=torch.long)
        done = torch.zeros(n, dtype=torch.bool)
        ids = torch.full((n, self.max_len_), PAD, dtype=torch.long)
        for t in range(self.max_len_):
            y, h = self.net_.gru((self.net_.token(token) + step)[:, None, :], h)
            logits = self.net_.out(y[:, 0]) / temperature
            logits[:, PAD] = logits[:, BOS] = -torch.inf
            top, cand = logits.topk(min(TOP_CANDIDATES, logits.shape[1]), dim=-1)  # sorted, most likely first
            probs = torch.softmax(top, dim=-1)
            probs = probs * (probs.cumsum(-1) - probs < top_p)  # the nucleus: smallest set reaching top_p
            cum = probs.cumsum(-1)
            pick = torch.searchsorted(cum, torch.rand(n, 1, generator=gen) * cum[:, -1:]).clamp_max(cand.shape[1] - 1)
            token = cand.gather(1, pick)[:, 0]
            token[done] = PAD
            ids[:, t] = token
            done |= token == EOS
            if bool(done.all()):
                break
        return ids.numpy()

    def _decode(self, ids: np.ndarray) -> list[str]:
        rows = []
        for row in ids:
            row = row[(row != PAD)]
            stop = np.flatnonzero(row == EOS)
            rows.append(row[: stop[0]] if len(stop) else row)
        return self.tokenizer_.decode_batch([r.tolist() for r in rows])

    def _protect(self, text: str, rng: np.random.Generator) -> str:
        """Markers and any word not used in >= k training rows become protected words of the same shape."""
        pools = self._pools()

        def swap(m: re.Match) -> str:
            w = m.group(0)
            if w in self.words_ or w in PLACEHOLDERS.values():
                return w
            shape = next((s for s, mk in MARKERS.items() if mk == w), None) or _shape(w)
            words, p = pools.get(shape) or pools["any"]
            return words[rng.choice(len(words), p=p)] if len(words) else ""

        return WORD_RE.sub(swap, text).strip()

    def _pools(self) -> dict:
        if getattr(self, "_pool_cache", None) is None:
            groups: dict[str, list[str]] = {}
            for w in self.words_:
                groups.setdefault(_shape(w), []).append(w)
            groups["any"] = list(self.words_)
            pools = {}
            for shape, words in groups.items():
                weights = np.array([self.words_[w] for w in words], dtype=float)
                pools[shape] = (words, weights / weights.sum() if len(words) else weights)
            self._pool_cache = pools
        return self._pool_cache

    # -- persistence: JSON + tensors, nothing executable ---------------------------------------------
    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        config = {"params": {k: getattr(self, k) for k in (
                      "k", "seed", "vocab_size", "embed", "hidden", "max_pieces", "batch_size", "lr", "max_epochs",
                      "max_time", "temperature", "top_p", "n_threads", "max_prompt_pieces")},
                  "tokenizer": self.tokenizer_.to_str(), "words": self.words_, "max_len": self.max_len_,
                  "cardinalities": self.cardinalities_, "epochs": self.epochs_, "val_loss": self.val_loss_,
                  "prompted": self.prompted_}
        tensors = {k: v.detach().numpy().copy() for k, v in self.net_.state_dict().items()}
        return config, tensors

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> "TextLM":
        from tokenizers import Tokenizer

        lm = cls(**config["params"])
        lm.tokenizer_ = Tokenizer.from_str(config["tokenizer"] if isinstance(config["tokenizer"], str)
                                           else json.dumps(config["tokenizer"]))
        lm.words_ = {str(w): int(c) for w, c in config["words"].items()}
        lm.max_len_, lm.cardinalities_ = int(config["max_len"]), list(config["cardinalities"])
        lm.epochs_, lm.val_loss_ = config.get("epochs"), config.get("val_loss")
        lm.prompted_ = bool(config.get("prompted", False))
        lm.net_ = _Net(lm.cardinalities_, lm.tokenizer_.get_vocab_size(), lm.embed, lm.hidden)
        lm.net_.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()})
        lm.net_.eval()
        return lm
