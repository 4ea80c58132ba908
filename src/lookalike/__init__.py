"""lookalike: synthetic data that is statistically faithful, useful and private."""
__version__ = "0.1.0"

from lookalike.errors import LookalikeError  # noqa: E402
from lookalike.synthesizer import Synthesizer  # noqa: E402


def evaluate(*args, **kwargs):
    """Compare real and synthetic tables (see ``lookalike.evaluate``); imported lazily to keep start-up fast."""
    from lookalike.evaluate import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


__all__ = ["Synthesizer", "LookalikeError", "evaluate", "__version__"]
