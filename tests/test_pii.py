"""PII detection, format learning and fake generation (issue 2: PII is never learned)."""

from __future__ import annotations

import ipaddress
import json
import re

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from lookalike.errors import LookalikeError
from lookalike.privacy import pii_checks as checks
from lookalike.privacy.pii import FREE_MAIL_PROVIDERS, PII_KINDS, detect_pii, generate_pii, learn_pii_format

N = 300


def fake(locale: str = "en_US", seed: int = 0) -> Faker:
    f = Faker(locale)
    f.seed_instance(seed)
    return f


def many(method: str, locale: str = "en_US", n: int = N, seed: int = 0, **kwargs) -> list:
    """n values from one seeded Faker (a fresh seeded Faker per value would repeat one value)."""
    f = fake(locale, seed)
    return [getattr(f, method)(**kwargs) for _ in range(n)]


def column(values, name="x") -> pd.Series:
    return pd.Series(values, name=name)


# ---------------------------------------------------------------- detection: true positives

def _us_phones():
    f = fake()
    return [f.numerify("(###) ###-####") for _ in range(N)]


def _intl_phones():
    f = fake()
    return [f.numerify("+49 30 #######") for _ in range(N)]


TRUE_POSITIVES = [
    ("contact", lambda: many("email"), "email"),
    ("E-Mail", lambda: many("free_email", "de_DE"), "email"),
    ("c7", _us_phones, "phone"),
    ("c8", _intl_phones, "phone"),
    ("Telefon", lambda: many("phone_number", "de_DE"), "phone"),
    ("c1", lambda: many("iban", "de_DE"), "iban"),
    ("c2", lambda: many("credit_card_number"), "credit_card"),
    ("c3", lambda: many("ssn"), "national_id"),
    ("passport_no", lambda: many("passport_number"), "national_id"),
    ("c4", lambda: many("ipv4"), "ip_address"),
    ("c5", lambda: many("ipv6"), "ip_address"),
    ("c6", lambda: many("street_address"), "street_address"),
    ("c9", lambda: many("street_address", "de_DE"), "street_address"),
    ("Adresse", lambda: many("address", "fr_FR"), "street_address"),
    ("c10", lambda: many("name"), "person_name"),
    ("name", lambda: many("name", "nl_NL"), "person_name"),
    ("customerName", lambda: many("name", "es_ES"), "person_name"),
    ("Vorname", lambda: many("first_name", "de_DE"), "first_name"),
    ("surname", lambda: many("last_name", "en_GB"), "last_name"),
]


@pytest.mark.parametrize("name,make,kind", TRUE_POSITIVES, ids=[f"{t[0]}->{t[2]}" for t in TRUE_POSITIVES])
def test_detects_pii_columns(name, make, kind):
    assert detect_pii(name, column(make(), name)) == kind


def test_bare_name_column_tells_people_from_places_and_picks_name_part():
    f = fake(seed=21)
    assert detect_pii("name", column([f.first_name() for _ in range(N)])) == "first_name"
    unknown_surnames = [f"{f.first_name()} Xq{chr(97 + i % 26)}{chr(97 + i // 26)}z" for i in range(N)]
    assert detect_pii("name", column(unknown_surnames)) == "person_name"
    assert detect_pii("name", column([f"{f.first_name()[0]} {f.last_name()}" for _ in range(N)])) == "person_name"
    assert detect_pii("name", column([f"{f.city()} Airport" for _ in range(N)])) is None
    assert detect_pii("name", column([f.company() for _ in range(N)])) is None


def test_card_numbers_stored_as_integers_are_detected():
    numbers = [int(fake(seed=s).credit_card_number(card_type="visa16")) for s in range(50)]
    assert detect_pii("x", pd.Series(numbers, dtype="int64")) == "credit_card"


def test_nulls_do_not_hide_a_column_and_empty_hinted_column_keeps_its_kind():
    values = [fake().email() for _ in range(50)] + [None] * 200
    assert detect_pii("c", column(values)) == "email"
    assert detect_pii("email", pd.Series([None] * 10, dtype=object)) == "email"
    assert detect_pii("notes", pd.Series([None] * 10, dtype=object)) is None


# ---------------------------------------------------------------- detection: false positives

def _rng():
    return np.random.default_rng(0)


FALSE_POSITIVES = [
    ("amount", lambda: pd.Series(_rng().gamma(2, 500, N).round(2))),
    ("amount_text", lambda: pd.Series([f"{x:,.2f}" for x in _rng().gamma(2, 5e5, N)])),
    ("amount_de", lambda: pd.Series([f"{int(x):,}".replace(",", ".") for x in _rng().integers(1e6, 9e8, N)])),
    ("zip", lambda: pd.Series([f"{x:05d}" for x in _rng().integers(1000, 99999, N)])),
    ("zip_int", lambda: pd.Series(_rng().integers(10000, 99999, N))),
    ("zip4", lambda: pd.Series([f"{a:05d}-{b:04d}" for a, b in _rng().integers(1000, 9999, (N, 2))])),
    ("date", lambda: pd.Series(pd.date_range("2020-01-01", periods=N).strftime("%Y-%m-%d"))),
    ("date_de", lambda: pd.Series(pd.date_range("2020-01-01", periods=N).strftime("%d.%m.%Y"))),
    ("datetime", lambda: pd.Series(pd.date_range("2020-01-01", periods=N, freq="h"))),
    ("code", lambda: pd.Series(_rng().integers(1, 9, N))),
    ("flag", lambda: pd.Series(_rng().choice(["yes", "no"], N))),
    ("is_active", lambda: pd.Series(_rng().random(N) > 0.5)),
    ("sku", lambda: pd.Series([f"SKU-{x}" for x in _rng().integers(10000, 99999, N)])),
    ("part", lambda: pd.Series([f"AB-{x}-X" for x in _rng().integers(1000, 9999, N)])),
    ("order_ref", lambda: pd.Series([f"2021-{x:06d}" for x in _rng().integers(0, 999999, N)])),
    ("id", lambda: pd.Series(np.arange(N) + 1_000_000)),
    ("account_id", lambda: pd.Series(_rng().integers(10**15, 10**16, N))),
    ("isbn", lambda: pd.Series([f"978-{x:010d}" for x in _rng().integers(10**9, 10**10, N)])),
    ("income_band", lambda: pd.Series(_rng().choice(["2500-5000", "5000-7500", "7500-10000"], N))),
    ("site", lambda: pd.Series(_rng().choice(["37-063-0015", "37-063-0099"], N))),
    ("version", lambda: pd.Series(_rng().choice(["1.2.3", "2.0.1", "10.4"], N))),
    ("ratio", lambda: pd.Series([f"{x:.4f}" for x in _rng().random(N)])),
    ("comment", lambda: pd.Series(["great service, thanks"] * (N - 1) + ["mail me at someone@example.com"])),
    ("email_opt_in", lambda: pd.Series(_rng().choice(["yes", "no"], N))),
    ("card_type", lambda: pd.Series(_rng().choice(["Visa", "Mastercard", "Amex"], N))),
    ("phone_model", lambda: pd.Series(_rng().choice(["Pixel 8", "iPhone 15", "Galaxy S24"], N))),
    ("product_name", lambda: pd.Series(many("name"))),
    ("name", lambda: pd.Series(_rng().choice(["Lansdowne Airport", "Heathrow", "Logan Intl", "O'Hare"], N))),
    ("city", lambda: pd.Series(many("city"))),
    ("category", lambda: pd.Series(_rng().choice(["Main Course", "Side Dish", "Dessert"], N))),
    ("address_id", lambda: pd.Series(np.arange(N))),
    ("score", lambda: pd.Series(_rng().normal(0, 1, N))),
]


@pytest.mark.parametrize("name,make", FALSE_POSITIVES, ids=[t[0] for t in FALSE_POSITIVES])
def test_does_not_flag_ordinary_columns(name, make):
    assert detect_pii(name, make()) is None


# ---------------------------------------------------------------- format learning holds no real value

def _real_columns():
    f_us, f_de = fake(seed=3), fake("de_DE", seed=3)
    return {
        "email": ("email", [f"{f_us.first_name()}.{f_us.last_name()}@{'acmewidgets'}.com".lower()
                            for _ in range(40)] + [f_us.free_email() for _ in range(40)]),
        "phone": ("phone", [f_de.numerify("+49 ### #######") for _ in range(80)]),
        "person_name": ("person_name", [f_us.name() for _ in range(80)]),
        "first_name": ("first_name", [f_de.first_name() for _ in range(80)]),
        "last_name": ("last_name", [f_de.last_name() for _ in range(80)]),
        "street_address": ("street_address", [f_de.street_address() for _ in range(80)]),
        "iban": ("iban", [f_de.iban() for _ in range(80)]),
        "credit_card": ("credit_card", [f_us.credit_card_number() for _ in range(80)]),
        "national_id": ("national_id", [f_us.ssn() for _ in range(80)]),
        "ip_address": ("ip_address", [f_us.ipv4() for _ in range(80)]),
    }


@pytest.mark.parametrize("col", [k for k in PII_KINDS])
def test_learned_format_is_json_and_holds_no_real_value(col):
    kind, values = _real_columns()[col]
    fmt = learn_pii_format(kind, pd.Series(values, name=col))
    text = json.dumps(fmt, ensure_ascii=False, allow_nan=False)
    assert json.loads(text) == fmt
    pieces = set()
    for v in values:
        pieces.add(v)
        pieces.update(w for w in re.split(r"[\s@.,\-]+", v) if len(w) >= 4 and not w.isdigit())
    public_mail = {p for p in pieces if p.lower() in FREE_MAIL_PROVIDERS}  # gmail.com etc. identify nobody
    leaked = sorted(p for p in pieces - public_mail if p in text)
    assert leaked == [], f"format of {col} leaks {leaked}: {text}"
    assert "acmewidgets" not in text  # a company's own mail domain identifies the company


def test_company_mail_domains_and_brand_tlds_are_not_kept():
    values = [f"staff{i}@mail.acmewidgets.com" for i in range(10)] + [f"p{i}@shop.bmw" for i in range(10)] + \
             [f"u{i}@gmail.com" for i in range(10)]
    fmt = learn_pii_format("email", pd.Series(values))
    text = json.dumps(fmt)
    assert "acmewidgets" not in text and "bmw" not in text and "mail.acme" not in text
    assert fmt["free_domains"] == {"gmail.com": 1.0} and abs(fmt["free_mail_share"] - 1 / 3) < 1e-6


@pytest.mark.parametrize("kind", PII_KINDS)
def test_all_null_column_learns_and_generates_nulls(kind):
    fmt = learn_pii_format(kind, pd.Series([None] * 4, dtype=object, name="c"))
    json.dumps(fmt, allow_nan=False)
    assert generate_pii({"c": (kind, fmt)}, 20, seed=0)["c"].isna().all()


def test_learned_format_records_locale_and_pattern():
    cols = _real_columns()
    phone = learn_pii_format("phone", pd.Series(cols["phone"][1]))
    assert phone["locale"] == "de_DE" and phone["masks"] == {"+49 ### #######": 1.0}
    iban = learn_pii_format("iban", pd.Series(cols["iban"][1]))
    assert iban["locale"] == "de_DE" and iban["countries"] == {"DE": 1.0}
    assert learn_pii_format("first_name", pd.Series(cols["first_name"][1]))["locale"] == "de_DE"
    assert learn_pii_format("street_address", pd.Series(cols["street_address"][1]))["locale"] == "de_DE"
    email = learn_pii_format("email", pd.Series(cols["email"][1]))
    assert 0.3 < email["free_mail_share"] < 0.7


def test_unknown_kind_is_a_user_error():
    with pytest.raises(LookalikeError, match="passport_photo"):
        learn_pii_format("passport_photo", pd.Series(["x"], name="col"))


# ---------------------------------------------------------------- generation follows the formats

def _learned(kind, values, name=None):
    return kind, learn_pii_format(kind, pd.Series(values, name=name))


def test_phones_follow_learned_masks():
    f = fake(seed=5)
    real = [f.numerify("(###) ###-####") for _ in range(60)] + [f.numerify("+1 ###.###.####") for _ in range(40)]
    spec = _learned("phone", real)
    out = generate_pii({"tel": spec}, 2000, seed=1)["tel"]
    masks = out.str.replace(r"\d", "#", regex=True).str.replace(r"^\+#", "+1", regex=True)
    assert set(masks) == {"(###) ###-####", "+1 ###.###.####"}
    assert 0.5 < (masks == "(###) ###-####").mean() < 0.7


def test_german_data_gives_german_lookalikes():
    f = fake("de_DE", seed=2)
    columns = {
        "tel": _learned("phone", [f.numerify("+49 ### #######") for _ in range(80)]),
        "iban": _learned("iban", [f.iban() for _ in range(80)]),
        "vorname": _learned("first_name", [f.first_name() for _ in range(80)]),
        "strasse": _learned("street_address", [f.street_address() for _ in range(80)]),
    }
    out = generate_pii(columns, 500, seed=3)
    assert out["tel"].str.fullmatch(r"\+49 \d{3} \d{7}").all()
    assert out["iban"].str.match(r"DE\d{20}$").all()
    de_firsts = checks.name_lists()["de_DE"][0]
    assert out["vorname"].map(lambda v: checks.fold_ascii(v) in de_firsts).mean() > 0.95
    assert out["strasse"].map(checks.address_style).eq("germanic").mean() > 0.9


def test_ibans_are_valid_with_learned_countries_and_spacing():
    real = [fake("fr_FR", seed=s).iban() for s in range(30)] + [fake("en_GB", seed=s).iban() for s in range(70)]
    spaced = [re.sub(r"(.{4})", r"\1 ", v).strip() for v in real]
    out = generate_pii({"iban": _learned("iban", spaced)}, 3000, seed=4)["iban"]
    assert out.map(checks.is_iban).all()
    assert out.str.contains(" ").all()
    countries = out.str[:2].value_counts(normalize=True)
    assert set(countries.index) == {"FR", "GB"} and 0.25 < countries["FR"] < 0.35
    gb = out[out.str.startswith("GB")].str.replace(" ", "")
    assert gb.str.fullmatch(r"GB\d{2}[A-Z]{4}\d{14}").all()  # GB BBAN mask: bank letters + digits


def test_cards_are_luhn_valid_with_learned_brand_and_length():
    f = fake(seed=6)
    real = [f.credit_card_number(card_type="amex") for _ in range(50)] + \
           [f.credit_card_number(card_type="visa16") for _ in range(50)]
    out = generate_pii({"cc": _learned("credit_card", real)}, 2000, seed=7)["cc"]
    digits = out.str.replace(r"\D", "", regex=True)
    assert digits.map(checks.luhn_ok).all()
    brands = digits.map(checks.card_brand)
    assert set(brands) == {"amex", "visa"}
    assert (digits[brands == "amex"].str.len() == 15).all() and (digits[brands == "visa"].str.len() == 16).all()


def test_card_numbers_stored_as_integers_come_back_as_integers():
    real = pd.Series([int(fake(seed=s).credit_card_number(card_type="visa16")) for s in range(50)])
    out = generate_pii({"cc": _learned("credit_card", real)}, 100, seed=1)["cc"]
    assert str(out.dtype) == "Int64" and out.astype(str).map(checks.luhn_ok).all()


def test_ips_ssns_and_addresses_are_valid():
    f = fake(seed=8)
    columns = {
        "ip": _learned("ip_address", [f.ipv4_private() for _ in range(50)] + [f.ipv6() for _ in range(50)]),
        "ssn": _learned("national_id", [f.ssn() for _ in range(100)]),
        "addr": _learned("street_address", [f.address() for _ in range(100)]),
    }
    out = generate_pii(columns, 2000, seed=9)
    ips = out["ip"].map(ipaddress.ip_address)
    v6 = ips.map(lambda a: a.version == 6)
    assert 0.4 < v6.mean() < 0.6
    assert ips[~v6].map(lambda a: a.is_private).all()
    assert out["ssn"].map(checks.is_us_ssn).all()
    assert out["addr"].str.contains("\n").all() and out["addr"].map(checks.is_street_address).mean() > 0.9


def test_each_row_is_one_consistent_person():
    f = fake(seed=10)
    firsts, lasts = [f.first_name() for _ in range(100)], [f.last_name() for _ in range(100)]
    columns = {
        "first": _learned("first_name", firsts),
        "last": _learned("last_name", lasts),
        "full": _learned("person_name", [f"{a} {b}" for a, b in zip(firsts, lasts)]),
        "mail": _learned("email", [f"{a}.{b}@gmail.com".lower() for a, b in zip(firsts, lasts)]),
    }
    out = generate_pii(columns, 1000, seed=11)
    assert (out["full"] == out["first"] + " " + out["last"]).all()

    def clean(v):
        return re.sub(r"[^a-z0-9]", "", checks.fold_ascii(v))
    expected_local = out["first"].map(clean) + "." + out["last"].map(clean)
    assert (out["mail"].str.split("@").str[0] == expected_local).all()
    assert out["mail"].str.endswith("@gmail.com").all()  # the one (public) provider the real data used


def test_person_name_style_is_kept_initials_and_comma_order():
    f = fake(seed=22)
    real = [f"{f.last_name()}, {f.first_name()[0]}" for _ in range(100)]
    out = generate_pii({"n": _learned("person_name", real)}, 300, seed=2)["n"]
    assert out.str.fullmatch(r"[^\W\d_][\w' \-]*, [A-Z]").all()


def test_null_rate_is_honoured_per_column():
    values = [fake(seed=s).email() for s in range(70)] + [None] * 30
    out = generate_pii({"mail": _learned("email", values)}, 4000, seed=12)["mail"]
    assert abs(out.isna().mean() - 0.3) < 0.03
    assert out.dropna().map(checks.is_email).all()


def test_generation_is_deterministic_for_a_seed():
    f = fake(seed=16)
    columns = {
        "name": _learned("person_name", [f.name() for _ in range(50)]),
        "mail": _learned("email", [f.email() for _ in range(50)]),
        "tel": _learned("phone", [f.phone_number() for _ in range(50)]),
        "addr": _learned("street_address", [f.address() for _ in range(50)]),
        "iban": _learned("iban", [f.iban() for _ in range(50)]),
    }
    a, b = generate_pii(columns, 300, seed=5), generate_pii(columns, 300, seed=5)
    pd.testing.assert_frame_equal(a, b)
    c = generate_pii(columns, 300, seed=6)
    assert (a != c).all(axis=None) or (a["mail"] != c["mail"]).mean() > 0.9


def test_zero_rows_and_empty_columns():
    out = generate_pii({"mail": _learned("email", [fake().email()])}, 0, seed=1)
    assert list(out.columns) == ["mail"] and len(out) == 0
