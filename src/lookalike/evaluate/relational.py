"""Cross-table metrics for a synthetic database, one parent-child relation (foreign key) at a time.

- **integrity**: share of the synthetic child rows' non-missing foreign keys that name a synthetic parent.
- **children per parent**: total-variation distance between the real and synthetic distributions of the
  number of children per parent (parents without children included), binned 0, 1, 2, 3, 4, 5-6, 7-9, 10-14,
  15-19, 20-49, 50-99, 100+ children.
- **cross-table bivariate accuracy**: every parent column paired with every child column over the joined
  rows (at most ``max_pairs`` pairs, seeded), binned on the real data as for single tables (deciles, top 10
  categories + other, missing), 1 - TVD, averaged. Beside it the **ceiling** (a real holdout: given, or the
  real parents split in two halves with their children, one half the reference and the other the holdout;
  when the parent is a reference table (schema ``reference: true``: a fixed lookup, whose fresh data is new
  children of the same rows) or fewer than 20 parents have children, the children are split and the parents
  shared; the children
  per parent are then compared with the whole real database, and their ceiling is the real children drawn again
  with replacement under the same parents)
  and the **floor** (the reference's children attached to random parents: right marginals, no cross-table
  dependence), the dependence capture (bi - floor) / (ceiling - floor), and a paired dependence capture
  (bi - the synthetic data's own score with its parents shuffled) / (ceiling - the holdout's own score with
  its parents shuffled), which cancels marginal errors and the noise of small tables.

Reads DataFrames and a :class:`DatabaseSchema` only; never imports a generator.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.errors import LookalikeError
from lookalike.evaluate.fidelity import accuracy
from lookalike.evaluate.prepare import Binner, canonical, infer_columns
from lookalike.schema.columns import Kind
from lookalike.schema.database import DatabaseSchema

FEW_PARENTS = 20  # relations whose children have fewer parents split their children, not their parents
COUNT_EDGES = np.array([1, 2, 3, 4, 5, 7, 10, 15, 20, 50, 100])
MEASURED = (Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN, Kind.DATETIME)


def _keys(df: pd.DataFrame, cols) -> pd.Series:
    parts = []
    for c in cols:
        s = df[c]
        if pd.api.types.is_float_dtype(s) and np.all(np.mod(s.dropna().to_numpy(), 1) == 0):
            s = s.astype("Int64")
        parts.append(s.astype(str).where(s.notna()).reset_index(drop=True))
    return parts[0] if len(parts) == 1 else parts[0].str.cat(parts[1:], sep="\x1f")


def _positions(child, child_cols, parent, parent_cols) -> np.ndarray:
    ck, pk = _keys(child, child_cols), _keys(parent, parent_cols)
    index = pd.Index(pk.to_numpy(dtype=object)).drop_duplicates()
    pos = np.full(len(child), -1, dtype=np.int64)
    present = ck.notna().to_numpy()
    found = index.get_indexer(ck[present].to_numpy(dtype=object))
    pos[present] = np.where(found < 0, -2, found)
    return pos


COUNT_LABELS = ["0", "1", "2", "3", "4", "5-6", "7-9", "10-14", "15-19", "20-49", "50-99", "100+"]


def _count_freq(counts: np.ndarray) -> np.ndarray:
    b = np.bincount(np.searchsorted(COUNT_EDGES, counts, side="right"), minlength=len(COUNT_EDGES) + 1)
    return b / max(b.sum(), 1)


def _tv(a: np.ndarray, b: np.ndarray) -> float:
    return float(0.5 * np.abs(a - b).sum())


def _measured(df: pd.DataFrame, exclude: set[str]) -> list[str]:
    cols = infer_columns(df.drop(columns=[c for c in exclude if c in df.columns]))
    # a label that names its row (an airline's name) says nothing about the relation: left out
    return [c for c, s in cols.items() if s.kind in MEASURED and df[c].notna().any()
            and not (s.kind == Kind.CATEGORICAL and len(df) > 1 and df[c].nunique() == len(df))]


def _joined(child, parent, rel, pcols, ccols) -> pd.DataFrame:
    pos = _positions(child, rel["child_columns"], parent, rel["parent_columns"])
    ok = pos >= 0
    p = parent[pcols].iloc[pos[ok]].reset_index(drop=True).add_prefix("parent.")
    c = child[ccols].loc[ok].reset_index(drop=True).add_prefix("child.")
    return pd.concat([p, c], axis=1)


def _resampled(real: dict, rel: dict, seed: int) -> dict:
    """The real children drawn again with replacement (as many), under the same parents: fresh real data at
    full size, for the children-per-parent ceiling of relations whose halves share their parents."""
    child = real[rel["child"]]
    pick = np.random.default_rng([seed, 7]).integers(0, len(child), len(child))
    return {rel["parent"]: real[rel["parent"]], rel["child"]: child.iloc[pick].reset_index(drop=True)}


def _split(real: dict, rel: dict, seed: int, fixed_parents: bool = False):
    """Real parents split in two halves, each with its children; the children split and the parents shared when
    the parents are a fixed lookup (``fixed_parents``: fresh data has new children, not new parents) or few."""
    parent, child = real[rel["parent"]], real[rel["child"]]
    rng = np.random.default_rng(seed)
    half = rng.random(len(parent)) < 0.5
    pos = _positions(child, rel["child_columns"], parent, rel["parent_columns"])
    if fixed_parents or len(np.unique(pos[pos >= 0])) < FEW_PARENTS:  # halves of a handful of parents say nothing
        child_half = rng.random(len(child)) < 0.5
        return ({rel["parent"]: parent, rel["child"]: child.loc[child_half].reset_index(drop=True)},
                {rel["parent"]: parent, rel["child"]: child.loc[~child_half].reset_index(drop=True)})
    child_half = np.where(pos >= 0, half[np.maximum(pos, 0)], rng.random(len(child)) < 0.5)
    a = {rel["parent"]: parent.loc[half].reset_index(drop=True), rel["child"]: child.loc[child_half].reset_index(drop=True)}
    b = {rel["parent"]: parent.loc[~half].reset_index(drop=True), rel["child"]: child.loc[~child_half].reset_index(drop=True)}
    return a, b


def relation_metrics(reference: dict, synthetic: dict, holdout: dict, rel: dict, schema: DatabaseSchema,
                     seed: int = 0, max_pairs: int = 30, counts_against: tuple[dict, dict] | None = None) -> dict:
    """Metrics of one foreign key. ``counts_against``: (reference, holdout) for the children-per-parent
    distributions when they differ from the ones for bivariate accuracy (halves of children that share their
    parents have half the children per parent)."""
    pname, cname = rel["parent"], rel["child"]
    ptable, ctable = schema.tables[pname], schema.tables[cname]
    keys_p = set(ptable.primary_key or []) | {c for fk in ptable.foreign_keys for c in fk.columns}
    keys_c = set(ctable.primary_key or []) | {c for fk in ctable.foreign_keys for c in fk.columns}
    out: dict = {"parent": pname, "child": cname, "columns": list(rel["child_columns"])}
    sp, sc = synthetic[pname], synthetic[cname]
    pos_s = _positions(sc, rel["child_columns"], sp, rel["parent_columns"])
    present = (pos_s != -1)
    out["integrity"] = float((pos_s[present] >= 0).mean()) if present.any() else 1.0
    out["synthetic_rows"] = int(len(sc))

    def counts(db):
        pos = _positions(db[cname], rel["child_columns"], db[pname], rel["parent_columns"])
        return np.bincount(pos[pos >= 0], minlength=len(db[pname]))

    count_ref, count_hol = counts_against or (reference, holdout)
    ref_counts, syn_counts, hol_counts = (_count_freq(counts(db)) for db in (count_ref, synthetic, count_hol))
    out["children_tv"] = _tv(ref_counts, syn_counts)
    out["children_tv_holdout"] = _tv(ref_counts, hol_counts)
    out["children_distribution"] = {"bins": COUNT_LABELS, "real": ref_counts.tolist(),
                                    "synthetic": syn_counts.tolist(), "holdout": hol_counts.tolist()}
    pcols = _measured(reference[pname], keys_p)
    ccols = _measured(reference[cname], keys_c)
    if not pcols or not ccols:
        out.update(bivariate=None, ceiling=None, floor=None, dependence=None)
        return out
    ref = _joined(reference[cname], reference[pname], rel, pcols, ccols)
    syn = _joined(sc, sp, rel, pcols, ccols)
    hol = _joined(holdout[cname], holdout[pname], rel, pcols, ccols)
    if len(ref) == 0 or len(syn) == 0:
        out.update(bivariate=None, ceiling=None, floor=None, dependence=None)
        return out
    rng = np.random.default_rng(seed)
    parent_part = [f"parent.{c}" for c in pcols]

    def detached(frame):  # children attached to random parents: marginals kept, cross-table dependence gone
        out = frame.copy()
        out[parent_part] = frame[parent_part].iloc[rng.permutation(len(frame))].to_numpy()
        return out

    columns = infer_columns(ref)
    kinds = {c: (s.kind if s.kind in (Kind.NUMERIC, Kind.DATETIME) else Kind.CATEGORICAL) for c, s in columns.items()}
    frames = [canonical(f, kinds, columns) for f in (ref, syn, hol, detached(ref), detached(syn), detached(hol))]
    binner = Binner().fit(frames[0], kinds)
    codes = [binner.transform(f) for f in frames]
    names = list(kinds)
    pairs = [(names.index(f"parent.{p}"), names.index(f"child.{c}")) for p in pcols for c in ccols]
    if len(pairs) > max_pairs:
        keep = np.sort(np.random.default_rng(seed).choice(len(pairs), size=max_pairs, replace=False))
        pairs = [pairs[k] for k in keep]
    n_bins = [binner.n_bins_[c] for c in names]
    bi, ceil, floor, syn_detached, hol_detached = (float(accuracy(codes[0], codes[i], n_bins, pairs).mean())
                                                    for i in (1, 2, 3, 4, 5))
    # paired: each table against itself with its parents shuffled, which cancels marginal errors and the
    # sampling noise of small tables (the unpaired floor shares the reference's exact marginals)
    gain = ceil - hol_detached
    out.update(bivariate=bi, ceiling=ceil, floor=floor, pairs=len(pairs),
               dependence=(bi - floor) / (ceil - floor) if ceil - floor > 1e-9 else None,
               dependence_paired=(bi - syn_detached) / gain if gain > 1e-9 else None)
    return out


def evaluate_database(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], schema: DatabaseSchema,
                      holdout: dict[str, pd.DataFrame] | None = None, seed: int = 0, max_pairs: int = 30) -> dict:
    """{"relations": [one dict per foreign key], "integrity": worst integrity, "tables": rows per table,
    "holdout": "given" or "split"}. Self-references count for integrity only."""
    missing = [t for t in schema.tables if t not in synthetic]
    if missing:
        raise LookalikeError(f"the synthetic database lacks table(s) {', '.join(missing)}")
    missing = [t for t in schema.tables if t not in real]
    if missing:
        raise LookalikeError(f"the real database lacks table(s) {', '.join(missing)}")
    results = []
    for r in schema.relations:
        rel = {"parent": r.parent, "child": r.child, "parent_columns": list(r.parent_columns),
               "child_columns": list(r.child_columns)}
        if r.is_self_reference:
            sc = synthetic[r.child]
            pos = _positions(sc, r.child_columns, sc, r.parent_columns)
            present = pos != -1
            results.append({"parent": r.parent, "child": r.child, "columns": list(r.child_columns),
                            "integrity": float((pos[present] >= 0).mean()) if present.any() else 1.0,
                            "self_reference": True})
            continue
        if holdout is None:
            reference, hold = _split(real, rel, seed, fixed_parents=bool(schema.tables[r.parent].reference))
            shared = reference[r.parent] is real[r.parent]  # few parents: children split, counts would halve
            against = (real, _resampled(real, rel, seed)) if shared else None
        else:
            reference, hold, against = real, holdout, None
        results.append(relation_metrics(reference, synthetic, hold, rel, schema, seed=seed, max_pairs=max_pairs,
                                        counts_against=against))
    worst = min((r["integrity"] for r in results), default=1.0)
    rows = {t: {"real": int(len(real[t])), "synthetic": int(len(synthetic[t])),
                "holdout": None if holdout is None or t not in holdout else int(len(holdout[t]))} for t in schema.tables}
    return {"relations": results, "integrity": worst, "tables": rows, "holdout": "split" if holdout is None else "given",
            "seed": seed, "max_pairs": max_pairs}
