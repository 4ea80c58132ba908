"""Whole databases: a walk over the foreign-key graph, parents first, with one context model per table.

How a database is learned (see :mod:`lookalike.context` for the per-table mechanism):

- Every table gets one :class:`~lookalike.context.ContextSynthesizer`. A table with parents picks one of
  them as its **context parent** (by default the parent table with the most rows; ``context={"flights":
  "planes"}`` overrides). The child's model sees that parent's learned columns as its leading columns,
  fixed at sampling time from the synthetic parent row.
- The **number of children** of each parent is a column of the parent's own model (``__n_<child>``), so it
  depends on the parent's attributes (and on its own context: chains of any depth work the same way). The
  generated counts are scaled so that their total is the real children per real parent times the synthetic
  parents (:func:`calibrated_counts`): value protection clips the largest counts, and skewed counts came out short.
- **Further parents** (flights -> airlines when planes is the context): the child's model also generates the
  further parent's attributes (``<label>.<column>``, at most :data:`MAX_LINK_COLUMNS` learned columns). At
  sampling, the link is drawn *conditionally*: among the synthetic rows of that parent whose attributes fall
  into the same bins (categories equal; numbers and dates in the same quintile) as the generated ones,
  with probability proportional to the number of such children the parent's model generated for it (a
  ``__n_`` column per foreign key, as for the context parent); when no row matches, columns are dropped from the right until one does, and finally any row is
  taken. Generated attributes are then dropped: the link, not a copy, is kept.
- **Keys are regenerated**: primary keys come from the key codec (integers 1..n, codes of the same shapes),
  foreign keys are the keys of the synthetic parents. Composite primary keys work when their columns are
  foreign keys or integers (an integer part is renumbered 1..n within its foreign-key group when the
  generated values collide); any other composite key is refused, naming the table and key.
- **Self-references** (employees.manager_id -> employees.id): whether a row has one is learned; its target
  is drawn uniformly among the rows generated before it (so the hierarchy has no cycles); the depth
  distribution of the real hierarchy is not learned.
- **Reference tables** (small public lookups such as carriers or airports; declared with ``reference: true``
  in the schema file, or inferred, see :mod:`lookalike.relational.reference`) are kept as they are. A foreign
  key to one is a categorical column of the child's own model (``<label>``, the key's value), so children keep
  their real distribution over the lookup's rows. A table whose parents are all reference tables has no
  context parent.
- Rows whose context foreign key is missing (or is an orphan, with ``orphans="keep"``) are learned with an
  all-missing context and generated in the same share, with a missing foreign key.
- **Streaming**: :meth:`DatabaseSynthesizer.sample_tables` yields the tables parents first and keeps a table only
  until its last child is generated; the writers store each table as it comes.
- ``scale`` multiplies the rows of (non-reference) tables without a context parent; every other table follows the counts
  of its synthetic parents, so the whole database grows or shrinks consistently.
"""
from __future__ import annotations

import io
import logging
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lookalike.context import CONTEXT_KINDS, ContextSynthesizer
from lookalike.errors import LookalikeError
from lookalike.model_file import read_model_file, write_model_file
from lookalike.models import model_class
from lookalike.relational.infer import key_strings
from lookalike.relational.reference import reference_tables
from lookalike.schema.columns import ColumnSchema, Kind, TableSchema
from lookalike.schema.database import DatabaseSchema, Relation
from lookalike.schema.infer import infer_column

LOGGER = logging.getLogger("lookalike.relational")
FORMAT = "lookalike-database-model"
FORMAT_VERSION = 1
MAX_LINK_COLUMNS = 6
MATCH_BINS = 5


@dataclass
class Link:
    """One foreign key of a table, as the generator uses it."""

    parent: str
    columns: list[str]  # the child's foreign-key columns
    parent_columns: list[str]  # the parent's referenced columns
    label: str  # name space of its generated helper columns
    attributes: list[str] = field(default_factory=list)  # parent columns generated for matching (non-context)
    nullable: bool = False  # the real data has missing (or orphan) links


@dataclass
class TablePlan:
    name: str
    columns: list[str]  # the real table's columns, in order
    dtypes: dict[str, str]
    n_rows: int
    context: Link | None = None
    links: list[Link] = field(default_factory=list)
    self_links: list[Link] = field(default_factory=list)
    count_columns: dict[str, str] = field(default_factory=dict)  # "child[fk columns]" -> count column here
    context_columns: list[str] = field(default_factory=list)  # parent columns passed as context
    n_parentless: int = 0
    renumber: list[str] = field(default_factory=list)  # composite-key integer parts made unique
    reference: bool = False  # kept as is (a lookup table)
    lookups: list[Link] = field(default_factory=list)  # foreign keys to reference tables, learned as categories

    @classmethod
    def from_dict(cls, d: dict) -> "TablePlan":
        d = dict(d)
        d["context"] = Link(**d["context"]) if d.get("context") else None
        d["links"] = [Link(**x) for x in d.get("links", [])]
        d["self_links"] = [Link(**x) for x in d.get("self_links", [])]
        d["lookups"] = [Link(**x) for x in d.get("lookups", [])]
        return cls(**d)


def _label(rel: Relation) -> str:
    return f"{rel.parent}[{','.join(rel.child_columns)}]"


def _relation_key(child: str, columns) -> str:
    return f"{child}[{','.join(columns)}]"


def _count_column(child: str, columns) -> str:
    return f"__n_{child}[{','.join(columns)}]"


def parent_positions(child: pd.DataFrame, child_columns, parent: pd.DataFrame, parent_columns) -> np.ndarray:
    """For each child row, the position of its parent row; -1 for a missing key, -2 for an orphan."""
    ck = key_strings(child, list(child_columns)).to_numpy(dtype=object)
    pk = key_strings(parent, list(parent_columns)).to_numpy(dtype=object)
    index = pd.Index(pk)
    pos = np.full(len(ck), -1, dtype=np.int64)
    present = pd.notna(ck)
    if present.any():
        found = index.get_indexer(ck[present]) if index.is_unique else \
            pd.Index(pd.unique(pk)).get_indexer(ck[present])
        pos[present] = np.where(found < 0, -2, found)
    return pos


def learned_columns(df: pd.DataFrame, exclude, limit: int | None = None) -> list[str]:
    """Columns of ``df`` (not in ``exclude``) that a generator learns and that can be fixed as context."""
    out = []
    for col in df.columns:
        if col in exclude or df[col].isna().all():
            continue
        try:
            kind = infer_column(str(col), df[col]).kind
        except LookalikeError:
            continue
        if kind == Kind.CATEGORICAL and df[col].nunique() > 0.5 * df[col].notna().sum():
            continue  # labels that name their rows (airport names) carry nothing a model can learn
        if kind in CONTEXT_KINDS:
            out.append(str(col))
        if limit and len(out) >= limit:
            break
    return out


class DatabaseSynthesizer:
    """Learn a relational database (tables + foreign keys); sample a synthetic one with every key valid.

    >>> db = DatabaseSynthesizer(model="auto", seed=0).fit({"customers": c, "orders": o}, schema)
    >>> fake = db.sample(scale=0.5)           # {table: DataFrame}
    >>> db.to_sql("sqlite:///synthetic.db")   # same DDL, one transaction

    ``model``, ``max_epochs``, ``value_protection``, ``k`` and ``model_params`` apply to every table;
    ``max_time`` (seconds) is shared among the tables in proportion to their cells. ``reference``: "auto"
    (tables declared ``reference: true`` in the schema, plus small lookup tables inferred and named in
    ``notes_``), "declared" (only declared ones) or a list of table names, kept as they are (see
    :mod:`lookalike.relational.reference`). ``value_protection``
    and ``k`` apply to every table (a schema file's per-table setting is overridden). ``context`` names the
    context parent of a table with several parents; ``orphans`` is "keep" (orphan rows are learned as rows
    without a parent, and generated with a missing foreign key) or "drop" (removed before learning).
    ``ray``: fit the tables at the same time as Ray tasks (``pip install "lookalike[ray]"``): True joins Ray's
    default cluster (see ``lookalike.distributed.cluster``), a string that cluster's address. A child's
    context is its real parent's rows, assembled here parents first; no fit needs another's model, so all
    run at once, and each gives the model the same seed gives in one process.
    """

    def __init__(self, model: str = "auto", seed: int = 0, max_time: float | None = None,
                 max_epochs: int | None = None, value_protection: bool = True, k: int = 5,
                 model_params: dict[str, Any] | None = None, context: dict[str, str] | None = None,
                 orphans: str = "keep", reference="auto", verbose: bool = False, ray: bool | str | None = None):
        self.model = model
        self.seed = seed
        self.max_time = max_time
        self.max_epochs = max_epochs
        self.value_protection = value_protection
        self.k = k
        self.model_params = model_params
        self.context = context
        self.orphans = orphans
        self.reference = reference
        self.verbose = verbose
        self.ray = ray
        model_class(model)
        if orphans not in ("keep", "drop"):
            raise LookalikeError(f"orphans must be 'keep' or 'drop', got {orphans!r}")

    def _params(self) -> dict:
        return {"model": self.model, "seed": self.seed, "max_time": self.max_time, "max_epochs": self.max_epochs,
                "value_protection": self.value_protection, "k": self.k, "model_params": self.model_params,
                "context": self.context, "orphans": self.orphans, "reference": self.reference}

    # -- fit ----------------------------------------------------------------------------------------
    def fit(self, data, schema: DatabaseSchema | dict | str | Path | None = None, tables: list[str] | None = None,
            progress=None) -> "DatabaseSynthesizer":
        """``data``: {name: DataFrame}, a database URL (sqlite:///..., postgresql://...) or a folder of
        CSV/Parquet files. ``schema``: keys and column kinds (reflected or inferred when None)."""
        from lookalike.relational.sources import load_source

        source = load_source(data, schema=schema, tables=tables, k=self.k)
        self.schema_, self.ddl_, self.notes_ = source.schema, source.ddl, list(source.notes)
        data = source.tables
        schema = self.schema_
        order = schema.order()
        self.order_ = order
        self.references_, notes = reference_tables(schema, data, self.reference)
        self.notes_ += notes
        self._check_keys(schema)
        plans = {name: self._plan(name, data, schema) for name in order}
        # orphans: reported, then kept as parentless rows or dropped
        for name in order:
            plan = plans[name]
            for link in ([plan.context] if plan.context else []) + plan.links + plan.lookups:
                pos = parent_positions(data[name], link.columns, data[link.parent], link.parent_columns)
                orphans = int((pos == -2).sum())
                if orphans:
                    msg = (f"table '{name}': {orphans} row(s) have a foreign key {link.columns} that matches no "
                           f"row of '{link.parent}' (orphans); ")
                    if self.orphans == "drop":
                        data[name] = data[name].loc[pos != -2].reset_index(drop=True)
                        msg += "dropped before learning"
                    elif link in plan.lookups:  # a missing key, as the other kinds of foreign key get
                        data[name] = data[name].copy()
                        data[name].loc[pos == -2, link.columns] = None
                        msg += "learned and generated with a missing key"
                    else:
                        msg += "learned as rows without a parent, generated with a missing key"
                    self.notes_.append(msg)
                    LOGGER.warning(msg)
        for name in order:
            plans[name].n_rows = len(data[name])
        cells = {name: max(1, data[name].size) for name in order if not plans[name].reference}
        total = sum(cells.values())
        self.reference_data_ = {name: data[name].reset_index(drop=True).copy() for name in self.references_}
        learned = [name for name in order if not plans[name].reference]
        started = time.perf_counter()
        def fits():  # training frames parents first: a child's context names its parent's count columns
            for name in learned:
                own, context, own_schema = self._training_frame(name, plans, data, schema)
                budget = None if self.max_time is None else max(1.0, self.max_time * cells[name] / total)
                model = ContextSynthesizer(prefix=plans[name].context.label if plans[name].context else "context",
                                           model=self.model, seed=self.seed, max_time=budget,
                                           max_epochs=self.max_epochs, value_protection=self.value_protection,
                                           k=self.k, model_params=self.model_params, verbose=self.verbose)
                yield partial(_fit_table, name, model, own, context, own_schema)

        if self.ray:
            from lookalike.distributed.fitting import run_parallel

            fitted = run_parallel(list(fits()), address=None if self.ray is True else self.ray, progress=progress,
                                  labels=[f"table {name}" for name in learned])
        else:  # one table's frame at a time: memory stays that of the largest table
            fitted = []
            for i, (name, fit) in enumerate(zip(learned, fits())):
                if progress:
                    progress(i / len(learned), f"table {name}")
                fitted.append(fit())
        self.models_: dict[str, ContextSynthesizer] = dict(zip(learned, fitted))
        self.plans_ = plans
        for name in order:  # value protection can remove every child: say so
            link = plans[name].context
            if link is None or not plans[name].n_rows:
                continue
            col = plans[link.parent].count_columns[_relation_key(name, link.columns)]
            inner = self.models_[link.parent].synthesizer_
            if inner.encoder_.group_of(col) is None or inner.encoder_.value_range(col)[1] < 1:
                msg = (f"table '{name}': fewer than k={self.k} rows of '{link.parent}' have children in it, so "
                       f"value protection removes them all and no '{name}' rows will be generated (except rows "
                       f"without a parent); lower k or turn value protection off to keep them")
                self.notes_.append(msg)
                LOGGER.warning(msg)
        self.fit_seconds_ = time.perf_counter() - started
        if progress:
            progress(1.0, "done")
        return self

    def _check_keys(self, schema: DatabaseSchema) -> None:
        for name, table in schema.tables.items():
            pk = table.primary_key or []
            if len(pk) > 1 and name not in self.references_:
                fk_cols = {c for fk in table.foreign_keys for c in fk.columns}
                for c in pk:
                    if c in fk_cols:
                        continue
                    col = table[c]
                    integer = col.kind == Kind.ID and col.options.get("id_type") == "integer" or (
                        col.kind == Kind.NUMERIC and col.options.get("integer", False)) or "int" in col.dtype
                    if not integer:
                        raise LookalikeError(
                            f"table '{name}': composite primary key {pk} has column '{c}' that is neither a "
                            f"foreign key nor an integer, so it cannot be regenerated unique; drop the "
                            f"primary key from the schema file or make '{c}' part of a foreign key")

    def _plan(self, name: str, data: dict, schema: DatabaseSchema) -> TablePlan:
        df = data.get(name)
        if df is None:
            raise LookalikeError(f"unknown table '{name}': no data given for it; tables: {', '.join(data)}")
        rels = [r for r in schema.relations if r.child == name]
        plan = TablePlan(name=name, columns=[str(c) for c in df.columns],
                         dtypes={str(c): str(df[c].dtype) for c in df.columns}, n_rows=len(df),
                         reference=name in self.references_)
        if plan.reference:  # kept as is, keys included
            return plan
        for r in rels:
            if r.parent in self.references_ and not r.is_self_reference:
                link = Link(r.parent, list(r.child_columns), list(r.parent_columns), _label(r))
                link.nullable = bool(df[list(r.child_columns)].isna().any(axis=1).any())
                plan.lookups.append(link)
        outer = [r for r in rels if not r.is_self_reference and r.parent not in self.references_]
        if outer:
            wanted = (self.context or {}).get(name)
            if wanted is not None:
                chosen = [r for r in outer if r.parent == wanted or _label(r) == wanted]
                if not chosen:
                    raise LookalikeError(f"context for table '{name}': '{wanted}' is not one of its parents "
                                         f"({', '.join(_label(r) for r in outer)})")
                ctx = chosen[0]
            else:
                ctx = max(outer, key=lambda r: len(data[r.parent]))  # ties: the first declared
            for r in outer:
                link = Link(r.parent, list(r.child_columns), list(r.parent_columns), _label(r))
                link.nullable = bool(df[list(r.child_columns)].isna().any(axis=1).any())
                if r is ctx:
                    plan.context = link
                else:
                    plan.links.append(link)
        for r in rels:
            if r.is_self_reference:
                link = Link(r.parent, list(r.child_columns), list(r.parent_columns), _label(r))
                link.nullable = bool(df[list(r.child_columns)].isna().any(axis=1).any())
                plan.self_links.append(link)
        return plan

    def _key_columns(self, plan: TablePlan) -> set[str]:
        """Foreign-key columns: filled from the synthetic parents (or reference tables), never learned as such."""
        out = set()
        for link in ([plan.context] if plan.context else []) + plan.links + plan.self_links + plan.lookups:
            out.update(link.columns)
        return out

    def _training_frame(self, name, plans, data, schema):
        """The table's own columns (+ counts of its children, link attributes, self-link flags) and its context."""
        plan, df = plans[name], data[name]
        table = schema.tables[name]
        keys = self._key_columns(plan)
        own_cols = [c for c in df.columns if c not in keys]
        own = df[own_cols].reset_index(drop=True).copy()
        columns = [table[c] for c in own_cols] if all(c in table.names for c in own_cols) else None
        extra = {}
        # children counts, for every foreign key to this table: the context parent's count sets how many
        # children a parent gets; a further parent's count weighs it when children are matched to parents
        for child in self.order_:
            cp = plans[child]
            for link in ([cp.context] if cp.context else []) + cp.links:
                if link.parent != name:
                    continue
                col = _count_column(child, link.columns)
                pos = parent_positions(data[child], link.columns, df, link.parent_columns)
                extra[col] = np.bincount(pos[pos >= 0], minlength=len(df)).astype(np.int64)
                plan.count_columns[_relation_key(child, link.columns)] = col
        # further parents: their attributes, generated then matched
        for link in plan.links:
            parent = data[link.parent]
            pos = parent_positions(df, link.columns, parent, link.parent_columns)
            exclude = set(link.parent_columns) | self._key_columns(plans[link.parent])
            exclude |= set(plans[link.parent].count_columns.values())
            link.attributes = learned_columns(parent, exclude, MAX_LINK_COLUMNS)
            for a in link.attributes:
                values = parent[a].to_numpy()[np.maximum(pos, 0)]
                values = pd.Series(values, dtype=parent[a].dtype).where(pos >= 0)
                extra[f"{link.label}.{a}"] = values.to_numpy()
            if link.nullable or (pos < 0).any():
                link.nullable = True
                extra[f"__has_{link.label}"] = pos >= 0
        for link in plan.self_links:
            extra[f"__has_{link.label}"] = df[link.columns].notna().all(axis=1).to_numpy()
        lookup_columns = []
        for link in plan.lookups:  # the key's value, one category per reference row (missing kept missing)
            keys_ = key_strings(df, link.columns).reset_index(drop=True)
            extra[link.label] = keys_.to_numpy(dtype=object)
            lookup_columns.append(ColumnSchema(link.label, Kind.CATEGORICAL, "object", {"rare": "drop"}))
        for col, values in extra.items():
            own[col] = values
        # the schema of the own columns: declared where the database schema describes them
        own_schema = None
        if columns is not None:
            lookups = {c.name: c for c in lookup_columns}
            extra_cols = [lookups.get(c) or infer_column(c, own[c], source=name) for c in extra]
            pk = [c for c in (table.primary_key or []) if c in own_cols] or None
            if pk is not None and len(table.primary_key) > 1:
                plan.renumber = list(table.primary_key)
                pk = None
            dropped = keys
            rules = [r for r in table.rules if not _mentions(r, dropped)]
            protection = {"enabled": bool(self.value_protection), "k": int(self.k) if self.value_protection else 1}
            own_schema = TableSchema(columns=columns + extra_cols, value_protection=protection,
                                     rules=rules, primary_key=pk)
        # the context: the context parent's learned columns (its count of this table included)
        context = None
        if plan.context is not None:
            link = plan.context
            parent = data[link.parent]
            pos = parent_positions(df, link.columns, parent, link.parent_columns)
            pp = plans[link.parent]
            mine = _relation_key(name, link.columns)
            exclude = set(link.parent_columns) | self._key_columns(pp) | {
                c for rel, c in pp.count_columns.items() if rel != mine}
            parent_frame = parent.copy()
            cnt = parent_positions(df, link.columns, parent, link.parent_columns)
            parent_frame[pp.count_columns[mine]] = np.bincount(cnt[cnt >= 0], minlength=len(parent))
            plan.context_columns = learned_columns(parent_frame, exclude)
            context = parent_frame[plan.context_columns].iloc[np.maximum(pos, 0)].reset_index(drop=True)
            context = context.where(pd.Series(pos >= 0), axis=0) if (pos < 0).any() else context
            plan.n_parentless = int((pos < 0).sum())
        return own, context, own_schema

    # -- sample -------------------------------------------------------------------------------------
    def sample(self, scale: float = 1.0, seed: int | None = None) -> dict[str, pd.DataFrame]:
        """A synthetic database: {table: DataFrame}, every foreign key pointing to a synthetic parent."""
        return dict(self.sample_tables(scale=scale, seed=seed))

    def _needed_until(self) -> dict[str, int]:
        """For each table, the position in ``order_`` of the last table that reads it (its children)."""
        last = {name: i for i, name in enumerate(self.order_)}
        for i, name in enumerate(self.order_):
            plan = self.plans_[name]
            for link in ([plan.context] if plan.context else []) + plan.links + plan.lookups:
                last[link.parent] = max(last[link.parent], i)
        return last

    def sample_tables(self, scale: float = 1.0, seed: int | None = None):
        """The synthetic database as a stream of ``(table, DataFrame)``, parents first; a table is held in memory
        only until its last child is generated, so writers can store each table as it comes (the same rows as
        :meth:`sample`)."""
        self._check_fitted()
        if not isinstance(scale, (int, float)) or not scale > 0:
            raise LookalikeError(f"scale must be a positive number, got {scale!r}")
        seed = self.seed if seed is None else int(seed)
        last = self._needed_until()
        out: dict[str, pd.DataFrame] = {}
        for t, name in enumerate(self.order_):
            if name in self.reference_data_:  # kept as is, whatever the scale
                out[name] = self.reference_data_[name].copy()
                yield name, out[name]
                self._release(out, last, t)
                continue
            plan, model = self.plans_[name], self.models_[name]
            tseed = int(np.random.default_rng([seed, t]).integers(2**31))
            rng = np.random.default_rng([seed, t, 1])
            if plan.context is None:
                df = model.sample(n=max(1, int(round(plan.n_rows * scale))), seed=tseed)
                parent_pos = None
            else:
                link = plan.context
                parent = out[link.parent]
                col = self.plans_[link.parent].count_columns[_relation_key(name, link.columns)]
                counts = np.clip(np.round(pd.to_numeric(parent[col], errors="coerce").fillna(0).to_numpy()), 0, None)
                expected = (plan.n_rows - plan.n_parentless) * len(parent) / max(self.plans_[link.parent].n_rows, 1)
                counts = calibrated_counts(counts, expected, np.random.default_rng([seed, t, 2]))
                parent_pos = np.repeat(np.arange(len(parent)), counts)
                n_free = int(round(plan.n_parentless * scale))
                parent_pos = np.concatenate([parent_pos, np.full(n_free, -1, dtype=np.int64)])
                if len(parent_pos) == 0:
                    df = pd.DataFrame(columns=model.columns_)
                else:
                    ctx = parent[plan.context_columns].iloc[np.maximum(parent_pos, 0)].reset_index(drop=True)
                    if n_free:
                        ctx.iloc[len(ctx) - n_free:] = np.nan
                    df = model.sample(context=ctx, seed=tseed)
            out[name] = self._finish(name, plan, df, parent_pos, out, rng)
            yield name, out[name][plan.columns]  # count columns are needed by the children only
            self._release(out, last, t)

    def _release(self, out: dict, last: dict, t: int) -> None:
        for done in [n for n in out if last[n] <= t]:
            del out[done]

    def _finish(self, name, plan, df, parent_pos, out, rng) -> pd.DataFrame:
        df = df.reset_index(drop=True)
        n = len(df)
        if plan.context is not None:
            link = plan.context
            parent = out[link.parent]
            self._assign(df, link, parent, parent_pos)
        for link in plan.links:
            parent = out[link.parent]
            has = self._has(df, link, n)
            weight_col = self.plans_[link.parent].count_columns.get(_relation_key(name, link.columns))
            weights = None if weight_col is None else \
                np.clip(pd.to_numeric(parent[weight_col], errors="coerce").fillna(0).to_numpy(dtype=float), 0, None)
            pos = match_rows(df[[f"{link.label}.{a}" for a in link.attributes]].set_axis(link.attributes, axis=1),
                             parent[link.attributes], rng, weights) if len(parent) else np.full(n, -1)
            pos = np.where(has, pos, -1)
            self._assign(df, link, parent, pos)
        for link in plan.lookups:  # the generated key value names its reference row
            parent = out[link.parent]
            index = pd.Index(key_strings(parent, link.parent_columns).to_numpy(dtype=object))
            values = df[link.label] if link.label in df.columns else pd.Series([None] * n, dtype=object)
            wanted = values.astype(object).where(values.notna(), None).to_numpy(dtype=object)
            pos = index.get_indexer(wanted) if len(parent) else np.full(n, -1)
            self._assign(df, link, parent, pos)
        if plan.renumber:
            fk = [c for c in plan.renumber if c in self._key_columns(plan)]
            free = [c for c in plan.renumber if c not in fk]
            if fk or df.duplicated(subset=plan.renumber).any():  # 1..n within each foreign-key group
                for c in free:
                    order = df.sort_values(fk + [c], kind="stable").index if fk else df.index
                    group = df.loc[order, fk].astype(str).agg("\x1f".join, axis=1) if fk else pd.Series(0, index=order)
                    df.loc[order, c] = group.groupby(group).cumcount().to_numpy() + 1
        for link in plan.self_links:
            has = self._has(df, link, n)
            targets = np.where(has & (np.arange(n) > 0), (rng.random(n) * np.arange(n)).astype(np.int64), -1)
            if has.size and has[0]:  # the first row has no earlier row: a root, or itself when a root never occurs
                targets[0] = -1 if link.nullable else 0
            self._assign(df, link, df, targets)
        keep = plan.columns + list(plan.count_columns.values())
        for c in keep:
            if c not in df.columns:
                df[c] = pd.Series([None] * n, dtype=object)
        df = df[keep]
        for c in plan.columns:  # keys keep their real dtype; nullable integers when some links are missing
            want = plan.dtypes[c]
            if want.startswith("int") and df[c].isna().any():
                df[c] = df[c].astype("Int64")
            elif want.startswith("int"):
                try:
                    df[c] = df[c].astype(want)
                except (TypeError, ValueError):
                    pass
        return df

    @staticmethod
    def _has(df, link, n) -> np.ndarray:
        col = f"__has_{link.label}"
        if col not in df.columns:
            return np.ones(n, dtype=bool)
        v = df[col]
        return v.map(lambda x: str(x).lower() in ("true", "1", "1.0", "yes")).to_numpy(dtype=bool)

    @staticmethod
    def _assign(df, link, parent, pos) -> None:
        pos = np.asarray(pos)
        ok = pos >= 0
        for c, pc in zip(link.columns, link.parent_columns):
            values = parent[pc].to_numpy(dtype=object)[np.maximum(pos, 0)] if len(parent) else \
                np.full(len(pos), None, dtype=object)
            values = np.where(ok, values, None)
            df[c] = pd.Series(values, dtype=object)
            dtype = parent[pc].dtype if len(parent) else None
            if dtype is not None and pd.api.types.is_integer_dtype(dtype):
                df[c] = pd.to_numeric(df[c]).astype("Int64" if not ok.all() else dtype)

    # -- output -------------------------------------------------------------------------------------
    def to_sql(self, url: str, scale: float = 1.0, seed: int | None = None, force: bool = False,
               tables: dict[str, pd.DataFrame] | None = None) -> str:
        """Sample (unless ``tables`` is given) and write to a database with the real one's DDL, atomically."""
        from lookalike.io.sql import write_database

        self._check_fitted()
        tables = self.sample_tables(scale=scale, seed=seed) if tables is None else tables
        return write_database(tables, url, self.schema_, self.ddl_, force=force, order=self.order_)

    def to_folder(self, path, scale: float = 1.0, seed: int | None = None, force: bool = False, fmt: str = "csv",
                  tables: dict[str, pd.DataFrame] | None = None) -> Path:
        from lookalike.io.sql import write_folder

        self._check_fitted()
        tables = self.sample_tables(scale=scale, seed=seed) if tables is None else tables
        return write_folder(tables, path, force=force, fmt=fmt)

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise LookalikeError("this DatabaseSynthesizer is not fitted yet; call fit(tables) or load(path)")

    # -- save / load (one file: JSON + each table's model; data, not code) ---------------------------
    def save(self, path: str | Path, force: bool = False) -> Path:
        self._check_fitted()
        meta = {"params": self._params(), "schema": self.schema_.to_dict(), "ddl": self.ddl_,
                "order": self.order_, "plans": {n: asdict(p) for n, p in self.plans_.items()},
                "notes": self.notes_}
        members = {}
        for i, name in enumerate(self.order_):
            if name in self.reference_data_:  # a reference table's rows, as Parquet (data, not code)
                buf = io.BytesIO()
                self.reference_data_[name].to_parquet(buf, index=False)
                members[f"reference/{i}.parquet"] = buf.getvalue()
            else:
                members[f"tables/{i}.lookalike"] = self.models_[name].to_bytes()
        return write_model_file(path, "database.json", FORMAT, FORMAT_VERSION, meta, members, force=force)

    @classmethod
    def load(cls, path: str | Path) -> "DatabaseSynthesizer":
        what = "a lookalike database model (fit one with `lookalike fit-db`)"
        meta, blobs = read_model_file(path, "database.json", FORMAT, FORMAT_VERSION, what)
        obj = cls(**meta["params"])
        obj.schema_ = DatabaseSchema.from_dict(meta["schema"])
        obj.ddl_ = meta["ddl"]
        obj.order_ = meta["order"]
        obj.plans_ = {n: TablePlan.from_dict(p) for n, p in meta["plans"].items()}
        obj.notes_ = meta.get("notes", [])
        obj.references_ = [n for n in obj.order_ if obj.plans_[n].reference]
        obj.reference_data_ = {name: pd.read_parquet(io.BytesIO(blobs[f"reference/{i}.parquet"]))
                               for i, name in enumerate(obj.order_) if name in obj.references_}
        obj.models_ = {name: ContextSynthesizer.from_bytes(blobs[f"tables/{i}.lookalike"])
                       for i, name in enumerate(obj.order_) if name not in obj.references_}
        return obj


def _fit_table(name: str, model: "ContextSynthesizer", own, context, own_schema) -> "ContextSynthesizer":
    """One table's fit: a call of its own, so it can run in this process or as a Ray task."""
    try:
        return model.fit(own, context, schema=own_schema)
    except LookalikeError as exc:
        raise LookalikeError(f"table '{name}': {exc}") from None


def calibrated_counts(counts: np.ndarray, expected: float, rng: np.random.Generator) -> np.ndarray:
    """Children per parent adjusted so that their total is the expected one, rounded at random (unbiased).

    Why: value protection clips the largest counts (a parent with 2,000 children becomes one with the k-th
    largest count) and a model's draws of a heavy-tailed count are biased low; without this a table with skewed
    parents came out 10-40% short, and every table below it shorter still. The expected total is the real
    number of children per real parent times the synthetic parents, both already known from the table sizes
    the model keeps. A shortfall goes to parents in proportion to their count squared, i.e. back to the tail
    where the clipping took it (scaling every count instead moved parents with 1-3 children into higher bins
    and doubled the children-per-parent distance on the banking benchmark); a surplus is scaled away. Parents
    without children keep none."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    if total <= 0 or expected <= 0:
        return counts.astype(np.int64)
    if expected > total:
        weight = counts ** 2
        adjusted = counts + (expected - total) * weight / weight.sum()
    else:
        adjusted = counts * (expected / total)
    return np.floor(adjusted + rng.random(len(adjusted))).astype(np.int64)


def match_rows(wanted: pd.DataFrame, candidates: pd.DataFrame, rng: np.random.Generator,
               weights: np.ndarray | None = None) -> np.ndarray:
    """For each row of ``wanted``, a position in ``candidates`` with the same binned attributes, drawn with
    probability proportional to ``weights`` (the number of children each candidate is meant to have;
    uniform when None); columns are dropped from the right until a match exists, then any row is taken."""
    n, m = len(wanted), len(candidates)
    if m == 0:
        return np.full(n, -1)
    weight = np.ones(m) if weights is None or not np.asarray(weights).sum() > 0 else np.asarray(weights, dtype=float)
    live = np.flatnonzero(weight > 0)  # a candidate meant to have no children is never chosen
    candidates = candidates.iloc[live].reset_index(drop=True)
    weight = weight[live]
    m = len(candidates)
    codes_w, codes_c = [], []
    for col in wanted.columns:
        w, c = wanted[col], candidates[col]
        numeric = pd.api.types.is_numeric_dtype(c) and not pd.api.types.is_bool_dtype(c)
        dated = pd.api.types.is_datetime64_any_dtype(c)
        if numeric or dated:
            cw = pd.to_numeric(pd.to_datetime(w, errors="coerce") if dated else w, errors="coerce")
            cc = pd.to_numeric(pd.to_datetime(c, errors="coerce") if dated else c, errors="coerce")
            finite = cc.dropna().to_numpy(dtype=float)
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, MATCH_BINS + 1)[1:-1])) if len(finite) else []
            fw = np.where(cw.isna(), -1, np.searchsorted(edges, cw.to_numpy(dtype=float, na_value=np.nan), side="right"))
            fc = np.where(cc.isna(), -1, np.searchsorted(edges, cc.to_numpy(dtype=float, na_value=np.nan), side="right"))
        else:
            fw = w.astype(str).where(w.notna(), "\x00").to_numpy()
            fc = c.astype(str).where(c.notna(), "\x00").to_numpy()
        codes_w.append(pd.Series(fw).astype(str).to_numpy())
        codes_c.append(pd.Series(fc).astype(str).to_numpy())
    out = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    for width in range(len(codes_w), 0, -1):
        if len(todo) == 0:
            break
        kw = pd.Series(["\x1f".join(t) for t in zip(*[c[todo] for c in codes_w[:width]])])
        kc = pd.Series(["\x1f".join(t) for t in zip(*[c for c in codes_c[:width]])])
        groups = kc.groupby(kc).indices  # key -> candidate positions
        cumulative = {key: np.cumsum(weight[g]) for key, g in groups.items()}
        still = []
        for i, key in zip(todo, kw):
            g = groups.get(key)
            if g is None:
                still.append(i)
            else:
                cum = cumulative[key]
                out[i] = g[min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), len(g) - 1)]
        todo = np.asarray(still, dtype=np.int64)
    if len(todo):
        total = np.cumsum(weight)
        out[todo] = np.minimum(np.searchsorted(total, rng.random(len(todo)) * total[-1], side="right"), m - 1)
    return live[out]


def _mentions(rule: dict, columns: set[str]) -> bool:
    for v in rule.values():
        if isinstance(v, str) and (v in columns or any(c in v for c in columns if len(c) > 1 and v != c and
                                                       rule.get("expression") == v)):
            return True
        if isinstance(v, list) and any(x in columns for x in v if isinstance(x, str)):
            return True
    return False
