"""New values for the long tail of a categorical column (``rare: generate``), never equal to a real one.

The problem. Value protection never writes a category seen in fewer than k rows. With ``rare: generate`` the
model learns one "rare" token for all of them (so the tail keeps its share and its relation to the other
columns), and decoding must turn that token into a value that looks like the column's values and is never a
real rare value. But the model file may not store the real rare values, nor a filter or hash of them: anyone
holding the file could then test whether a given value was in the training data (a membership oracle).

The design: a pool of fresh values, built while the data is at hand.

1. *Generators that only know what k rows share.* Word-like values (job titles, product names, cities): a
   chain of words where every step (start -> first word, word -> next word, last word -> end) was seen in at
   least k rare rows, so each new title is made of word pairs at least k rows share. Code-like values
   (postcodes, SKUs): the existing shape machinery of ``categorical`` (a shape, prefix and per-position
   characters each seen in >= k rows). Nothing a single row owns can come out.
2. *A candidate stream nobody can replay.* Candidates are drawn from a random generator seeded with a
   SHA-256 digest of the whole column (every distinct value and its count) and the Synthesizer's seed. The
   digest is not stored. Someone holding the model file but not the data cannot rerun the stream, so the
   pool does not show which candidates were dropped in step 3. (The same data and seed give the same pool:
   fitting stays reproducible, and statistics merged from partitions give the same digest as the whole.)
3. *Every real value removed.* A candidate equal to any value of the column -- rare or frequent, compared
   after case-folding and collapsing spaces -- is dropped, as are duplicates. What remains is stored, sorted,
   and decoding draws from it. So no output value is ever a real one, by construction, not by chance.
4. *No "expected but absent" gaps.* Step 3 leaves a subtler trace: if the generator would draw some value v
   so often that v should be in the pool, and v is missing, v was probably real. So a candidate is also
   dropped, whether real or not, when its probability under the generator is above ``EPSILON / DRAWS``
   (DRAWS: the number of candidates drawn). This rule depends on the k-protected generator only, never on
   which values are real. For every value that passes it, the chance it would have entered the pool had it
   not been real is at most EPSILON (0.1): the pool changes the odds that any given value was in the data
   by a factor of at most 1 / (1 - EPSILON) ~ 1.11. A value present in the pool is certainly not real;
   that much any output of ``generate`` says by definition (it promises never to write a real rare value).

What it costs. Generators with little variety (few words, or every combination of a short list) cannot
pass step 4; the column then writes the placeholder for its tail instead (see ``categorical``), which still
keeps the tail's share. The residual risk: an adversary who knows every other value of the column exactly,
and its count, can recompute the digest for each guess of the last value and compare pools -- the same
adversary learns as much from the kept categories' weights. Using Faker's providers for known kinds (job,
company, city) was considered and rejected: their lists are short (about 600 jobs), so nearly every entry
fails step 4 and, without it, the missing entries of a pool would name the real ones; their values also do
not share the column's vocabulary or language.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

from lookalike.encoding.identifiers import _CLASSES

DRAWS = 4000  # candidates drawn per pool
EPSILON = 0.1  # at most this chance that a value not in the data would have been in the pool
MIN_POOL = 20  # fewer fresh values than this: the tail is written as the placeholder instead
MAX_WORDS = 12
START, END = "\x02", "\x03"
_SPACES = re.compile(r"\s+")


def normal_form(value) -> str:
    """What "equal" means when candidates are checked against real values: case and spacing ignored."""
    return _SPACES.sub(" ", str(value)).strip().casefold()


def column_digest(counts: pd.Series, n_null: int, seed: int = 0) -> int:
    """A 64-bit seed from every distinct value of the column and its count (order-free), plus ``seed``.

    Computed at fit time from ``analyse``'s statistics and never stored: the pool's candidate stream cannot
    be replayed without the data."""
    h = hashlib.sha256()
    h.update(f"{int(seed)}|{int(n_null)}|".encode())
    items = sorted((f"{type(v).__name__}:{v}", int(c)) for v, c in counts.items())
    for value, count in items:
        h.update(value.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
        h.update(str(count).encode())
        h.update(b"\x01")
    return int.from_bytes(h.digest()[:8], "little")


class WordChain:
    """Words chained by transitions each seen in >= k rows (start and end included), weighted by rows."""

    def __init__(self, rare: pd.Series, k: int):
        counts: dict[tuple[str, str], int] = {}
        for value, count in rare.items():
            words = str(value).split()
            if not words or len(words) > MAX_WORDS:
                continue
            for step in set(zip([START] + words, words + [END])):  # a row counts once per transition
                counts[step] = counts.get(step, 0) + int(count)
        self._build(counts, k)

    @classmethod
    def from_step_counts(cls, counts: dict[tuple[str, str], int], k: int) -> "WordChain":
        """A chain from transitions the caller counted itself: free text counts a step once per row (or
        conversation) using it, since one row may hold several rare words that share their letters."""
        chain = cls.__new__(cls)
        chain._build(counts, k)
        return chain

    def _build(self, counts: dict[tuple[str, str], int], k: int) -> None:
        rows: dict[str, dict[str, int]] = {}
        for (a, b), c in counts.items():
            rows.setdefault(a, {})[b] = c
        self.next_: dict[str, tuple[list[str], np.ndarray]] = {}
        for a, nxt in rows.items():
            kept = sorted((b, c) for b, c in nxt.items() if c >= k)
            if kept:
                w = np.array([c for _, c in kept], dtype=float)
                self.next_[a] = ([b for b, _ in kept], w / w.sum())

    @property
    def empty(self) -> bool:
        return START not in self.next_

    def draw(self, rng: np.random.Generator) -> tuple[str | None, float]:
        """One walk from start to end: (value, its probability), or (None, 0) for a dead end."""
        word, p, words = START, 1.0, []
        for _ in range(MAX_WORDS + 1):
            if word not in self.next_:
                return None, 0.0
            options, probs = self.next_[word]
            i = int(rng.choice(len(options), p=probs))
            word, p = options[i], p * float(probs[i])
            if word == END:
                return (" ".join(words), p) if words else (None, 0.0)
            words.append(word)
        return None, 0.0


class ShapeDraw:
    """Fresh codes of one learned shape (its prefixes and per-position characters seen in >= k rows)."""

    def __init__(self, spec: dict):
        self.shape = spec["shape"]
        prefixes = spec.get("prefixes") or [["", 1]]
        w = np.array([c for _, c in prefixes], dtype=float)
        self.prefixes, self.prefix_p = [p for p, _ in prefixes], w / w.sum()
        self.pools = [(spec["chars"][pos] or _CLASSES.get(cls, cls)) for pos, cls in enumerate(self.shape)]

    def draw(self, rng: np.random.Generator) -> tuple[str, float]:
        i = int(rng.choice(len(self.prefixes), p=self.prefix_p))
        prefix = self.prefixes[i]
        chars = [pool[int(rng.integers(len(pool)))] for pool in self.pools]
        code = prefix + "".join(chars)[len(prefix):]
        return code, self.probability(code)

    def probability(self, code: str) -> float:
        """Chance that one draw gives ``code`` (summed over the prefixes it starts with)."""
        total = 0.0
        for prefix, pp in zip(self.prefixes, self.prefix_p):
            if not code.startswith(prefix):
                continue
            p = float(pp)
            for pos in range(len(prefix), len(self.shape)):
                pool = self.pools[pos]
                p *= (1.0 / len(pool)) if code[pos] in pool else 0.0
            total += p
        return total


def build_pool(generator, real: set[str], seed: int, draws: int = DRAWS, epsilon: float = EPSILON) -> list[str]:
    """Distinct fresh values: ``draws`` candidates from ``generator`` (seeded by ``seed``, the column digest),
    minus every candidate equal to a real value (``real`` holds their ``normal_form``) and every candidate
    too likely to be drawn (probability above ``epsilon / draws``, see the module docstring). Sorted."""
    rng = np.random.default_rng(seed)
    cap = epsilon / draws
    pool: set[str] = set()
    for _ in range(draws):
        value, p = generator.draw(rng)
        if value is None or p > cap or normal_form(value) in real:
            continue
        pool.add(value)
    return sorted(pool)
