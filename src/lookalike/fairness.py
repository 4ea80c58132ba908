"""Fair synthetic data: draw a target with statistical parity across sensitive groups (demographic parity).

What changes, and only that: the target column's value in each synthetic row. Every other column of a row is
drawn exactly as plain sampling draws it (same seed, same rows), so the sensitive columns' own distribution
and their relationships with every other non-target column stay as the generator learned them from the real
data. The target is then drawn again, in three steps:

1. The generator's own conditional distribution of the target given the whole row,
   ``p_i = P(target | every other column of row i)`` (ARGN's head for the target with every other column
   visible, ``ARGN.predict_proba``). A numeric target's classes are its codec's value-ordered tokens (its
   quantile bins, up to 48, and its heaped exact values), so parity holds for every threshold at that
   resolution; ``bins=q`` merges them into q classes of about equal mass under the generator instead (parity
   at those boundaries only: inside a class the value still follows the group). "Missing" is a class of its
   own when the column has missing values.
2. Quantile alignment of that conditional across groups. Each row gets a score (the positive class's
   probability for two classes; the expected class index for a numeric target), its rank ``u`` *within its
   own sensitive group* is looked up in a reference sample of the generator, and the row takes the
   conditional distribution of the reference row at rank ``u`` of the *pooled* population. So in every group
   the conditional distributions of the target form the same population as in all rows together: a row
   ranked at the top of its group is as likely to be positive as a row ranked at the top overall. This is
   why a classifier trained on the fair rows predicts positives at the same rate in every group at any
   threshold, even through proxies of the group (the group and its proxies carry no information on the
   target beyond the within-group rank). Nominal targets of more than two classes have no single score: they
   skip this step (so only step 3 holds, and a classifier may still see the group through proxies).
3. Exact parity per group: within each group of a sampled batch, the number of rows of each class is the
   overall share times the group's rows, rounded so that the count of every *run* of classes (for a numeric
   target: every "above threshold t") is the nearest whole number, and the rows that get each class are drawn
   with probabilities proportional to the aligned distributions (a small per-group logit shift makes the
   counts exact; systematic sampling in random order). The data-level parity gap is therefore zero up to
   rounding: a group of m rows is within 0.5/m of the overall share above every class boundary at once, the
   closest its row count allows (a group of 23 rows can show 11/23 or 12/23, nothing between). Rounding to
   the nearest count rather than at random is not unbiased over many batches (a group keeps its rounding
   direction in every 100,000-row batch), a cost only for groups of a few rows per batch.

A numeric target's value is then drawn inside its class from the generator's own distribution over the
class's tokens, and its finer sub-columns (position inside a bin, rounding unit) as the generator draws them
for that token over all rows (copied from a random reference row with the same token), not given the row:
given the row, the position inside a bin followed the group, so a threshold that falls inside a bin (ISLR
Wage's real median does at split 3) was no point of parity.

Groups are the combinations of the sensitive columns' tokens. A category seen in fewer than ``k`` real rows
is protected by value protection: its rows form the column's one "rare" group (or take frequent categories
under ``rare="drop"``), never a group of their own. The reference (``REFERENCE_ROWS`` rows sampled from the
generator with a fixed seed, and for a small group further rows until it has ``GROUP_REFERENCE_ROWS`` of its
own, ``MAX_REFERENCE_ROWS`` in all at most) is computed from the model alone: fair sampling reads no real row,
so it adds no privacy cost (it is post-processing, also under differential privacy).
"""
from __future__ import annotations

import numpy as np

from lookalike.errors import LookalikeError
from lookalike.schema.columns import Kind

REFERENCE_ROWS = 20_000
"""Rows of the generator's own sample that fix the pooled score distribution (and its conditionals)."""

GROUP_REFERENCE_ROWS = 10_000
"""Reference rows wanted in the smallest group: more rows are drawn (scores kept, not distributions) until it
has them, or MAX_REFERENCE_ROWS are drawn. A group's rank is read off its own reference's sorted scores, whose
error at the median is about 0.5 / sqrt(rows): with the 1,600 rows CPS1988's 8% group has in 20,000, 200,000
fresh rows of the generator itself came out 0.017-0.019 apart between the groups' shares above rank 0.25, 0.5
or 0.75 (the worst of the three; splits 42-44), a gap a classifier trained on the fair rows inherits; with
10,000 rows of its own, 0.003-0.008 (sampling error of those 200,000 rows: about 0.004)."""

MAX_REFERENCE_ROWS = 200_000
"""At most this many reference rows in all (a group under 5% of rows gets fewer than GROUP_REFERENCE_ROWS)."""

MIN_REFERENCE_GROUP = 30
"""A group with fewer reference rows is ranked against the pooled population (not aligned; step 3 still holds)."""

DEFAULT_BINS = None
"""Numeric targets: None = every value token of the codec is a class (finest parity); q = q quantile classes."""
MODES = ("demographic-parity",)
_KEYS = {"target", "sensitive", "bins", "mode"}


def check_fairness(fairness) -> dict | None:
    """The fairness setting in its one normal form, ``{"target", "sensitive": [...], "bins", "mode"}``;
    a clear error for a malformed one (before any data is read)."""
    if fairness is None:
        return None
    if not isinstance(fairness, dict):
        raise LookalikeError(f"fairness must be a dict like {{'target': 'income', 'sensitive': ['race']}}, "
                             f"got {type(fairness).__name__}")
    unknown = sorted(set(fairness) - _KEYS)
    if unknown:
        raise LookalikeError(f"fairness: unknown key(s) {unknown}; valid: {sorted(_KEYS)}")
    target = fairness.get("target")
    if not isinstance(target, str) or not target:
        raise LookalikeError("fairness needs 'target': the name of the column to generate fairly")
    sensitive = fairness.get("sensitive")
    if isinstance(sensitive, str):
        sensitive = [sensitive]
    if not isinstance(sensitive, (list, tuple)) or not sensitive or not all(isinstance(s, str) and s
                                                                             for s in sensitive):
        raise LookalikeError("fairness needs 'sensitive': a column name or a non-empty list of column names")
    if len(set(sensitive)) != len(sensitive):
        raise LookalikeError(f"fairness: a sensitive column is named twice in {list(sensitive)}")
    if target in sensitive:
        raise LookalikeError(f"fairness: the target '{target}' is also a sensitive column; the target must be "
                             "another column (its dependence on the sensitive ones is what is removed)")
    bins = fairness.get("bins", DEFAULT_BINS)
    if bins is not None and (isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2):
        raise LookalikeError(f"fairness: 'bins' (quantile classes of a numeric target) must be an integer >= 2, "
                             f"got {bins!r}")
    mode = fairness.get("mode", MODES[0])
    if mode not in MODES:
        raise LookalikeError(f"fairness: mode must be one of {', '.join(MODES)}, got {mode!r}")
    return {"target": target, "sensitive": list(sensitive), "bins": None if bins is None else int(bins), "mode": mode}


def check_columns(spec: dict, schema, columns) -> None:
    """Every named column exists and has a kind fairness can use (at fit, before any training)."""
    for role, col in [("target", spec["target"])] + [("sensitive", s) for s in spec["sensitive"]]:
        if col not in columns:
            raise LookalikeError(f"fairness: {role} column '{col}' is not in the table; columns are: "
                                 f"{', '.join(map(str, columns))}")
        kind = schema[col].kind
        if role == "sensitive" and not kind.categorical_like:
            hint = (" -- cut it into groups first (e.g. df['age_group'] = pd.cut(df['age'], [0, 30, 50, 120])) "
                    "and name that column" if kind == Kind.NUMERIC else "")
            raise LookalikeError(f"fairness: sensitive column '{col}' is {kind}; groups need a categorical or "
                                 f"boolean column{hint}")
        if role == "target" and not (kind.categorical_like or kind == Kind.NUMERIC):
            raise LookalikeError(f"fairness: target column '{col}' is {kind}; the target must be categorical, "
                                 "boolean or numeric")


class FairTarget:
    """Redraws the target of sampled token rows with parity across the sensitive groups (module docstring)."""

    def __init__(self, spec: dict, encoder, schema):
        self.spec = spec
        names = [spec["target"]] + spec["sensitive"]
        for col in names:
            if encoder.group_of(col) is None:
                raise LookalikeError(f"fairness: column '{col}' is {schema[col].kind} with nothing to learn (one "
                                     "value, or generated rather than learned); it cannot take part in fairness")
        if spec["target"] in getattr(encoder, "relative_", {}):
            raise LookalikeError(f"fairness: target '{spec['target']}' is learned relative to "
                                 f"'{encoder.relative_[spec['target']]}'; fair sampling needs it learned on its "
                                 "own (declare the schema without that rule)")
        self.group = list(encoder.group_of(spec["target"]))
        self.column = self.group[0]
        self.sensitive_columns = [encoder.group_of(s)[0] for s in spec["sensitive"]]
        self.sensitive_cards = [int(encoder.cardinalities_[j]) for j in self.sensitive_columns]
        self.given = [j for j in range(len(encoder.cardinalities_)) if j not in self.group]
        self.numeric = schema[spec["target"]].kind == Kind.NUMERIC
        self.null_token = encoder.null_tokens().get(self.column) if self.numeric else None

    # -- the reference: what the pooled population and each group look like under the generator --------
    def fit(self, model, reference: np.ndarray, blocked=(), draw=None) -> "FairTarget":
        """``reference``: REFERENCE_ROWS rows the generator sampled; ``draw(rows, i)``: the i-th further batch
        of its rows (another seed), for the per-group references of small groups (GROUP_REFERENCE_ROWS)."""
        probs = self._token_probs(model, reference, blocked)
        self.class_of_token_ = self._classes(probs.mean(axis=0), blocked)
        self.n_classes_ = int(self.class_of_token_.max()) + 1
        p = self._class_probs(probs)
        self.shares_ = p.mean(axis=0)
        self.ordered_ = self.numeric or self.n_classes_ == 2
        keys = self._keys(reference)
        self.groups_reference_ = {}
        if self.ordered_:
            score = self._score(p)
            order = np.argsort(score, kind="stable")
            self.pooled_scores_, self.pooled_probs_ = score[order], p[order]
            scores, all_keys = [score], [keys]
            for i, rows in enumerate(self._more_rows(keys) if draw is not None else []):
                more = draw(rows, i)
                scores.append(self._score(self._class_probs(self._token_probs(model, more, blocked))))
                all_keys.append(self._keys(more))
            score, keys = np.concatenate(scores), np.concatenate(all_keys)
            by_group = np.argsort(keys, kind="stable")  # one pass, not one scan of every row per group
            groups, starts, counts = np.unique(keys[by_group], return_index=True, return_counts=True)
            for key, start, count in zip(groups, starts, counts):
                if count >= MIN_REFERENCE_GROUP:
                    self.groups_reference_[int(key)] = np.sort(score[by_group[start:start + count]])
        self.reference_group_rows_ = {int(k): int(c) for k, c in zip(*np.unique(keys, return_counts=True))}
        if len(self.group) > 1:  # the finer sub-columns of each value token, as the generator draws them overall
            order = np.argsort(reference[:, self.column], kind="stable")
            self.sub_tokens_ = reference[order][:, self.group[1:]]
            self.sub_start_ = np.searchsorted(reference[order, self.column], np.arange(probs.shape[1] + 1))
        return self

    @staticmethod
    def _more_rows(keys: np.ndarray) -> list[int]:
        """Batch sizes of the further reference rows: enough for GROUP_REFERENCE_ROWS in the smallest group
        that has MIN_REFERENCE_GROUP rows in the first reference, MAX_REFERENCE_ROWS in all at most."""
        counts = np.unique(keys, return_counts=True)[1]
        counts = counts[counts >= MIN_REFERENCE_GROUP]
        if len(counts) < 2 or counts.min() >= GROUP_REFERENCE_ROWS:
            return []
        wanted = min(MAX_REFERENCE_ROWS, int(np.ceil(GROUP_REFERENCE_ROWS * len(keys) / counts.min())))
        extra = max(wanted - len(keys), 0)
        return [min(REFERENCE_ROWS, extra - i) for i in range(0, extra, REFERENCE_ROWS)]

    def _token_probs(self, model, tokens, blocked) -> np.ndarray:
        if not hasattr(model, "predict_proba"):
            raise LookalikeError(f"fairness needs a generator that gives the target's conditional distribution "
                                 f"(model='argn'); '{getattr(model, 'name', type(model).__name__)}' does not")
        probs = model.predict_proba(tokens, self.column, self.given)
        if len(blocked):
            probs[:, list(blocked)] = 0.0
        total = probs.sum(axis=1, keepdims=True)
        return np.divide(probs, total, out=np.full_like(probs, 1.0 / probs.shape[1]), where=total > 0)

    def _classes(self, mass: np.ndarray, blocked) -> np.ndarray:
        """Token -> class: the token itself for a categorical target; for a numeric one, 'missing' (when the
        column has missing values) and the value-ordered tokens, each its own class or (``bins``) merged into
        runs of about equal mass."""
        tokens = np.arange(len(mass))
        if not self.numeric:
            return tokens
        classes = np.zeros(len(mass), dtype=np.int64)
        values = tokens[tokens != self.null_token] if self.null_token is not None else tokens
        w = mass[values] / max(mass[values].sum(), 1e-12)
        mid = np.cumsum(w) - w / 2
        q = self.spec["bins"]
        bins = np.arange(len(values)) if q is None else np.minimum((mid * q).astype(np.int64), q - 1)
        bins = np.unique(bins, return_inverse=True)[1].reshape(-1)  # no empty class
        offset = 1 if self.null_token is not None else 0
        classes[values] = bins + offset
        return classes

    def _class_probs(self, probs: np.ndarray) -> np.ndarray:
        out = np.zeros((len(probs), int(self.class_of_token_.max()) + 1))
        np.add.at(out.T, self.class_of_token_, probs.T)
        return out

    def _score(self, p: np.ndarray) -> np.ndarray:
        if self.n_classes_ == 2 and not self.numeric:
            return p[:, 1]
        return p @ np.arange(p.shape[1], dtype=float)  # ordered classes: the expected class

    def _keys(self, tokens: np.ndarray) -> np.ndarray:
        key = np.zeros(len(tokens), dtype=np.int64)
        for j, card in zip(self.sensitive_columns, self.sensitive_cards):
            key = key * card + tokens[:, j]
        return key

    # -- sampling --------------------------------------------------------------------------------------
    def apply(self, model, tokens: np.ndarray, seed: int, fixed: np.ndarray | None, blocked=(),
              redraw=None) -> np.ndarray:
        """``tokens`` with the target redrawn fairly in every row whose target is not fixed. ``redraw(fixed,
        seed)`` samples the target's other sub-columns given the rest of the row (numeric targets)."""
        tokens = tokens.copy()
        free = np.ones(len(tokens), dtype=bool) if fixed is None else fixed[:, self.column] < 0
        rows = np.flatnonzero(free)
        if not len(rows):
            return tokens
        rng = np.random.default_rng([int(seed) % 2**63, 20211])
        part = tokens[rows]
        probs = self._token_probs(model, part, blocked)
        p = self._class_probs(probs)
        keys = self._keys(part)
        aligned = self._align(p, keys, rng) if self.ordered_ else p
        classes = np.empty(len(rows), dtype=np.int64)
        for key in np.unique(keys):
            members = np.flatnonzero(keys == key)
            classes[members] = draw_with_shares(aligned[members], self.shares_, rng)
        # the target's token: the class itself, or a token of the class drawn from the row's own distribution
        within = probs * (self.class_of_token_[None, :] == classes[:, None])
        empty = within.sum(axis=1) == 0
        if empty.any():  # the row gives its class no mass: the class's overall token mix
            share = np.where(self.class_of_token_[None, :] == classes[empty, None], probs.mean(axis=0), 0.0)
            within[empty] = share + (share.sum(axis=1, keepdims=True) == 0) * (self.class_of_token_ == classes[
                empty, None])
        cdf = np.cumsum(within, axis=1)
        u = rng.random(len(rows)) * cdf[:, -1]
        new = np.minimum((cdf < u[:, None]).sum(axis=1), within.shape[1] - 1)
        part[:, self.column] = new
        if len(self.group) > 1:
            part = self._fill_sub_tokens(part, rng, redraw)
        tokens[rows] = part
        return tokens

    def _fill_sub_tokens(self, part: np.ndarray, rng: np.random.Generator, redraw) -> np.ndarray:
        """A numeric target's finer sub-columns (the position inside its bin, the rounding unit) copied from a
        random reference row with the same value token: drawn as the generator draws them over all rows, not
        given this row, so inside a bin the value does not follow the group either and the share above a
        threshold that falls inside a bin is equal across groups too (in expectation). A token the reference
        never drew gets them from ``redraw`` given the row."""
        token = part[:, self.column]
        bounds = getattr(self, "sub_start_", None)  # None in a model file written before this was added
        start, stop = (bounds[token], bounds[token + 1]) if bounds is not None else (token * 0, token * 0)
        seen = stop > start
        pick = start[seen] + (rng.random(int(seen.sum())) * (stop[seen] - start[seen])).astype(np.int64)
        part[np.ix_(np.flatnonzero(seen), self.group[1:])] = self.sub_tokens_[pick]
        if (~seen).any() and redraw is not None:
            ask = part[~seen].copy()
            ask[:, self.group[1:]] = -1
            part[~seen] = redraw(ask, int(rng.integers(2**31)))
        return part

    def _align(self, p: np.ndarray, keys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Each row's conditional distribution replaced by the pooled one at the row's within-group rank."""
        u = self._ranks(self._score(p), keys, rng.random(len(p)))
        n_ref = len(self.pooled_scores_)
        idx = np.clip((u * n_ref).astype(np.int64), 0, n_ref - 1)
        return self.pooled_probs_[idx]

    def _ranks(self, score: np.ndarray, keys: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Rank in (0, 1) of each score in its group's reference (ties broken by ``v`` in [0, 1))."""
        u = np.empty(len(score))
        for key in np.unique(keys):
            members = np.flatnonzero(keys == key)
            ref = self.groups_reference_.get(int(key), self.pooled_scores_)
            lo = np.searchsorted(ref, score[members], side="left")
            hi = np.searchsorted(ref, score[members], side="right")
            u[members] = (lo + v[members] * (hi - lo + 1)) / (len(ref) + 1)
        return u

    def group_ranks(self, model, tokens: np.ndarray, blocked=()) -> np.ndarray:
        """Each encoded row's rank within its group's reference (ties at their middle). Rows drawn by the generator rank uniformly in every group; real rows show how far the generator's
        rows of a group differ from the real ones in what predicts the target, the difference that quantile
        alignment cannot see and that a classifier trained on the fair rows carries to real rows."""
        if not self.ordered_:
            raise LookalikeError("fairness: group ranks exist only for aligned targets (two classes or numeric)")
        score = self._score(self._class_probs(self._token_probs(model, tokens, blocked)))
        return self._ranks(score, self._keys(tokens), np.full(len(tokens), 0.5))

    def describe(self) -> dict:
        """What the fitted reference says (for the report and the model file's readers)."""
        return {"target": self.spec["target"], "sensitive": self.spec["sensitive"], "mode": self.spec["mode"],
                "classes": int(self.n_classes_), "aligned": bool(self.ordered_),
                "shares": [float(s) for s in self.shares_],
                "numeric_bins": self.spec["bins"] if self.numeric else None}


def draw_with_shares(p: np.ndarray, shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One class per row, with exactly ``shares * rows`` rows per class and each row's chance of a class as
    close to its ``p`` row as those counts allow. The counts are rounded on the cumulative scale, to the
    nearest whole row: the number of rows in classes ``0..k`` is ``round(cumsum(shares)[k] * rows)`` for every
    k, so every group is as close to the overall share above any class boundary as its row count allows
    (random rounding can miss a threshold by up to a whole row: 0.043 in a 23-row group).

    Classes are assigned one after another: class k goes to exactly its count of the rows still unassigned,
    each with probability ``p[:, k] / p[:, k:].sum()`` shifted on the logit scale so the chances add up to the
    count, by systematic sampling in a random order (every row's chance is exactly its probability)."""
    m, n_classes = p.shape
    cum = np.floor(np.cumsum(shares) / shares.sum() * m + 0.5)
    cum[-1] = m
    counts = np.diff(np.concatenate([[0.0], np.clip(cum, 0, m)])).astype(np.int64)
    out = np.full(m, n_classes - 1, dtype=np.int64)
    left = np.arange(m)
    for k in range(n_classes - 1):
        c = int(counts[k])
        if not len(left):
            break
        if c <= 0:
            continue
        if c >= len(left):
            out[left] = k
            left = left[:0]
            break
        rest = p[left, k:].sum(axis=1)
        q = np.divide(p[left, k], rest, out=np.full(len(left), 0.5), where=rest > 0)
        chosen = _systematic(_shift_to_sum(q, c), c, rng)
        out[left[chosen]] = k
        left = left[~chosen]
    return out


def _shift_to_sum(q: np.ndarray, total: int) -> np.ndarray:
    """``q`` moved by one logit shift so that its sum is ``total`` (bisection; q clipped away from 0 and 1)."""
    z = np.log(np.clip(q, 1e-9, 1 - 1e-9)) - np.log1p(-np.clip(q, 1e-9, 1 - 1e-9))
    lo, hi = -60.0, 60.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(z + mid)))).sum() < total:
            lo = mid
        else:
            hi = mid
    return 1 / (1 + np.exp(-(z + (lo + hi) / 2)))


def _systematic(pi: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly ``total`` rows, row i included with probability ``pi[i]`` (systematic sampling, random order)."""
    order = rng.permutation(len(pi))
    cum = np.cumsum(pi[order])
    cum *= total / cum[-1]
    start = rng.random()
    hits = np.floor(cum - start + 1e-12) - np.floor(np.concatenate([[0.0], cum[:-1]]) - start + 1e-12)
    chosen = np.zeros(len(pi), dtype=bool)
    chosen[order[hits > 0]] = True
    if chosen.sum() != total:  # float edge: fix the count by the largest remaining chances
        gap = total - int(chosen.sum())
        pool = np.flatnonzero(~chosen if gap > 0 else chosen)
        pick = pool[np.argsort(-pi[pool] if gap > 0 else pi[pool], kind="stable")[:abs(gap)]]
        chosen[pick] = gap > 0
    return chosen
