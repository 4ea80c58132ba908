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
