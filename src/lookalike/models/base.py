"""The contract every generator fulfils.

Generators never see DataFrames. The codecs (``lookalike.encoding``) turn a table into an
integer token matrix and back; a model learns the joint distribution of that matrix.

- ``tokens``: ``np.ndarray`` of shape (n_rows, n_sub), dtype int64, values in ``[0, cardinalities[j])``.
- ``cardinalities``: number of distinct tokens of each sub-column.
- ``groups``: the sub-columns of each original column, in order (``[[0], [1, 2, 3], [4]]``).
  Models that permute columns keep a group's sub-columns together and in order.

Sampling (``sample(n, *, seed, fixed=None, suppress=None, progress=None)``) returns an int64 array of
shape (n, n_sub) with every cell in ``[0, cardinalities[j])``.

- ``fixed``: ``None`` (nothing fixed) or an int64 array of shape (n, n_sub). ``-1`` marks a *free* cell
  (to be sampled); any other value is a token that row i must hold at sub-column j. Rows may differ in
  which cells are fixed. This one argument carries conditions, seed rows, rebalancing and imputation.
  A free cell is drawn conditionally on the row's fixed cells.
- ``suppress``: ``None`` or ``{sub_column: [tokens]}``: tokens that must never be emitted in a *free*
  cell of that sub-column (the "rare category" placeholder, or "missing" when imputing). A fixed cell
  keeps its given token even when that token is suppressed elsewhere.
- ``progress``: see ``ProgressCallback``.

Capability: ``honours_fixed`` (class attribute). ``True`` promises that ``sample`` returns every fixed
cell exactly as given and never a suppressed token in a free cell. ``False`` (or no such attribute, as
in generators written before it existed) means the generator may ignore ``fixed`` and ``suppress``;
callers then go through ``lookalike.models.constrained.sample_tokens``, which samples such a generator
unconditionally and redraws the rows that break a constraint. The Synthesizer always samples through
``sample_tokens``, so a new generator may start with ``honours_fixed = False`` and a ``sample`` that
only draws unconditionally (it must still accept the keyword arguments above, or at least ``seed``).

Determinism: fitting the same tokens with the same constructor settings (``seed`` included) gives the
same state (equal ``get_state()`` tensors; the config may also carry diagnostics such as timings), and ``sample`` is a pure function of (state, n, seed, fixed,
suppress): the same state and seed give the same output, on every call, and after save/load. A model
must not draw from global random state (seed its own generators) and must not change it.

Saving: a model is data, not code. ``get_state()`` returns ``(config, tensors)`` where ``config`` is
JSON-serialisable and ``tensors`` maps names to numpy arrays; ``from_state(config, tensors)`` rebuilds
the fitted model, which samples exactly as the original. Never pickle. The file records the class's
``name``; loading looks that name up in ``lookalike.models.REGISTRY`` (see ``register_model``), so
``name`` must be the name the generator is registered under.
"""
from __future__ import annotations

from typing import Callable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

ProgressCallback = Callable[[float, str], None]
"""Called with (fraction done in [0, 1], short message); used by the CLI's progress bar."""

Suppress = Mapping[int, Sequence[int]]
"""sub-column index -> tokens never to be emitted in a free cell of that sub-column."""


@runtime_checkable
class TokenModel(Protocol):
    name: str
    """The name the generator is registered under (stored in model files, looked up on load)."""

    honours_fixed: bool
    """True: ``sample`` keeps every fixed cell as given and never emits a suppressed token in a free cell."""

    def fit(
        self,
        tokens: np.ndarray,
        cardinalities: Sequence[int],
        groups: Sequence[Sequence[int]],
        *,
        progress: ProgressCallback | None = None,
    ) -> "TokenModel":
        """Learn the joint distribution of ``tokens`` (n_rows, n_sub) int64; returns self."""
        ...

    def sample(
        self,
        n: int,
        *,
        seed: int,
        fixed: np.ndarray | None = None,
        suppress: Suppress | None = None,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """``n`` rows of tokens, int64 of shape (n, n_sub); ``fixed`` uses -1 for free cells (see module doc)."""
        ...

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-serialisable config, {name: numpy array}); enough to rebuild the fitted model."""
        ...

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> "TokenModel":
        """The fitted model that ``get_state`` described; it samples exactly as the original."""
        ...


def honours_fixed(model) -> bool:
    """Whether ``model`` declares that it keeps fixed cells and never emits suppressed tokens itself."""
    return getattr(model, "honours_fixed", False) is True
