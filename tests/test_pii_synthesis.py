"""End to end: PII columns are detected, never learned, replaced row-consistently by values that cannot be
real where the format allows it, and a saved model file holds nothing derived from the real PII values."""
import hashlib
import ipaddress
import json
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from lookalike import Synthesizer

COMPANY_DOMAIN = "brightwater-logistics.com"
PII_COLUMNS = {"first_name": "first_name", "last_name": "last_name", "email": "email", "phone": "phone",
               "card_number": "credit_card", "ssn": "national_id", "ip_address": "ip_address",
               "address": "street_address"}


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    fake = Faker("en_US")
    fake.seed_instance(1)
    rng = np.random.default_rng(1)
    n = 300
    first = [fake.first_name() for _ in range(n)]
    last = [fake.last_name() for _ in range(n)]
    domains = [COMPANY_DOMAIN if i % 3 == 0 else fake.free_email_domain() for i in range(n)]
    return pd.DataFrame({
        "first_name": first,
        "last_name": last,
        "email": [f"{f.lower()}.{la.lower()}{i}@{d}" for i, (f, la, d) in enumerate(zip(first, last, domains))],
        "phone": [fake.numerify("(###) ###-####") for _ in range(n)],
        "card_number": [fake.credit_card_number(card_type=("visa16", "mastercard", "amex")[i % 3]) for i in range(n)],
        "ssn": [fake.ssn() for _ in range(n)],
        "ip_address": [fake.ipv4_public() for _ in range(n)],
        "address": [fake.street_address() for _ in range(n)],
        "balance": np.round(rng.lognormal(7, 1, n), 2),
        "segment": rng.choice(["a", "b", "c"], n),
    })


@pytest.fixture(scope="module")
def fitted(customers, tmp_path_factory):
    syn = Synthesizer(model="copula", seed=0).fit(customers)
    path = syn.save(tmp_path_factory.mktemp("model") / "m.lookalike")
    return syn, path


def _needles(customers: pd.DataFrame) -> set[str]:
    """Every real PII value, its normalised forms, and the 4+ character pieces specific to real values."""
    out: set[str] = set()
    for col in PII_COLUMNS:
        if col in NAME_COLUMNS:
            continue
        for value in customers[col].astype(str):
            digits = re.sub(r"\D", "", value)
            out |= {value, value.lower(), value.upper()}
            if len(digits) >= 4 and col != "address":
                out.add(digits)
            if col == "email":
                local, domain = value.split("@")
                out |= {local, re.sub(r"\d+$", "", local)}
                if domain == COMPANY_DOMAIN:
                    out |= {domain, "brightwater", "brightwater-logistics"}
            if col == "phone":
                out.add(digits[-7:])  # the subscriber number without the area code
            if col == "card_number":
                out |= {digits[-4:], digits[:6] + digits[-4:], digits[6:]}  # a masked PAN's parts
            if col == "ssn":
                out.add(digits[-4:])
            if col == "address":
                out |= {w for w in value.split() if len(w) >= 4 and not w.isdigit()} - _COMMON_STREET_WORDS
    return {n for n in out if len(n) >= 4}


NAME_COLUMNS = ("first_name", "last_name")


def _name_needles(customers: pd.DataFrame) -> set[str]:
    """Real first and last names: matched as whole words ('Alan' is in 'balance')."""
    return {form for col in NAME_COLUMNS for v in customers[col] for form in (v, v.lower(), v.upper())}


# Street words that any address generator or format description may legitimately contain.
_COMMON_STREET_WORDS = {"Street", "Avenue", "Road", "Lane", "Drive", "Court", "Place", "Suite", "Apt.", "Way",
                        "Circle", "Trail", "Park", "Path", "Ports", "Mission", "Well", "Wells", "Unit"}


def _digit_tokens(needle: str) -> str:
    """A regex for a needle that is only digits: not part of a longer number (floats in JSON would
    otherwise hold any 4-digit string by chance)."""
    return rf"(?<!\d){re.escape(needle)}(?!\d)"


def _hashes(value: str) -> set[bytes]:
    out = set()
    for name in ("md5", "sha1", "sha224", "sha256", "sha512", "blake2b", "blake2s", "sha3_256"):
        digest = hashlib.new(name, value.encode()).digest()
        out |= {digest, digest.hex().encode(), digest.hex().upper().encode()}
    return out


def test_pii_columns_are_detected_and_not_modelled(fitted):
    syn, _ = fitted
    kinds = {c.name: c.options.get("pii") for c in syn.schema_.columns if c.kind == "pii"}
    assert kinds == PII_COLUMNS
    assert set(syn.encoder_.group_columns_) == {"balance", "segment"}


def test_saved_model_holds_no_value_derived_from_a_pii_column(customers, fitted):
    _, path = fitted
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    blob = b"\n".join(entries.values())
    text = blob.decode("latin-1")
    leaked = []
    for needle in _needles(customers):
        if needle.isdigit():
            if re.search(_digit_tokens(needle), text):
                leaked.append(needle)
        elif needle in text:
            leaked.append(needle)
    leaked += [n for n in _name_needles(customers) if re.search(rf"(?<![^\W\d_]){re.escape(n)}(?![^\W\d_])", text)]
    assert leaked == [], f"the model file holds real PII: {sorted(leaked)[:20]}"
    for col in PII_COLUMNS:
        for value in customers[col].astype(str):
            for form in {value, value.lower(), re.sub(r"\D", "", value)}:
                assert not any(h in blob for h in _hashes(form)), f"a hash of a real {col} value is in the file"

    # What the file keeps for a PII column is a format description: kind, locale, masks, shares, null rate.
    config = json.loads(entries["model.json"])
    pii = next(iter(_find_key(config, "pii")))
    assert set(pii) == set(PII_COLUMNS)
    allowed = {"kind", "locale", "null_rate", "numeric", "masks", "scheme", "case", "order", "initial_share",
               "initial_dot", "separator", "free_mail_share", "styles", "separators", "digits_share",
               "upper_share", "brands", "lengths", "group_masks", "ipv6_share", "full_address_share",
               "line_separator", "countries", "bban_masks", "spaced_share"}
    for col, (kind, fmt) in pii.items():
        assert kind == PII_COLUMNS[col] and set(fmt) <= allowed, (col, sorted(set(fmt) - allowed))
    assert pii["phone"][1]["masks"] == {"(###) ###-####": 1.0}
    assert pii["ssn"][1]["scheme"] == "us_ssn" and pii["ssn"][1]["masks"] == {"###-##-####": 1.0}


def _find_key(node, key):
    if isinstance(node, dict):
        if isinstance(node.get(key), dict):
            yield node[key]
        for value in node.values():
            yield from _find_key(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _find_key(value, key)


def test_sampled_pii_cannot_be_real_and_stays_consistent(customers, fitted):
    syn, path = fitted
    for model in (syn, Synthesizer.load(path)):
        out = model.sample(1000, seed=3)
        for col in PII_COLUMNS:
            assert len(out[col].dropna()) == 1000
        for col in ("email", "phone", "card_number", "ssn", "ip_address"):
            assert not set(out[col]) & set(customers[col]), col
        domains = out["email"].str.split("@").str[1]
        assert (domains.isin({"example.com", "example.net", "example.org"}) | domains.str.endswith(".example.com")).all()
        assert not domains.str.contains("brightwater").any()
        assert out["phone"].str.fullmatch(r"\(\d{3}\) 555-01\d{2}").all()
        assert out["ssn"].str.fullmatch(r"9\d{2}-(?:0[1-9]|[1-4]\d)-\d{4}").all()
        assert out["ip_address"].map(lambda v: any(ipaddress.ip_address(v) in ipaddress.ip_network(n) for n in
                                                   ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))).all()
        local = out["email"].str.split("@").str[0].str.lower()
        has_name = [(f.lower() in e) or (la.lower() in e) for f, la, e in zip(out.first_name, out.last_name, local)]
        assert np.mean(has_name) > 0.9  # the e-mail is built from the same row's name
