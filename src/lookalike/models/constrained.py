"""Constrained sampling for every generator, whether or not it can condition on fixed cells itself.

``sample_tokens`` is how the Synthesizer asks any generator for rows. A generator that declares
``honours_fixed = True`` is called directly (its output is exactly ``model.sample(...)``). Any other
generator is sampled *unconditionally* (``model.sample(m, seed=...)``, nothing else passed) and rows
are kept only where they match: every fixed cell equal to the given token, no suppressed token in a
free cell. This is rejection sampling, so the rows kept are exact draws from the generator's own
conditional distribution, just slower.

How the rows are matched, per round:

- The rows still unmatched are grouped by their fixed pattern (which cells are fixed). One
  unconditional pool of ``factor * unmatched`` rows is drawn for the round, and each pattern gets its
  own disjoint slice of it in proportion to its rows.
- Rows whose every cell is fixed are returned as given (the generator's conditional is that row).
- Inside a slice, a pool row is a candidate for a pattern when it holds no suppressed token in the
  pattern's free cells; it serves the target row whose fixed cells it equals. Each pool row serves at
  most one target row (no duplicated rows), and targets with the same fixed values take candidates in
  pool order, so every output row is an independent draw.
- ``factor`` starts at ``pool_factor`` and doubles every round (so rare conditions get bigger pools),
  the pool never exceeding ``max(POOL_CAP, unmatched)`` rows. Round ``r`` draws with a seed derived
  from ``(seed, r)``: the result is a pure function of (model state, n, seed, fixed, suppress).

After ``max_rounds`` rounds the rows still unmatched raise ``LookalikeError`` naming the generator, the
number of rows and the generators that support conditions. Rows with many fixed cells (imputation of
real rows, seed data) are rarely matched by an unconditional draw: they fail this way, quickly and
clearly, instead of returning rows that ignore the request.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from lookalike.errors import LookalikeError
from lookalike.models.base import ProgressCallback, Suppress, honours_fixed

MAX_ROUNDS = 8
"""Rejection rounds before giving up (the pool doubles each round: 8, 16, ... 1024 rows per missing row)."""

POOL_FACTOR = 8
"""Unconditional rows drawn per unmatched row in the first round."""

POOL_CAP = 250_000
"""At most this many pool rows per round (or the number of unmatched rows, when that is larger)."""


def sample_tokens(model, n: int, *, seed: int, fixed: np.ndarray | None = None, suppress: Suppress | None = None,
                  progress: ProgressCallback | None = None, max_rounds: int = MAX_ROUNDS,
                  pool_factor: int = POOL_FACTOR) -> np.ndarray:
    """``n`` rows of tokens from ``model`` that keep every fixed cell and no suppressed token in a free cell.

    ``fixed`` and ``suppress`` mean what ``lookalike.models.base`` says. Generators with
    ``honours_fixed = True`` are called directly; the others go through bounded rejection (module doc).
    """
    if honours_fixed(model):
        return model.sample(n, seed=seed, fixed=fixed, suppress=suppress, progress=progress)
    n = int(n)
    width = None
    if fixed is not None:
        fixed = np.asarray(fixed)
        if fixed.ndim != 2 or fixed.shape[0] != n:
            raise ValueError(f"fixed must have shape ({n}, n_sub), got {fixed.shape}")
        fixed = fixed.astype(np.int64, copy=False)
        width = fixed.shape[1]
    banned = {int(j): np.unique(np.asarray(list(toks), dtype=np.int64))
              for j, toks in (suppress or {}).items() if len(toks)}
    has_fixed = fixed is not None and bool((fixed >= 0).any())
    if not has_fixed and not banned:
        out = _checked(model.sample(n, seed=seed), n, width, model)
        if progress is not None:
            progress(1.0, "sampled")
        return out
    if n == 0:
        return np.empty((0, width or 0), dtype=np.int64)
    mask = fixed >= 0 if fixed is not None else None
    out: np.ndarray | None = None
    done = np.zeros(n, dtype=bool)
    if mask is not None and width:  # rows with no free cell: the condition is the row itself
        done = mask.all(axis=1)
        if done.all():
            return fixed.copy()
    drawn = 0
    for round_ in range(max_rounds):
        todo = np.flatnonzero(~done)
        if not len(todo):
            break
        factor = pool_factor * 2**round_
        total = int(min(len(todo) * factor, max(POOL_CAP, len(todo))))
        pool = _checked(model.sample(total, seed=_round_seed(seed, round_)), total, width, model)
        drawn += total
        width = pool.shape[1]
        if out is None:
            out = np.zeros((n, width), dtype=np.int64)
            if mask is None:
                mask = np.zeros((n, width), dtype=bool)
                fixed = np.full((n, width), -1, dtype=np.int64)
            out[done] = fixed[done]
            bad = [j for j in banned if not 0 <= j < width]
            if bad:
                raise ValueError(f"suppress names sub-column {bad[0]}, but rows have {width} sub-columns")
        start = 0
        for pattern, rows in _patterns(mask[todo]):
            rows = todo[rows]
            size = total * len(rows) // len(todo)
            part = pool[start:start + size]
            start += size
            clean = np.ones(len(part), dtype=bool)
            for j, toks in banned.items():
                if not pattern[j]:
                    clean &= ~np.isin(part[:, j], toks)
            candidates = np.flatnonzero(clean)
            known = np.flatnonzero(pattern)
            target, source = _pair(fixed[np.ix_(rows, known)], part[np.ix_(candidates, known)])
            out[rows[target]] = part[candidates[source]]
            done[rows[target]] = True
        if progress is not None:
            progress(float(done.mean()), "sampling (matching fixed cells)")
    if not done.all():
        name = getattr(model, "name", type(model).__name__)
        raise LookalikeError(
            f"generator '{name}' cannot condition on fixed cells or suppress tokens itself (honours_fixed is not "
            f"True), so lookalike drew unconditional rows and kept the matching ones: after {max_rounds} rounds "
            f"({drawn:,} rows drawn) {int((~done).sum()):,} of {n:,} rows could not be matched. Use a generator "
            f"that supports conditions ({', '.join(_conditioning_models()) or 'argn, copula'}), or fix fewer "
            f"or more frequent values.")
    return out


def _round_seed(seed: int, round_: int) -> int:
    return int(np.random.default_rng([int(seed) % 2**64, round_]).integers(2**31))


def _checked(out, n: int, width: int | None, model) -> np.ndarray:
    """The generator's output as int64 (n, n_sub), or an error naming the generator."""
    out = np.asarray(out)
    if out.ndim != 2 or out.shape[0] != n or (width is not None and out.shape[1] != width):
        name = getattr(model, "name", type(model).__name__)
        want = f"({n}, {width})" if width is not None else f"({n}, n_sub)"
        raise LookalikeError(f"generator '{name}' returned an array of shape {out.shape}, expected {want}")
    return out.astype(np.int64, copy=False)


def _patterns(mask: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(fixed pattern, row indices) pairs, rows in increasing order."""
    if not mask.any():
        yield np.zeros(mask.shape[1], dtype=bool), np.arange(len(mask))
        return
    unique, inverse = np.unique(mask, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for p, pattern in enumerate(unique):
        yield pattern, np.flatnonzero(inverse == p)


def _pair(targets: np.ndarray, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Match rows of ``targets`` to equal rows of ``pool``, each pool row used once, in pool order.

    Returns (target indices, pool indices) of the matched pairs.
    """
    if targets.shape[1] == 0:
        keys = np.zeros(len(targets) + len(pool), dtype=np.int64)
    else:
        _, keys = np.unique(np.concatenate([targets, pool]), axis=0, return_inverse=True)
        keys = keys.reshape(-1).astype(np.int64)
    t_keys, p_keys = keys[:len(targets)], keys[len(targets):]
    scale = max(len(targets), len(pool)) + 1
    t_ids = t_keys * scale + _ranks(t_keys)
    p_ids = p_keys * scale + _ranks(p_keys)
    _, target, source = np.intersect1d(t_ids, p_ids, assume_unique=True, return_indices=True)
    return target, source


def _ranks(keys: np.ndarray) -> np.ndarray:
    """Position of each element among the elements with the same key, counted in index order."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    ranks = np.empty(len(keys), dtype=np.int64)
    ranks[order] = np.arange(len(keys)) - np.searchsorted(ordered, ordered, side="left")
    return ranks


def _conditioning_models() -> list[str]:
    """Registered generators that honour fixed cells themselves (for the error message)."""
    from lookalike.models import REGISTRY, model_class

    names = []
    for name in sorted(REGISTRY):
        try:
            if honours_fixed(model_class(name)):
                names.append(name)
        except LookalikeError:
            continue
    return names
