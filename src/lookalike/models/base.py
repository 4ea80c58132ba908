"""The contract every generator fulfils.

Generators never see DataFrames. The codecs (``lookalike.encoding``) turn a table into an
integer token matrix and back; a model learns the joint distribution of that matrix.

- ``tokens``: ``np.ndarray`` of shape (n_rows, n_sub), dtype int64, values in ``[0, cardinalities[j])``.
- ``cardinalities``: number of distinct tokens of each sub-column.
- ``groups``: the sub-columns of each original column, in order (``[[0], [1, 2, 3], [4]]``).
  Models that permute columns keep a group's sub-columns together and in order.
- ``fixed`` (sampling): ``np.ndarray`` (n, n_sub) of int64 where ``-1`` means "sample this cell" and
  any other value is a token the output must contain at that cell. This one argument carries
  conditional sampling, seed rows, rebalancing and imputation.

Saving: a model is data, not code. ``get_state()`` returns ``(config, tensors)`` where ``config`` is
JSON-serialisable and ``tensors`` maps names to numpy arrays; ``from_state(config, tensors)`` rebuilds
the fitted model. Never pickle.
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

ProgressCallback = Callable[[float, str], None]
"""Called with (fraction done in [0, 1], short message); used by the CLI's progress bar."""


@runtime_checkable
class TokenModel(Protocol):
    name: str

    def fit(
        self,
        tokens: np.ndarray,
        cardinalities: Sequence[int],
        groups: Sequence[Sequence[int]],
        *,
        progress: ProgressCallback | None = None,
    ) -> "TokenModel": ...

    def sample(
        self,
        n: int,
        *,
        seed: int,
        fixed: np.ndarray | None = None,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray: ...

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]: ...

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> "TokenModel": ...
