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


def test_no_mail_domain_is_kept_only_the_free_mail_share():
    values = [f"staff{i}@mail.acmewidgets.com" for i in range(10)] + [f"p{i}@shop.bmw" for i in range(10)] + \
             [f"u{i}@gmail.com" for i in range(10)]
    fmt = learn_pii_format("email", pd.Series(values))
    text = json.dumps(fmt)
    for piece in ("acmewidgets", "bmw", "mail.acme", "gmail", "shop", "staff"):
        assert piece not in text
    assert abs(fmt["free_mail_share"] - 1 / 3) < 1e-6


# What a learned format may hold, per kind: format descriptions only (no value, domain, prefix or code).
ALLOWED_FORMAT_KEYS = {
    "email": {"locale", "free_mail_share", "styles", "separators", "digits_share", "upper_share"},
    "phone": {"locale", "masks"},
    "person_name": {"locale", "case", "order", "initial_share", "initial_dot"},
    "first_name": {"locale", "case"},
    "last_name": {"locale", "case"},
    "street_address": {"locale", "full_address_share", "line_separator"},
    "iban": {"locale", "countries", "bban_masks", "spaced_share"},
    "credit_card": {"locale", "brands", "lengths", "group_masks"},
    "national_id": {"locale", "scheme", "masks"},
    "ip_address": {"locale", "ipv6_share"},
}


@pytest.mark.parametrize("col", PII_KINDS)
def test_learned_format_holds_only_a_format_description(col):
    kind, values = _real_columns()[col]
    fmt = learn_pii_format(kind, pd.Series(values, name=col))
    assert set(fmt) - {"kind", "null_rate", "numeric", "separator"} <= ALLOWED_FORMAT_KEYS[kind]
    masks = list(fmt.get("masks", {})) + list(fmt.get("bban_masks", {}).values()) + \
        list(fmt.get("group_masks", {}).values())
    for mask in masks:  # digits are placeholders; a phone keeps only its country code and trunk '0'
        rest = re.sub(r"^(?:\+|00)\s?\d{1,3}", "", mask).replace("(0)", "").lstrip()
        assert not re.search(r"\d", rest[1:] if rest.startswith("0") else rest), mask


def test_rare_masks_brands_and_countries_are_not_kept():
    f = fake("de_DE", seed=30)
    phones = [f.numerify("+49 ### #######") for _ in range(40)] + ["+352 621 123 456", "+352 621 654 321"]
    assert set(learn_pii_format("phone", pd.Series(phones))["masks"]) == {"+49 ### #######"}
    ibans = [f.iban() for _ in range(40)] + [fake("fr_FR", seed=s).iban() for s in range(3)]
    fmt = learn_pii_format("iban", pd.Series(ibans))
    assert fmt["countries"] == {"DE": 1.0} and set(fmt["bban_masks"]) == {"DE"}
    cards = [fake(seed=s).credit_card_number(card_type="visa16") for s in range(40)] + \
        [fake(seed=s).credit_card_number(card_type="diners") for s in range(2)]
    assert learn_pii_format("credit_card", pd.Series(cards))["brands"] == {"visa": 1.0}


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
    assert out["ssn"].str.fullmatch(r"\d{3}-\d{2}-\d{4}").all()
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
    # all real addresses were free-mail style: all fake ones are at the reserved free-mail domains
    assert out["mail"].str.split("@").str[1].isin({"example.com", "example.net", "example.org"}).all()


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


# ---------------------------------------------------------------- never a real value, by construction

def _reserved_mail_domain(domain: str) -> bool:
    """RFC 2606 / RFC 6761: example.com/.net/.org and anything under them or under .example/.test/.invalid."""
    d = domain.lower()
    return any(d == r or d.endswith("." + r) for r in ("example.com", "example.net", "example.org")) or \
        d.rsplit(".", 1)[-1] in ("example", "test", "invalid")


_UK_DRAMA = ("7700900", "1632960", "8081570", "3069990", "1134960", "1144960", "1154960", "1164960", "1174960",
             "1184960", "1214960", "1314960", "1414960", "1514960", "1614960", "9098790", "2079460")


def _fictional_phone(value: str) -> bool:
    """NANPA's 555-0100..0199 (with or without area code, '+1' or a leading '1'), or an Ofcom drama number."""
    digits = re.sub(r"\D", "", re.sub(r"\s*x\d+$", "", value))
    if value.startswith("+44") or (value.startswith("0") and len(digits) == 11):
        nsn = digits[2:] if value.startswith("+44") else digits[1:]
        return len(nsn) == 10 and nsn[:7] in _UK_DRAMA
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return bool(re.fullmatch(r"(?:[2-9]\d\d)?55501\d\d", digits))


def _documentation_ip(value: str) -> bool:
    addr = ipaddress.ip_address(value)
    nets = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
    return any(addr in ipaddress.ip_network(n) for n in nets)


# Published test card numbers (Stripe, Adyen, Braintree, PayPal, Mastercard gateway docs), written out here
# independently of the generator's table.
_TEST_CARDS = {
    "4111111111111111", "4012888888881881", "4242424242424242", "4000056655665556", "4444333322221111",
    "4005519200000004", "4009348888881881", "4012000033330026", "4012000077777777", "4217651111111119",
    "4222222222222", "5555555555554444", "5105105105105100", "5200828282828210", "5454545454545454",
    "2223003122003222", "2223000048400011", "5123450000000008", "5111111111111118", "2223000000000007",
    "378282246310005", "371449635398431", "378734493671000", "345678901234564", "6011111111111117",
    "6011000990139424", "6011000400000000", "6011601160116611", "6445644564456445", "30569309025904",
    "38520000023237", "36227206271667", "3530111333300000", "3566002020360505", "3566111111111113",
    "6200000000000005", "6205500000000000004", "6759649826438453",
}

M = 10_000


def _guaranteed_columns():
    f, gb = fake(seed=40), fake("en_GB", seed=40)
    return {
        "mail": _learned("email", [f"{f.first_name()}.{f.last_name()}@acmewidgets.com".lower() for _ in range(50)]
                         + [f.free_email() for _ in range(50)]),
        "us_tel": _learned("phone", [f.numerify(m) for m, k in (("(###) ###-####", 40), ("+1 ###.###.####", 30),
                                                                ("###-####", 20), ("1-###-###-####", 10))
                                     for _ in range(k)]),
        "uk_tel": _learned("phone", [gb.numerify(m) for m, k in (("+44 7### ######", 30), ("07### ######", 30),
                                                                 ("020 #### ####", 20), ("0161 ### ####", 20))
                                     for _ in range(k)]),
        "card": _learned("credit_card", [f.credit_card_number(card_type=t) for _ in range(20)
                                         for t in ("visa16", "mastercard", "amex", "discover", "jcb", "diners")]),
        "ssn": _learned("national_id", [f.ssn() for _ in range(100)]),
        "nino": _learned("national_id", [gb.bothify("?? ## ## ## ", letters="ABCEHJKLMPRSTWXY")
                                         + gb.random_element("ABCD") for _ in range(100)]),
        "ip": _learned("ip_address", [f.ipv4_public() for _ in range(60)] + [f.ipv4_private() for _ in range(20)]
                       + [f.ipv6() for _ in range(20)]),
    }


@pytest.fixture(scope="module")
def guaranteed():
    return generate_pii(_guaranteed_columns(), M, seed=41)


def test_every_email_is_at_a_reserved_domain_with_the_learned_style(guaranteed):
    mail = guaranteed["mail"]
    domains = mail.str.split("@").str[1]
    assert domains.map(_reserved_mail_domain).all() and mail.map(checks.is_email).all()
    free = domains.isin({"example.com", "example.net", "example.org"})
    assert 0.4 < free.mean() < 0.6  # the learned free-mail vs company share (50/50)
    assert domains[~free].str.fullmatch(r"[a-z0-9][a-z0-9\-]*\.example\.com").all()
    assert domains[~free].nunique() > 20  # company style: many fake companies, none of them real


def test_every_phone_is_in_a_fiction_range_in_the_learned_mask(guaranteed):
    us, uk = guaranteed["us_tel"], guaranteed["uk_tel"]
    assert us.map(_fictional_phone).all() and uk.map(_fictional_phone).all()
    us_masks = us.str.replace(r"\d", "#", regex=True)
    assert set(us_masks) == {"(###) ###-####", "+# ###.###.####", "###-####", "#-###-###-####"}
    uk_masks = uk.str.replace(r"\d", "#", regex=True)
    assert set(uk_masks) == {"+## #### ######", "##### ######", "### #### ####", "#### ### ####"}
    assert uk[uk_masks == "### #### ####"].str.startswith("020 7946 0").all()  # London layout -> London range
    assert uk[uk_masks == "##### ######"].str[:6].isin({"07700 ", "01632 ", "08081 ", "03069 "}).all()


def test_other_countries_keep_their_mask_without_a_fiction_guarantee():
    f = fake("de_DE", seed=42)
    out = generate_pii({"tel": _learned("phone", [f.numerify("+49 ### #######") for _ in range(50)])}, 500, seed=1)
    assert out["tel"].str.fullmatch(r"\+49 \d{3} \d{7}").all()


def test_every_card_is_a_published_test_number_of_the_learned_brand(guaranteed):
    digits = guaranteed["card"].str.replace(r"\D", "", regex=True)
    assert digits.isin(_TEST_CARDS).all() and digits.map(checks.luhn_ok).all()
    brands = digits.map(checks.card_brand).value_counts(normalize=True)
    assert set(brands.index) == {"visa", "mastercard", "amex", "discover", "jcb", "diners"}
    assert brands.min() > 0.1


def test_every_ssn_and_nino_is_never_issued(guaranteed):
    ssn = guaranteed["ssn"].str.extract(r"^(\d{3})-(\d{2})-(\d{4})$").astype(int)
    assert (ssn[0] >= 900).all()  # the SSA never issues area 9xx ...
    assert ssn[1].between(1, 49).all()  # ... and ITINs (50-65, 70-88, 90-92, 94-99), ATINs (93) avoid 01-49
    assert (ssn[2] >= 1).all()
    nino = guaranteed["nino"]
    assert nino.map(lambda v: bool(checks.NINO_RE.match(v))).all()  # looks valid ...
    assert nino.str[:2].isin({"BG", "GB", "KN", "NK", "NT", "ZZ"}).all()  # ... but HMRC never allocates it


def test_every_ip_is_in_a_documentation_range(guaranteed):
    ips = guaranteed["ip"]
    assert ips.map(_documentation_ip).all()
    assert 0.15 < ips.str.contains(":").mean() < 0.25  # the learned IPv6 share


def test_guaranteed_formats_are_deterministic_for_a_seed(guaranteed):
    columns = _guaranteed_columns()
    pd.testing.assert_frame_equal(generate_pii(columns, M, seed=41), guaranteed)
    other = generate_pii(columns, M, seed=43)
    assert (other["mail"] != guaranteed["mail"]).mean() > 0.9


def test_a_repeated_code_column_is_not_run_through_the_weak_checks(monkeypatch):
    """Phones and addresses are mostly distinct, so a column of repeated values never reaches their checks: the
    address check builds its regexes from Faker's street words (0.4 CPU s of a categorical table's fit)."""
    from lookalike.privacy import pii

    called = []
    monkeypatch.setattr(pii, "_WEAK_CHECKS", (("street_address", lambda v: called.append(v) or True),))
    repeated = pd.Series(["12 Main Street", "3 Elm Road"] * 50)
    assert detect_pii("where", repeated) is None and called == []
    distinct = pd.Series([f"{i} Main Street" for i in range(100)])
    assert detect_pii("where", distinct) == "street_address" and called
