"""Evaluation: real train + synthetic (+ real holdout) -> metrics and a self-contained HTML report.

Reads DataFrames only; never imports a generator.
"""
from lookalike.evaluate.core import evaluate
from lookalike.evaluate.report import EvaluationReport

__all__ = ["evaluate", "EvaluationReport"]
