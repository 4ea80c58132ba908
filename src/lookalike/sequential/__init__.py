"""Entity sequences and time series: one ordered list of rows per entity (see ``synthesizer``)."""
from lookalike.sequential.synthesizer import SequenceSynthesizer

__all__ = ["SequenceSynthesizer"]
