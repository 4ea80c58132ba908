"""Utility: train on synthetic, test on real (TSTR) beside train on real, test on real (TRTR).

Both models are the same HistGradientBoosting on the same number of rows, scored on the same real rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, roc_auc_score

from lookalike.evaluate.features import FeatureEncoder
from lookalike.evaluate.prepare import CATEGORICAL, _as_text

MAX_CLASSES_FOR_NUMERIC = 20


def task_kind(target: pd.Series, kind: str) -> str:
    """Categorical targets, and whole numbers with few distinct values (a 0-10 score), are classification; other
    numbers regression."""
    if kind == CATEGORICAL:
        return "classification"
    values = target.to_numpy(dtype=float)
    distinct = np.unique(values[np.isfinite(values)])
    whole = bool(np.all(distinct == np.round(distinct)))
    return "classification" if whole and len(distinct) <= MAX_CLASSES_FOR_NUMERIC else "regression"


def positive_class(train_target: pd.Series, named=None):
    """The class fairness and binary scores care about: the one named, else the rarest real class."""
    if named is not None:
        return named
    counts = pd.Series(train_target.to_numpy()).dropna().value_counts()
    return counts.index[-1]


def tstr(train: pd.DataFrame, synth: pd.DataFrame, test: pd.DataFrame, kinds: dict[str, str], target: str,
         seed: int, positive=None, max_rows: int = 50_000, importance_rows: int = 2000) -> dict:
    features = [c for c in kinds if c != target]
    task = task_kind(train[target], kinds[target])
    n = min(len(train), len(synth), max_rows)
    train_s = train.sample(n=n, random_state=seed) if len(train) > n else train
    synth_s = synth.sample(n=n, random_state=seed) if len(synth) > n else synth
    encoder = FeatureEncoder().fit(train, kinds, features)
    test = test[pd.notna(test[target].to_numpy())]
    X_test = encoder.transform(test)
    result = {"task": task, "rows": int(n), "test_rows": int(len(test)), "features": features}
    if task == "classification":
        y_test = _labels(test[target])
        pos = positive_class(train[target], positive)
        pos = _as_text(pos) if kinds[target] == CATEGORICAL else pos
        result["positive_class"] = str(pos)
        classes = sorted(set(y_test))
        for name, frame in (("trtr", train_s), ("tstr", synth_s)):
            frame = frame[pd.notna(frame[target].to_numpy())]
            model, proba, pred = _fit_classifier(encoder, frame, _labels(frame[target]), X_test, classes, seed)
            result[name] = _classification_scores(y_test, proba, pred, classes, pos)
            result[name]["predictions"] = pred
            result[name]["importances"] = (_importances(model, X_test, _as_labels_text(y_test), seed, importance_rows)
                                           if model else None)
        result["metric"] = "auc"
    else:
        y_test = test[target].to_numpy()
        for name, frame in (("trtr", train_s), ("tstr", synth_s)):
            frame = frame[np.isfinite(frame[target].to_numpy())]
            model = HistGradientBoostingRegressor(max_iter=200, categorical_features=_mask(encoder),
                                                  random_state=seed, early_stopping=True, n_iter_no_change=10)
            model.fit(encoder.transform(frame), frame[target].to_numpy())
            pred = model.predict(X_test)
            result[name] = {"score": float(r2_score(y_test, pred)), "r2": float(r2_score(y_test, pred)),
                            "mae": float(mean_absolute_error(y_test, pred)), "predictions": pred,
                            "importances": _importances(model, X_test, y_test, seed, importance_rows)}
        result["metric"] = "r2"
    a, b = result["trtr"]["importances"], result["tstr"]["importances"]
    if a is not None and b is not None and np.std(a) > 0 and np.std(b) > 0:
        result["importance_agreement"] = float(spearmanr(a, b).statistic)
    else:
        result["importance_agreement"] = None
    for name in ("trtr", "tstr"):
        imp = result[name]["importances"]
        result[name]["importances"] = None if imp is None else {f: float(v) for f, v in zip(features, imp)}
    return result


def _labels(series: pd.Series) -> np.ndarray:
    """Class labels: numbers stay a numeric array (scikit-learn reads an object array of numbers as an unknown
    label type), everything else becomes text."""
    values = series.to_numpy()
    if values.dtype.kind in "biuf":
        return values.astype(float)
    return np.array([str(v) if isinstance(v, str) else v for v in values], dtype=object)


def _mask(encoder: FeatureEncoder):
    return encoder.categorical_mask_ if encoder.categorical_mask_.any() else None


def _as_labels_text(y) -> np.ndarray:
    """Labels as text for the classifier: scikit-learn reads numbers with fractions (a generator's 5.3 for a
    0-10 score) as a regression target and refuses them; 5.0 and 5 are the same class."""
    return np.array([_as_text(v) for v in y], dtype=object)


def _fit_classifier(encoder, frame, y, X_test, classes, seed):
    """Fit on one table; return probabilities aligned to the test classes (absent classes get 0) and the
    predictions as labels of the table's own type. The model itself is fitted on the labels as text."""
    seen = sorted(set(y))
    proba = np.zeros((len(X_test), len(classes)))
    if len(seen) < 2:  # a table with one class: the model can only predict that class
        only = seen[0] if seen else None
        if only in classes:
            proba[:, classes.index(only)] = 1.0
        return None, proba, np.array([only] * len(X_test), dtype=object)
    # early stopping holds out a stratified share, which needs two rows of every class (a target with many
    # values often has classes seen once): without it the model trains its full 200 rounds
    stratifiable = pd.Series(y).value_counts().min() >= 2
    model = HistGradientBoostingClassifier(max_iter=200, categorical_features=_mask(encoder),
                                           random_state=seed, early_stopping=stratifiable, n_iter_no_change=10)
    text = _as_labels_text(y)
    model.fit(encoder.transform(frame), text)
    p = model.predict_proba(X_test)
    class_text = list(_as_labels_text(classes))
    for k, cls in enumerate(model.classes_):
        if cls in class_text:
            proba[:, class_text.index(cls)] = p[:, k]
    label = dict(zip(text, y))  # text -> the label as given
    pred = np.array([label[c] for c in model.classes_[np.argmax(p, axis=1)]], dtype=object)
    return model, proba, pred


def _classification_scores(y_test, proba, pred, classes, pos) -> dict:
    if len(classes) < 2:
        auc = None
    elif len(classes) == 2:
        k = classes.index(pos) if pos in classes else 1
        auc = float(roc_auc_score(y_test == classes[k], proba[:, k]))
    else:
        # a row whose model gives the test's classes no probability (a synthetic target whose values the
        # holdout never has, such as 5.3 for a 0-10 score) says nothing: uniform, not a division by zero
        total = proba.sum(1, keepdims=True)
        norm = np.where(total > 1e-12, proba / np.clip(total, 1e-12, None), 1.0 / len(classes))
        auc = float(roc_auc_score(y_test, norm, multi_class="ovr", average="macro", labels=classes))
    if len(classes) == 2 and pos in classes:
        f1 = float(f1_score(y_test == pos, pred == pos))
    else:
        f1 = float(f1_score(y_test.astype(str), pred.astype(str), average="macro"))
    return {"score": auc if auc is not None else float("nan"), "auc": auc,
            "accuracy": float(accuracy_score(y_test.astype(str), pred.astype(str))), "f1": f1}


def _importances(model, X, y, seed, rows) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), size=rows, replace=False) if len(X) > rows else np.arange(len(X))
    imp = permutation_importance(model, X[idx], y[idx], n_repeats=2, random_state=seed)
    return imp.importances_mean
