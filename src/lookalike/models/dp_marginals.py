"""dp-marginals: a differentially private generator of the MST family (noisy low-order marginals on a tree).

Every token sub-column is a discrete attribute. With a budget rho (zero-concentrated DP, converted from the
given (epsilon, delta)), split by ``shares`` (default 50% / 10% / 40%):

1. every 1-way marginal is measured with Gaussian noise;
2. in each pair, the attributes' tokens are grouped into contiguous groups of about equal mass under their
   noisy 1-way marginals (post-processing: no budget), so that the pair's table has at most ``cells`` x
   ``cells`` cells, each well above the noise (an attribute with few tokens keeps them all: a binary target
   and a number make a 2 x 18 table at epsilon 1, not 2 x 6, which kept too little of how churn rises in the
   top minutes of mlc_churn: TSTR 0.58 against 0.70);
3. a spanning tree of attribute pairs is chosen privately: Kruskal's algorithm where each of the d - 1 edges
   is drawn by the exponential mechanism, scoring a pair by how far its real 2-way marginal of groups is from
   what the noisy 1-way marginals predict under independence (L1, sensitivity 1), minus the error its own
   noisy measurement would add (a public penalty that keeps huge pairs out);
4. the tree's 2-way marginals of groups are measured with Gaussian noise.

The 1-way marginals get the largest share: bivariate accuracy is dominated by getting each column's
marginal right (the floor, independent columns with exact marginals, scores 0.91-0.93 on our tables), and
the exponential mechanism needs little to find the strong pairs (shares tuned on the seed-42 splits).

Inference (post-processing, our own, in the spirit of Private-PGM restricted to a tree): each attribute's
counts are estimated by generalised least squares from its 1-way measurement and the margins of the tree pairs
it belongs to (the pair tables measure its groups' masses too; pooling them was worth +0.003 to +0.007
bivariate accuracy at epsilon 1 on the seed-42 splits, where the measured 1-way marginals were the
bottleneck), then made non-negative by Norm-Sub (which keeps the noisy total); each tree
marginal of groups is the non-negative part of its measurement fitted to the groups' masses under those
distributions by iterative proportional fitting, and spread over the tokens of each pair of groups by their
1-way shares (independent inside a pair of groups). On a tree these consistent pairwise tables
define one joint distribution, sampled root first, each attribute given its parent. Sampling reads only the
released tables and costs no budget.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from lookalike.errors import LookalikeError
from lookalike.models.base import ProgressCallback
from lookalike.privacy.dp import eps_from, release, rho_from


PAIR_CELL_SIGMAS = 2.5
"""A measured pair has at most ``cells`` x ``cells`` cells (``pair_cells`` None): ``cells`` about
sqrt(rows / (2.5 sigma)), 6 at epsilon 1 and 10 at epsilon 3 on our 3,000-row tables (tuned on the seed-42
splits: at epsilon 1, 6 x 6 gave 0.890 / 0.891 / 0.933 bivariate accuracy on credit_data / mlc_churn /
lending_club, the whole 16 x 16 tables 0.881 / 0.884 / 0.915; at epsilon 3, 10 x 10 did better than 6 x 6).
2.5 rather than 2 since the generator has 60% of rho, not 50% (seed-42/43/44 splits, 6 paired draws:
lending_club +0.0015 in both public settings, credit_data and mlc_churn unchanged; 3 and 4 were no better)."""


BALANCED_ROWS = True
"""Sampling without fixed cells gives each attribute's allocated tokens out by herding against the columns
already drawn (``_herded``) instead of in random order."""
HERD_MAX_ROWS = 50_000
"""Herding is a loop over rows (about 10 CPU s per 100,000 rows and 10 columns), and worth most on small
samples (the noise of a random order shrinks as 1 / sqrt(rows)): a call of more rows keeps the random
order. The cut applies to each ``sample`` call, i.e. to each batch the Synthesizer samples (up to 100,000
rows), so one large sample can mix herded and random-order batches."""


class DPMarginals:
    """Differentially private MST-style generator: noisy 1- and 2-way marginals on a privately chosen tree.

    dp_epsilon, dp_delta: the generator's budget (the Synthesizer passes the model's share of ``dp``).
    dp_rho: the generator's zCDP budget; when given it is used as is (the Synthesizer passes its share of the
    whole fit's rho, and dp_epsilon, dp_delta then describe the whole fit), else rho comes from (dp_epsilon,
    dp_delta).
    dp_noise_seed: the noise's seed. ``Synthesizer(dp=...)`` passes a secret one from the operating system;
    used on its own the generator draws its noise from ``seed``, which is reproducible but no protection
    against anyone who knows the seed (and the codecs' statistics are then not private either).
    """

    name = "dp-marginals"
    honours_fixed = True
    supports_dp = True
    dp_measures_marginals = True  # its noisy 1-way marginals fix the mass of every bin: bins need only bounds
    dp_zcdp = True  # its budget can be a zCDP rho, composed with the statistics block's before one conversion

    def __init__(self, dp_epsilon: float = 1.0, dp_delta: float = 1e-5, seed: int = 0,
                 dp_noise_seed: int | None = None, ipf_iterations: int = 30, dp_rho: float | None = None,
                 shares: Sequence[float] = (0.5, 0.1, 0.4), pair_cells: int | None = None):
        self.shares = tuple(float(x) for x in shares)
        self.pair_cells = None if pair_cells is None else int(pair_cells)
        self.dp_epsilon = dp_epsilon
        self.dp_rho = dp_rho
        self.dp_delta = dp_delta
        self.seed = seed
        self.dp_noise_seed = dp_noise_seed
        self.ipf_iterations = ipf_iterations

    def dp_plan(self, n_rows: int) -> dict:
        if self.dp_epsilon is None or not self.dp_epsilon > 0:
            raise LookalikeError("dp-marginals needs dp_epsilon > 0 (or fit it through Synthesizer(dp=...))")
        if not 0 < self.dp_delta < 1:
            raise LookalikeError(f"dp-marginals needs dp_delta in (0, 1), got {self.dp_delta}")
        if self.dp_rho is not None:
            if not self.dp_rho > 0:
                raise LookalikeError(f"dp-marginals needs dp_rho > 0, got {self.dp_rho}")
            return {"rho": float(self.dp_rho)}
        return {"rho": rho_from(self.dp_epsilon, self.dp_delta)}

    def fit(self, tokens: np.ndarray, cardinalities: Sequence[int], groups: Sequence[Sequence[int]], *,
            progress: ProgressCallback | None = None) -> "DPMarginals":
        tokens = np.asarray(tokens, dtype=np.int64)
        cards = [int(c) for c in cardinalities]
        rho = self.dp_plan(len(tokens))["rho"]
        seeded = self.dp_noise_seed is None
        rng = np.random.default_rng([int(self.seed), 0x5EED] if seeded else self.dp_noise_seed)
        attrs = [j for j, c in enumerate(cards) if c > 1]  # one-token sub-columns carry nothing
        d = len(attrs)
        record = {"mechanism": "MST-style: Gaussian 1-way marginals and 2-way marginals of coarse groups, "
                               "exponential-mechanism tree (zCDP)",
                  "epsilon": None if self.dp_rho is not None else eps_from(rho, self.dp_delta),
                  "delta": None if self.dp_rho is not None else self.dp_delta, "rho": rho,
                  "noise": "seeded by seed: no guarantee against anyone who knows it" if seeded else "secret"}
        one = {}
        edges: list[tuple[int, int]] = []
        pairs: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # measurement, groups of a, b
        est: dict[int, np.ndarray] = {}
        if d:
            rounds = max(d - 1, 0)
            share1, share_sel, share2 = (x / sum(self.shares) for x in self.shares)
            rho1 = rho * share1 if rounds else rho
            sigma1 = math.sqrt(d / (2 * rho1))
            for j in attrs:
                counts = np.bincount(tokens[:, j], minlength=cards[j]).astype(float)
                one[j] = np.asarray(release(f"marginals.one.{j}", lambda c=counts: c + rng.normal(0, sigma1, c.shape)))
            record.update(sigma_one_way=sigma1)
            rho_sel, rho2 = rho * share_sel, rho * share2
            sigma2 = math.sqrt(rounds / (2 * rho2)) if rounds else 1.0
            est = {j: _norm_sub(one[j]) for j in attrs}
            # a pair is measured on coarse groups of its tokens (contiguous, of about equal mass under the noisy
            # 1-way marginals: post-processing, no budget), at most ``cells`` x ``cells`` of them: at epsilon 1 a
            # 6 x 6 table stands above noise that swamps 16 x 16, and a binary column keeps 18 groups of its
            # partner. ``cells``: fixed, or so that a cell of a pair of independent attributes holds about
            # PAIR_CELL_SIGMAS times the noise, from the noisy row count
            rows = float(np.mean([max(one[j].sum(), 1.0) for j in attrs]))
            cells = self.pair_cells if self.pair_cells is not None else \
                max(2, int(round(math.sqrt(rows / (PAIR_CELL_SIGMAS * sigma2)))))  # 0: no groups
            cache: dict[tuple[int, int], np.ndarray] = {}

            def grouped(a, b):
                na, nb = _pair_groups(cards[a], cards[b], cells)
                for j, n in ((a, na), (b, nb)):
                    if (j, n) not in cache:
                        cache[(j, n)] = _coarse_groups(est[j], n)
                return cache[(a, na)], cache[(b, nb)]

            if rounds:
                eps_round = math.sqrt(8 * rho_sel / rounds)
                edges = self._select(tokens, attrs, est, grouped, rows, eps_round, sigma2, rng)
                for a, b in edges:
                    ga, gb = grouped(a, b)
                    m = _grouped_counts(tokens, a, b, ga, gb)
                    pairs[(a, b)] = (np.asarray(release(f"marginals.two.{a}.{b}",
                                                        lambda m=m: m + rng.normal(0, sigma2, m.shape))), ga, gb)
                record.update(sigma_two_way=sigma2, epsilon_per_selection=eps_round, edges=len(edges),
                              pair_cells=cells,
                              rho_split={"one_way": rho1, "selection": rho_sel, "two_way": rho2})
                # every attribute's counts from its 1-way measurement and the margins of its tree pairs
                est = {j: _norm_sub(_pooled_counts(j, one[j], sigma1, pairs, sigma2)) for j in attrs}
        self._infer(cards, est, pairs)
        self.cardinalities_ = cards
        self.groups_ = [list(map(int, g)) for g in groups]
        self.dp_record_ = record
        if progress is not None:
            progress(1.0, "measured")
        return self

    def _select(self, tokens, attrs, est, grouped, rows, eps_round, sigma2, rng) -> list[tuple[int, int]]:
        """Kruskal's algorithm, each edge drawn by the exponential mechanism. ``rows``: the noisy row count
        (the true one would add a second unit of sensitivity to the score)."""
        scores = {}
        for x, a in enumerate(attrs):
            for b in attrs[x + 1:]:
                ga, gb = grouped(a, b)
                real = _grouped_counts(tokens, a, b, ga, gb)
                pa, pb = np.bincount(ga, weights=est[a]), np.bincount(gb, weights=est[b])
                err = np.abs(real - rows * np.outer(pa, pb)).sum()
                scores[(a, b)] = err - math.sqrt(2 / math.pi) * sigma2 * real.size
        parent = {j: j for j in attrs}

        def find(j):
            while parent[j] != j:
                parent[j] = parent[parent[j]]
                j = parent[j]
            return j

        chosen = []
        for r in range(len(attrs) - 1):
            candidates = [p for p in scores if find(p[0]) != find(p[1])]
            u = np.array([scores[p] for p in candidates])
            logits = eps_round * (u - u.max()) / 2.0  # sensitivity 1

            def draw(logits=logits):
                p = np.exp(logits)
                return int(rng.choice(len(p), p=p / p.sum()))

            a, b = candidates[int(release(f"marginals.select.{r}", draw))]
            chosen.append((a, b))
            parent[find(a)] = find(b)
        return chosen

    def _infer(self, cards, est, pairs) -> None:
        """Each tree marginal of groups: the non-negative part of its measurement fitted to the groups' masses
        under the 1-way estimates, spread over the tokens of each pair of groups by their 1-way shares."""
        self.marginals_ = {j: est.get(j, np.eye(c)[0]) for j, c in enumerate(cards)}
        self.tables_ = {}
        for (a, b), (m, ga, gb) in pairs.items():
            pa, pb = np.bincount(ga, weights=est[a], minlength=m.shape[0]), np.bincount(gb, weights=est[b], minlength=m.shape[1])
            t = np.clip(m, 0, None) + 1e-9
            t = t / t.sum()
            for _ in range(self.ipf_iterations):
                t *= (pa / np.maximum(t.sum(axis=1), 1e-300))[:, None]
                t *= (pb / np.maximum(t.sum(axis=0), 1e-300))[None, :]
            # tokens inside a pair of groups: independent, with their 1-way shares (the table keeps the
            # 1-way marginals exactly)
            wa = np.divide(est[a], pa[ga], out=np.zeros(cards[a]), where=pa[ga] > 0)
            wb = np.divide(est[b], pb[gb], out=np.zeros(cards[b]), where=pb[gb] > 0)
            fine = t[np.ix_(ga, gb)] * wa[:, None] * wb[None, :]
            self.tables_[(a, b)] = fine / fine.sum()
        self.order_ = _tree_order([j for j in range(len(cards))], list(pairs))

    # ---------------------------------------------------------------- sampling
    def sample(self, n: int, *, seed: int = 0, fixed=None, suppress=None,
               progress: ProgressCallback | None = None) -> np.ndarray:
        """n rows root first along the tree. Suppressed tokens get zero probability and fixed cells are
        evidence: an upward pass of messages (leaves to root) makes every draw conditional on the row's
        evidence anywhere in the tree, so fixed cells come back as given.

        Without fixed cells every row has the same evidence, and the rows are not drawn one by one: each
        attribute's counts are allocated by systematic rounding (the root's from its marginal, a child's
        within each group of rows sharing its parent's token, from the conditional table), then shuffled
        over those rows. The sample's tree marginals are then the model's up to rounding: i.i.d. draws would
        add multinomial noise (about sqrt(p / n) per cell) on top of the DP noise. The order over those rows
        is not random either: each attribute's tokens are given out by herding against the columns drawn
        before it (``_herded``), so pairs the tree does not join come out close to what the model says of
        them too (no budget: sampling reads only the released tables)."""
        if not hasattr(self, "marginals_"):
            raise LookalikeError("dp-marginals must be fitted (or loaded) before sampling")
        cards = self.cardinalities_
        rng = np.random.default_rng([int(seed), 0x3A])
        if fixed is not None:
            fixed = np.asarray(fixed, dtype=np.int64)
            if fixed.shape != (n, len(cards)):
                raise ValueError(f"fixed must have shape ({n}, {len(cards)}), got {fixed.shape}")
            if not (fixed >= 0).any():
                fixed = None
        rows = n if fixed is not None else 1  # one shared evidence row when nothing is fixed
        evidence = {}
        for j, c in enumerate(cards):
            e = np.ones((rows, c))
            for t in (suppress or {}).get(j, []):
                if 0 <= int(t) < c:
                    e[:, int(t)] = 0.0
            if fixed is not None:
                given = fixed[:, j] >= 0
                e[given] = 0.0
                e[given, fixed[given, j]] = 1.0
            evidence[j] = e
        cond = {}
        for child, par in self.order_:
            if par is not None:
                t = self.tables_[(par, child)] if (par, child) in self.tables_ else self.tables_[(child, par)].T
                cond[child] = t / np.maximum(t.sum(axis=1, keepdims=True), 1e-300)
        belief = {j: evidence[j].copy() for j in range(len(cards))}
        for child, par in reversed(self.order_):  # upward: what each subtree's evidence says about its parent
            if par is not None:
                msg = belief[child] @ cond[child].T  # (rows, parent tokens)
                belief[par] *= msg / np.maximum(msg.max(axis=1, keepdims=True), 1e-300)
        out = np.zeros((n, len(cards)), dtype=np.int64)
        done: list[int] = []
        for child, par in self.order_:
            # herding over the columns drawn so far (see ``_herded``): one table of deficits per attribute,
            # carried from one group of rows to the next so that the whole table's cells end near their sums
            herd = None
            if fixed is None and BALANCED_ROWS and done and n <= HERD_MAX_ROWS:
                cells, n_cells = _key_cells(out[:, done])
                herd = (cells, np.zeros((n_cells, cards[child])))
            if fixed is not None:
                w = (self.marginals_[child][None, :] if par is None else cond[child][out[:, par]]) * belief[child]
                out[:, child] = _draw_weights(w, evidence[child], rng)
            elif par is None:
                out[:, child] = _allocated(np.arange(n), self.marginals_[child] * belief[child][0],
                                           evidence[child][0], rng, herd)
            else:
                order = np.argsort(out[:, par], kind="stable")
                starts = np.searchsorted(out[order, par], np.arange(cards[par] + 1))
                for v in range(cards[par]):
                    idx = order[starts[v]:starts[v + 1]]
                    if len(idx):
                        out[idx, child] = _allocated(idx, cond[child][v] * belief[child][0], evidence[child][0],
                                                     rng, herd)
            done.append(child)
        if fixed is not None:
            out = np.where(fixed >= 0, fixed, out)
        if progress is not None:
            progress(1.0, "sampled")
        return out

    # ---------------------------------------------------------------- persistence
    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        if not hasattr(self, "marginals_"):
            raise LookalikeError("dp-marginals must be fitted before it can be saved")
        config = {"name": self.name, "params": {"dp_epsilon": self.dp_epsilon, "dp_delta": self.dp_delta,
                                                "seed": self.seed, "ipf_iterations": self.ipf_iterations,
                                                "dp_rho": self.dp_rho, "shares": list(self.shares),
                                                "pair_cells": self.pair_cells},
                  "cardinalities": self.cardinalities_, "groups": self.groups_,
                  "edges": [[a, b] for a, b in self.tables_], "order": [[c, p] for c, p in self.order_],
                  "dp": self.dp_record_}
        tensors = {f"one.{j}": np.asarray(p, dtype=np.float64) for j, p in self.marginals_.items()}
        tensors.update({f"two.{a}.{b}": np.asarray(t, dtype=np.float64) for (a, b), t in self.tables_.items()})
        return config, tensors

    @classmethod
    def from_state(cls, config: dict, tensors: dict[str, np.ndarray]) -> "DPMarginals":
        model = cls(**config["params"])
        model.cardinalities_ = [int(c) for c in config["cardinalities"]]
        model.groups_ = config["groups"]
        model.marginals_ = {j: np.asarray(tensors[f"one.{j}"]) for j in range(len(model.cardinalities_))}
        model.tables_ = {(int(a), int(b)): np.asarray(tensors[f"two.{a}.{b}"]) for a, b in config["edges"]}
        model.order_ = [(int(c), None if p is None else int(p)) for c, p in config["order"]]
        model.dp_record_ = config.get("dp", {})
        return model


def _pooled_counts(j: int, one: np.ndarray, sigma1: float, pairs: dict, sigma2: float) -> np.ndarray:
    """Attribute j's counts by generalised least squares from every measurement that holds them: its own
    noisy 1-way counts (variance sigma1^2 per token) and, for each tree pair it belongs to, the pair table's
    sums over the partner (variance partner-groups x sigma2^2 per group of j's tokens). Post-processing: the
    pair tables' margins are otherwise thrown away when they are fitted to the 1-way estimates."""
    k = len(one)
    lhs = np.eye(k) / sigma1 ** 2
    rhs = np.asarray(one, dtype=float) / sigma1 ** 2
    for (a, b), (m, ga, gb) in pairs.items():
        if j not in (a, b):
            continue
        groups, sums, partner = (ga, m.sum(axis=1), m.shape[1]) if j == a else (gb, m.sum(axis=0), m.shape[0])
        g = np.zeros((len(sums), k))
        g[groups, np.arange(k)] = 1.0
        w = 1.0 / (partner * sigma2 ** 2)
        lhs += w * g.T @ g
        rhs += w * g.T @ sums
    return np.linalg.solve(lhs, rhs)


def _coarse_groups(p: np.ndarray, cells: int) -> np.ndarray:
    """Group of each token: contiguous runs of about equal mass under ``p`` (tokens in their codec's order:
    bins by value, categories by frequency), at most ``cells`` of them; no grouping when there are few tokens
    (``cells`` 0 means none)."""
    if cells <= 0 or len(p) <= cells:
        return np.arange(len(p))
    cum = np.cumsum(p) - np.asarray(p) / 2
    g = np.minimum((cum * cells).astype(np.int64), cells - 1)
    return np.unique(g, return_inverse=True)[1].astype(np.int64)


def _pair_groups(card_a: int, card_b: int, cells: int) -> tuple[int, int]:
    """Groups of each attribute in a pair's table of at most ``cells`` x ``cells`` cells (0: no grouping): an
    attribute with few tokens keeps them all, and its partner gets ``cells`` groups too, not the cells it
    leaves. A binary target's partner split into 18 groups put a number's tail (mlc_churn's day minutes
    above 260, where churn is) into cells of 50-100 rows, under noise of about 36 (the tuning splits at
    epsilon 1, benchmarks/dp_tuning.py ``partner_cap``, paired noise draws: TSTR +0.04 to +0.09 on mlc_churn
    and credit_data, -0.01 on lending_club with nothing public, bivariate accuracy +0.000 to +0.002)."""
    if cells <= 0 or card_a * card_b <= cells * cells:
        return card_a, card_b
    return min(card_a, cells), min(card_b, cells)


def _grouped_counts(tokens: np.ndarray, a: int, b: int, ga: np.ndarray, gb: np.ndarray) -> np.ndarray:
    """The 2-way counts of attributes a and b over their groups (``ga``, ``gb``: group of each token)."""
    na, nb = int(ga.max()) + 1, int(gb.max()) + 1
    flat = ga[tokens[:, a]] * nb + gb[tokens[:, b]]
    return np.bincount(flat, minlength=na * nb).reshape(na, nb).astype(float)


def _simplex(v: np.ndarray) -> np.ndarray:
    """Non-negative part, normalised (uniform when nothing is left)."""
    v = np.clip(np.asarray(v, dtype=float), 0, None)
    return v / v.sum() if v.sum() > 0 else np.full(len(v), 1.0 / len(v))


def _norm_sub(v: np.ndarray) -> np.ndarray:
    """Norm-Sub (Wang et al., 2020): the noisy counts minus one constant, made non-negative, so that they keep
    their noisy total; normalised. Clipping alone would turn the noise of every empty cell into mass (about
    0.4 sigma each)."""
    v = np.asarray(v, dtype=float)
    total = v.sum()
    if not total > 0:
        return _simplex(v)
    x = np.sort(v)[::-1]
    csum = np.cumsum(x)
    k = np.arange(1, len(x) + 1)
    delta = (csum - total) / k  # with the k largest cells kept: subtract delta from each
    ok = x - delta > 0
    d = delta[np.flatnonzero(ok)[-1]]
    out = np.clip(v - d, 0, None)
    return out / out.sum()


def _tree_order(nodes: list[int], edges: list[tuple[int, int]]) -> list[tuple[int, int | None]]:
    """(node, parent) in breadth-first order over the forest; roots have parent None."""
    adj: dict[int, list[int]] = {j: [] for j in nodes}
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    seen, order = set(), []
    for root in nodes:
        if root in seen:
            continue
        seen.add(root)
        queue = [(root, None)]
        while queue:
            node, par = queue.pop(0)
            order.append((node, par))
            for nb in sorted(adj[node]):
                if nb not in seen:
                    seen.add(nb)
                    queue.append((nb, node))
    return order


def _draw_weights(w: np.ndarray, allowed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One inverse-CDF draw per row of non-negative weights; a row whose weights are all zero (evidence the
    model gives no probability) falls back to its allowed tokens, uniformly."""
    w = np.where(w.sum(axis=1, keepdims=True) > 0, w, allowed)
    cdf = np.cumsum(w, axis=1)
    u = rng.random(len(w)) * cdf[:, -1]
    tok = (cdf < u[:, None]).sum(axis=1)
    last = w.shape[1] - 1 - np.argmax(w[:, ::-1] > 0, axis=1)  # never past the last allowed token
    return np.minimum(tok, last).astype(np.int64)


def _allocated(idx: np.ndarray, weights: np.ndarray, allowed: np.ndarray, rng: np.random.Generator,
               herd: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Tokens for the rows ``idx``: counts proportional to ``weights`` by systematic rounding (a random offset,
    so each count is the floor or the ceiling of its expectation and they sum to len(idx)), in random order,
    or given out by herding (``herd``: see ``_herded``). Weights that are all zero fall back to the allowed
    tokens, uniformly."""
    w = np.asarray(weights, dtype=float)
    if not w.sum() > 0:
        w = np.asarray(allowed, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(w)]) / w.sum() * len(idx)
    cum[-1] = len(idx)  # exact, whatever the float rounding of the cumulative sum
    counts = np.diff(np.floor(cum + rng.random())).astype(np.int64)
    if herd is None:
        return rng.permutation(np.repeat(np.arange(len(w)), counts))
    return _herded(counts, herd[0][idx], herd[1], rng)


def _key_cells(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's cells (one per column of ``keys``: the column's value, numbered across columns) and how
    many cells there are."""
    keys = np.asarray(keys, dtype=np.int64)
    cells = np.empty_like(keys)
    offset = 0
    for j in range(keys.shape[1]):
        values, inverse = np.unique(keys[:, j], return_inverse=True)
        cells[:, j] = inverse.ravel() + offset
        offset += len(values)
    return cells, offset


def _herded(counts: np.ndarray, cells: np.ndarray, deficit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Tokens with these ``counts`` for rows whose earlier columns' values are ``cells`` (``_key_cells``), by
    herding rather than in random order: the rows' expected pair counts (count of the token x count of the
    value / rows: independent of the earlier columns, which are not the token's descendants, as the model
    says) are added to ``deficit`` (cells x tokens, updated in place, carried from one group of rows to the
    next), then the rows, in random order, each take the token left with the largest summed deficit over
    their cells. A random order gives the same counts and the same expected pair tables, plus the
    hypergeometric noise that every pair of columns the tree does not join would carry (about
    sqrt(n p q) rows a cell); herded, each cell ends within a few rows of its expectation."""
    m = len(cells)
    deficit += np.bincount(cells.ravel(), minlength=len(deficit))[:, None] * (counts[None, :] / m)
    left = counts.astype(float).copy()
    jitter = rng.random(len(counts)) * 1e-6  # ties between tokens broken at random
    out = np.empty(m, dtype=np.int64)
    for r in rng.permutation(m):
        row = cells[r]
        score = deficit[row].sum(axis=0) + jitter
        score[left <= 0] = -np.inf
        t = int(np.argmax(score))
        out[r] = t
        left[t] -= 1
        deficit[row, t] -= 1.0
    return out
