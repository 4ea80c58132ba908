"""A deliberately leaky set: lets the generator avoid real values without storing them.

The model file must not contain training rows, yet fake PII must never equal a real value, even when a
saved model samples later. A Bloom filter answers "maybe seen" / "surely not seen". We size it for a
false-positive rate of about 1%, which costs 1% of fresh fake values a redraw, and gives plausible
deniability: for any candidate value the filter's "maybe" is not evidence that a real row held it.
"""
from __future__ import annotations

import hashlib
import math
import os

import numpy as np


class BloomFilter:
    def __init__(self, n_items: int, fp_rate: float = 0.01, salt: bytes | None = None):
        n_items = max(int(n_items), 1)
        self.n_bits = max(64, int(math.ceil(-n_items * math.log(fp_rate) / math.log(2) ** 2)))
        self.n_hashes = max(1, int(round(self.n_bits / n_items * math.log(2))))
        self.salt = salt if salt is not None else os.urandom(16)
        self.bits = np.zeros((self.n_bits + 7) // 8, dtype=np.uint8)

    def _positions(self, value) -> list[int]:
        digest = hashlib.blake2b(str(value).encode("utf-8"), key=self.salt, digest_size=16).digest()
        h1, h2 = int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") | 1
        return [(h1 + i * h2) % self.n_bits for i in range(self.n_hashes)]

    def add(self, value) -> None:
        for p in self._positions(value):
            self.bits[p >> 3] |= np.uint8(1 << (p & 7))

    def update(self, values) -> "BloomFilter":
        for v in values:
            self.add(v)
        return self

    def __contains__(self, value) -> bool:
        return all(self.bits[p >> 3] & (1 << (p & 7)) for p in self._positions(value))

    def to_state(self) -> tuple[dict, np.ndarray]:
        return {"n_bits": self.n_bits, "n_hashes": self.n_hashes, "salt": self.salt.hex()}, self.bits

    @classmethod
    def from_state(cls, config: dict, bits: np.ndarray) -> "BloomFilter":
        b = cls.__new__(cls)
        b.n_bits, b.n_hashes, b.salt = config["n_bits"], config["n_hashes"], bytes.fromhex(config["salt"])
        b.bits = np.asarray(bits, dtype=np.uint8).copy()
        return b
