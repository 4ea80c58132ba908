"""Categories (and booleans) as tokens; categories seen in fewer than k rows never appear verbatim.

Code-like columns (product codes, postcodes, plates: short strings with digits or capitals, many of them
rare) would lose their look if every rare code became a frequent one. For them the rare codes are kept as
*shapes* ('AB1 2CD' -> 'AA9 9AA'): each shape seen in at least k rare rows gets its own token, so a model
learns which shape goes with which other columns, and decoding writes a fresh random code of that shape,
starting with one of the prefixes seen in at least k rows and using at each position the characters seen
there in at least k rows. A fresh code never equals a kept category. It can equal a rare real code by chance:
the model file keeps nothing about the rare codes beyond what at least k rows share (shape, prefix,
per-position characters), so it cannot be checked against them, and storing them (even as a filter) would
let anyone holding the model test whether a given code was in the training data.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lookalike.encoding.base import FitByAnalysis, Stats, value_counts
from lookalike.encoding.identifiers import _CLASSES, shape_of

RARE = "__rare__"
CODE = re.compile(
    r"^(?=.*\d)\S+( \S+)?$"  # a digit, at most one space: 'SKU-00123', 'AB1 2CD', '01067'
    r"|^[A-Z]{2,4}$"  # short capitals: 'JFK', 'EGLL'
    r"|^[A-Z0-9]+[-_./#:][A-Z0-9_./#:-]+$"  # capitals with separators: 'AB-CD'
)
MAX_CODE_LENGTH = 32


class CategoricalCodec(FitByAnalysis):
    """Tokens: [missing], one per category seen in >= k rows (most frequent first), [rare], one per kept shape.

    The rare token stands for every protected category whose shape is not kept; decoding replaces it with
    a kept category drawn by frequency, so no rare value can leak and no placeholder string reaches the user.
    ``seed`` and ``name`` are kept for old model files; they no longer change anything.
    """

    def __init__(self, k: int = 5, shapes: bool = True, min_code_share: float = 0.9, seed: int = 0,
                 name: str = ""):
        self.k = int(k)
        self.shapes = shapes
        self.min_code_share = min_code_share
        self.seed = seed
        self.name = name

    def analyse(self, s: pd.Series) -> Stats:
        return {"n_null": int(s.isna().sum()), "values": value_counts(s)}

    def reduce(self, stats: Stats) -> "CategoricalCodec":
        """Categories seen in >= k rows, most frequent first; the rest become the rare token or shapes."""
        counts = stats["values"]
        counts = counts.iloc[np.argsort(-counts.to_numpy(), kind="stable")]
        kept = counts[counts >= self.k]
        self.categories_ = [_plain(v) for v in kept.index]
        self.weights_ = (kept.to_numpy(float) / max(kept.sum(), 1)).tolist()
        self.has_null_ = bool(stats["n_null"] > 0)
        rare = counts[counts < self.k]
        self.shapes_: list[dict] = []
        if self.shapes and len(rare) >= self.k and self._code_like(rare):
            self._fit_shapes(rare)
        shaped = {v for v in rare.index if isinstance(v, str) and shape_of(v) in self._shape_index}
        self.has_rare_ = bool(len(rare) > len(shaped))
        # under DP (privacy.dp.privatise) unreleased categories may hold most rows: the generator must be free
        # to emit the rare token then, or every row would take the few released categories
        self.rare_free_ = bool(stats.get("rare_free", False))
        return self

    def _code_like(self, rare: pd.Series) -> bool:
        """Rare values that read as codes, in most rare rows (words and names keep the old handling)."""
        values = pd.Series(rare.index)
        if not values.map(lambda v: isinstance(v, str)).all():
            return False
        code = values.str.len().le(MAX_CODE_LENGTH) & values.str.match(CODE)
        rows = rare.to_numpy(float)
        return bool(rows[code.to_numpy()].sum() >= self.min_code_share * rows.sum())

    def _fit_shapes(self, rare: pd.Series) -> None:
        """Per shape seen in >= k rare rows: its weight, prefixes and per-position characters (each >= k rows)."""
        threshold = max(self.k, 2)
        by_shape: dict[str, list[tuple[str, int]]] = {}
        for value, count in rare.items():
            if len(value) > MAX_CODE_LENGTH or not CODE.match(value):
                continue  # a stray word among codes stays a plain rare value
            by_shape.setdefault(shape_of(value), []).append((value, int(count)))
        total = sum(int(c) for c in rare)
        for shape, items in sorted(by_shape.items(), key=lambda kv: -sum(c for _, c in kv[1])):
            rows = sum(c for _, c in items)
            if rows < threshold:
                continue
            self.shapes_.append({"shape": shape, "weight": rows / total,
                                 "prefixes": _prefixes(items, shape, threshold),
                                 "chars": _position_chars(items, shape, threshold)})

    @property
    def _shape_index(self) -> dict[str, int]:
        return {d["shape"]: i for i, d in enumerate(self.shapes_)}

    @property
    def cardinalities(self) -> list[int]:
        return [int(self.has_null_) + len(self.categories_) + int(self.has_rare_) + len(self.shapes_)]

    @property
    def null_token(self) -> int | None:
        return 0 if self.has_null_ else None

    @property
    def blocked_tokens(self) -> list[int]:
        """The rare token must not be generated while a frequent category can stand in for it."""
        if getattr(self, "rare_free_", False):
            return []
        return [self.rare_token] if self.rare_token is not None and self.cardinalities[0] > 1 else []

    def labels(self) -> tuple[list, list[float]]:
        """The categories a user may ask for (seen in >= k rows) and their shares among them."""
        return list(self.categories_), list(self.weights_)

    def tokens_of(self, values) -> np.ndarray:
        """The token of each given category (callers check first that every value is a known one)."""
        offset = int(self.has_null_)
        names = [str(c) for c in self.categories_]
        return np.array([offset + names.index(str(v)) for v in values], dtype=np.int64)

    @property
    def rare_token(self) -> int | None:
        """The token that decodes to a frequent category; shape tokens are not rare tokens."""
        return int(self.has_null_) + len(self.categories_) if self.has_rare_ else None

    @property
    def _first_shape_token(self) -> int:
        return int(self.has_null_) + len(self.categories_) + int(self.has_rare_)

    def encode(self, s: pd.Series) -> np.ndarray:
        offset = int(self.has_null_)
        lookup = {c: i + offset for i, c in enumerate(self.categories_)}
        fallback = self.rare_token if self.has_rare_ else offset
        shape_token = {shape: self._first_shape_token + i for shape, i in self._shape_index.items()}

        def token(v):
            v = _plain(v)
            t = lookup.get(v)
            if t is None:
                t = shape_token.get(shape_of(v), fallback) if shape_token and isinstance(v, str) else fallback
            return t

        codes = np.array([token(v) for v in s.to_numpy(object)], dtype=np.int64)
        if self.has_null_:
            codes[s.isna().to_numpy()] = 0
        return codes[:, None]

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        t = np.asarray(tokens)[:, 0].astype(np.int64)
        offset = int(self.has_null_)
        values = np.empty(len(t), dtype=object)
        values[:] = None
        cats = np.empty(len(self.categories_), dtype=object)
        cats[:] = self.categories_
        is_cat = (t >= offset) & (t < offset + len(self.categories_))
        values[is_cat] = cats[t[is_cat] - offset]
        first_shape = self._first_shape_token
        for i in range(len(self.shapes_)):
            rows = np.flatnonzero(t == first_shape + i)
            if len(rows):
                fresh = np.empty(len(rows), dtype=object)
                fresh[:] = self._fresh_codes(self.shapes_[i], len(rows), rng)
                values[rows] = fresh
        rare = ~is_cat & (t >= offset) & pd.isna(values)
        if rare.any() and len(cats):
            values[rare] = cats[rng.choice(len(cats), size=int(rare.sum()), p=np.asarray(self.weights_))]
        return pd.Series(values, dtype=object)

    def _fresh_codes(self, spec: dict, m: int, rng: np.random.Generator, tries: int = 40) -> list:
        """Random codes of the shape that are not kept categories.

        Drawn all at once; the few that collide are redrawn, late tries without the prefix and the learned
        per-position characters (their space may be exhausted). ``None`` where every try collided: the
        caller then draws a frequent category.
        """
        shape, prefixes = spec["shape"], spec["prefixes"]
        known = set(self.categories_)
        out: list = [None] * m
        todo = np.arange(m)
        for attempt in range(tries):
            if not len(todo):
                break
            narrow = attempt < tries // 2
            chosen = [""] * len(todo)
            if prefixes and narrow:
                w = np.array([c for _, c in prefixes], dtype=float)
                chosen = [prefixes[i][0] for i in rng.choice(len(prefixes), size=len(todo), p=w / w.sum())]
            columns = []
            for pos, cls in enumerate(shape):
                pool = (spec["chars"][pos] if narrow else "") or _CLASSES.get(cls, cls)
                columns.append(np.asarray(list(pool), dtype=object)[rng.integers(len(pool), size=len(todo))])
            drawn = ["".join(row) for row in zip(*columns)] if columns else [""] * len(todo)
            failed = []
            for j, (prefix, code) in enumerate(zip(chosen, drawn)):
                code = prefix + code[len(prefix):]
                if code in known:
                    failed.append(todo[j])
                else:
                    out[todo[j]] = code
            todo = np.asarray(failed, dtype=np.int64)
        return out

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"k": self.k, "categories": self.categories_, "weights": self.weights_,
             "has_null": self.has_null_, "has_rare": self.has_rare_, "shapes": self.shapes_,
             "rare_free": getattr(self, "rare_free_", False),
             "shape_options": {"shapes": self.shapes, "min_code_share": self.min_code_share,
                               "seed": self.seed, "name": self.name}}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CategoricalCodec":
        c = cls(k=d["k"], **d.get("shape_options", {}))
        c.categories_, c.weights_ = list(d["categories"]), list(d["weights"])
        c.has_null_, c.has_rare_ = d["has_null"], d["has_rare"]
        c.rare_free_ = bool(d.get("rare_free", False))
        c.shapes_ = list(d.get("shapes", []))
        return c


def _prefixes(items: list[tuple[str, int]], shape: str, threshold: int) -> list[list]:
    """[prefix, rows] for the longest prefixes shared by >= threshold rows (longest first, greedily).

    A prefix covers at most half of the code, so a fresh code keeps enough random characters to be new.
    Rows left without a prefix get the empty one, drawn with their share.
    """
    max_len = (len(shape) + 1) // 2
    left = list(items)
    out: list[list] = []
    for length in range(max_len, 0, -1):
        counts: dict[str, int] = {}
        for v, c in left:
            counts[v[:length]] = counts.get(v[:length], 0) + c
        frequent = {p for p, c in counts.items() if c >= threshold}
        if not frequent:
            continue
        out.extend([p, counts[p]] for p in sorted(frequent))
        left = [(v, c) for v, c in left if v[:length] not in frequent]
    if out:
        rest = sum(c for _, c in left)
        if rest:
            out.append(["", rest])
    return out


def _position_chars(items: list[tuple[str, int]], shape: str, threshold: int) -> list[str]:
    """Per position, the characters seen there in >= threshold rows ('' = any of the class)."""
    out = []
    for pos, cls in enumerate(shape):
        if cls not in _CLASSES:
            out.append("")
            continue
        counts: dict[str, int] = {}
        for v, c in items:
            counts[v[pos]] = counts.get(v[pos], 0) + c
        out.append("".join(sorted(ch for ch, c in counts.items() if c >= threshold)))
    return out


def _plain(v):
    """numpy scalars -> Python scalars, so categories survive JSON and compare equal after loading."""
    return v.item() if isinstance(v, np.generic) else v
