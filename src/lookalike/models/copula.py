"""Gaussian copula over tokens: exact marginals per sub-column, dependence through one correlation matrix.

Each token column is mapped to normal scores through its empirical CDF (a token occupies the CDF interval
[F(t-1), F(t)); a seeded uniform draw inside it breaks ties), the correlation of the scores is estimated
with a little shrinkage, and sampling inverts the same CDFs. Fixed cells are honoured by conditioning the
multivariate normal on scores drawn inside the fixed tokens' intervals.
Fast and robust; it learns only pairwise, monotone dependence, which is why the flagship exists.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from scipy.special import ndtr, ndtri

_EPS = 1e-6


class GaussianCopula:
    name = "copula"
    honours_fixed = True
    """Fixed cells are conditioned on and kept; suppressed tokens are redrawn from the allowed marginal."""

    def __init__(self, shrinkage: float = 0.02, seed: int = 0):
        self.shrinkage = shrinkage
        self.seed = seed

    def fit(self, tokens: np.ndarray, cardinalities: Sequence[int], groups: Sequence[Sequence[int]] = (),
            *, progress=None) -> "GaussianCopula":
        tokens = np.asarray(tokens, dtype=np.int64)
        self.cardinalities_ = [int(c) for c in cardinalities]
        rng = np.random.default_rng(self.seed)
        self.cdf_ = []
        for j, card in enumerate(self.cardinalities_):
            counts = np.bincount(tokens[:, j], minlength=card).astype(float)
            self.cdf_.append(np.concatenate([[0.0], np.cumsum(counts) / counts.sum()]))
        m = len(self.cardinalities_)
        if m == 0 or len(tokens) < 2:
            self.corr_ = np.eye(m)
        else:
            z = np.column_stack([self._scores(tokens[:, j], j, rng) for j in range(m)])
            corr = np.corrcoef(z, rowvar=False) if m > 1 else np.ones((1, 1))
            corr = np.nan_to_num(corr, nan=0.0)
            np.fill_diagonal(corr, 1.0)
            self.corr_ = (1 - self.shrinkage) * corr + self.shrinkage * np.eye(m)
        if progress:
            progress(1.0, "copula fitted")
        return self

    def _scores(self, t: np.ndarray, j: int, rng: np.random.Generator) -> np.ndarray:
        cdf = self.cdf_[j]
        lo, hi = cdf[t], cdf[t + 1]
        u = lo + rng.random(len(t)) * (hi - lo)
        return ndtri(np.clip(u, _EPS, 1 - _EPS))

    def _tokens(self, z: np.ndarray, j: int) -> np.ndarray:
        u = ndtr(z)
        t = np.searchsorted(self.cdf_[j], u, side="right") - 1
        t = np.clip(t, 0, self.cardinalities_[j] - 1)
        # never emit a token with zero probability (possible only at the CDF's flat edges)
        probs = np.diff(self.cdf_[j])
        bad = probs[t] <= 0
        if bad.any():
            t[bad] = np.argmax(probs)
        return t

    def sample(self, n: int, *, seed: int, fixed: np.ndarray | None = None,
               suppress: Mapping[int, Sequence[int]] | None = None, progress=None) -> np.ndarray:
        """n rows of tokens (int64, (n, n_sub)); cells of ``fixed`` >= 0 are kept and the free ones are drawn
        from the normal conditioned on them. A free cell that lands on a token of ``suppress[j]`` is redrawn
        from sub-column j's marginal without the suppressed tokens (the dependence is lost for that cell)."""
        rng = np.random.default_rng(seed)
        m = len(self.cardinalities_)
        out = np.zeros((n, m), dtype=np.int64)
        if m == 0:
            return out
        if fixed is None:
            fixed = np.full((n, m), -1, dtype=np.int64)
        fixed = np.asarray(fixed, dtype=np.int64)
        for pattern, rows in _row_patterns(fixed >= 0):
            known, free = np.flatnonzero(pattern), np.flatnonzero(~pattern)
            z = np.zeros((len(rows), m))
            for j in known:
                z[:, j] = self._scores(fixed[rows, j], j, rng)
            if len(free):
                s_ff = self.corr_[np.ix_(free, free)]
                mean = np.zeros((len(rows), len(free)))
                if len(known):
                    s_fk = self.corr_[np.ix_(free, known)]
                    s_kk = self.corr_[np.ix_(known, known)]
                    weights = np.linalg.solve(s_kk, s_fk.T).T
                    mean = z[:, known] @ weights.T
                    s_ff = s_ff - weights @ s_fk.T
                chol = np.linalg.cholesky(s_ff + 1e-9 * np.eye(len(free)))
                z[:, free] = mean + rng.standard_normal((len(rows), len(free))) @ chol.T
            for j in free:
                out[rows, j] = self._tokens(z[:, j], j)
            out[np.ix_(rows, known)] = fixed[np.ix_(rows, known)]
        if suppress:
            for j, bad_tokens in suppress.items():
                self._resample_suppressed(out, j, bad_tokens, fixed, rng)
        if progress:
            progress(1.0, "sampled")
        return out

    def _resample_suppressed(self, out, j, bad_tokens, fixed, rng) -> None:
        """Replace forbidden tokens with draws from the marginal of the allowed ones."""
        probs = np.diff(self.cdf_[j]).copy()
        probs[list(bad_tokens)] = 0
        if probs.sum() <= 0:
            return
        hit = np.isin(out[:, j], list(bad_tokens)) & (fixed[:, j] < 0)
        if hit.any():
            out[hit, j] = rng.choice(len(probs), size=int(hit.sum()), p=probs / probs.sum())

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        config = {"shrinkage": self.shrinkage, "seed": self.seed, "cardinalities": self.cardinalities_}
        tensors = {"corr": self.corr_}
        tensors.update({f"cdf.{j}": c for j, c in enumerate(self.cdf_)})
        return config, tensors

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> "GaussianCopula":
        m = cls(shrinkage=config["shrinkage"], seed=config["seed"])
        m.cardinalities_ = list(config["cardinalities"])
        m.corr_ = np.asarray(tensors["corr"], dtype=float)
        m.cdf_ = [np.asarray(tensors[f"cdf.{j}"], dtype=float) for j in range(len(m.cardinalities_))]
        return m


def _row_patterns(mask: np.ndarray):
    """Group rows by which cells are fixed; (pattern, row indices) pairs. Fast for the common one-pattern case."""
    if not mask.any():
        yield np.zeros(mask.shape[1], dtype=bool), np.arange(len(mask))
        return
    packed = np.ascontiguousarray(np.packbits(mask, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    for p, row in enumerate(first):
        yield mask[row], np.flatnonzero(inverse.ravel() == p)
