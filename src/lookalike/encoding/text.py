"""Free text: length is learned jointly with the other columns, wording from a protected word chain.

Only words used in at least k different rows, and word pairs seen in at least k rows, are ever emitted,
so a rare name or number inside a comment cannot leak. This keeps text plausible for tests and demos;
a language-model generator is the place for fluent text.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from lookalike.encoding.numeric import NumericCodec


class TextCodec:
    def __init__(self, k: int = 5):
        self.k = int(k)

    def fit(self, s: pd.Series) -> "TextCodec":
        texts = s.dropna().astype(str)
        rows = [t.split() for t in texts]
        doc_freq = Counter(w for words in rows for w in set(words))
        vocab = sorted(w for w, c in doc_freq.items() if c >= self.k)
        index = {w: i for i, w in enumerate(vocab)}
        pairs = Counter()
        starts = Counter()
        for words in rows:
            kept = [w for w in words if w in index]
            if kept:
                starts[kept[0]] += 1
            pairs.update(set(zip(kept, kept[1:])))
        self.vocab_ = vocab
        self.unigram_ = [doc_freq[w] for w in vocab]
        self.starts_ = {w: c for w, c in starts.items() if c >= self.k}
        self.pairs_ = [[index[a], index[b], c] for (a, b), c in pairs.items() if c >= self.k]
        lengths = s.astype("string").str.split().str.len().astype(float)
        self.length_ = NumericCodec(decimals=0, k=self.k, units=[1]).fit(lengths.to_numpy())
        return self

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
