"""How fast are PII lookalikes generated? Learns formats from Faker-made "real" columns, then times
generate_pii for 100k rows (all ten kinds, and names + e-mail alone).

    PYTHONPATH=src python benchmarks/pii_speed.py [n_rows]
"""

from __future__ import annotations

import sys
import time

import pandas as pd
from faker import Faker

from lookalike.privacy.pii import detect_pii, generate_pii, learn_pii_format


def real_table(locale: str, n: int = 1000, seed: int = 0) -> pd.DataFrame:
    f = Faker(locale)
    f.seed_instance(seed)
    us = Faker("en_US")
    us.seed_instance(seed)
    return pd.DataFrame({
        "first_name": [f.first_name() for _ in range(n)], "last_name": [f.last_name() for _ in range(n)],
        "full_name": [f.name() for _ in range(n)], "email": [f.email() for _ in range(n)],
        "phone": [f.phone_number() for _ in range(n)], "address": [f.address() for _ in range(n)],
        "iban": [f.iban() for _ in range(n)], "card": [f.credit_card_number() for _ in range(n)],
        "ssn": [us.ssn() for _ in range(n)], "ip": [f.ipv4() for _ in range(n)],
    })


def main(n_rows: int = 100_000) -> None:
    for locale in ("en_US", "de_DE"):
        real = real_table(locale)
        t = time.perf_counter()
        kinds = {c: detect_pii(c, real[c]) for c in real}
        t_detect = time.perf_counter() - t
        specs = {c: (k, learn_pii_format(k, real[c])) for c, k in kinds.items() if k}
        print(f"{locale}: detected {kinds} in {t_detect * 1000 / len(real.columns):.0f} ms/column")
        people = {c: specs[c] for c in ("first_name", "last_name", "full_name", "email") if c in specs}
        for label, cols in (("all kinds", specs), ("names + email", people)):
            t = time.perf_counter()
            out = generate_pii(cols, n_rows, seed=1)
            dt = time.perf_counter() - t
            print(f"  {label:24s} {len(cols):2d} columns, {n_rows} rows: {dt:5.2f} s = {n_rows / dt:,.0f} rows/s")
        print(out.head(3).to_string())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
