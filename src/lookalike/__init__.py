"""lookalike: synthetic data that is statistically faithful, useful and private."""
__version__ = "0.1.0"

import os as _os

# Spinning OpenMP threads made torch and scikit-learn up to 100x slower on a busy 2-core machine in our
# benchmarks; waiting passively costs nothing measurable on an idle one. Users can still override it.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from lookalike.errors import LookalikeError  # noqa: E402

__all__ = ["Synthesizer", "LookalikeError", "evaluate", "__version__"]


def __getattr__(name):
    """Import the heavy parts (torch, scikit-learn) only when used, so the CLI starts fast and
    ``lookalike.evaluate`` never pulls in generator code."""
    if name == "Synthesizer":
        from lookalike.synthesizer import Synthesizer

        return Synthesizer
    if name == "evaluate":
        from lookalike.evaluate import evaluate

        return evaluate
    raise AttributeError(f"module 'lookalike' has no attribute {name!r}")
