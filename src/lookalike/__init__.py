"""lookalike: synthetic data that is statistically faithful, useful and private."""
__version__ = "0.1.0"
