"""Discriminator AUC (classifier two-sample test): can a model tell real-train rows from the other rows?

0.5 means indistinguishable. The importances say which columns give the other rows away.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from lookalike.evaluate.features import FeatureEncoder


def discriminator_auc(real: pd.DataFrame, other: pd.DataFrame, kinds: dict[str, str], seed: int,
                      max_rows: int = 20_000, folds: int = 3, with_importances: bool = True) -> dict:
    """Cross-validated AUC on equal numbers of real and other rows (at most ``max_rows`` each)."""
    n = min(len(real), len(other), max_rows)
    real_s = real.sample(n=n, random_state=seed) if len(real) > n else real
    other_s = other.sample(n=n, random_state=seed + 1) if len(other) > n else other
    columns = list(kinds)
    encoder = FeatureEncoder().fit(real, kinds, columns)
    X = np.vstack([encoder.transform(real_s), encoder.transform(other_s)])
    y = np.r_[np.zeros(n), np.ones(n)]
    scores = np.zeros(len(y))
    model = None
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in split.split(X, y):
        model = _classifier(encoder.categorical_mask_, seed)
        model.fit(X[train_idx], y[train_idx])
        scores[test_idx] = model.predict_proba(X[test_idx])[:, 1]
    auc = float(roc_auc_score(y, scores))
    result = {"auc": auc, "rows_per_side": int(n), "folds": folds, "importances": {}}
    if with_importances and model is not None:
        rng = np.random.default_rng(seed)
        sub = test_idx if len(test_idx) <= 4000 else rng.choice(test_idx, size=4000, replace=False)
        imp = permutation_importance(model, X[sub], y[sub], scoring="roc_auc", n_repeats=3, random_state=seed)
        order = np.argsort(-imp.importances_mean)
        result["importances"] = {columns[i]: float(imp.importances_mean[i]) for i in order}
    return result


def _classifier(categorical_mask: np.ndarray, seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=31,
                                          categorical_features=categorical_mask if categorical_mask.any() else None,
                                          early_stopping=True, n_iter_no_change=10,
                                          random_state=seed)
