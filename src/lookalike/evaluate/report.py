"""The evaluation result: flat ``metrics``, nested ``details``, and writers for JSON and the HTML report."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from lookalike.io import atomic_path


def to_plain(value):
    """numpy scalars/arrays to Python, NaN/inf to None: the JSON is read by other tools."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_plain(v) for v in value.tolist()]
    if isinstance(value, Enum):  # column kinds: the plain word
        return value.value
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


@dataclass
class EvaluationReport:
    """What ``evaluate`` returns. ``metrics`` is flat (floats / strings / None); ``details`` is nested."""

    metrics: dict
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        self.metrics = to_plain(self.metrics)
        self.details = to_plain(self.details)

    def to_json(self, path: str | Path | None = None, force: bool = True) -> str:
        """JSON text with ``metrics`` and ``details``; written atomically to ``path`` when given."""
        text = json.dumps({"metrics": self.metrics, "details": self.details}, indent=2, allow_nan=False)
        if path is not None:
            _write(path, text, force)
        return text

    def to_html(self, path: str | Path | None = None, force: bool = True) -> str:
        """One self-contained HTML file (plotly.js inline, no external URLs); written atomically when given."""
        from lookalike.evaluate.html import render_html
        text = render_html(self)
        if path is not None:
            _write(path, text, force)
        return text

    def __repr__(self) -> str:
        keys = ("univariate_accuracy", "bivariate_accuracy", "dependence_capture", "discriminator_auc",
                "tstr_score", "privacy_verdict")
        shown = ", ".join(f"{k}={self.metrics.get(k)!r}" for k in keys)
        return f"EvaluationReport({shown})"


def _write(path, text: str, force: bool) -> None:
    with atomic_path(path, force=force) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
