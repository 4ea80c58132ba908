"""Turn canonical frames into a numeric matrix for HistGradientBoosting (categories as codes fitted on real train)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.evaluate.prepare import CATEGORICAL

MAX_CATEGORIES = 50  # HistGradientBoosting accepts at most 255; rarer values share one code


class FeatureEncoder:
    """Numbers pass through (NaN allowed); categories become codes of the real top values, the rest one code."""

    def __init__(self, max_categories: int = MAX_CATEGORIES):
        self.max_categories = max_categories

    def fit(self, train: pd.DataFrame, kinds: dict[str, str], columns: list[str]) -> "FeatureEncoder":
        self.columns_ = list(columns)
        self.kinds_ = {c: kinds[c] for c in columns}
        self.maps_ = {}
        for col in columns:
            if kinds[col] == CATEGORICAL:
                values = train[col].to_numpy()
                counts = pd.Series(values[pd.notna(values)]).value_counts()
                self.maps_[col] = {v: float(i) for i, v in enumerate(counts.index[: self.max_categories])}
        self.categorical_mask_ = np.array([kinds[c] == CATEGORICAL for c in columns], dtype=bool)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        X = np.empty((len(frame), len(self.columns_)), dtype=np.float64)
        for j, col in enumerate(self.columns_):
            values = frame[col].to_numpy()
            if col in self.maps_:
                mapping, other = self.maps_[col], float(len(self.maps_[col]))
                X[:, j] = [np.nan if v is None else mapping.get(v, other) for v in values]
            else:
                X[:, j] = values
        return X
