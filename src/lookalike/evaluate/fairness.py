"""Fairness: does the synthetic table keep (and not invent) differences in the target between groups?

Demographic parity difference: largest minus smallest share of the positive class across groups of the
sensitive column. Equal-opportunity difference: the same for the true-positive rate of a model's predictions
on real holdout rows (model trained on real train vs trained on synthetic).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MIN_GROUP_ROWS = 20


def _group_labels(binner, frame: pd.DataFrame, sensitive: str) -> np.ndarray:
    j = binner.columns_.index(sensitive)
    codes = binner.transform(frame[[c for c in binner.columns_]])[:, j]
    labels = binner.labels_[sensitive]
    return np.array([labels[c] for c in codes], dtype=object)


def parity(groups: np.ndarray, positive: np.ndarray) -> dict:
    rates = {}
    for g in pd.unique(groups):
        mask = groups == g
        if mask.sum() >= MIN_GROUP_ROWS:
            rates[str(g)] = float(positive[mask].mean())
    diff = max(rates.values()) - min(rates.values()) if len(rates) >= 2 else None
    return {"rates": rates, "difference": diff}


def evaluate_fairness(binner, train: pd.DataFrame, synth: pd.DataFrame, holdout: pd.DataFrame | None,
                      sensitive: str, target: str, positive, utility: dict | None) -> dict:
    out = {"sensitive": sensitive, "target": target, "positive_class": str(positive),
           "min_group_rows": MIN_GROUP_ROWS}
    for name, frame in (("real", train), ("synthetic", synth), ("holdout", holdout)):
        if frame is None:
            out[f"demographic_parity_{name}"] = None
            continue
        is_pos = np.array([v == positive for v in frame[target].to_numpy()], dtype=float)
        out[f"demographic_parity_{name}"] = parity(_group_labels(binner, frame, sensitive), is_pos)
    if utility is not None and utility.get("task") == "classification" and "test_frame" in utility:
        test = utility["test_frame"]
        groups = _group_labels(binner, test, sensitive)
        truth = np.array([v == positive for v in test[target].to_numpy()])
        for name in ("trtr", "tstr"):
            pred = np.array([v == positive for v in utility[name]["predictions"]], dtype=float)
            out[f"equal_opportunity_{name}"] = parity(groups[truth], pred[truth])
    return out


# -- fair synthesis: before (plain synthetic) / after (fair synthetic) --------------------------------------
NOISE_DRAWS = 200


def group_keys(frame: pd.DataFrame, sensitive: list[str]) -> np.ndarray:
    """One label per row: the sensitive columns' values joined (intersectional groups); missing is a value."""
    parts = [frame[c].astype(object).where(frame[c].notna(), "(missing)").astype(str).to_numpy() for c in sensitive]
    return np.array([" & ".join(v) for v in zip(*parts)], dtype=object) if len(parts) > 1 else parts[0]


class TargetLabels:
    """The binary outcome fairness is measured on, and the classes data-level parity is checked over.

    A categorical target: outcome = the positive class, classes = its values. A numeric target: outcome =
    above the real training median, classes = the real training quartiles (and missing)."""

    def __init__(self, train: pd.DataFrame, target: str, kind: str, positive=None):
        from lookalike.evaluate.prepare import CATEGORICAL
        from lookalike.evaluate.utility import positive_class

        self.target, self.numeric = target, kind != CATEGORICAL
        if self.numeric:
            x = train[target].to_numpy(dtype=float)
            self.median = float(np.nanmedian(x))
            self.edges = np.nanquantile(x, [0.25, 0.5, 0.75])
            self.positive = f"above the real training median ({self.median:g})"
        else:
            self.positive = positive_class(train[target], positive)

    def outcome(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(known, outcome): rows whose target is not missing, and the outcome of every row (False if missing)."""
        values = frame[self.target]
        known = values.notna().to_numpy()
        if self.numeric:
            return known, np.where(known, values.to_numpy(dtype=float) > self.median, False)
        return known, (values.to_numpy() == self.positive) & known

    def classes(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame[self.target]
        if self.numeric:
            x = values.to_numpy(dtype=float)
            out = np.searchsorted(self.edges, x, side="right").astype(object)
            out[np.isnan(x)] = "missing"
            return np.array([f"quartile {v + 1}" if v != "missing" else v for v in out], dtype=object)
        return values.astype(object).where(values.notna(), "(missing)").astype(str).to_numpy()


def data_parity(frame: pd.DataFrame, labels: TargetLabels, sensitive: list[str]) -> dict:
    """Share of the outcome per group and the gap (max - min over groups of at least MIN_GROUP_ROWS rows), and
    the largest such gap over every class of the target (``class_gap``)."""
    groups = group_keys(frame, sensitive)
    known, outcome = labels.outcome(frame)
    main = parity(groups[known], outcome[known].astype(float))
    classes = labels.classes(frame)
    gaps = [parity(groups, (classes == c).astype(float))["difference"] for c in pd.unique(classes)]
    gaps = [g for g in gaps if g is not None]
    return {"rates": main["rates"], "gap": main["difference"], "class_gap": max(gaps) if gaps else None}


def decision_gaps(scores: np.ndarray, truth: np.ndarray, groups: np.ndarray, share: float, seed: int) -> dict:
    """Fairness of a classifier's decisions on real rows: the rows scored in the top ``share`` (the real
    positive rate) are its positive decisions. parity_gap: max - min over groups of the positive-decision rate;
    equalized_odds_gap: the larger of the same gap in true-positive and in false-positive rate (fairlearn's
    definitions); noise: the parity gap that decisions made at random at the same rate show on these groups
    (mean over NOISE_DRAWS draws), the level below which a gap is not distinguishable from sampling noise."""
    threshold = np.quantile(scores, 1 - share)
    decision = (scores > threshold).astype(float)
    sizes = pd.Series(groups).value_counts()
    kept = np.isin(groups, sizes.index[sizes >= MIN_GROUP_ROWS].to_numpy())
    g, d, t = groups[kept], decision[kept], truth[kept]
    dp = parity(g, d)
    tpr = parity(g[t], d[t])["difference"]
    fpr = parity(g[~t], d[~t])["difference"]
    rng = np.random.default_rng([seed, 5])
    noise = [parity(g, rng.permutation(d))["difference"] for _ in range(NOISE_DRAWS)]
    noise = [x for x in noise if x is not None]
    eo = None if tpr is None or fpr is None else max(tpr, fpr)
    return {"parity_gap": dp["difference"], "rates": dp["rates"], "equalized_odds_gap": eo,
            "noise": float(np.mean(noise)) if noise else None, "threshold_share": float(share)}


def within_group_ranks(scores: np.ndarray, groups: np.ndarray, seed: int = 0, keep_ties: bool = False) -> np.ndarray:
    """Each score replaced by its percentile rank within its own group (ties in random order, so a classifier
    with few distinct scores still decides at equal rates): the same decisions at every rate in every group
    (exact parity), keeping each group's order. Applied to a classifier trained on real data it is the
    parity-fair classifier with the most AUC that classifier allows: what parity itself costs.

    ``keep_ties``: tied scores share their mean rank instead, so rows the classifier cannot tell apart (the
    same feature values) get the same decision, as from any classifier. Where the features take few values,
    a group's share above a threshold then moves in steps of whole feature cells, and parity at a given rate
    holds only up to those steps (the gap deciding by whole cells leaves even in this order)."""
    if keep_ties:
        return (pd.Series(np.asarray(scores)).groupby(np.asarray(groups, dtype=object))
                .rank(method="average", pct=True).to_numpy())
    order = np.random.default_rng([seed, 7]).permutation(len(scores))
    ranks = np.empty(len(scores))
    ranks[order] = (pd.Series(np.asarray(scores)[order]).groupby(np.asarray(groups, dtype=object)[order])
                    .rank(method="first", pct=True).to_numpy())
    return ranks


def outcome_classifier(fit_frame: pd.DataFrame, kinds: dict, target: str, outcome: np.ndarray, seed: int,
                       sample_weight: np.ndarray | None = None, rows: np.ndarray | None = None):
    """The HistGradientBoosting classifier (as in utility) every classifier measure here uses, fitted on
    ``fit_frame`` (every column but ``target`` as features, the sensitive ones included; only the ``rows``
    mask when given, the features' encoding from every row) for ``outcome`` and ``sample_weight`` (one per
    row); returns a function giving the positive class's probability for a frame's rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from lookalike.evaluate.features import FeatureEncoder

    features = [c for c in kinds if c != target]
    encoder = FeatureEncoder().fit(fit_frame, kinds, features)
    rows = np.ones(len(fit_frame), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    if len(np.unique(outcome[rows])) < 2:
        return lambda frame: np.zeros(len(frame))
    mask = encoder.categorical_mask_ if encoder.categorical_mask_.any() else None
    model = HistGradientBoostingClassifier(max_iter=200, categorical_features=mask, random_state=seed,
                                           early_stopping=True, n_iter_no_change=10)
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)[rows]
    model.fit(encoder.transform(fit_frame[rows]), outcome[rows], sample_weight=weight)
    positive = list(model.classes_).index(True)
    return lambda frame: model.predict_proba(encoder.transform(frame))[:, positive]


def classifier_fairness(fit_frame: pd.DataFrame, test: pd.DataFrame, kinds: dict, labels: TargetLabels,
                        sensitive: list[str], seed: int, share: float, rank_within_groups: bool | str = False,
                        sample_weight: np.ndarray | None = None, fit_outcome: np.ndarray | None = None) -> dict:
    """The classifier (``outcome_classifier``) trained on ``fit_frame``, scored on the real ``test`` rows;
    ``rank_within_groups``: its scores replaced by their ranks within the test rows' groups (``"keep ties"``:
    tied scores keep one rank, ``within_group_ranks(keep_ties=True)``); ``sample_weight``: one weight per row
    of ``fit_frame`` for the training (e.g. reweighing, ``reweighing_weights``); ``fit_outcome``: one bool per
    row to train on instead of ``fit_frame``'s own outcome (e.g. ``exactly_fair_outcome``)."""
    from sklearn.metrics import roc_auc_score

    known, outcome = labels.outcome(fit_frame)
    if fit_outcome is not None:
        outcome = np.asarray(fit_outcome, dtype=bool)
    t_known, truth = labels.outcome(test)
    test = test[t_known].reset_index(drop=True)
    truth = truth[t_known]
    scores = outcome_classifier(fit_frame, kinds, labels.target, outcome, seed, sample_weight, rows=known)(test)
    groups = group_keys(test, sensitive)
    if rank_within_groups:
        scores = within_group_ranks(scores, groups, seed, keep_ties=rank_within_groups == "keep ties")
    auc = float(roc_auc_score(truth, scores)) if len(np.unique(truth)) == 2 else None
    out = decision_gaps(scores, truth, groups, share, seed)
    out["auc"] = auc
    return out


def reweighing_weights(frame: pd.DataFrame, labels: TargetLabels, sensitive: list[str]) -> np.ndarray:
    """Kamiran & Calders' reweighing (Knowledge and Information Systems 33, 2012, "Data preprocessing
    techniques for classification without discrimination"): each row weighted ``P(g) P(y) / P(g, y)`` for its
    group g and outcome y, so that under the weights the outcome is independent of the group while the rows and
    their features stay as they are. Rows with a missing target get weight 0 (they are not trained on)."""
    known, outcome = labels.outcome(frame)
    g = pd.Series(group_keys(frame, sensitive))[known].to_numpy()
    y = outcome[known]
    cell = pd.Series(list(zip(g, y)))
    p_g = pd.Series(g).map(pd.Series(g).value_counts(normalize=True)).to_numpy()
    p_y = np.where(y, y.mean(), 1 - y.mean())
    p_gy = cell.map(cell.value_counts(normalize=True)).to_numpy()
    weights = np.zeros(len(frame))
    weights[known] = p_g * p_y / p_gy
    return weights


def exactly_fair_outcome(frame: pd.DataFrame, kinds: dict, labels: TargetLabels, sensitive: list[str], seed: int,
                         folds: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(known, outcome): an outcome for the real rows with exact demographic parity, from a rule fitted on them.

    Each row's out-of-fold probability under ``outcome_classifier`` (trained on the other folds' real labels) is
    replaced by the pooled probability at the row's rank within its group (quantile alignment, what fair
    sampling does with the generator's conditional), and each group gets exactly its rows times the real
    outcome share of positives, drawn in proportion to those probabilities (``lookalike.fairness.
    draw_with_shares``). It is the fair table a generator that had learnt the real rows exactly would give at
    their size: a classifier trained on it shows how large a gap learning a fair rule from that many rows
    leaves by itself."""
    from sklearn.model_selection import KFold

    from lookalike.fairness import draw_with_shares

    known, real = labels.outcome(frame)
    rows = np.flatnonzero(known)
    part = frame.iloc[rows].reset_index(drop=True)
    probs = np.empty(len(rows))
    for fit, held in KFold(folds, shuffle=True, random_state=seed).split(rows):
        probs[held] = outcome_classifier(part.iloc[fit].reset_index(drop=True), kinds, labels.target,
                                         real[rows][fit], seed)(part.iloc[held])
    groups = group_keys(part, sensitive)
    aligned = np.quantile(probs, within_group_ranks(probs, groups, seed))
    share = float(real[rows].mean())
    rng = np.random.default_rng([seed, 11])
    drawn = np.zeros(len(rows), dtype=bool)
    for g in pd.unique(groups):
        members = np.flatnonzero(groups == g)
        p = np.column_stack([1 - aligned[members], aligned[members]])
        drawn[members] = draw_with_shares(p, np.array([1 - share, share]), rng) == 1
    outcome = np.zeros(len(frame), dtype=bool)
    outcome[rows] = drawn
    return known, outcome


def fair_synthesis(train: pd.DataFrame, synth: pd.DataFrame, plain: pd.DataFrame | None,
                   holdout: pd.DataFrame | None, kinds: dict, binner, target: str, sensitive: list[str],
                   seed: int, positive=None, pairs=None) -> dict:
    """The report's before/after section for fair synthesis: data-level parity (real, plain synthetic, fair
    synthetic), a classifier trained on each and scored on the real holdout, and the fidelity of every column
    pair that does not involve the target, plain against fair."""
    from lookalike.evaluate import fidelity

    labels = TargetLabels(train, target, kinds[target], positive)
    known, outcome = labels.outcome(train)
    share = float(outcome[known].mean())
    tables = {"real": train, "plain": plain, "fair": synth}
    out: dict = {"target": target, "sensitive": list(sensitive), "outcome": str(labels.positive),
                 "min_group_rows": MIN_GROUP_ROWS, "numeric_target": labels.numeric,
                 "data": {k: data_parity(v, labels, sensitive) for k, v in tables.items() if v is not None},
                 "classifier": None}
    if holdout is not None:
        out["classifier"] = {k: classifier_fairness(v, holdout, kinds, labels, sensitive, seed, share)
                             for k, v in tables.items() if v is not None}
    columns = list(kinds)
    t = columns.index(target)
    others = [p for p in (pairs or []) if t not in p]
    if plain is not None and others:
        codes_tr = binner.transform(train)
        n_bins = [binner.n_bins_[c] for c in columns]
        acc_fair = fidelity.accuracy(codes_tr, binner.transform(synth), n_bins, others)
        acc_plain = fidelity.accuracy(codes_tr, binner.transform(plain), n_bins, others)
        change = acc_fair - acc_plain
        out["pairs"] = [{"a": columns[a], "b": columns[b], "plain": float(p), "fair": float(f), "change": float(c)}
                        for (a, b), p, f, c in zip(others, acc_plain, acc_fair, change)]
        out["pairs_plain"], out["pairs_fair"] = float(acc_plain.mean()), float(acc_fair.mean())
        out["pairs_largest_change"] = float(np.abs(change).max())
    return out
