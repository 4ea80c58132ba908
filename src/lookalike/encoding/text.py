"""Free text: length is learned jointly with the other columns, wording from a protected word chain.

Only words used in at least k different rows, and word pairs seen in at least k rows, are ever emitted,
so a rare name or number inside a comment cannot leak. This keeps text plausible for tests and demos;
a language-model generator is the place for fluent text.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from lookalike.encoding.base import FitByAnalysis, Stats
from lookalike.encoding.numeric import NumericCodec

PAIR = "\x1f"  # joins the two words of a word pair in the pair counts (a control character no word contains)


class TextCodec(FitByAnalysis):
    def __init__(self, k: int = 5):
        self.k = int(k)

    def analyse(self, s: pd.Series) -> Stats:
        """Per word and per adjacent word pair, the number of rows holding it; first words; text lengths."""
        rows = [t.split() for t in s.dropna().astype(str)]
        words = Counter(w for ws in rows for w in set(ws))
        starts = Counter(ws[0] for ws in rows if ws)
        pairs = Counter(PAIR.join(p) for ws in rows for p in set(zip(ws, ws[1:])))
        lengths = s.astype("string").str.split().str.len().astype(float)
        as_series = lambda c: pd.Series(c, dtype=np.int64)  # noqa: E731
        return {"words": as_series(words), "starts": as_series(starts), "pairs": as_series(pairs),
                "length": self._length().analyse(lengths.to_numpy())}

    def reduce(self, stats: Stats) -> "TextCodec":
        """Only words used in >= k rows, and pairs and first words seen in >= k rows, are kept."""
        words = stats["words"]
        vocab = sorted(w for w, c in words.items() if c >= self.k)
        index = {w: i for i, w in enumerate(vocab)}
        self.vocab_ = vocab
        self.unigram_ = [int(words[w]) for w in vocab]
        self.starts_ = {w: int(c) for w, c in sorted(stats["starts"].items()) if c >= self.k and w in index}
        self.pairs_ = []
        for pair, c in sorted(stats["pairs"].items()):  # sorted: the same state however the counts were made
            a, b = pair.split(PAIR)
            if c >= self.k and a in index and b in index:
                self.pairs_.append([index[a], index[b], int(c)])
        self.length_ = self._length().reduce(stats["length"])
        return self

    def _length(self) -> NumericCodec:
        return NumericCodec(decimals=0, k=self.k, units=[1])

    @property
    def null_token(self) -> int | None:
        return self.length_.null_token

    @property
    def cardinalities(self) -> list[int]:
        return self.length_.cardinalities

    def encode(self, s: pd.Series) -> np.ndarray:
        lengths = s.astype("string").str.split().str.len().astype(float)
        return self.length_.encode(lengths.to_numpy())

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        lengths = self.length_.decode(tokens, rng)
        out = pd.Series([None] * len(lengths), dtype=object)
        if not self.vocab_:
            return out
        uni = np.asarray(self.unigram_, dtype=float)
        uni /= uni.sum()
        nxt: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if self.pairs_:
            p = np.asarray(self.pairs_)
            for a in np.unique(p[:, 0]):
                rows = p[p[:, 0] == a]
                nxt[int(a)] = (rows[:, 1], rows[:, 2] / rows[:, 2].sum())
        index = {w: i for i, w in enumerate(self.vocab_)}
        start_words = list(self.starts_) or self.vocab_
        start_w = np.asarray([self.starts_.get(w, 1) for w in start_words], dtype=float)
        start_w /= start_w.sum()
        for i, n_words in enumerate(lengths):
            if np.isnan(n_words):
                continue
            cur = index[start_words[rng.choice(len(start_words), p=start_w)]]
            words = [self.vocab_[cur]]
            for _ in range(int(max(n_words, 1)) - 1):
                if cur in nxt and rng.random() < 0.8:
                    cand, w = nxt[cur]
                    cur = int(cand[rng.choice(len(cand), p=w)])
                else:
                    cur = int(rng.choice(len(uni), p=uni))
                words.append(self.vocab_[cur])
            out[i] = " ".join(words)
        return out

    def to_dict(self) -> dict:
        return {"k": self.k, "vocab": self.vocab_, "unigram": self.unigram_, "starts": self.starts_,
                "pairs": self.pairs_, "length": self.length_.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "TextCodec":
        c = cls(k=d["k"])
        c.vocab_, c.unigram_, c.starts_, c.pairs_ = d["vocab"], d["unigram"], d["starts"], d["pairs"]
        c.length_ = NumericCodec.from_dict(d["length"])
        return c
