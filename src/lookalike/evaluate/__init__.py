"""Evaluation: real train + synthetic (+ real holdout) -> metrics and a self-contained HTML report.

Reads DataFrames only; never imports a generator. Submodules load on first use (scikit-learn is slow to
import), so ``lookalike report --help`` stays fast.
"""
from lookalike._callable import make_callable

__all__ = ["evaluate", "EvaluationReport"]


def __getattr__(name):
    if name == "evaluate":
        from lookalike.evaluate.core import evaluate

        return evaluate
    if name == "EvaluationReport":
        from lookalike.evaluate.report import EvaluationReport

        return EvaluationReport
    raise AttributeError(f"module 'lookalike.evaluate' has no attribute {name!r}")


def _evaluate():
    from lookalike.evaluate.core import evaluate

    return evaluate


make_callable(__name__, _evaluate)  # ``from lookalike import evaluate; evaluate(train=...)`` always works
