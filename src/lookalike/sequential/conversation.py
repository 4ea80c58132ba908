"""Conversations: a sequence step's free text written given the texts of the steps before it.

A table of messages (conversation id, turn, speaker role, text) is a sequence: the conversation is the entity,
the turn the order. The step model draws each message's tabular columns (role, the text's length, ...) given
the conversation's attributes, its position and the window of previous steps; this module then writes the
message's text with a :class:`~lookalike.models.text_lm.TextLM` (or, with ``text_model=PATH``, a
:class:`~lookalike.models.text_hf.PretrainedTextLM`) that reads two things:

- the step's tabular tokens (its own columns and its whole context, as the step model encodes them) -- for a
  pretrained model, the step's own columns, position and entity attributes as text (``step_values``) -- and
- a **prompt**: the texts of the ``window`` previous steps of the same conversation, oldest first, at most
  ``max_prompt_pieces`` pieces (64 by default: the most recent ones). Training prompts are the real previous
  messages; at sampling they are the previously *generated* messages of the same synthetic conversation, read
  step by step as the sequence model walks. The bound keeps the training cost per message fixed however
  long a conversation is (the chatterbot messages: median 6 pieces, 90th percentile 13, so a window of 3
  usually fits whole).

Privacy is the text model's, counted by conversation: a word is kept only when ``k`` distinct conversations
use it (a secret one conversation repeats in many messages is still rare), and the prompt is masked and
word-protected with the column's own kept words before the model reads it, so a word used in fewer than ``k``
conversations enters neither the text nor the prompt.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from lookalike.errors import LookalikeError
from lookalike.schema.columns import Kind


def window_prompts(ctx: pd.DataFrame, column: str, window: int) -> list[list[str]]:
    """Per step, the texts of ``column`` in its ``window`` previous steps (``lag<k>.<column>``), oldest first;
    missing ones (before the first step, or a message without text) are left out."""
    lags = [ctx[f"lag{k}.{column}"].to_numpy(dtype=object) for k in range(window, 0, -1)
            if f"lag{k}.{column}" in ctx.columns]
    if not lags:
        return [[] for _ in range(len(ctx))]
    return [[str(t) for t in texts if t is not None and pd.notna(t)] for texts in zip(*lags)]


def step_values(step_model, tokens: np.ndarray) -> pd.DataFrame:
    """What a pretrained text model's prompt spells out for a step: its own columns (no text, no internal
    ``__`` column) and its context's position and entity attributes (not the window's lags: the earlier
    messages are the prompt's text), as the step model decodes its tokens -- protected values, the same at
    training and at sampling."""
    decoded = step_model.synthesizer_.encoder_.decode(tokens, seed=0)
    schema = step_model.synthesizer_.schema_
    keep = {}
    for c in decoded.columns:
        name = c[len("ctx."):] if c.startswith("ctx.") else c
        if schema[c].kind != Kind.TEXT and not name.startswith(("__", "lag", "time.")):
            keep[c] = name
    return decoded[list(keep)].rename(columns=keep)


def _text_class(text_model: str):
    if text_model == "lm":
        from lookalike.models.text_lm import TextLM

        return TextLM
    from lookalike.models.text_hf import PretrainedTextLM

    return PretrainedTextLM


def fit_texts(columns: list[str], rows: pd.DataFrame, ctx: pd.DataFrame, step_model, window: int, params: dict,
              text_model: str = "lm", conversations=None) -> dict:
    """One prompted text model per free-text step column, trained on the real steps and their real windows:
    a TextLM reads the step's tokens, a pretrained model (``text_model`` is its directory) the step's values.
    ``conversations``: per step, its entity; a word (or URL host) is kept only when k conversations use it, so
    a secret one conversation repeats in many messages stays protected."""
    text_class = _text_class(text_model)
    tokens = step_model.encode(rows, ctx)
    if getattr(text_class, "reads_values", False):
        given, params = step_values(step_model, tokens), {**params, "path": str(text_model)}
        values = {}
    else:  # a TextLM reads the tokens, and gets its categorical columns' value tokens
        from lookalike.synthesizer import text_value_columns

        given, syn = tokens, step_model.synthesizer_
        values = {"value_columns": text_value_columns(syn.schema_, syn.encoder_)}
    models = {}
    for name in columns:
        texts = rows[name].reset_index(drop=True).rename(name)
        if texts.notna().sum() < 2:
            raise LookalikeError(f"text column '{name}': fewer than 2 messages with text to learn from")
        models[name] = text_class(**params).fit(texts, given, step_model.synthesizer_.encoder_.cardinalities_,
                                                prompts=window_prompts(ctx, name, window), groups=conversations,
                                                **values)
    return models


def write_texts(models: dict, rows: pd.DataFrame, ctx: pd.DataFrame, step_model, window: int,
                seed: int) -> None:
    """Overwrite each text column of the sampled step ``rows`` (in place) with text written given the step's
    tokens (or values) and its conversation so far; a message the step model drew without text stays without."""
    tokens = step_model.encode(rows, ctx)
    values = step_values(step_model, tokens) if any(getattr(m, "reads_values", False) for m in models.values()) \
        else None
    for i, (name, lm) in enumerate(models.items()):
        present = rows[name].notna().to_numpy()
        texts = np.full(len(rows), None, dtype=object)
        if present.any():
            prompts = window_prompts(ctx.iloc[np.flatnonzero(present)], name, window)
            given = values[present].reset_index(drop=True) if getattr(lm, "reads_values", False) else tokens[present]
            texts[present] = lm.generate(given, prompts=prompts,
                                         seed=int(np.random.default_rng([seed, 5, i]).integers(2**31)))
        rows[name] = texts


def texts_state(models: dict) -> tuple[dict, bytes]:
    """The text models as JSON (tokenizer, kept word counts, settings) and safetensors bytes: data, not code."""
    meta, tensors = {}, {}
    for i, (name, lm) in enumerate(models.items()):
        config, weights = lm.get_state()
        meta[name] = {**config, "prefix": f"text{i}."}
        tensors.update({f"text{i}.{k}": np.ascontiguousarray(v) for k, v in weights.items()})
    return meta, save_tensors(tensors) if tensors else b""


def texts_from_state(meta: dict, blob: bytes, path="model file") -> dict:
    """``texts_state``'s models back; an error names ``path`` and the text column."""
    tensors = load_tensors(blob) if blob else {}
    models = {}
    for name, config in meta.items():
        prefix = config["prefix"]
        try:
            text_class = _text_class("pretrained" if config.get("kind") == "pretrained" else "lm")
            models[name] = text_class.from_state(config, {k[len(prefix):]: v for k, v in tensors.items()
                                                      if k.startswith(prefix)})
        except (LookalikeError, ImportError) as err:
            raise LookalikeError(f"{path}: text column '{name}': {err}") from err
    return models
