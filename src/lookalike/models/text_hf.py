"""A local pretrained Hugging Face causal language model, fine-tuned on one free-text column (text_model=PATH).

Why: a model pretrained on much text writes more fluent text than one trained from scratch on the column, when
the user has one on disk. It is loaded from a local directory only (``local_files_only``, never remote code),
fine-tuned on CPU within a time budget, and conditioned on the row by a prompt that spells out the row's
other learned columns (``product: card; amount: 120``); the loss is taken on the text only.

Privacy is :mod:`lookalike.models.text_lm`'s, with the same code (``TextLM.learn_protection`` and
``TextLM.finish``): PII inside the text becomes a placeholder before training and a fresh fake after (a URL on
a host used in at least ``k`` rows keeps its host, with a random path); a word used in fewer than
``k`` rows becomes a shape marker before training, and every generated word that is not
one used in at least ``k`` training rows is replaced again by such a word -- so whatever the pretrained model
knew, a secret unique to one row cannot be written. Generated text is also scanned for PII once more (a
pretrained model may write an e-mail or a phone it saw in pretraining) and every hit becomes a fake; characters
no training text has (stray bytes of a byte-level model) are dropped.

A conversation's message (``prompts=``, :mod:`lookalike.sequential.conversation`) is written after its earlier
messages, protected as the texts are and one per line, above the row's values line; the prompt keeps its last
``max_prompt_tokens`` tokens.

The model file holds the fine-tuned weights, the model's configuration and the tokenizer as JSON, and the
protected word counts and the characters the texts use: loading needs neither the original directory nor any
code from the file.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lookalike.errors import LookalikeError
from lookalike.models.text_lm import TextLM, fit_budget, held_out, read_urls, train_keeping_best
from lookalike.models.threads import torch_threads

INSTALL_HINT = 'pip install "lookalike[text-hf]"'
SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token")


def require_transformers() -> None:
    """A clear error, naming the extra to install, when Transformers is missing (checked without importing it)."""
    import importlib.util

    if importlib.util.find_spec("transformers") is None:
        raise LookalikeError(f"text_model=PATH (a pretrained Hugging Face model) needs the transformers package: "
                             f"{INSTALL_HINT}")


@contextlib.contextmanager
def _quiet():
    """Transformers' progress bars and warnings off while we call it; the caller's settings back after."""
    require_transformers()
    import transformers as tf

    level, bars = tf.logging.get_verbosity(), tf.utils.logging.is_progress_bar_enabled()
    tf.logging.set_verbosity_error()
    tf.utils.logging.disable_progress_bar()
    try:
        yield tf
    finally:
        tf.logging.set_verbosity(level)
        if bars:
            tf.utils.logging.enable_progress_bar()


def check_model_dir(path) -> None:
    """A clear error unless ``path`` is a local directory with a causal LM config and a fast tokenizer that
    Transformers can load without remote code (the weights are read at fit)."""
    load_pretrained(path, weights=False)


def load_pretrained(path, weights: bool = True):
    """(model or None, tokenizer) from a local directory: never the Hub, never code from the directory."""
    where = Path(path)
    if not where.is_dir():
        raise LookalikeError(f"text_model: {path} is not a directory; give 'lm', 'chain' or the local directory of "
                             "a Hugging Face causal language model (config.json, weights, tokenizer files)")
    with _quiet() as tf:
        try:
            config = tf.AutoConfig.from_pretrained(where, local_files_only=True, trust_remote_code=False)
            if type(config) not in tf.MODEL_FOR_CAUSAL_LM_MAPPING:
                raise ValueError(f"its model type '{config.model_type}' is not a causal language model")
            tokenizer = tf.AutoTokenizer.from_pretrained(where, local_files_only=True, trust_remote_code=False)
            model = (tf.AutoModelForCausalLM.from_pretrained(where, local_files_only=True, trust_remote_code=False,
                                                             dtype=torch.float32) if weights else None)
        except LookalikeError:
            raise
        except Exception as e:  # noqa: BLE001 -- Transformers raises OSError, ValueError, KeyError... here
            raise LookalikeError(f"text_model: {path} holds no causal language model and tokenizer that "
                                 f"Transformers can load offline without remote code ({type(e).__name__}: "
                                 f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise LookalikeError(f"text_model: {path}: the tokenizer has no fast (tokenizer.json) version; lookalike "
                             "stores tokenizers as JSON in the model file")
    if tokenizer.eos_token_id is None:
        raise LookalikeError(f"text_model: {path}: the tokenizer has no end-of-text token (eos_token)")
    return model, tokenizer


def render_prompts(context: pd.DataFrame) -> list[str]:
    """Each row's other columns as one line of text, ``name: value; ...`` (missing values left out)."""
    cols = [(str(c), context[c].tolist()) for c in context.columns]
    out = []
    for i in range(len(context)):
        parts = [f"{name}: {_readable(values[i])}" for name, values in cols if not _missing(values[i])]
        out.append("; ".join(parts) + "\n")
    return out


def _missing(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _readable(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    return str(v)


class PretrainedTextLM:
    """Fine-tune a local pretrained causal LM on one text column given the row; generate texts for new rows.

    Same protocol as :class:`~lookalike.models.text_lm.TextLM`, except that ``context`` is the row's other
    columns as readable values (a DataFrame), not tabular tokens: the prompt is text. path: the model's local
    directory (read at fit only). max_time: training budget in CPU seconds (None: 270 per 10,000 texts, at
    least 20); training also stops when the validation loss has not improved for ``patience`` epochs, or after
    ``max_epochs``.
    temperature, top_p: sampling settings (also accepted by ``generate``); top_p alone trims the
    distribution (no top-k)."""

    reads_values = True  # the Synthesizer gives this model decoded values, not tokens

    def __init__(self, path: str | None = None, k: int = 5, seed: int = 0, lr: float = 5e-5, batch_size: int = 16,
                 max_epochs: int = 20, max_time: float | None = None, max_prompt_tokens: int = 64,
                 max_text_tokens: int = 96, temperature: float = 1.0, top_p: float = 0.95,
                 generate_batch: int = 64, n_threads: int | None = None, verbose: bool = False, patience: int = 2):
        self.path, self.k, self.seed, self.lr, self.batch_size = path, int(k), int(seed), lr, batch_size
        self.max_epochs, self.max_time = max_epochs, max_time
        self.max_prompt_tokens, self.max_text_tokens = max_prompt_tokens, max_text_tokens
        self.temperature, self.top_p, self.generate_batch = temperature, top_p, generate_batch
        self.n_threads, self.verbose, self.patience = n_threads, verbose, int(patience)

    # -- fit --------------------------------------------------------------------------------------
    def fit(self, texts: pd.Series, context: pd.DataFrame, cardinalities: list[int] | None = None,
            prompts: list[list[str]] | None = None, groups=None) -> PretrainedTextLM:
        """``prompts``: optional, per row the texts read before it, oldest first (a conversation's earlier
        messages): written above the row's values in the prompt, protected as the column's texts are.
        ``groups``: optional, per row whose text it is (a conversation): words are kept by distinct groups."""
        wall, cpu = time.monotonic(), time.process_time()
        if self.path is None:
            raise LookalikeError("PretrainedTextLM needs path: the local directory of a Hugging Face causal LM")
        present = texts.notna().to_numpy()
        raw = texts[present].astype(str).tolist()
        if len(raw) < 2:
            raise LookalikeError(f"text column '{texts.name}': fewer than 2 texts to learn from")
        self.protection_ = TextLM(k=self.k, fresh_words=False)  # the from-scratch model's privacy rules, learned on this column
        protected = self.protection_.learn_protection(
            raw, None if groups is None else np.asarray(groups, dtype=object)[present])
        self.words_ = self.protection_.words_
        self.chars_ = "".join(sorted(set("".join(protected))))
        self.prompt_columns_ = [str(c) for c in context.columns]
        self.prompted_ = prompts is not None
        if self.prompted_ and len(prompts) != len(texts):
            raise LookalikeError(f"text column '{texts.name}': {len(prompts)} prompts for {len(texts)} texts; give "
                                 "one prompt (or None) per row")
        lines = self._prompt_lines(context[present].reset_index(drop=True),
                                   [p for p, keep in zip(prompts, present) if keep] if self.prompted_ else None)
        model, self.tokenizer_ = load_pretrained(self.path)
        self._set_limits(model.config)
        p_ids = self._ids(lines, self.prompt_cap_, recent=self.prompted_)
        t_ids = self._ids(protected, self.text_cap_)
        self.max_new_ = int(min(self.text_cap_, np.quantile([len(t) for t in t_ids], 0.995) + 1) + 1)
        with torch.random.fork_rng(devices=[]), torch_threads(self.n_threads), _quiet():
            torch.manual_seed(self.seed)
            self.model_ = model
            self._train(p_ids, t_ids)
        self.fit_seconds_ = {"wall": time.monotonic() - wall, "cpu": time.process_time() - cpu, "texts": len(raw)}
        return self

    def _set_limits(self, config) -> None:
        """Prompt and text token caps within the model's positions (two more for the start and end tokens)."""
        positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        room = int(positions) - 2 if positions else self.max_prompt_tokens + self.max_text_tokens
        self.prompt_cap_ = int(min(self.max_prompt_tokens, room // 2))
        self.text_cap_ = int(min(self.max_text_tokens, room - self.prompt_cap_))

    def _ids(self, strings: list[str], cap: int, recent: bool = False) -> list[list[int]]:
        """Token ids, at most ``cap``: the first ones, or with ``recent`` the last ones (a prompt that starts
        with earlier messages keeps the latest of them and the row's values, which come last)."""
        ids = self.tokenizer_(strings, add_special_tokens=False)["input_ids"]
        return [i[len(i) - cap:] if recent and len(i) > cap else i[:cap] for i in ids]

    def _prompt_lines(self, context: pd.DataFrame, prompts: list | None) -> list[str]:
        """Each row's prompt: its earlier texts (masked, words not kept -> shape markers), one per line, then
        its values line."""
        lines = render_prompts(context)
        if prompts is None:
            return lines
        earlier = self.protection_.prompt_texts(prompts)
        return ["".join(t + "\n" for t in texts) + line for texts, line in zip(earlier, lines)]

    @property
    def _special(self) -> tuple[int, int, int]:
        """(start, end, pad) ids: start is the tokenizer's bos (else its eos), pad its pad (else its eos)."""
        tok = self.tokenizer_
        eos = int(tok.eos_token_id)
        start = tok.bos_token_id if tok.bos_token_id is not None else eos
        pad = tok.pad_token_id if tok.pad_token_id is not None else eos
        return int(start), eos, int(pad)

    def _batch(self, p_ids, t_ids, rows) -> dict[str, torch.Tensor]:
        """Right-padded [start] + prompt + text + [end]; labels only on the text and its end."""
        start, eos, pad = self._special
        seqs = [[start] + p_ids[i] + t_ids[i] + [eos] for i in rows]
        width = max(map(len, seqs))
        ids = np.full((len(rows), width), pad, dtype=np.int64)
        mask = np.zeros_like(ids)
        labels = np.full_like(ids, -100)
        for r, (i, s) in enumerate(zip(rows, seqs)):
            ids[r, : len(s)], mask[r, : len(s)] = s, 1
            first = 1 + len(p_ids[i])
            labels[r, first: len(s)] = s[first:]
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
                "labels": torch.from_numpy(labels)}

    def _loss(self, p_ids, t_ids, rows) -> tuple[torch.Tensor, int]:
        """Mean loss over the batch's text tokens, and how many there were."""
        batch = self._batch(p_ids, t_ids, rows)
        return self.model_(**batch).loss, int((batch["labels"][:, 1:] != -100).sum())

    def _train(self, p_ids, t_ids) -> None:
        rng = np.random.default_rng(self.seed)
        val, train = held_out(rng, len(t_ids), 256)
        budget = fit_budget(len(t_ids), self.max_time)
        lengths = np.array([len(p) + len(t) for p, t in zip(p_ids, t_ids)])

        def epoch_losses():
            order = train[np.argsort(lengths[train], kind="stable")]  # batches of similar length, random order
            chunks = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
            for j in rng.permutation(len(chunks)):
                yield self._loss(p_ids, t_ids, chunks[j])[0]

        def validation_loss():
            if not len(val):
                return None
            total, count = 0.0, 0
            for i in range(0, len(val), 64):
                loss, tokens = self._loss(p_ids, t_ids, val[i:i + 64])
                total, count = total + float(loss) * tokens, count + tokens
            return total / max(count, 1)

        self.epochs_, self.val_loss_ = train_keeping_best(
            self.model_, epoch_losses, validation_loss, lr=self.lr, max_epochs=self.max_epochs, budget=budget,
            patience=self.patience, verbose=self.verbose)

    # -- generate ---------------------------------------------------------------------------------
    def generate(self, context: pd.DataFrame, seed: int, temperature: float | None = None,
                 top_p: float | None = None, batch_size: int | None = None,
                 prompts: list[list[str]] | None = None) -> list[str]:
        """One text per row of ``context`` (the prompt columns); a pure function of (model, context, seed,
        prompts)."""
        raw = self.generate_raw(context, seed, temperature, top_p, batch_size, prompts)
        chars = set(getattr(self, "chars_", "") or "")
        if chars:  # a byte-level model can write stray bytes and control characters no training text has
            raw = ["".join(ch for ch in t if ch in chars) for t in raw]
        return self.protection_.finish(raw, seed, rescan=True)

    def generate_raw(self, context: pd.DataFrame, seed: int, temperature: float | None = None,
                     top_p: float | None = None, batch_size: int | None = None,
                     prompts: list[list[str]] | None = None) -> list[str]:
        """The model's own texts, before unkept words and PII are replaced (what ``generate`` protects)."""
        temperature = self.temperature if temperature is None else float(temperature)
        top_p = self.top_p if top_p is None else float(top_p)
        if temperature <= 0 or not 0 < top_p <= 1:
            raise LookalikeError(f"text sampling needs temperature > 0 and 0 < top_p <= 1, got {temperature}, {top_p}")
        missing = [c for c in self.prompt_columns_ if c not in context.columns]
        if missing:
            raise LookalikeError(f"text model: the rows lack the prompt column(s) {missing}")
        if prompts is not None and not getattr(self, "prompted_", False):
            raise LookalikeError("this text model was fitted without prompts; it cannot read one")
        if prompts is not None and len(prompts) != len(context):
            raise LookalikeError(f"{len(prompts)} prompts for {len(context)} rows; give one prompt (or None) per row")
        lines = self._prompt_lines(context[self.prompt_columns_].reset_index(drop=True), prompts)
        prompts = self._ids(lines, self.prompt_cap_, recent=prompts is not None)
        step = int(batch_size or self.generate_batch)
        out: list[str] = []
        with torch_threads(self.n_threads), torch.no_grad(), _quiet() as tf:
            config = tf.GenerationConfig(do_sample=True, temperature=temperature, top_p=top_p, top_k=0,
                                         max_new_tokens=self.max_new_, pad_token_id=self._special[2],
                                         eos_token_id=self._special[1])
            for begin in range(0, len(prompts), step):
                batch_seed = int(np.random.default_rng([seed, begin]).integers(2**62))
                out.extend(self._sample(prompts[begin:begin + step], config, batch_seed))
        return out

    def _sample(self, prompts: list[list[int]], config, seed: int) -> list[str]:
        start, eos, pad = self._special
        seqs = [[start] + p for p in prompts]
        width = max(map(len, seqs))
        ids = np.full((len(seqs), width), pad, dtype=np.int64)  # left-padded: every prompt ends at the same place
        mask = np.zeros_like(ids)
        for r, s in enumerate(seqs):
            ids[r, width - len(s):], mask[r, width - len(s):] = s, 1
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            gen = self.model_.generate(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                                       generation_config=config)
        texts = []
        for row in gen[:, width:].numpy():
            stop = np.flatnonzero(row == eos)
            texts.append(row[: stop[0]] if len(stop) else row)
        return self.tokenizer_.batch_decode([t.tolist() for t in texts], skip_special_tokens=True)

    # -- persistence: JSON + tensors, nothing executable ---------------------------------------------
    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Config, tokenizer and special tokens as JSON; weights as arrays (a tied weight stored once)."""
        import json

        params = {k: getattr(self, k) for k in ("k", "seed", "lr", "batch_size", "max_epochs", "max_time",
                                                "max_prompt_tokens", "max_text_tokens", "temperature", "top_p",
                                                "generate_batch", "n_threads", "patience")}
        model_config = json.loads(self.model_.config.to_json_string(use_diff=False))
        model_config.pop("_name_or_path", None)  # where it was loaded from: not needed, not kept
        model_config.pop("auto_map", None)  # pointers to remote code: never used, not kept
        tensors, aliases, seen = {}, {}, {}
        for name, t in self.model_.state_dict().items():
            key = (t.data_ptr(), tuple(t.shape), t.dtype)
            if key in seen:
                aliases[name] = seen[key]
                continue
            seen[key] = name
            tensors[name] = t.detach().float().numpy().copy()
        config = {"kind": "pretrained", "params": params, "model_config": model_config,
                  "tokenizer": self.tokenizer_.backend_tokenizer.to_str(),
                  "special_tokens": {k: getattr(self.tokenizer_, k) for k in SPECIAL_KEYS
                                     if getattr(self.tokenizer_, k) is not None},
                  "aliases": aliases, "words": self.words_, "urls": self.protection_.urls_, "prompt_columns": self.prompt_columns_,
                  "prompt_cap": self.prompt_cap_, "text_cap": self.text_cap_, "max_new": self.max_new_,
                  "epochs": self.epochs_, "val_loss": self.val_loss_, "prompted": self.prompted_,
                  "chars": self.chars_}
        return config, tensors

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> PretrainedTextLM:
        """Rebuilt from the configuration (a model type Transformers knows, no remote code) and the weights."""
        from tokenizers import Tokenizer

        lm = cls(**config["params"])
        with _quiet() as tf:
            model_config = dict(config["model_config"])
            model_type = model_config.pop("model_type", None)
            if model_type not in tf.CONFIG_MAPPING:
                raise LookalikeError(f"text model: model type {model_type!r} is not one Transformers "
                                     f"{tf.__version__} knows (no remote code is run)")
            hf_config = tf.CONFIG_MAPPING[model_type].from_dict(model_config)
            model = tf.AutoModelForCausalLM.from_config(hf_config, trust_remote_code=False)
            lm.tokenizer_ = tf.PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(config["tokenizer"]),
                                                       **config["special_tokens"])
        state = {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        aliases = config.get("aliases", {})
        if unexpected or set(missing) - set(aliases):
            raise LookalikeError(f"text model: the stored weights do not fit the stored configuration "
                                 f"(missing {sorted(set(missing) - set(aliases))[:5]}, unexpected {unexpected[:5]})")
        params = dict(model.named_parameters(remove_duplicate=False)) | dict(model.named_buffers())
        with torch.no_grad():
            for name, source in aliases.items():  # a tied weight the model did not tie itself: copy it
                if name in params and params[name].data_ptr() != params[source].data_ptr():
                    params[name].copy_(params[source])
        lm.model_ = model.float().eval()
        lm.words_ = {str(w): int(c) for w, c in config["words"].items()}
        lm.protection_ = TextLM(k=lm.k, fresh_words=False)
        lm.protection_.words_ = lm.words_
        lm.protection_.urls_ = read_urls(config.get("urls", {}))
        lm.prompt_columns_ = list(config["prompt_columns"])
        lm.prompt_cap_, lm.text_cap_ = int(config["prompt_cap"]), int(config["text_cap"])
        lm.max_new_ = int(config["max_new"])
        lm.prompted_ = bool(config.get("prompted", False))
        lm.chars_ = str(config.get("chars", ""))
        lm.epochs_, lm.val_loss_ = config.get("epochs"), config.get("val_loss")
        return lm
