"""Sequences: one ordered list of rows (events, yearly records, sensor readings) per entity.

Built on the one context mechanism (:mod:`lookalike.context`), in two models:

- **The entity model** is an ordinary :class:`~lookalike.synthesizer.Synthesizer` over one row per entity:
  the columns that are constant within every entity (detected; learned once per entity, not once per event),
  the optional entity table's columns (``context=``, linked on the entity key), the sequence length
  ``__length`` and the first event's time ``__start`` (a date for datetime orders). So the length and the start
  are learned *given* the entity's attributes, and fixing or rebalancing an entity attribute ("accounts flagged
  for laundering") is a condition on this model.
- **The step model** is a :class:`~lookalike.context.ContextSynthesizer` whose rows are the events and whose
  context is the entity's row, the step's position (``step``, ``length``, ``left``), the calendar of the
  previous event (hour, weekday, month, for datetime orders) and a **window** of the ``window`` previous steps'
  values (``lag1.<column>`` ...). Its own columns are the varying columns plus ``__gap``, the time since the
  previous event (in the coarsest unit that divides every real gap: days, hours, minutes or seconds, so
  granularity is kept by the numeric codec; zero for duplicate timestamps; a constant for regular series,
  which therefore stay exactly regular). Numeric step columns whose within-entity changes are much more
  concentrated than their values (trends such as +1 a year, random walks; ``delta_columns_``) are learned as the
  change from the previous step, their first value as an entity column ``__first.<column>``; the window holds
  their previous *changes*, not their levels (``lag_changes_``): a step model that reads the levels couples them
  with the other columns, and a small bias in one integrated column then fed back through the others (weather:
  dewpoint falling about 0.3 degrees an hour and the wind turning north-west with it; see ``LAG_CHANGES``).

Sampling draws the entity rows first, then walks the steps: at step t every entity whose length exceeds t
gets one row drawn given its context and its last ``window`` generated steps. A free-text step column (a
conversation's messages) is written after its step's other columns by a language model that also reads the
texts of the ``window`` previous steps -- the conversation so far, as generated (:mod:`.conversation`).
Training rows each carry their own window, so memory grows with the number of events, never with a sequence's
length; ``max_train_steps`` caps the training rows (a seeded subset of windows) for very large data.
"""
from __future__ import annotations

import copy
import logging
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from lookalike.context import ContextSynthesizer
from lookalike.errors import LookalikeError
from lookalike.io.files import write_batches
from lookalike.model_file import read_model_file, write_model_file
from lookalike.schema.columns import Kind, TableSchema
from lookalike.sequential.conversation import fit_texts, texts_from_state, texts_state, write_texts
from lookalike.synthesizer import Synthesizer

LOGGER = logging.getLogger("lookalike.sequential")
FORMAT = "lookalike-sequence-model"
FORMAT_VERSION = 2
"""Version 2 files may hold the conversation text models (``text.safetensors``); files without them are
still written as version 1, so older lookalike versions keep reading those."""
TEXT_BLOB = "text.safetensors"
LENGTH, START, GAP = "__length", "__start", "__gap"
FIRST = "__first."
DELTA_SPREAD = 0.5
"""A numeric step column is learned as its change from the previous step when the within-entity changes are
spread at most this much relative to the values themselves (std ratio; 0.5 means lag-1 autocorrelation above
about 0.875, trends and random walks)."""
DELTA_MIN_VALUES = 10
DELTA_MAX_MISSING = 0.5
"""...and is missing in at most this share of the rows (weather's pressure: 10%). A missing cell is a missing
change (learned given the window like any value); the next change is from the last known value."""
"""...and only when it takes at least this many distinct values (fewer: a state, learned through the window)."""
DELTA_MAX_STAY = 0.5
"""...and only when it changes at at least half of the steps: a column that keeps its value at most steps (weather's
visibility: 10 miles at 77% of the hours, unchanged at 84% of the steps) is a state with excursions, learned as a
level through the window, so that an excursion returns to the usual value (as changes, returning needed changes that
cancel exactly, which drawn changes rarely do: synthetic days ended at 7.9-8.3 miles against a real 8.8-9.1).
Seed-42-45 splits, weather (with CALIBRATE): entity AUC 0.832 -> 0.735, bivariate accuracy 0.788 -> 0.783,
transition accuracy 0.879 -> 0.871; wages, aml and flights have no such column."""
ARGN_PATIENCE = 6
"""Epochs without validation gain before argn stops, in both inner models (argn's own default is 3): their
validation splits are small (a few hundred entities or steps), so the loss is noisy and 3 stopped early
(weather, seed-42 split: entity AUC 0.755 -> 0.708, transition acc 0.858 -> 0.861; wages unchanged; aml
AUC 0.654 -> 0.649, row TSTR 0.959 -> 0.923). Not applied with model='auto', whose pick may not take it."""
SMALL_ENTITY_TABLE = 250
"""An argn entity model over fewer entities than this trains on all of them, without a validation split (it then
runs until its training loss stops falling, at most argn's max_epochs): a tenth of under 250 entities is too few
to stop on, and a tenth of scarce data. Weather (126 training entities): the validation loss of 13 entities
stopped it after about 30 epochs, before it had learned how the first values depend on the start date (seed-42
split: the synthetic days' mean first temperature per 6-day period flat at 30-35 F against a real 28-44 F).
Seed-42-45 splits (means): weather bivariate accuracy 0.783 -> 0.810 (the temperature x time pair 0.598 -> 0.651,
holdout 0.728), entity AUC 0.736 -> 0.698, transition accuracy 0.871 -> 0.887. At 1000 it also took wages (416
training entities) and lost there (seeds 42-44: bivariate 0.944 -> 0.941, entity AUC 0.646 -> 0.658), hence 250;
flights and aml have over a thousand. A longer patience or less dropout with the split kept moved weather's
bivariate accuracy by under 0.01 and left the temperature x time pair where it was. Not applied with
model='auto'."""
LAG_CHANGES = True
"""The window holds a delta column's previous changes (True) or its previous values (models saved before this
setting). Measured on seed-42-45 splits (means): weather's synthetic days drift less (seeds 43-45: mean dewpoint
13.8-22.1 -> 17.8-24.3 against a real 21.4-22.2, wind direction 231-276 -> 232-247 against 221-222), bivariate
accuracy 0.754 -> 0.776 and transition accuracy 0.846 -> 0.866 at the same entity AUC (0.821 -> 0.820); wages
entity AUC 0.696 -> 0.655, bivariate 0.914 -> 0.924. The level is still known to the step model through the entity's first
value, the position and the calendar."""
CALIBRATE = True
"""After fitting, the step model's heads are calibrated in the large (``ARGN.calibrate``): each step column's
first token, drawn given the step's context, is as frequent on average over the training steps as it is in them.
Early stopping left the heads biased (weather, seed-44 split: the average change drawn for dewpoint given the
training steps' own contexts -0.19 degrees an hour against a real -0.003, so synthetic days drifted from 21 to 14
degrees over 24 hours); a step's draw feeds the next step's window and a change column sums its draws, so the
small bias became a drift. Seed-42-45 splits (means): weather bivariate accuracy 0.776 -> 0.788, transition
accuracy 0.866 -> 0.879, univariate 0.894 -> 0.906; wages bivariate 0.923 -> 0.945, transition 0.942 -> 0.957,
entity AUC 0.655 -> 0.640. The entity model is not calibrated: tried (with DELTA_MAX_STAY), weather's bivariate
accuracy rose 0.783 -> 0.790 but its entity AUC 0.735 -> 0.752, and on one aml split the synthetic accounts no
longer held enough laundering accounts to score the entity-level label."""
CALIBRATE_ROWS = 50_000
UNITS = (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0), ("seconds", 1.0))
BATCH_ENTITIES = 20_000
Progress = Callable[[float, str], None]
_PARAMS = ("entity", "order", "window", "model", "seed", "max_epochs", "max_time", "schema", "value_protection",
           "k", "verbose", "model_params", "max_train_steps", "text_model", "text_params", "text_history")


class SequenceSynthesizer:
    """Learn sequences of rows per entity, sample new entities with their sequences.

    >>> syn = SequenceSynthesizer(entity="account_id", order="timestamp").fit(events)
    >>> fake = syn.sample(500, seed=1)          # 500 entities, each with its own number of events

    ``Synthesizer(entity=..., order=...)`` returns one of these. ``order`` may be None (the file's row order
    within each entity is the order; no time is learned). ``window``: previous steps each step is drawn
    given. ``max_train_steps``: at most this many events (each with its window) train the step model.
    ``text_model``: how free-text columns are written, "lm", "chain" or a pretrained model's directory (see
    Synthesizer), in both inner models; ``text_params``: the language model's settings (``TextLM`` or
    ``PretrainedTextLM``). ``text_history`` (with "lm" or a directory): a free-text
    column that varies within entities (messages) is written given the texts of the ``window`` previous steps
    too -- the conversation so far, at most ``TextLM.max_prompt_pieces`` pieces (see :mod:`.conversation`);
    False writes each text given its own step's columns only.
    The other parameters are :class:`~lookalike.synthesizer.Synthesizer`'s, used for both inner models.
    """

    def __init__(self, entity: str, order: str | None = None, window: int = 3, model: str = "auto", seed: int = 0,
                 max_epochs: int | None = None, max_time: float | None = None,
                 schema: TableSchema | dict | str | Path | None = None, value_protection: bool = True, k: int = 5,
                 verbose: bool = False, model_params: dict[str, Any] | None = None, max_train_steps: int = 250_000,
                 text_model: str = "lm", text_params: dict[str, Any] | None = None, text_history: bool = True):
        if not isinstance(entity, str) or not entity:
            raise LookalikeError(f"entity must be a column name, got {entity!r}")
        if int(window) < 1:
            raise LookalikeError(f"window must be at least 1 previous step, got {window}")
        self.entity = entity
        self.order = order
        self.window = int(window)
        self.model = model
        self.seed = seed
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.schema = schema
        self.value_protection = value_protection
        self.k = k
        self.verbose = verbose
        self.model_params = model_params
        self.max_train_steps = int(max_train_steps)
        self.text_model = text_model
        self.text_params = text_params
        self.text_history = bool(text_history)
        Synthesizer(model=model, text_model=text_model, text_params=text_params)  # unknown names fail here

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _PARAMS}

    def set_params(self, **params) -> "SequenceSynthesizer":
        unknown = [p for p in params if p not in _PARAMS]
        if unknown:
            raise LookalikeError(f"unknown SequenceSynthesizer parameter(s) {unknown}; valid: {', '.join(_PARAMS)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def _inner_params(self, share: float = 0.5) -> dict[str, Any]:
        """Both inner models share the time budget; argn waits ARGN_PATIENCE epochs for progress."""
        params = self.model_params
        if self.model == "argn" and "patience" not in (params or {}):
            params = {**(params or {}), "patience": ARGN_PATIENCE}
        return dict(model=self.model, seed=self.seed, max_epochs=self.max_epochs,
                    max_time=None if self.max_time is None else self.max_time * share,
                    value_protection=self.value_protection, k=self.k, verbose=self.verbose,
                    model_params=params, text_model=self.text_model, text_params=self.text_params)

    # -- fit --------------------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, context: pd.DataFrame | None = None,
            progress: Progress | None = None) -> "SequenceSynthesizer":
        """``df``: the events, any row order (entities may be interleaved). ``context``: optional entity table,
        one row per entity, linked on the entity column; its entities without events get length 0."""
        if not isinstance(df, pd.DataFrame):
            raise LookalikeError(f"fit expects a pandas DataFrame, got {type(df).__name__}")
        user_schema = self._user_schema()
        if user_schema is not None and self.order is None and user_schema.order is not None:
            self.order = user_schema.order
        ent, order = self.entity, self.order
        for role, col in (("entity", ent), ("order", order)):
            if col is not None and col not in df.columns:
                raise LookalikeError(f"{role} column '{col}' is not in the table; columns: "
                                     f"{', '.join(map(str, df.columns))}")
        if order == ent:
            raise LookalikeError(f"column '{ent}' cannot be both the entity and the order")
        self._check_not_text(df, user_schema)
        if self.text_model not in ("lm", "chain"):  # a pretrained model's directory: checked before any training
            from lookalike.models.text_hf import check_model_dir

            check_model_dir(self.text_model)
        if df[ent].isna().any():
            raise LookalikeError(f"entity column '{ent}': {int(df[ent].isna().sum())} row(s) name no entity; "
                                 "give every row its entity (or drop those rows)")
        df = df.reset_index(drop=True)
        self.columns_ = list(df.columns)
        self.dtypes_ = {c: str(df[c].dtype) for c in df.columns}
        codes, _ = pd.factorize(df[ent], sort=False)
        if order is not None:
            pos, self.order_kind_, self.order_tz_ = _order_positions(df[order], order)
        else:
            pos, self.order_kind_, self.order_tz_ = np.arange(len(df), dtype=float), None, None
        sort = np.lexsort((pos, codes))  # stable: duplicate timestamps keep their file order
        df, pos, codes = df.iloc[sort].reset_index(drop=True), pos[sort], codes[sort]
        starts = np.r_[True, codes[1:] != codes[:-1]]
        first = np.flatnonzero(starts)
        lengths = np.diff(np.r_[first, len(df)])
        step = np.arange(len(df)) - np.repeat(first, lengths)
        if context is not None:
            context = self._check_context(context)
        self.flat_ = None
        self.text_models_ = {}
        self.gap_unit_ = self.gap_scale_ = self.median_gap_ = self.typical_start_ = None
        if lengths.max() <= 1 and context is None:
            LOGGER.warning("entity column '%s' has one row per entity: this is not a sequence; learning it as a "
                           "plain table (each sampled row is one entity)", ent)
            params = self._inner_params(1.0)
            self.flat_ = Synthesizer(schema=self._sub_schema(user_schema, df, list(df.columns)), **params).fit(
                df, progress=progress)
            return self
        others = [c for c in df.columns if c not in (ent, order)]
        multi = np.repeat(lengths > 1, lengths)
        if multi.any() and others:
            varying = df.loc[multi, others].groupby(codes[multi], sort=False).nunique(dropna=False).max()
            constant = [c for c in others if varying[c] <= 1]
        else:
            constant = list(others)
        self.constant_ = constant
        self.varying_ = [c for c in others if c not in constant]
        self.delta_columns_, self.value_ranges_, self.decimals_, self.delta_fill_ = self._detect_deltas(df, starts)
        self.lag_changes_ = LAG_CHANGES
        first_values = {FIRST + c: df[c].to_numpy()[first] for c in self.delta_columns_}

        # -- the entity table: constant columns, the entity table's columns, length, start
        ent_rows = df.iloc[first][[ent] + constant].reset_index(drop=True)
        for name, values in first_values.items():
            ent_rows[name] = values
        ent_rows[LENGTH] = lengths
        if order is not None:
            ent_rows[START] = self._start_values(pos[first])
            self.typical_start_ = float(np.sort(pos[first])[len(first) // 2])  # for a start left missing
        if context is not None:
            ent_rows = self._join_context(ent_rows, context)
        self.context_columns_ = [] if context is None else [c for c in context.columns if c != ent]
        ent_schema = self._sub_schema(user_schema, ent_rows, list(ent_rows.columns))
        self.entity_generated_ = ent_schema[ent].kind == Kind.ID
        if not self.entity_generated_:  # a key that does not look like one is numbered at sampling
            ent_rows = ent_rows.drop(columns=[ent])
            ent_schema = TableSchema(columns=[c for c in ent_schema.columns if c.name != ent],
                                     value_protection=dict(ent_schema.value_protection))
        self.entity_key_kind_ = "integer" if pd.api.types.is_integer_dtype(df[ent]) else "string"
        self.min_length_ = int(ent_rows[LENGTH].min())
        self.max_length_ = int(ent_rows[LENGTH].max())
        if progress:
            progress(0.02, "entity model")
        sub = (lambda a, b: (lambda f, m: progress(a + (b - a) * f, m)) if progress else None)
        ent_params = self._inner_params(0.3)
        if self.model == "argn" and len(ent_rows) < SMALL_ENTITY_TABLE and \
                "val_fraction" not in (ent_params["model_params"] or {}):
            ent_params["model_params"] = {**ent_params["model_params"], "val_fraction": 0.0}
        if self.value_protection and len(ent_rows) < max(10, 2 * self.k):
            LOGGER.warning("only %d entities: too few to protect rare entity-level values (at least %d are needed); "
                           "their attributes, lengths and start times are learned without value protection "
                           "(the events still are protected)", len(ent_rows), max(10, 2 * self.k))
            ent_params["value_protection"] = False
        self.entity_model_ = Synthesizer(schema=ent_schema, **ent_params).fit(ent_rows, progress=sub(0.02, 0.25))

        # -- the step table: varying columns and the gap, given entity, position, calendar and window
        gaps = None
        if order is not None:
            raw = np.diff(pos, prepend=np.nan)
            raw[starts] = np.nan
            self.gap_unit_, self.gap_scale_ = _gap_unit(raw, self.order_kind_)
            gaps = raw / self.gap_scale_
            valid = gaps[~np.isnan(gaps)]
            self.median_gap_ = float(np.sort(valid)[len(valid) // 2]) if len(valid) else 1.0  # a real gap
        levels = df[self.varying_].copy()
        if gaps is not None:
            levels[GAP] = gaps
        rows = levels.copy()
        for c in self.delta_columns_:  # the change from the previous step; at a first step (where the value
            x = levels[c].to_numpy(dtype=float)  # comes from the entity model) the median change
            if c in self.delta_missing_:  # from the last known value (the centre before any); missing stays missing
                known = pd.Series(x).groupby(codes).ffill().groupby(codes).shift(1).to_numpy(dtype=float)
                d = x - np.where(np.isnan(known), self.delta_center_[c], known)
            else:
                d = np.r_[np.nan, np.diff(x)]
            d[starts] = self.delta_fill_[c]
            rows[c] = np.round(d, self.decimals_[c])
        ent_frame = df[constant].reset_index(drop=True)
        for c in self.delta_columns_:
            ent_frame[FIRST + c] = np.repeat(df[c].to_numpy()[first], lengths)
        ctx = self._context_frame(
            ent_frame=ent_frame,
            extra=None if context is None else self._context_rows(context, df[ent]),
            step=step, length=np.repeat(lengths, lengths),
            prev_pos=np.where(starts, pos, np.r_[np.nan, pos[:-1]]),
            lags=self._lags_from_table(rows if self.lag_changes_ else levels, step))
        owners = codes  # each step's entity: text protection counts conversations, not messages
        if len(rows) > self.max_train_steps:
            keep = np.sort(np.random.default_rng(self.seed).choice(len(rows), self.max_train_steps, replace=False))
            rows, ctx = rows.iloc[keep].reset_index(drop=True), ctx.iloc[keep].reset_index(drop=True)
            owners = codes[keep]
        step_schema = self._sub_schema(user_schema, rows, list(rows.columns))
        step_params = self._inner_params(0.7)
        texts = [c.name for c in step_schema.columns if c.kind == Kind.TEXT] \
            if self.text_history and self.text_model != "chain" else []
        if texts:  # the messages are written below, given the conversation; the step model learns their length
            step_params["text_model"], step_params["text_params"] = "chain", None
        self.step_model_ = ContextSynthesizer(prefix="ctx", **step_params).fit(
            rows, context=ctx, schema=step_schema, progress=sub(0.25, 0.9 if texts else 1.0))
        if CALIBRATE:
            self._calibrate(self.step_model_.synthesizer_, self.step_model_.encode, rows, ctx)
        self.text_models_ = {}
        if texts:
            if progress:
                progress(0.9, "conversation text model")
            params = {"seed": self.seed, "k": step_schema.k, "verbose": self.verbose, **(self.text_params or {})}
            self.text_models_ = fit_texts(texts, rows, ctx, self.step_model_, self.window, params, self.text_model,
                                          conversations=owners)
        self.n_entities_ = int(len(ent_rows))
        self.n_events_ = int(len(df))
        return self

    def _calibrate(self, inner: Synthesizer, encode, rows: pd.DataFrame, ctx: pd.DataFrame | None) -> None:
        """Each column's first token, drawn given the context (the columns ``inner`` was given), as often on
        average over the training rows as those rows have it (``ARGN.calibrate``; see ``CALIBRATE``).
        ``encode(rows, ctx)`` gives the inner model's tokens; at most CALIBRATE_ROWS rows (seeded) are read."""
        model = inner.model_
        if not hasattr(model, "calibrate") or getattr(model, "dp_epsilon", None) is not None or not len(rows):
            return  # a differentially private model must not read the rows again
        if len(rows) > CALIBRATE_ROWS:
            keep = np.sort(np.random.default_rng([self.seed, 7]).choice(len(rows), CALIBRATE_ROWS, replace=False))
            rows = rows.iloc[keep].reset_index(drop=True)
            ctx = None if ctx is None else ctx.iloc[keep].reset_index(drop=True)
        enc = inner.encoder_
        given_names = set(inner.given or [])
        groups = dict(zip(enc.group_columns_, enc.groups_))
        given = [j for name, g in groups.items() if name in given_names for j in g]
        own = [g[0] for name, g in groups.items() if name not in given_names]
        model.calibrate(encode(rows, ctx), own, given)

    def _check_not_text(self, df: pd.DataFrame, user: TableSchema | None) -> None:
        """The entity and the order name whose sequence a row is and where in it; free text can be neither."""
        from lookalike.schema.infer import infer_column

        given = {c.name: c.kind for c in user.columns} if user is not None else {}
        for role, col in (("entity", self.entity), ("order", self.order)):
            if col is None or df[col].isna().all():
                continue
            kind = given.get(col) or infer_column(col, df[col]).kind
            if kind == Kind.TEXT:
                what = ("the column naming each sequence (a conversation id)" if role == "entity" else
                        "the column ordering each sequence's rows (a turn number or a time)")
                raise LookalikeError(f"{role} column '{col}' holds free text; the {role} must be {what}, and a "
                                     "text column is written by the text model, given its conversation")

    def _detect_deltas(self, df: pd.DataFrame, starts: np.ndarray):
        """Numeric step columns whose within-entity changes are much more concentrated than their values
        (trends such as +1 a year, random walks): learned as changes, the first value in the entity model.
        Returns the columns, their value ranges (protected: k-th smallest and largest) and decimals."""
        from lookalike.encoding.numeric import protected_range
        from lookalike.schema.infer import decimal_places

        chosen, ranges, decimals, fill = [], {}, {}, {}
        self.delta_missing_, self.delta_center_ = [], {}
        if starts.all():
            return chosen, ranges, decimals, fill
        for c in self.varying_:
            s = df[c]
            if (pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s)
                    or s.isna().mean() > DELTA_MAX_MISSING or s.nunique() < DELTA_MIN_VALUES):
                continue
            x = s.to_numpy(dtype=float)
            present = ~np.isnan(x)
            d = np.diff(x)[~starts[1:] & present[1:] & present[:-1]]  # between consecutive known values
            spread = x[present].std()
            if len(d) < 2 or spread == 0 or d.std() > DELTA_SPREAD * spread or (d == 0).mean() > DELTA_MAX_STAY:
                continue
            places = decimal_places(x[present])  # as the schema counts them (6.90575 keeps its 5 decimals)
            v = np.sort(x[present])
            if not present.all():  # missing cells stay missing; a change is from the last known value
                self.delta_missing_.append(c)
                self.delta_center_[c] = float(v[len(v) // 2])
            lo, hi = protected_range(v, self.k) if self.value_protection else (v[0], v[-1])
            chosen.append(c)
            ranges[c] = [float(lo), float(hi)]
            decimals[c] = int(places)
            fill[c] = float(np.round(np.sort(d)[len(d) // 2], places))  # a real change: the median
        if chosen:
            LOGGER.info("learned as changes from the previous step: %s", ", ".join(chosen))
        return chosen, ranges, decimals, fill

    def _user_schema(self) -> TableSchema | None:
        s = self.schema
        if s is None:
            return None
        if isinstance(s, (str, Path)):
            return TableSchema.read(s)
        if isinstance(s, dict):
            return TableSchema.from_dict(s)
        return TableSchema.from_dict(copy.deepcopy(s.to_dict()))

    def _sub_schema(self, user: TableSchema | None, frame: pd.DataFrame, names: list[str]) -> TableSchema:
        """The user's column entries where given, inferred kinds for the rest (length, start, gap, context)."""
        from lookalike.schema.infer import infer_schema

        inferred = infer_schema(frame[names], k=self.k)
        if user is None:
            return inferred
        given = {c.name: c for c in user.columns}
        cols = [given.get(c.name, c) for c in inferred.columns]
        return TableSchema(columns=cols, value_protection=dict(user.value_protection),
                           rules=[r for r in user.rules if set(_rule_columns(r)) <= set(names)])

    def _check_context(self, context: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(context, pd.DataFrame):
            raise LookalikeError(f"context must be a DataFrame (the entity table), got {type(context).__name__}")
        if self.entity not in context.columns:
            raise LookalikeError(f"the entity table lacks the entity column '{self.entity}'; it has: "
                                 f"{', '.join(map(str, context.columns))}")
        dup = context[self.entity].duplicated()
        if dup.any():
            raise LookalikeError(f"the entity table has {int(dup.sum())} repeated key(s) in '{self.entity}', e.g. "
                                 f"{context.loc[dup, self.entity].iloc[0]!r}; it needs one row per entity")
        return context.reset_index(drop=True)

    def _join_context(self, ent_rows: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
        """Every entity of the entity table (length 0 when it has no events), plus event entities it lacks."""
        ent = self.entity
        clash = [c for c in context.columns if c != ent and c in ent_rows.columns]
        if clash:
            raise LookalikeError(f"column(s) {clash} are in both the events and the entity table; rename one")
        left = context.assign(__key=context[ent].astype(str))
        right = ent_rows.assign(__key=ent_rows[ent].astype(str)).rename(columns={ent: "__events_key"})
        merged = left.merge(right, on="__key", how="outer", sort=False)
        missing = merged[ent].isna()
        if missing.any():
            LOGGER.warning("%d entit(ies) with events are not in the entity table; learned with missing attributes",
                           int(missing.sum()))
            merged[ent] = merged[ent].where(~missing, merged["__events_key"])
        merged = merged.drop(columns=["__key", "__events_key"])
        merged[LENGTH] = merged[LENGTH].fillna(0).astype(int)
        return merged.reset_index(drop=True)

    def _context_rows(self, context: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
        """The entity table's attribute row for each event."""
        attrs = context.drop_duplicates(self.entity).set_index(context[self.entity].astype(str))
        attrs = attrs.drop(columns=[self.entity])
        return attrs.reindex(keys.astype(str).to_numpy()).reset_index(drop=True)

    def _start_values(self, first_pos: np.ndarray):
        if self.order_kind_ == "datetime":
            return pd.to_datetime(first_pos * 1e9, unit="ns")
        return first_pos

    # -- context frames (the same code for training and sampling) --------------------------------------
    def _calendar(self, prev_pos: np.ndarray) -> dict[str, np.ndarray]:
        if self.order_kind_ != "datetime":
            return {"prev": prev_pos} if self.order_kind_ == "numeric" else {}
        t = pd.to_datetime(pd.Series(prev_pos * 1e9), unit="ns")
        out = {"month": t.dt.month.to_numpy(dtype=float)}
        if self.gap_scale_ <= 86400:
            out["weekday"] = t.dt.weekday.to_numpy(dtype=float)
        if self.gap_scale_ < 86400:
            out["hour"] = t.dt.hour.to_numpy(dtype=float)
        return {k: np.where(np.isnan(prev_pos), np.nan, v) for k, v in out.items()}

    def _lags_from_table(self, rows: pd.DataFrame, step: np.ndarray) -> pd.DataFrame:
        parts = {}
        for k in range(1, self.window + 1):
            shifted = rows.shift(k).where(np.repeat((step >= k)[:, None], rows.shape[1], axis=1))
            for c in rows.columns:
                parts[f"lag{k}.{c}"] = shifted[c].to_numpy()
        return pd.DataFrame(parts)

    def _context_frame(self, ent_frame, extra, step, length, prev_pos, lags) -> pd.DataFrame:
        parts = [ent_frame.add_prefix("entity.").reset_index(drop=True)]
        if extra is not None:
            parts.append(extra.add_prefix("entity.").reset_index(drop=True))
        pos = {"step": np.asarray(step, dtype=float), "length": np.asarray(length, dtype=float)}
        pos["left"] = pos["length"] - pos["step"] - 1
        if self.order is not None:
            pos.update({f"time.{k}": v for k, v in self._calendar(np.asarray(prev_pos, dtype=float)).items()})
        parts.append(pd.DataFrame(pos))
        parts.append(lags.reset_index(drop=True))
        return pd.concat(parts, axis=1)

    # -- sample -----------------------------------------------------------------------------------
    def sample(self, n: int | None = None, seed: int | None = None, conditions: dict[str, Any] | None = None,
               rebalance: dict[str, dict[Any, float]] | None = None, context: pd.DataFrame | None = None,
               seed_data: pd.DataFrame | None = None, progress: Progress | None = None) -> pd.DataFrame:
        """``n`` entities with their sequences (default: as many entities as trained on).

        conditions / rebalance: on entity-level columns (constant within entities, the entity table's, or
        ``__length``). context: entity rows to generate sequences for (their attributes fixed; one entity per
        row; a ``__length`` column fixes the lengths). seed_data: first events of some entities (with the entity
        column): each such entity keeps its events and attributes and its sequence is continued.
        """
        chunks = list(self.sample_batches(n, seed=seed, conditions=conditions, rebalance=rebalance,
                                          context=context, seed_data=seed_data, progress=progress))
        return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=self.columns_)

    def sample_batches(self, n: int | None = None, seed: int | None = None, conditions=None, rebalance=None,
                       context: pd.DataFrame | None = None, seed_data: pd.DataFrame | None = None,
                       batch_size: int = BATCH_ENTITIES, progress: Progress | None = None, **ignored):
        """Yield the sample in DataFrames of whole entities (at most ``batch_size`` entities each)."""
        self._check_fitted()
        seed = self.seed if seed is None else int(seed)
        if ignored.get("no_missing") or ignored.get("strict") is False:
            raise LookalikeError("no_missing and strict are not supported for sequence models")
        if self.flat_ is not None:
            if context is not None:
                raise LookalikeError("this model learned one row per entity (not a sequence); it has no context")
            yield from self.flat_.sample_batches(n, seed=seed, conditions=conditions, rebalance=rebalance,
                                                 seed_data=seed_data, progress=progress)
            return
        seeds = self._seed_groups(seed_data) if seed_data is not None else None
        if context is not None:
            n = len(context)
        elif seeds is not None:
            n = len(seeds[0])
        n = self.n_entities_ if n is None else n
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
            raise LookalikeError(f"the number of entities must be a positive integer, got {n!r}")
        n = int(n)
        for start in range(0, n, batch_size):
            size = min(batch_size, n - start)
            batch_seed = int(np.random.default_rng([seed, start]).integers(2**31))
            ctx = None if context is None else context.iloc[start:start + size].reset_index(drop=True)
            part = None
            if seeds is not None:
                keys, groups = seeds
                part = (keys[start:start + size], groups[start:start + size])
            yield self._sample_batch(size, batch_seed, start, conditions, rebalance, ctx, part)
            if progress:
                progress((start + size) / n, f"{start + size:,} of {n:,} entities")

    def _seed_groups(self, seed_data: pd.DataFrame):
        if not isinstance(seed_data, pd.DataFrame) or self.entity not in seed_data.columns:
            raise LookalikeError(f"seed_data must be a table of first events with the entity column '{self.entity}'")
        unknown = [c for c in seed_data.columns if c not in self.columns_]
        if unknown:
            raise LookalikeError(f"seed_data has column(s) {unknown} the model was not fitted with")
        data = seed_data.reset_index(drop=True)
        codes, keys = pd.factorize(data[self.entity])
        if self.order is not None and self.order in data.columns:
            pos, _, _ = _order_positions(data[self.order], self.order)
        else:
            pos = np.arange(len(data), dtype=float)
        sort = np.lexsort((pos, codes))
        data = data.iloc[sort].reset_index(drop=True)
        data["__pos"] = pos[sort]
        codes = codes[sort]
        groups = [data.loc[codes == i].reset_index(drop=True) for i in range(len(keys))]
        return list(keys), groups

    def _sample_batch(self, n, seed, offset, conditions, rebalance, context, seeds) -> pd.DataFrame:
        ent_cols = [c for c in self.entity_model_.columns_]
        fixed = None
        if context is not None:
            known = [c for c in context.columns if c in ent_cols and c != self.entity]
            unknown = [c for c in context.columns if c not in ent_cols and c != self.entity]
            if unknown:
                raise LookalikeError(f"context column(s) {unknown} are not entity-level columns of the model; "
                                     f"entity-level columns: {', '.join(c for c in ent_cols if c != self.entity)}")
            fixed = context[known].reset_index(drop=True)
        if seeds is not None:
            keys, groups = seeds
            fixed = pd.DataFrame(index=range(n)) if fixed is None else fixed
            for c in self.constant_:
                fixed[c] = [g[c].iloc[0] if c in g.columns else np.nan for g in groups]
            for c in self.delta_columns_:
                fixed[FIRST + c] = [g[c].iloc[0] if c in g.columns else np.nan for g in groups]
            if self.order is not None:
                starts = np.array([g["__pos"].iloc[0] if self.order in g.columns else np.nan for g in groups])
                fixed[START] = self._start_values(starts) if self.order_kind_ == "datetime" else starts
                fixed[START] = fixed[START].where(~np.isnan(starts))
        if fixed is not None:  # only learned columns can be fixed (a start shared by every entity is generated)
            enc = self.entity_model_.encoder_
            fixed = fixed[[c for c in fixed.columns if fixed[c].notna().any()
                           and (enc.group_of(c) is not None or (context is not None and c in context.columns))]]
        if fixed is not None and fixed.shape[1]:
            ents = self.entity_model_.sample(seed=seed, seed_data=fixed, conditions=conditions, rebalance=rebalance,
                                             strict=False)
            if context is not None:  # the given attributes exactly, not their encoded approximations
                for c in fixed.columns:
                    if c in context.columns:
                        ents[c] = context[c].to_numpy()
        else:
            ents = self.entity_model_.sample(n, seed=seed, conditions=conditions, rebalance=rebalance)
        lengths = np.rint(pd.to_numeric(ents[LENGTH], errors="coerce").fillna(self.min_length_).to_numpy())
        lengths = np.clip(lengths, self.min_length_, self.max_length_).astype(int)
        if seeds is not None:
            lengths = np.maximum(lengths, [len(g) for g in seeds[1]])
        if self.order is not None:
            start = ents[START]
            if self.order_kind_ == "datetime":
                stamps = pd.to_datetime(start)
                start_pos = np.where(stamps.isna(), np.nan,
                                     stamps.to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9)
            else:
                start_pos = pd.to_numeric(start, errors="coerce").to_numpy(dtype=float)
            start_pos = np.where(np.isnan(start_pos), self.typical_start_, start_pos)
        else:
            start_pos = np.zeros(n)
        # the entity keys: the given ones for seeded entities, else generated (or numbered)
        if seeds is not None:
            keys = pd.Series(seeds[0], dtype=object)
        elif self.entity_generated_:
            keys = ents[self.entity]
        elif self.entity_key_kind_ == "integer":
            keys = pd.Series(np.arange(offset + 1, offset + n + 1))
        else:
            keys = pd.Series([f"e{offset + i + 1}" for i in range(n)])
        keys = keys.reset_index(drop=True)
        extra = ents[self.context_columns_] if self.context_columns_ else None
        history = self._walk(ents[self.constant_ + [FIRST + c for c in self.delta_columns_]], extra, lengths,
                             start_pos, seed, seeds)
        return self._assemble(keys, ents, lengths, history, context)

    def _walk(self, ent_frame, extra, lengths, start_pos, seed, seeds):
        """Draw every step of every entity, step by step: a list of (active entities, their rows, their
        positions) per step. Active sets shrink with t, so a lag is a sorted lookup into an earlier step."""
        own = self.step_model_.columns_
        history: list[tuple[np.ndarray, pd.DataFrame, np.ndarray]] = []
        cur = np.asarray(start_pos, dtype=float).copy()
        last_known = {c: np.full(len(lengths), np.nan) for c in self.delta_missing_}
        changes: list[dict[str, np.ndarray]] = []  # per step, each delta column's change (what the window holds)
        ent_frame = ent_frame.reset_index(drop=True)
        extra = None if extra is None else extra.reset_index(drop=True)
        for t in range(int(lengths.max(initial=0))):
            active = np.flatnonzero(lengths > t)
            lag_parts, prev_level = {}, {}
            for k in range(1, self.window + 1):
                if t - k >= 0:
                    prev_active, prev_rows, _ = history[t - k]
                    idx = np.searchsorted(prev_active, active)
                for c in own:
                    level = (pd.to_numeric(prev_rows[c], errors="coerce").to_numpy(dtype=float)[idx]
                             if c in self.delta_columns_ else prev_rows[c].to_numpy()[idx]) if t - k >= 0 else \
                        np.full(len(active), np.nan)
                    if k == 1 and c in self.delta_columns_:
                        prev_level[c] = level
                    if self.lag_changes_ and c in self.delta_columns_:
                        level = changes[t - k][c][idx] if t - k >= 0 else np.full(len(active), np.nan)
                    lag_parts[f"lag{k}.{c}"] = level
            ctx = self._context_frame(ent_frame.iloc[active], None if extra is None else extra.iloc[active],
                                      np.full(len(active), t), lengths[active], cur[active],
                                      pd.DataFrame(lag_parts))
            known = self._known_cells(seeds, active, t, own) if seeds is not None else None
            known_steps = None
            if known is not None:
                known_steps = known.drop(columns="__pos", errors="ignore")
                for c in self.delta_columns_:  # given values -> given changes from the previous value
                    given = pd.to_numeric(known_steps[c], errors="coerce").to_numpy(dtype=float)
                    prev = prev_level[c] if t else np.full(len(active), np.nan)
                    known_steps[c] = given - prev
            step_seed = int(np.random.default_rng([seed, t, 3]).integers(2**31))
            rows = self.step_model_.sample(context=ctx, seed=step_seed, known=known_steps)
            if self.text_models_:  # the messages, given the step and the conversation generated so far
                write_texts(self.text_models_, rows, ctx, self.step_model_, self.window, step_seed)
            known_before = {c: last_known[c][active].copy() for c in last_known}
            for c in self.delta_columns_:  # changes -> values, inside the protected range, at the data's decimals
                lo, hi = self.value_ranges_[c]
                if t == 0:
                    value = pd.to_numeric(ent_frame[FIRST + c].iloc[active], errors="coerce").to_numpy(dtype=float)
                else:
                    change = pd.to_numeric(rows[c], errors="coerce").to_numpy(dtype=float)
                    if c in last_known:  # a missing change is a missing value; else from the last known value
                        base = last_known[c][active]
                        value = np.where(np.isnan(base), self.delta_center_[c], base) + change
                    else:
                        change = np.where(np.isnan(change), self.delta_fill_[c], change)
                        value = prev_level[c] + change
                if c not in last_known:
                    value = np.where(np.isnan(value), (lo + hi) / 2, value)
                value = np.round(np.clip(value, lo, hi), self.decimals_[c])
                if c in last_known:
                    last_known[c][active] = np.where(np.isnan(value), last_known[c][active], value)
                integer = "int" in str(self.dtypes_.get(c, "")).lower()
                whole = integer and self.decimals_[c] == 0 and not np.isnan(value).any()
                rows[c] = value.astype(np.int64) if whole else value
            if known is not None:  # seeded cells exactly as given
                for c in known.columns:
                    if c in rows.columns and c != GAP:
                        given = known[c].notna().to_numpy()
                        if given.any():
                            rows[c] = rows[c].astype(object)
                            rows.loc[given, c] = known.loc[given, c].to_numpy()
            changes.append(self._step_changes(rows, t, prev_level, known_before))
            if t == 0:
                pos = cur[active].copy()
                if known is not None and self.order is not None:  # a seeded first event: its own time
                    fixed_pos = known["__pos"].to_numpy(dtype=float)
                    pos = np.where(np.isnan(fixed_pos), pos, fixed_pos)
            elif self.order is not None:
                gap = pd.to_numeric(rows[GAP], errors="coerce").to_numpy(dtype=float)
                gap = np.where(np.isnan(gap), self.median_gap_, np.maximum(gap, 0.0))
                pos = cur[active] + gap * self.gap_scale_
                if known is not None:
                    fixed_pos = known["__pos"].to_numpy(dtype=float)
                    pos = np.where(np.isnan(fixed_pos), pos, fixed_pos)
                    rows[GAP] = (pos - cur[active]) / self.gap_scale_
            else:
                pos = cur[active] + 1
            cur[active] = pos
            history.append((active, rows.reset_index(drop=True), pos))
        return history

    def _step_changes(self, rows, t, prev_level, known_before) -> dict[str, np.ndarray]:
        """Each delta column's change at this step, as the training rows hold it: the change from the previous
        value (from the last known one where values go missing), the median change at a first step."""
        out = {}
        for c in self.delta_columns_:
            value = pd.to_numeric(rows[c], errors="coerce").to_numpy(dtype=float)
            if t == 0:
                out[c] = np.full(len(value), self.delta_fill_[c])
            elif c in known_before:
                base = known_before[c]
                out[c] = value - np.where(np.isnan(base), self.delta_center_[c], base)
            else:
                out[c] = value - prev_level[c]
            out[c] = np.round(out[c], self.decimals_[c])
        return out

    def _known_cells(self, seeds, active, t, own) -> pd.DataFrame | None:
        groups = seeds[1]
        cells = {c: [] for c in own if c != GAP}
        pos = []
        for i in active:
            g = groups[i]
            for c in cells:
                cells[c].append(g[c].iloc[t] if t < len(g) and c in g.columns else np.nan)
            pos.append(g["__pos"].iloc[t] if t < len(g) and self.order in g.columns else np.nan)
        known = pd.DataFrame(cells)
        if self.order is not None:
            known["__pos"] = pos
        return known

    def _assemble(self, keys, ents, lengths, history, context) -> pd.DataFrame:
        if history:
            frames = [rows.assign(__entity=active, __t=t, __pos=pos)
                      for t, (active, rows, pos) in enumerate(history)]
            steps = pd.concat(frames, ignore_index=True)
            steps = steps.iloc[np.lexsort((steps["__t"].to_numpy(), steps["__entity"].to_numpy()))]
            steps = steps.reset_index(drop=True)
        else:
            steps = pd.DataFrame({"__entity": np.array([], dtype=int), "__pos": np.array([], dtype=float),
                                  **{c: [] for c in self.varying_}})
        ent_index = steps["__entity"].to_numpy()
        out = {self.entity: keys.to_numpy()[ent_index]}
        for c in self.constant_:
            out[c] = ents[c].to_numpy()[ent_index]
        for c in self.varying_:
            out[c] = _restore_dtype(steps[c], self.dtypes_.get(c)).reset_index(drop=True)  # keeps extension dtypes
        if self.order is not None:
            out[self.order] = self._order_output(steps["__pos"].to_numpy(dtype=float)).to_numpy()
        frame = pd.DataFrame(out)
        for c in self.constant_:
            frame[c] = frame[c].astype(ents[c].dtype) if len(frame) else frame[c]
        return frame[[c for c in self.columns_ if c in frame.columns]]

    def _order_output(self, pos: np.ndarray) -> pd.Series:
        if self.order_kind_ == "datetime":
            values = pd.to_datetime(pd.Series(np.rint(pos * 1e6)), unit="us")
            if self.order_tz_:
                values = values.dt.tz_localize("UTC").dt.tz_convert(self.order_tz_)
            return values
        dtype = self.dtypes_.get(self.order, "float64")
        if "int" in dtype.lower():
            return pd.Series(np.rint(pos)).astype("int64")
        return pd.Series(pos)

    def _check_fitted(self) -> None:
        if not hasattr(self, "flat_"):
            raise LookalikeError("this SequenceSynthesizer is not fitted yet; call fit(events)")

    # -- conveniences shared with Synthesizer (CLI) ----------------------------------------------------
    @property
    def n_rows_(self) -> int:
        return self.flat_.n_rows_ if self.flat_ is not None else self.n_entities_

    @property
    def schema_(self) -> TableSchema:
        if self.flat_ is not None:
            return self.flat_.schema_
        return self.entity_model_.schema_

    @property
    def model_(self):
        return (self.flat_ or self.step_model_.synthesizer_).model_

    @property
    def model_reason_(self) -> str:
        """Why the events' generator was chosen (with --model auto the CLI prints it)."""
        return (self.flat_ or self.step_model_.synthesizer_).model_reason_

    def parse_value(self, column: str, text: str):
        if self.flat_ is not None:
            return self.flat_.parse_value(column, text)
        if column not in self.entity_model_.columns_:
            raise LookalikeError(f"column '{column}' varies within entities; only entity-level columns can be "
                                 f"fixed: {', '.join(c for c in self.entity_model_.columns_ if c != self.entity)}")
        return self.entity_model_.parse_value(column, text)

    def sample_to_file(self, n: int | None, path: str | Path, seed: int | None = None, force: bool = False,
                       progress: Progress | None = None, **kwargs) -> Path:
        """Stream whole entities to CSV or Parquet in batches; atomic, like every write."""
        dialect = (self.flat_.schema_ if self.flat_ is not None else self.entity_model_.schema_).dialect
        return write_batches(self.sample_batches(n, seed=seed, progress=progress, **kwargs), path, force=force,
                             dialect=dialect)

    # -- save / load (data, not code) ------------------------------------------------------------------
    def save(self, path: str | Path, force: bool = False) -> Path:
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items() if k != "schema"}
        meta = {"params": params, "columns": self.columns_,
                "dtypes": self.dtypes_, "flat": self.flat_ is not None}
        blobs = {}
        with tempfile.TemporaryDirectory() as tmp:
            if self.flat_ is not None:
                self.flat_.save(Path(tmp) / "f")
                blobs["flat.lookalike"] = (Path(tmp) / "f").read_bytes()
            else:
                self.entity_model_.save(Path(tmp) / "e")
                blobs["entity.lookalike"] = (Path(tmp) / "e").read_bytes()
                blobs["steps.lookalike"] = self.step_model_.to_bytes()
                meta.update({k: getattr(self, k) for k in _STATE})
                if self.text_models_:
                    meta["text_models"], blobs[TEXT_BLOB] = texts_state(self.text_models_)
        version = FORMAT_VERSION if TEXT_BLOB in blobs else 1
        return write_model_file(path, "sequence.json", FORMAT, version, meta, blobs, force=force)

    @classmethod
    def load(cls, path: str | Path) -> "SequenceSynthesizer":
        meta, blobs = read_model_file(path, "sequence.json", FORMAT, FORMAT_VERSION,
                                      "a lookalike sequence model file",
                                      members=lambda name: name.endswith(".lookalike") or name == TEXT_BLOB)
        missing = [m for m in (["flat.lookalike"] if meta.get("flat") else ["entity.lookalike", "steps.lookalike"])
                   if m not in blobs]
        if missing:
            raise LookalikeError(f"{path}: not a complete lookalike sequence model file (no {', '.join(missing)})")
        # a pretrained text model's directory is read at fit only: loading must not need it (nor check it)
        obj = cls(**{**meta["params"], "text_model": "lm", "text_params": None})
        obj.text_model = meta["params"].get("text_model", "lm")
        obj.text_params = meta["params"].get("text_params")
        obj.columns_, obj.dtypes_ = meta["columns"], meta["dtypes"]
        with tempfile.TemporaryDirectory() as tmp:
            def inner(name):
                p = Path(tmp) / name
                p.write_bytes(blobs[name])
                return Synthesizer.load(p)

            if meta["flat"]:
                obj.flat_ = inner("flat.lookalike")
                return obj
            obj.flat_ = None
            obj.entity_model_ = inner("entity.lookalike")
        obj.step_model_ = ContextSynthesizer.from_bytes(blobs["steps.lookalike"])
        if meta.get("text_models") and TEXT_BLOB not in blobs:
            raise LookalikeError(f"{path}: not a complete lookalike sequence model file (no {TEXT_BLOB})")
        obj.text_models_ = (texts_from_state(meta["text_models"], blobs[TEXT_BLOB], path)
                            if meta.get("text_models") else {})
        for k in _STATE:
            setattr(obj, k, meta[k] if k in meta else copy.deepcopy(_STATE_DEFAULTS[k]))
        return obj


_STATE = ("order_kind_", "order_tz_", "constant_", "varying_", "context_columns_", "entity_generated_",
          "entity_key_kind_", "min_length_", "max_length_", "n_entities_", "n_events_", "gap_unit_", "gap_scale_",
          "median_gap_", "typical_start_", "delta_columns_", "value_ranges_", "decimals_", "delta_fill_",
          "delta_missing_", "delta_center_", "lag_changes_")
_STATE_DEFAULTS = {"delta_columns_": [], "value_ranges_": {}, "decimals_": {}, "delta_fill_": {},
                   "delta_missing_": [], "delta_center_": {},  # models saved before deltas
                   "lag_changes_": False}  # ... and before their window held changes


def _order_positions(values: pd.Series, name: str) -> tuple[np.ndarray, str, str | None]:
    """Order values as floats (seconds since 1970 for dates), their kind and time zone; unsortable -> error."""
    if values.isna().any():
        bad = int(values.isna().sum())
        raise LookalikeError(f"order column '{name}': {bad} row(s) have no value, so their place in the sequence "
                             "is unknown; fill or drop them")
    if pd.api.types.is_bool_dtype(values):
        raise LookalikeError(f"order column '{name}' is boolean; an order column must hold numbers or dates")
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float), "numeric", None
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().all():
            return numbers.to_numpy(dtype=float), "numeric", None
        try:
            parsed = pd.to_datetime(values, errors="coerce", format="mixed")
        except (ValueError, TypeError):
            parsed = pd.Series(pd.NaT, index=values.index)
        if parsed.isna().any():
            bad = values[parsed.isna()].iloc[0]
            raise LookalikeError(f"order column '{name}': value {bad!r} is neither a number nor a date, so the rows "
                                 "cannot be sorted by it; give numbers or dates (or pass order=None to keep the "
                                 "file's row order)")
    tz = None
    if getattr(parsed.dt, "tz", None) is not None:
        tz = str(parsed.dt.tz)
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    ns = parsed.to_numpy(dtype="datetime64[ns]").astype("int64")
    return ns / 1e9, "datetime", tz


def _gap_unit(raw: np.ndarray, kind: str | None) -> tuple[str, float]:
    gaps = raw[~np.isnan(raw)]
    if kind != "datetime":
        return "order units", 1.0
    for name, scale in UNITS:
        if len(gaps) and np.allclose(np.mod(gaps, scale), 0, atol=1e-6):
            return name, scale
    return "seconds", 1.0


def _restore_dtype(values: pd.Series, original: str | None) -> pd.Series:
    """Columns that went through object cells (seeded steps) back to their training dtype."""
    if original is None or values.dtype != object:
        return values
    low = original.lower()
    if "int" in low and "interval" not in low:
        num = pd.to_numeric(values, errors="coerce")
        return num.astype("Int64" if num.isna().any() else "int64") if len(num) else num
    if "float" in low:
        return pd.to_numeric(values, errors="coerce")
    if low.startswith("datetime"):
        return pd.to_datetime(values)
    if low in ("bool", "boolean"):  # a missing cell stays missing: never bool(NaN), which is True
        flags = values.astype("boolean")
        return flags.astype(bool) if low == "bool" and not flags.isna().any() else flags
    return values


def _rule_columns(rule: dict) -> list[str]:
    cols = []
    for value in rule.values():
        if isinstance(value, str):
            cols.append(value)
        elif isinstance(value, list):
            cols += [v for v in value if isinstance(v, str)]
    return cols
