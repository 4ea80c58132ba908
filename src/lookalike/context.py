"""A table model with context: the one mechanism behind child tables (and, next, sequences).

A *context* is a set of columns known before a row is generated: a child row's parent attributes, or a
sequence step's entity attributes. :class:`ContextSynthesizer` learns the table's own columns *given* the
context by training one ordinary :class:`~lookalike.synthesizer.Synthesizer` on the context columns
followed by the table's columns; at sampling time every context cell is fixed (``seed_data``), so the
generator only draws the table's own columns, conditionally::

    ctx = customers.loc[orders.customer_id.map(row_of_customer), ["segment", "income"]]   # one row per order
    model = ContextSynthesizer(model="argn").fit(orders[["amount", "channel"]], context=ctx)
    fake = model.sample(context=synthetic_customers_repeated)      # one order per context row

Rules of the contract (the database layer and the sequence layer both rely on them):

- ``context`` is aligned row by row with ``rows`` (same length); its columns are stored under the prefix
  ``prefix`` (``"<prefix>.<column>"``) so they never clash with the table's own names.
- Only context columns a generator learns (numeric, categorical, boolean, datetime) can be fixed; the others
  (keys, PII, free text, constants) are left out of the context and listed in ``dropped_context_``.
- The context columns are the inner model's ``given`` columns: the generator learns the table's columns given
  the whole context, never the context itself (argn: half the heads, and the conditional sampling asks for).
- A context cell that is missing (NaN) at sampling stands for a missing value where the column had missing
  values in training (a sequence's first step has no previous step); elsewhere it is generated: rows without
  a parent (a null foreign key) are sampled with an all-missing context (argn draws those cells from heads
  it never trained, close to each token's share in training).
- Context values the model saw rarely or never (a synthetic parent's category that no child had) are
  accepted (``strict=False``): they are encoded as the nearest thing the model knows (the rare token).
- How many rows each context row gets is *not* decided here: it is a column of the context's own model
  (the database layer adds ``__n_<child>`` to the parent's table; a sequence model adds the length to its
  entity table), so the count depends on the parent's attributes too.

Saved models are data, not code: :meth:`to_bytes` returns the inner model file's bytes plus a JSON header.
"""
from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lookalike.errors import LookalikeError
from lookalike.schema.columns import Kind, TableSchema
from lookalike.schema.infer import infer_column, infer_schema
from lookalike.synthesizer import Synthesizer

CONTEXT_KINDS = (Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN, Kind.DATETIME)


class ContextSynthesizer:
    """Learn a table's rows given a context; sample rows for given context rows.

    Parameters are those of :class:`~lookalike.synthesizer.Synthesizer` (``model``, ``seed``, ``max_time``,
    ...) plus ``prefix``, the name space of the context columns. Learned state: ``synthesizer_`` (the inner
    model), ``context_columns_`` (original context names kept), ``columns_`` (the table's own columns).
    """

    def __init__(self, prefix: str = "context", **synthesizer_params: Any):
        self.prefix = prefix
        self.synthesizer_params = synthesizer_params

    def _name(self, column: str) -> str:
        return f"{self.prefix}.{column}"

    # -- fit ----------------------------------------------------------------------------------------
    def fit(self, rows: pd.DataFrame, context: pd.DataFrame | None = None, schema: TableSchema | None = None,
            progress=None) -> "ContextSynthesizer":
        """``rows``: the table's own columns; ``context``: same number of rows, fixed at sampling time.

        ``schema`` describes ``rows`` (inferred when None); context columns get their kinds by inference."""
        if context is not None and len(context) != len(rows):
            raise LookalikeError(f"context has {len(context)} rows but the table has {len(rows)}; "
                                 "give one context row per table row")
        k = int(self.synthesizer_params.get("k", 5))
        if schema is None:
            schema = infer_schema(rows, k=k)
        rows = rows.reset_index(drop=True)
        kept, dropped, ctx_columns = [], [], []
        if context is not None:
            for col in context.columns:
                try:
                    cs = infer_column(self._name(str(col)), context[col], source="context")
                except LookalikeError:
                    dropped.append(str(col))
                    continue
                if cs.kind not in CONTEXT_KINDS or context[col].isna().all():
                    dropped.append(str(col))
                    continue
                kept.append(str(col))
                ctx_columns.append(cs)
        self.context_columns_ = kept
        self.dropped_context_ = dropped
        self.columns_ = list(rows.columns)
        frame = rows
        if kept:
            ctx = context[kept].reset_index(drop=True)
            ctx.columns = [self._name(c) for c in kept]
            frame = pd.concat([ctx, rows], axis=1)
        full = TableSchema(columns=ctx_columns + list(schema.columns), value_protection=dict(schema.value_protection),
                           rules=list(schema.rules), primary_key=schema.primary_key)
        given = [self._name(c) for c in kept]  # always fixed at sampling: learned as the condition, not a target
        self.synthesizer_ = Synthesizer(schema=full, given=given, **self.synthesizer_params).fit(frame,
                                                                                               progress=progress)
        # a context column the inner encoder does not learn (all values protected) cannot be fixed
        enc = self.synthesizer_.encoder_
        self.context_columns_ = [c for c in kept if enc.group_of(self._name(c)) is not None]
        self.dropped_context_ += [c for c in kept if c not in self.context_columns_]
        return self

    # -- sample -------------------------------------------------------------------------------------
    def sample(self, context: pd.DataFrame | None = None, n: int | None = None, seed: int | None = None,
               with_context: bool = False, known: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per context row (``context`` given) or ``n`` rows drawn with their context generated.

        ``known``: optional cells of the table's own columns, aligned with ``context`` (NaN = to be generated);
        the others are drawn given them (a sequence's seeded first events). Only learned columns can be known.
        Returns the table's own columns (and the context columns, prefixed, with ``with_context``)."""
        self._check_fitted()
        syn = self.synthesizer_
        if context is None:
            if not n:
                raise LookalikeError("give a context table or a number of rows to sample")
            out = syn.sample(int(n), seed=seed)
        else:
            if len(context) == 0:
                return pd.DataFrame({c: pd.Series(dtype=object) for c in self.columns_})
            missing = [c for c in self.context_columns_ if c not in context.columns]
            if missing:
                raise LookalikeError(f"the context lacks column(s) {missing} the model was fitted with")
            fixed = context[self.context_columns_].reset_index(drop=True)
            fixed.columns = [self._name(c) for c in self.context_columns_]
            if known is not None:
                if len(known) != len(context):
                    raise LookalikeError(f"known has {len(known)} rows but the context has {len(context)}")
                enc = syn.encoder_
                cells = [c for c in known.columns if c in self.columns_ and enc.group_of(c) is not None
                         and known[c].notna().any()]
                fixed = pd.concat([fixed, known[cells].reset_index(drop=True)], axis=1)
            if fixed.shape[1] == 0:
                out = syn.sample(len(context), seed=seed)
            else:
                out = syn.sample(seed=seed, seed_data=fixed, strict=False)
        return out if with_context else out[self.columns_].reset_index(drop=True)

    def encode(self, rows: pd.DataFrame, context: pd.DataFrame) -> np.ndarray:
        """The inner model's tokens of ``rows`` (the table's own columns) with their ``context``, aligned row by
        row: what a model written after this one conditions on (a sequence step's text model)."""
        self._check_fitted()
        frame = {self._name(c): context[c].reset_index(drop=True) for c in self.context_columns_}
        frame.update({c: rows[c].reset_index(drop=True) for c in self.columns_})
        return self.synthesizer_.encoder_.encode(pd.DataFrame(frame, index=range(len(rows))))

    def _check_fitted(self) -> None:
        if not hasattr(self, "synthesizer_"):
            raise LookalikeError("this ContextSynthesizer is not fitted yet; call fit(rows, context)")

    # -- persistence (data, not code) ----------------------------------------------------------------
    def to_bytes(self) -> bytes:
        self._check_fitted()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "inner.lookalike"
            self.synthesizer_.save(path)
            inner = path.read_bytes()
        meta = {"prefix": self.prefix, "context_columns": self.context_columns_,
                "dropped_context": self.dropped_context_, "columns": self.columns_}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("context.json", json.dumps(meta))
            zf.writestr("model.lookalike", inner)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ContextSynthesizer":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            meta = json.loads(zf.read("context.json"))
            inner = zf.read("model.lookalike")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "inner.lookalike"
            path.write_bytes(inner)
            syn = Synthesizer.load(path)
        obj = cls(prefix=meta["prefix"], **syn.get_params())
        obj.synthesizer_params.pop("schema", None)
        obj.synthesizer_ = syn
        obj.context_columns_ = meta["context_columns"]
        obj.dropped_context_ = meta["dropped_context"]
        obj.columns_ = meta["columns"]
        return obj
