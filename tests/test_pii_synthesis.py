"""End to end: PII columns are detected, never learned, replaced row-consistently, and never equal a real value,
also after the model is saved and loaded (the file keeps a lossy filter, not the values)."""
import zipfile

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from lookalike import Synthesizer


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    fake = Faker("en_US")
    Faker.seed(1)
    rng = np.random.default_rng(1)
    n = 300
    first = [fake.first_name() for _ in range(n)]
    last = [fake.last_name() for _ in range(n)]
    return pd.DataFrame({
        "first_name": first,
        "last_name": last,
        "email": [f"{f.lower()}.{l.lower()}@{fake.free_email_domain()}" for f, l in zip(first, last)],
        "phone": [fake.numerify("(###) ###-####") for _ in range(n)],
        "balance": np.round(rng.lognormal(7, 1, n), 2),
        "segment": rng.choice(["a", "b", "c"], n),
    })


def test_pii_columns_are_detected_and_never_learned(customers, tmp_path):
    syn = Synthesizer(model="copula", seed=0).fit(customers)
    kinds = {c.name: c.options.get("pii") for c in syn.schema_.columns if c.kind == "pii"}
    assert kinds == {"first_name": "first_name", "last_name": "last_name", "email": "email", "phone": "phone"}
    assert set(syn.encoder_.group_columns_) == {"balance", "segment"}

    path = syn.save(tmp_path / "m.lookalike")
    with zipfile.ZipFile(path) as zf:
        blob = zf.read("model.json").decode() + zf.read("weights.safetensors").decode("latin-1")
    for col in ("email", "phone"):
        assert not any(v in blob for v in customers[col])

    for model in (syn, Synthesizer.load(path)):
        out = model.sample(1000, seed=3)
        for col in ("email", "phone"):
            assert not set(out[col]) & set(customers[col])
        real_full = set(zip(customers.first_name, customers.last_name))
        assert not set(zip(out.first_name, out.last_name)) & real_full
        assert out["phone"].str.match(r"^\(\d{3}\) \d{3}-\d{4}$").all()
        local = out["email"].str.split("@").str[0].str.lower()
        has_name = [(f.lower() in e) or (la.lower() in e) for f, la, e in zip(out.first_name, out.last_name, local)]
        assert np.mean(has_name) > 0.9  # the e-mail is built from the same row's name
