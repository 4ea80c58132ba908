"""Categories (and booleans) as tokens; categories seen in fewer than k rows never appear verbatim.

Code-like columns (product codes, postcodes, plates: short strings with digits or capitals, many of them
rare) would lose their look if every rare code became a frequent one. For them the rare codes are kept as
*shapes* ('AB1 2CD' -> 'AA9 9AA'): each shape seen in at least k rare rows gets its own token, so a model
learns which shape goes with which other columns, and decoding writes a fresh random code of that shape,
starting with one of the prefixes seen in at least k rows and using at each position the characters seen
there in at least k rows. Fresh codes are drawn from a pool built at fit time from which every real value
was removed (``lookalike.encoding.tail``), so a fresh code never equals a real one, rare or kept; the model
file stores no real rare code, nor a filter or hash of them (that would let anyone holding the model test
whether a given code was in the training data).

What the rare rows become is the column's ``rare`` choice:

- ``generate`` (the product's default): the rare token is learned and sampled like any category, so the tail
  keeps its share and its relation to the other columns, and decodes to a fresh value drawn from a pool built
  at fit time that holds no real value (``lookalike.encoding.tail`` explains the pool and why the model file
  is no membership oracle). Shape tokens draw from such pools too. Where no pool of at least ``MIN_POOL``
  values can be built (too few words or characters shared by k rows), the tail is written as the placeholder
  when it holds at least 1% of the rows (``MIN_TAIL_SHARE``), else handled as ``drop`` (its rows go to kept
  categories, which moves each category's share by less than 0.01). Columns of numbers are always ``drop``.
- ``placeholder``: the rare token is sampled and decodes to one string, ``placeholder`` ("(other)").
- ``drop`` (the codec's default, for old model files): the rare token is never generated; the tail's rows
  go to the kept categories by frequency, and code-like tails to fresh codes of a kept shape from its pool.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lookalike.encoding import tail
from lookalike.encoding.base import FitByAnalysis, Stats, value_counts
from lookalike.encoding.identifiers import _CLASSES, shape_of
from lookalike.errors import LookalikeError

RARE = "__rare__"
CODE = re.compile(
    r"^(?=.*\d)\S+( \S+)?$"  # a digit, at most one space: 'SKU-00123', 'AB1 2CD', '01067'
    r"|^[A-Z]{2,4}$"  # short capitals: 'JFK', 'EGLL'
    r"|^[A-Z0-9]+[-_./#:][A-Z0-9_./#:-]+$"  # capitals with separators: 'AB-CD'
)
MAX_CODE_LENGTH = 32
RARE_CHOICES = ("generate", "placeholder", "drop")
PLACEHOLDER = "(other)"
MIN_TAIL_SHARE = 0.01  # generate without fresh values: a smaller tail is spread over the kept categories


class CategoricalCodec(FitByAnalysis):
    """Tokens: [missing], one per category seen in >= k rows (most frequent first), [rare], one per kept shape.

    The rare token stands for every protected category whose shape is not kept; what it decodes to is the
    ``rare`` choice (see the module docstring). ``seed`` changes the pools of ``generate`` (with the data's
    digest); ``name`` is kept for old model files.
    """

    def __init__(self, k: int = 5, shapes: bool = True, min_code_share: float = 0.9, seed: int = 0,
                 name: str = "", rare: str = "drop", placeholder: str = PLACEHOLDER):
        if rare not in RARE_CHOICES:
            raise LookalikeError(f"column '{name}': rare must be one of {', '.join(RARE_CHOICES)}, got {rare!r}")
        self.k = int(k)
        self.shapes = shapes
        self.min_code_share = min_code_share
        self.seed = seed
        self.name = name
        self.rare = rare
        self.placeholder = str(placeholder)

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
        # under DP the values are the released categories only: whether the column holds text comes from its
        # public dtype (``text`` in the statistics), not from values no mechanism released
        text = stats.get("text", bool(len(counts)) and all(isinstance(v, str) for v in counts.index))
        mode = self.rare if text or self.rare == "drop" else "drop"  # numbers: no words, no placeholder
        # under DP (privacy.dp.privatise) unreleased categories may hold most rows: the generator must be free
        # to emit the rare token then, or every row would take the few released categories. Shapes and pools
        # would read values no mechanism released, so a text column's tail is written as the placeholder
        # (rare 'generate' or 'placeholder': a state column of which no state was released comes back as
        # "(other)", not as missing values nor as the released states, whose shares that would inflate);
        # with 'drop', in columns of numbers, and where the unreleased categories hold no more than noise
        # (``tail`` False), the tail's rows take released categories
        self.rare_free_ = bool(stats.get("rare_free", False))
        if self.rare_free_:
            mode = "placeholder" if mode != "drop" and stats.get("tail", True) and tail.normal_form(
                self.placeholder) not in {tail.normal_form(v) for v in counts.index} else "drop"
        self.shapes_: list[dict] = []
        if mode != "placeholder" and not self.rare_free_ and self.shapes and len(rare) >= self.k \
                and self._code_like(rare):
            self._fit_shapes(rare)
        real = seed = None
        if mode != "drop" or self.shapes_:
            real = {tail.normal_form(v) for v in counts.index}
            if mode == "placeholder" and tail.normal_form(self.placeholder) in real:
                raise LookalikeError(f"column '{self.name}': the rare placeholder {self.placeholder!r} is one of "
                                     f"the column's real values; choose another (schema option 'placeholder')")
            seed = tail.column_digest(stats["values"], stats["n_null"], self.seed)
        if self.shapes_:  # fresh codes from pools under every choice; a shape without one is dropped
            for i, spec in enumerate(self.shapes_):
                spec["pool"] = tail.build_pool(tail.ShapeDraw(spec), real, seed + i + 1)
            self.shapes_ = [spec for spec in self.shapes_ if len(spec["pool"]) >= tail.MIN_POOL]
        shaped = {v for v in rare.index if isinstance(v, str) and shape_of(v) in self._shape_index}
        self.has_rare_ = bool(len(rare) > len(shaped))
        self.pool_: list[str] = []
        if mode == "generate" and self.has_rare_:
            left = rare[[v not in shaped for v in rare.index]]
            chain = tail.WordChain(left, self.k)
            pool = [] if chain.empty else tail.build_pool(chain, real, seed)
            self.pool_ = pool if len(pool) >= tail.MIN_POOL else []
            if not self.pool_:  # nothing fresh to write: a tail worth keeping gets the placeholder
                share = float(left.sum()) / max(float(counts.sum()) + stats["n_null"], 1.0)
                big = share >= MIN_TAIL_SHARE and tail.normal_form(self.placeholder) not in real
                mode = "placeholder" if big else "drop"
        self.rare_mode_ = mode if self.has_rare_ or self.shapes_ else "drop"
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
        """With ``drop``, the rare token must not be generated while a frequent category can stand in for it."""
        if getattr(self, "rare_mode_", "drop") != "drop" or getattr(self, "rare_free_", False):
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
        """The token that stands for the tail (not shape tokens); it decodes as ``rare_mode_`` says."""
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
        for i, spec in enumerate(self.shapes_):
            rows = np.flatnonzero(t == first_shape + i)
            if len(rows):
                fresh = np.empty(len(rows), dtype=object)
                fresh[:] = (_draw(spec["pool"], len(rows), rng) if "pool" in spec
                            else self._fresh_codes(spec, len(rows), rng))
                values[rows] = fresh
        mode = getattr(self, "rare_mode_", "drop")
        if self.has_rare_ and mode != "drop":
            rows = np.flatnonzero(t == self.rare_token)
            if len(rows):
                fresh = np.empty(len(rows), dtype=object)
                fresh[:] = _draw(self.pool_, len(rows), rng) if mode == "generate" else self.placeholder
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
             "rare_mode": self.rare_mode_, "pool": self.pool_, "rare_free": getattr(self, "rare_free_", False),
             "shape_options": {"shapes": self.shapes, "min_code_share": self.min_code_share,
                               "seed": self.seed, "name": self.name, "rare": self.rare,
                               "placeholder": self.placeholder}}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CategoricalCodec":
        c = cls(k=d["k"], **d.get("shape_options", {}))
        c.categories_, c.weights_ = list(d["categories"]), list(d["weights"])
        c.has_null_, c.has_rare_ = d["has_null"], d["has_rare"]
        c.rare_free_ = bool(d.get("rare_free", False))
        c.shapes_ = list(d.get("shapes", []))
        c.rare_mode_, c.pool_ = d.get("rare_mode", "drop"), list(d.get("pool", []))
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


def _draw(pool: list, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` values drawn uniformly from a pool of fresh values."""
    out = np.empty(len(pool), dtype=object)
    out[:] = pool
    return out[rng.integers(len(pool), size=m)]


def _plain(v):
    """numpy scalars -> Python scalars, so categories survive JSON and compare equal after loading."""
    return v.item() if isinstance(v, np.generic) else v
