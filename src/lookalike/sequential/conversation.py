"""Conversations: a sequence step's free text written given the texts of the steps before it.

A table of messages (conversation id, turn, speaker role, text) is a sequence: the conversation is the entity,
the turn the order. The step model draws each message's tabular columns (role, the text's length, ...) given
the conversation's attributes, its position and the window of previous steps; this module then writes the
message's text with a :class:`~lookalike.models.text_lm.TextLM` that reads two things:

- the step's tabular tokens (its own columns and its whole context, as the step model encodes them), and
- a **prompt**: the texts of the ``window`` previous steps of the same conversation, oldest first, at most
  ``max_prompt_pieces`` pieces (64 by default: the most recent ones). Training prompts are the real previous
  messages; at sampling they are the previously *generated* messages of the same synthetic conversation, read
  step by step as the sequence model walks. The bound keeps the training cost per message fixed however
  long a conversation is (the chatterbot messages: median 6 pieces, 90th percentile 13, so a window of 3
  usually fits whole).

Privacy is the text model's: the prompt is masked and word-protected with the column's own counts before the
model reads it, so a word used in fewer than ``k`` messages enters neither the text nor the prompt.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from lookalike.errors import LookalikeError


def window_prompts(ctx: pd.DataFrame, column: str, window: int) -> list[list[str]]:
    """Per step, the texts of ``column`` in its ``window`` previous steps (``lag<k>.<column>``), oldest first;
    missing ones (before the first step, or a message without text) are left out."""
    lags = [ctx[f"lag{k}.{column}"].to_numpy(dtype=object) for k in range(window, 0, -1)
            if f"lag{k}.{column}" in ctx.columns]
    if not lags:
        return [[] for _ in range(len(ctx))]
    return [[str(t) for t in texts if t is not None and pd.notna(t)] for texts in zip(*lags)]


def fit_texts(columns: list[str], rows: pd.DataFrame, ctx: pd.DataFrame, tokens: np.ndarray,
              cardinalities: list[int], window: int, params: dict) -> dict:
    """One prompted text model per free-text step column, trained on the real steps and their real windows."""
    from lookalike.models.text_lm import TextLM

    models = {}
    for name in columns:
        texts = rows[name].reset_index(drop=True).rename(name)
        if texts.notna().sum() < 2:
            raise LookalikeError(f"text column '{name}': fewer than 2 messages with text to learn from")
        models[name] = TextLM(**params).fit(texts, tokens, cardinalities, prompts=window_prompts(ctx, name, window))
    return models


def write_texts(models: dict, rows: pd.DataFrame, ctx: pd.DataFrame, tokens: np.ndarray, window: int,
                seed: int) -> None:
    """Overwrite each text column of the sampled step ``rows`` (in place) with text written given the step's
    tokens and its conversation so far; a message the step model drew without text stays without."""
    for i, (name, lm) in enumerate(models.items()):
        present = rows[name].notna().to_numpy()
        texts = np.full(len(rows), None, dtype=object)
        if present.any():
            prompts = window_prompts(ctx.iloc[np.flatnonzero(present)], name, window)
            texts[present] = lm.generate(tokens[present], prompts=prompts,
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


def texts_from_state(meta: dict, blob: bytes) -> dict:
    from lookalike.models.text_lm import TextLM

    tensors = load_tensors(blob) if blob else {}
    models = {}
    for name, config in meta.items():
        prefix = config["prefix"]
        models[name] = TextLM.from_state(config, {k[len(prefix):]: v for k, v in tensors.items()
                                                  if k.startswith(prefix)})
    return models
