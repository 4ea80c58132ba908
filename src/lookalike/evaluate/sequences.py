"""Sequence metrics: real train + synthetic (+ real holdout) sequence tables, one sequence per entity.

Every figure has the holdout's own value beside it (fresh real entities: the honest ceiling). The holdout
must be a split *by entity* (``lookalike.workflow.split_holdout_entities``).

- **length TV**: total-variation distance between the real and synthetic distributions of sequence lengths,
  binned 1, 2, 3, 4, 5-6, 7-9, 10-14, 15-19, 20-49, 50-99, 100-199, 200-499, 500-999, 1000+.
- **lag-1 autocorrelation**: per numeric column, the correlation of each value with the entity's next value
  (pairs pooled over entities); reported per column and as the mean absolute difference from the real one.
- **transition accuracy**: per column (the order column as its gaps), 1 - TVD of the joint bin frequencies of
  consecutive pairs (value at t, value at t+1) within entities, binned as for bivariate accuracy on the real
  training rows (deciles, top 10 categories + other, missing); averaged over columns.
- **gap accuracy**: 1 - TVD of the time gaps between consecutive events (zero, then deciles of the real gaps).
- **entity discriminator AUC**: gradient boosting telling real from synthetic *entities* by per-entity
  features: length, mean, spread, first and last values of every numeric column (the order as gaps, plus the
  first time), shares of the 5 most frequent values and first value of every categorical column.
- **entity TSTR**: with a ``target``, the entity-level label (its value when constant within entities, else its
  mean or most frequent value) predicted from the other entity features; trained on synthetic entities and on
  real train entities, both tested on the holdout's entities.
- **copied sequences**: share of synthetic entities whose whole sequence (every column but the entity key)
  equals some training entity's; beside it the same share for the holdout's entities.

Reads DataFrames only; never imports a generator.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.errors import LookalikeError
from lookalike.evaluate import discriminator, utility
from lookalike.evaluate.prepare import CATEGORICAL, DATETIME, NUMERIC, Binner, canonical, infer_columns, evaluation_kind

LENGTH_EDGES = np.array([2, 3, 4, 5, 7, 10, 15, 20, 50, 100, 200, 500, 1000])
GAP = "__gap"
MAX_ENTITIES = 20_000


def _tv(a: np.ndarray, b: np.ndarray) -> float:
    return float(0.5 * np.abs(a - b).sum())


def _sorted(df: pd.DataFrame, entity: str, order: str | None, kinds: dict, columns) -> tuple[pd.DataFrame, np.ndarray]:
    """Canonical rows sorted by entity then order, the order column replaced by its gaps; entity codes."""
    frame = canonical(df, kinds, columns)
    keys = df[entity].astype(str).to_numpy()
    codes, _ = pd.factorize(keys)
    pos = frame[order].to_numpy(dtype=float) if order is not None else np.arange(len(frame), dtype=float)
    sort = np.lexsort((pos, codes))
    frame, codes, pos = frame.iloc[sort].reset_index(drop=True), codes[sort], pos[sort]
    same = np.r_[False, codes[1:] == codes[:-1]]
    if order is not None:
        gaps = np.r_[np.nan, np.diff(pos)]
        gaps[~same] = np.nan
        frame[GAP] = gaps
    return frame, codes


def _entity_subset(df: pd.DataFrame, entity: str, max_entities: int, seed: int) -> pd.DataFrame:
    keys = df[entity].astype(str)
    unique = keys.drop_duplicates()
    if len(unique) <= max_entities:
        return df
    keep = set(unique.sample(n=max_entities, random_state=seed))
    return df.loc[keys.isin(keep).to_numpy()].reset_index(drop=True)


def _lengths(codes: np.ndarray) -> np.ndarray:
    return np.bincount(codes) if len(codes) else np.zeros(0, dtype=int)


def _length_freq(lengths: np.ndarray) -> np.ndarray:
    b = np.bincount(np.searchsorted(LENGTH_EDGES, lengths, side="right"), minlength=len(LENGTH_EDGES) + 1)
    return b / max(b.sum(), 1)


def _autocorr(frame: pd.DataFrame, codes: np.ndarray, col: str) -> float | None:
    x = frame[col].to_numpy(dtype=float)
    same = np.r_[codes[1:] == codes[:-1]]
    a, b = x[:-1][same], x[1:][same]
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _entity_features(frame: pd.DataFrame, codes: np.ndarray, kinds: dict, top: dict, order: str | None) -> pd.DataFrame:
    feats = {"length": np.bincount(codes).astype(float)}
    grouped = frame.groupby(codes, sort=True)
    for col, kind in kinds.items():
        if col == order:
            feats[f"{col}.first"] = grouped[col].first().to_numpy(dtype=float)
            continue
        if kind == CATEGORICAL:
            for i, value in enumerate(top.get(col, [])):
                feats[f"{col}.share{i}"] = (frame[col] == value).groupby(codes).mean().to_numpy(dtype=float)
            firsts = grouped[col].first()
            feats[f"{col}.first"] = firsts.map(lambda v: top.get(col, []).index(v) if v in top.get(col, []) else -1
                                               ).to_numpy(dtype=float)
        else:
            s = grouped[col]
            feats[f"{col}.mean"] = s.mean().to_numpy(dtype=float)
            feats[f"{col}.std"] = s.std().fillna(0).to_numpy(dtype=float)
            feats[f"{col}.first"] = s.first().to_numpy(dtype=float)
            feats[f"{col}.last"] = s.last().to_numpy(dtype=float)
    return pd.DataFrame(feats)


def _signatures(df: pd.DataFrame, entity: str, order: str | None) -> set:
    cols = [c for c in df.columns if c != entity]
    frame = df.sort_values([entity] + ([order] if order else []), kind="stable")
    text = frame[cols].astype(str).agg("\x1f".join, axis=1) if cols else pd.Series("", index=frame.index)
    return set(text.groupby(frame[entity].astype(str).to_numpy(), sort=False).agg("\x1e".join))


def copied_sequences(train: pd.DataFrame, other: pd.DataFrame, entity: str, order: str | None = None) -> float:
    """Share of ``other``'s entities whose whole sequence (all columns but the key) equals a training entity's."""
    real = _signatures(train, entity, order)
    cols = [c for c in other.columns if c != entity]
    frame = other.sort_values([entity] + ([order] if order else []), kind="stable")
    text = frame[cols].astype(str).agg("\x1f".join, axis=1)
    per_entity = text.groupby(frame[entity].astype(str).to_numpy(), sort=False).agg("\x1e".join)
    return float(per_entity.isin(real).mean()) if len(per_entity) else 0.0


def sequence_metrics(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None, entity: str,
                     order: str | None = None, target: str | None = None, seed: int = 0,
                     max_entities: int = MAX_ENTITIES, n_threads: int = 1) -> dict:
    """All sequence figures as a flat dict (``*_holdout`` keys hold the ceiling) plus ``details``.

    At most ``max_entities`` entities of each table are used (seeded); ``n_threads`` as in ``evaluate``."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads):
        return _sequence_metrics(train, synthetic, holdout, entity, order, target, seed, max_entities)


def _sequence_metrics(train, synthetic, holdout, entity, order, target, seed, max_entities) -> dict:
    for name, frame in (("train", train), ("synthetic", synthetic), ("holdout", holdout)):
        if frame is None:
            continue
        if entity not in frame.columns:
            raise LookalikeError(f"the {name} table lacks the entity column '{entity}'")
        if order is not None and order not in frame.columns:
            raise LookalikeError(f"the {name} table lacks the order column '{order}'")
    tables = {"train": train, "synthetic": synthetic, "holdout": holdout}
    tables = {k: _entity_subset(v, entity, max_entities, seed + i) for i, (k, v) in enumerate(tables.items())
              if v is not None}
    real = tables["train"].drop(columns=[entity])
    described = infer_columns(real)
    kinds = {c: evaluation_kind(s.kind) for c, s in described.items()}
    sorted_ = {k: _sorted(v, entity, order, kinds, described) for k, v in tables.items()}
    out: dict = {}
    details: dict = {}

    # length
    lengths = {k: _lengths(codes) for k, (_, codes) in sorted_.items()}
    ref = _length_freq(lengths["train"])
    out["length_tv"] = _tv(ref, _length_freq(lengths["synthetic"]))
    out["length_tv_holdout"] = _tv(ref, _length_freq(lengths["holdout"])) if "holdout" in lengths else None
    details["lengths"] = {k: {"mean": float(v.mean()) if len(v) else None, "max": int(v.max()) if len(v) else 0,
                              "entities": int(len(v))} for k, v in lengths.items()}

    # autocorrelation
    numeric = [c for c, k in kinds.items() if k == NUMERIC and c != order]
    ac = {}
    for col in numeric:
        ac[col] = {k: _autocorr(f, codes, col) for k, (f, codes) in sorted_.items()}
    details["autocorrelation"] = ac

    def ac_gap(which):
        diffs = [abs(v[which] - v["train"]) for v in ac.values() if v.get(which) is not None and v["train"] is not None]
        return float(np.mean(diffs)) if diffs else None

    out["autocorrelation_gap"] = ac_gap("synthetic")
    out["autocorrelation_gap_holdout"] = ac_gap("holdout") if holdout is not None else None

    # transitions (and gaps) on the real training rows' bins
    tkinds = {c: (k if k != DATETIME else NUMERIC) for c, k in kinds.items() if c != order}
    if order is not None:
        tkinds[GAP] = NUMERIC
    tr_frame = sorted_["train"][0]
    binner = Binner().fit(tr_frame[list(tkinds)], tkinds)
    per_col: dict = {}
    for k, (f, codes) in sorted_.items():
        binned = binner.transform(f[list(tkinds)])
        same = codes[1:] == codes[:-1]
        for j, col in enumerate(tkinds):
            nb = binner.n_bins_[col]
            pair = binned[:-1, j][same] * nb + binned[1:, j][same]
            freq = np.bincount(pair, minlength=nb * nb) / max(len(pair), 1)
            per_col.setdefault(col, {})[k] = freq
    trans = {col: {k: 1 - _tv(v["train"], v[k]) for k in v if k != "train"} for col, v in per_col.items()}
    details["transitions"] = trans
    cols = [c for c in tkinds if c != GAP]
    out["transition_accuracy"] = float(np.mean([trans[c]["synthetic"] for c in cols])) if cols else None
    out["transition_accuracy_holdout"] = (float(np.mean([trans[c]["holdout"] for c in cols]))
                                          if cols and holdout is not None else None)
    if order is not None:
        def gap_acc(which):
            g_real = tr_frame[GAP].dropna().to_numpy()
            g_other = sorted_[which][0][GAP].dropna().to_numpy()
            if not len(g_real) or not len(g_other):
                return None
            edges = np.unique(np.quantile(g_real, np.linspace(0.1, 0.9, 9)))
            edges = np.unique(np.r_[1e-9, edges])
            fa = np.bincount(np.searchsorted(edges, g_real, side="right"), minlength=len(edges) + 1) / len(g_real)
            fb = np.bincount(np.searchsorted(edges, g_other, side="right"), minlength=len(edges) + 1) / len(g_other)
            return 1 - _tv(fa, fb)

        out["gap_accuracy"] = gap_acc("synthetic")
        out["gap_accuracy_holdout"] = gap_acc("holdout") if holdout is not None else None
        out["transition_accuracy_gap"] = trans[GAP]["synthetic"]

    # entity-level features: discriminator and TSTR
    fkinds = dict(kinds)
    if order is not None:
        fkinds[GAP] = NUMERIC
    top = {c: list(pd.Series(tr_frame[c]).dropna().value_counts().index[:5]) for c, k in fkinds.items()
           if k == CATEGORICAL}
    feats = {k: _entity_features(f, codes, fkinds, top, order) for k, (f, codes) in sorted_.items()}
    fk = {c: NUMERIC for c in feats["train"].columns}
    disc = discriminator.discriminator_auc(feats["train"], feats["synthetic"], fk, seed, with_importances=False)
    out["entity_discriminator_auc"] = disc["auc"]
    details["entity_discriminator"] = {"auc": disc["auc"], "rows_per_side": disc["rows_per_side"],
                                       "features": list(fk)}
    if holdout is not None:
        out["entity_discriminator_auc_holdout"] = discriminator.discriminator_auc(
            feats["train"], feats["holdout"], fk, seed, with_importances=False)["auc"]
    else:
        out["entity_discriminator_auc_holdout"] = None

    out["entity_tstr_score"] = out["entity_trtr_score"] = out["entity_tstr_metric"] = None
    if target is not None and holdout is not None and target in kinds and target != order:
        labelled = {}
        for k, (f, codes) in sorted_.items():
            grouped = pd.Series(f[target].to_numpy()).groupby(codes, sort=True)
            if kinds[target] == CATEGORICAL:
                y = grouped.agg(lambda s: s.mode().iloc[0] if s.notna().any() else None)
            else:
                y = grouped.mean()
            drop = [c for c in feats[k].columns if c.split(".")[0] == target]
            labelled[k] = feats[k].drop(columns=drop).assign(**{"__target": y.to_numpy()})
        lk = {c: NUMERIC for c in labelled["train"].columns}
        lk["__target"] = kinds[target] if kinds[target] == CATEGORICAL else NUMERIC
        def learnable(frame):  # a categorical label needs 2+ classes of 2+ entities each, else no score
            counts = pd.Series(frame["__target"]).value_counts()
            return len(counts) >= 2 and (lk["__target"] != CATEGORICAL or counts.min() >= 2)

        if learnable(labelled["train"]) and learnable(labelled["synthetic"]):
            util = utility.tstr(labelled["train"], labelled["synthetic"], labelled["holdout"], lk, "__target", seed)
            out["entity_tstr_score"] = util["tstr"]["score"]
            out["entity_trtr_score"] = util["trtr"]["score"]
            out["entity_tstr_metric"] = util["metric"]

    out["copied_sequence_share"] = copied_sequences(train, synthetic, entity, order)
    out["copied_sequence_share_holdout"] = (copied_sequences(train, holdout, entity, order)
                                            if holdout is not None else None)
    out["details"] = details
    return out
