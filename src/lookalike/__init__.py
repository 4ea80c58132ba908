"""lookalike: synthetic data that is statistically faithful, useful and private.

Importing lookalike changes nothing in the process: no environment variable, no logging configuration, no
torch setting. Set ``GOMP_SPINCOUNT=1000`` before torch or scikit-learn is imported (the ``lookalike`` command
does this for itself): OpenMP threads that spin without end made both up to 100x slower on a shared 2-core
machine in our benchmarks, and threads that sleep at once (``OMP_WAIT_POLICY=PASSIVE``) halved sampling speed
on an idle one. Training progress (``verbose=True``) goes to the ``lookalike`` loggers
at INFO level; ``logging.basicConfig(level="INFO")`` shows it.
"""
__version__ = "0.1.0"

from lookalike.errors import LookalikeError

__all__ = ["Synthesizer", "LookalikeError", "evaluate", "compare", "__version__"]


def __getattr__(name):
    """Import the heavy parts (torch, scikit-learn) only when used, so the CLI starts fast and
    ``lookalike.evaluate`` never pulls in generator code."""
    if name == "Synthesizer":
        from lookalike.synthesizer import Synthesizer

        return Synthesizer
    if name == "evaluate":
        from lookalike.evaluate import evaluate

        return evaluate
    if name == "compare":  # a callable module: lookalike.compare(df, models=[...]) runs the comparison
        import lookalike.compare as compare

        return compare
    raise AttributeError(f"module 'lookalike' has no attribute {name!r}")
