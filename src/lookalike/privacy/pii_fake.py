"""Fake PII values from the formats that `learn_pii_format` describes.

Nothing about the real values reaches this module: it sees only the learned format (kind, locale, masks,
shares, null rate). Where a format allows it, a fake value cannot equal any real value *by construction*:

- e-mail: every address is at a domain reserved by RFC 2606 / RFC 6761 (example.com, example.net,
  example.org, or a fake company under example.com); no real mailbox exists there.
- phone: North American numbers are in 555-0100..555-0199 (NANPA's fiction range), UK numbers in Ofcom's
  drama ranges (07700 900xxx, 020 7946 0xxx, 0161 496 0xxx, 01632 960xxx, ...), in the learned mask.
  Other countries: we know of no published fiction range, so the digits are random and can coincide
  with a real number by chance.
- credit card: numbers that payment providers publish for testing (Luhn-valid, learned brand kept).
- national id: US SSNs in area 9xx with group 01-49 (never an SSN, ITIN or ATIN); UK NI numbers with a
  prefix HMRC never allocates (BG, GB, KN, NK, NT, ZZ). Other ID formats: random characters in the
  learned mask, which can coincide with a real ID by chance.
- IP address: the documentation blocks 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32.
- IBAN: no country or bank code is reserved for tests, so a valid fake IBAN can coincide with a real
  account by chance (the learned countries and BBAN layout are kept, the check digits are valid).
- person names (first, last, full) and street addresses: no format allows a guarantee; they come from
  Faker's vocabularies for the locale, so a fake name or address can coincide with a real one by chance.

Speed comes from drawing Faker's own vocabularies once (name lists, street names, cities: small pools)
and combining them with numpy per row; digits (phones, cards, IBANs, IDs) are filled into masks as byte
arrays. One fake person per row feeds every name and e-mail column, so a row stays consistent.
"""

from __future__ import annotations

import ipaddress
import re
import zlib

import numpy as np
import pandas as pd
from faker import Faker
from faker.config import AVAILABLE_LOCALES

from lookalike.errors import LookalikeError
from lookalike.privacy import pii_checks as checks

PERSON_KINDS = ("person_name", "first_name", "last_name", "email")
_POOL = 400            # Faker calls per vocabulary (street names, cities...): fixed cost, whatever n is
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_UPPER = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_LOWER = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def known_locale(locale: str | None) -> str:
    """The locale if Faker has it, else en_US."""
    return locale if locale in AVAILABLE_LOCALES else "en_US"


def _faker(locale: str, seed: int) -> Faker:
    fake = Faker(known_locale(locale))
    fake.seed_instance(seed)
    return fake


def _provider(fake: Faker, family: str):
    return next(p for p in fake.get_providers() if p.__class__.__module__.startswith(f"faker.providers.{family}"))


def _choose(rng: np.random.Generator, shares: dict, n: int, default):
    """n draws from a {value: share} dict (default when empty)."""
    if not shares:
        return np.full(n, default, dtype=object)
    keys = list(shares)
    p = np.asarray([float(shares[k]) for k in keys])
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _mask_bytes(mask: str, rng: np.random.Generator, k: int, first_nonzero: bool = False) -> np.ndarray:
    """(k, len(mask)) ASCII codes shaped like mask: '#' -> digit, 'A' -> upper-case, 'a' -> lower-case letter."""
    template = np.frombuffer(mask.encode("ascii"), dtype=np.uint8)
    out = np.tile(template, (k, 1))
    for placeholder, alphabet in (("#", _DIGITS), ("A", _UPPER), ("a", _LOWER)):
        cols = [i for i, ch in enumerate(mask) if ch == placeholder]
        if cols:
            out[:, cols] = alphabet[rng.integers(0, len(alphabet), size=(k, len(cols)))]
    if first_nonzero and "#" in mask:
        out[:, mask.index("#")] = _DIGITS[rng.integers(1, 10, size=k)]
    return out


def _bytes_to_str(matrix: np.ndarray) -> np.ndarray:
    matrix = np.ascontiguousarray(matrix, dtype=np.uint8)
    return matrix.view(f"S{matrix.shape[1]}").ravel().astype(str).astype(object)


def _fill_mask(mask: str, rng: np.random.Generator, k: int, first_nonzero: bool = False) -> np.ndarray:
    """k strings shaped like mask (see _mask_bytes); masks with non-ASCII literals are filled per row."""
    if not mask.isascii():
        return np.asarray(["".join(_fill_mask(ch, rng, 1)[0] if ch in "#Aa" else ch for ch in mask)
                           for _ in range(k)], dtype=object)
    return _bytes_to_str(_mask_bytes(mask, rng, k, first_nonzero))


# ---------------------------------------------------------------- people (names and e-mails)

def _name_pool(fake: Faker, attr: str, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Faker's names for the locale with their weights; Faker calls when the list is missing or tiny."""
    provider = _provider(fake, "person")
    names, weights = [], []
    main = getattr(provider, attr, None)
    sources = [main] if main else [getattr(provider, attr + "_male", None), getattr(provider, attr + "_female", None)]
    for source in sources:
        if isinstance(source, dict):
            names.extend(map(str, source.keys()))
            weights.extend(float(w) for w in source.values())
        elif source:
            names.extend(map(str, source))
            weights.extend([1.0] * len(source))
    if len(set(names)) < 20:
        names = [getattr(fake, method)() for _ in range(_POOL)]
        weights = [1.0] * len(names)
    frame = pd.DataFrame({"name": names, "w": weights}).groupby("name", sort=True)["w"].sum()
    return frame.index.to_numpy(dtype=object), frame.to_numpy(dtype=float)


def _apply_case(values: np.ndarray, cases: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=object).copy()
    for case, method in (("upper", str.upper), ("lower", str.lower)):
        rows = cases == case
        if rows.any():
            out[rows] = [method(v) for v in out[rows]]
    return out


class _People:
    """One fake person per row: indices into first/last name pools plus per-row e-mail choices."""

    def __init__(self, locale: str, seed: int, n: int, rng: np.random.Generator):
        self.locale = known_locale(locale)
        self.fake = _faker(locale, seed)
        self.rng = rng
        self.firsts, self.fw = _name_pool(self.fake, "first_names", "first_name")
        self.lasts, self.lw = _name_pool(self.fake, "last_names", "last_name")
        self.fw, self.lw = self.fw / self.fw.sum(), self.lw / self.lw.sum()
        self.folded_firsts = np.asarray([re.sub(r"[^a-z0-9]", "", checks.fold_ascii(x)) or "x" for x in self.firsts],
                                        dtype=object)
        self.folded_lasts = np.asarray([re.sub(r"[^a-z0-9]", "", checks.fold_ascii(x)) or "x" for x in self.lasts],
                                       dtype=object)
        self.first_idx = rng.choice(len(self.firsts), size=n, p=self.fw)
        self.last_idx = rng.choice(len(self.lasts), size=n, p=self.lw)

    def first(self) -> np.ndarray:
        return self.firsts[self.first_idx]

    def last(self) -> np.ndarray:
        return self.lasts[self.last_idx]


# Every generated address is at a domain reserved by RFC 2606 / RFC 6761, so it can never be anyone's real
# address: free-mail style rows use example.com, example.net or example.org themselves (where a real address
# would say gmail.com or web.de), company style rows a fake company under example.com ('muller.example.com').
RESERVED_MAIL_DOMAINS = ("example.com", "example.net", "example.org")
COMPANY_MAIL_PARENT = "example.com"


class _EmailColumn:
    """Per-row e-mail choices (style, separator, digits, domain) for one e-mail column."""

    def __init__(self, fmt: dict, people: _People, n: int, rng: np.random.Generator, seed: int):
        self.people = people
        locale = fmt.get("locale", "en_US")
        fake = _faker(people.locale if locale == "en_US" else locale, seed)
        words = {re.sub(r"[^a-z0-9\-]", "", checks.fold_ascii(fake.domain_word())).strip("-")
                 for _ in range(_POOL // 3)}
        company_words = np.asarray(sorted(w for w in words if w) or ["company"], dtype=object)
        free_domains = np.asarray(RESERVED_MAIL_DOMAINS, dtype=object)
        self.fields = {
            "style": _choose(rng, fmt.get("styles", {}), n, "first_last"),
            "sep": _choose(rng, fmt.get("separators", {}), n, "."),
            "digits": np.where(rng.random(n) < float(fmt.get("digits_share", 0.0)),
                               rng.integers(1, 100, size=n).astype(str), ""),
            "free": rng.random(n) < float(fmt.get("free_mail_share", 0.5)),
            "free_domain": free_domains[rng.integers(0, len(free_domains), size=n)],
            "company": company_words[rng.integers(0, len(company_words), size=n)],
            "upper": rng.random(n) < float(fmt.get("upper_share", 0.0)),
        }

    def values(self, rows: np.ndarray) -> np.ndarray:
        """E-mail addresses for the given row numbers, built from each row's fake person."""
        f = {name: values[rows] for name, values in self.fields.items()}
        p = self.people
        first, last = p.folded_firsts[p.first_idx[rows]], p.folded_lasts[p.last_idx[rows]]
        locals_ = []
        for fi, la, style, sep, dg, up in zip(first, last, f["style"], f["sep"], f["digits"], f["upper"]):
            if style == "initial_last":
                local = fi[0] + sep + la
            elif style == "first_initial":
                local = fi + sep + la[0]
            elif style == "first":
                local = fi
            elif style == "handle":
                local = la + fi[:3]
            else:
                local = fi + sep + la
            local += dg
            locals_.append(local.capitalize() if up else local)
        domain = np.where(f["free"], f["free_domain"], f["company"] + "." + COMPANY_MAIL_PARENT)
        return np.asarray(locals_, dtype=object) + "@" + domain.astype(object)


def _person_name(fmt: dict, first: np.ndarray, last: np.ndarray, order: np.ndarray,
                 initial: np.ndarray) -> np.ndarray:
    """Full names in the learned order; rows drawn for an initial get 'J' or 'J.' for the first name."""
    sep = fmt.get("separator", " ")
    if initial.any():
        first = first.copy()
        dot = "." if fmt.get("initial_dot") else ""
        first[initial] = [f[:1] + dot for f in first[initial]]
    out = np.where(order == "last_comma_first", last + ", " + first,
                   np.where(order == "last_first", last + sep + first, first + sep + last))
    return out.astype(object)


def _generate_people(cols: dict, n: int, seed: int, rngs: dict) -> dict:
    """Name and e-mail columns that share one fake person per row."""
    by_kind = {c: kind for c, (kind, _) in cols.items()}
    name_cols = [c for c, k in by_kind.items() if k != "email"]
    locale = cols[(name_cols or list(cols))[0]][1].get("locale", "en_US")
    people = _People(locale, seed, n, rngs["__people__"])
    first, last = people.first(), people.last()
    out = {}
    for c in name_cols:
        kind, fmt, rng = by_kind[c], cols[c][1], rngs[c]
        case = _choose(rng, fmt.get("case", {}), n, "title")
        order = _choose(rng, fmt.get("order", {}), n, "first_last")
        initial = rng.random(n) < float(fmt.get("initial_share", 0.0))
        raw = first if kind == "first_name" else last if kind == "last_name" else \
            _person_name(fmt, first, last, order, initial)
        out[c] = _apply_case(raw, case)
    for c, k in by_kind.items():
        if k == "email":
            out[c] = _EmailColumn(cols[c][1], people, n, rngs[c], seed).values(np.arange(n))
    return out


# ---------------------------------------------------------------- other kinds

# Numbers that the numbering plan keeps out of service for fiction, as national significant numbers
# ('N': a digit 2-9, 'x': any digit). North America (NANPA): 555-0100 to 555-0199 in every area code.
# United Kingdom (Ofcom's numbers for drama purposes), by the length of the first digit group after the
# trunk '0': 07700 900xxx (mobile), 01632 960xxx (no area), 08081 570xxx (freephone), 03069 990xxx
# (UK-wide), 0113..0161 496 0xxx (Leeds, Sheffield, Nottingham, Leicester, Bristol, Reading, Birmingham,
# Edinburgh, Glasgow, Liverpool, Manchester), 0909 879 0xxx (premium rate), 020 7946 0xxx (London).
_NANP_FICTION = {10: ("Nxx55501xx",), 7: ("55501xx",), 11: ("1Nxx55501xx",)}
_UK_FICTION = {
    4: ("7700900xxx", "1632960xxx", "8081570xxx", "3069990xxx"),
    3: ("1134960xxx", "1144960xxx", "1154960xxx", "1164960xxx", "1174960xxx", "1184960xxx", "1214960xxx",
        "1314960xxx", "1414960xxx", "1514960xxx", "1614960xxx", "9098790xxx"),
    2: ("2079460xxx",),
}
_FICTION_LOCALES = {"en_US": "1", "en_CA": "1", "en_GB": "44"}
_PHONE_EXTENSION_RE = re.compile(r"\s*(?:x|ext\.?)\s*#{1,6}$", re.IGNORECASE)


def _fiction_plan(mask: str, locale: str) -> tuple[str, tuple[str, ...] | None]:
    """(mask, fiction templates) for one learned phone mask: the mask itself when its digit count fits
    the country's fiction range, else that country's usual format; templates None where we know no
    published fiction range (the mask is then filled with random digits)."""
    m = re.match(r"^(?:\+|00)\s?(\d{1,3})", mask)
    head, body = (mask[:m.end()], mask[m.end():]) if m else ("", mask)
    code = m.group(1) if m else _FICTION_LOCALES.get(locale)
    main = _PHONE_EXTENSION_RE.sub("", body)
    n_digits = main.count("#")
    trunk = main.lstrip(" (").startswith("0")
    if code == "1" and not trunk:
        templates = None if (head and n_digits == 11) else _NANP_FICTION.get(n_digits)  # '1-' is a trunk, not '+1 1
        if templates:
            return mask, templates
        return (head + " ###-###-####", _NANP_FICTION[10]) if head else ("(###) ###-####", _NANP_FICTION[10])
    if code == "44" and (head or trunk):
        if n_digits != 10:
            return (head + " #### ######" if head else "0#### ######"), _UK_FICTION[4]
        first_group = re.search(r"#+", main.replace("(0)", "")).group()
        return mask, _UK_FICTION.get(len(first_group)) or tuple(t for ts in _UK_FICTION.values() for t in ts)
    return mask, None


def _from_templates(templates: tuple[str, ...], rng: np.random.Generator, k: int) -> np.ndarray:
    """(k, L) ASCII digit codes, each row one of the templates ('N': 2-9, 'x': any digit)."""
    chosen = rng.integers(0, len(templates), size=k)
    out = np.empty((k, len(templates[0])), dtype=np.uint8)
    for i, template in enumerate(templates):
        rows = chosen == i
        grid = _mask_bytes(template.replace("x", "#").replace("N", "#"), rng, int(rows.sum()))
        for j, ch in enumerate(template):
            if ch == "N":
                grid[:, j] = _DIGITS[rng.integers(2, 10, size=len(grid))]
        out[rows] = grid
    return out


def _put_digits(mask: str, digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strings shaped like mask whose first '#' positions hold the rows of digits (ASCII codes) in
    order; any '#' left over (an extension) gets a random digit."""
    k, width = digits.shape
    if not mask.isascii():  # e.g. a no-break space: fill per row
        out = []
        for row in digits:
            it = iter(row.tobytes().decode())
            out.append("".join(next(it, None) or str(rng.integers(0, 10)) if ch == "#" else ch for ch in mask))
        return np.asarray(out, dtype=object)
    grid = _mask_bytes(mask, rng, k)
    positions = [i for i, ch in enumerate(mask) if ch == "#"][:width]
    grid[:, positions] = digits
    return _bytes_to_str(grid)


def _phones(fmt: dict, n: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    """Phone numbers in the learned masks, inside the country's fiction range where one is published
    (North America, United Kingdom), else random digits in the mask."""
    masks = fmt.get("masks") or {"(###) ###-####": 1.0}
    locale = fmt.get("locale", "en_US")
    chosen = _choose(rng, masks, n, next(iter(masks)))
    out = np.empty(n, dtype=object)
    for mask in masks:
        rows = chosen == mask
        k = int(rows.sum())
        if not k:
            continue
        shaped, templates = _fiction_plan(mask, locale)
        if templates is None:
            out[rows] = _fill_mask(shaped, rng, k, first_nonzero=True)
        else:
            out[rows] = _put_digits(shaped, _from_templates(templates, rng, k), rng)
    return out


def _fill_masks(masks: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    """n values, each from a digit mask drawn by its learned share."""
    chosen = _choose(rng, masks, n, next(iter(masks)))
    out = np.empty(n, dtype=object)
    for mask in masks:
        rows = chosen == mask
        if rows.any():
            out[rows] = _fill_mask(mask, rng, int(rows.sum()), first_nonzero=True)
    return out


# Card numbers that payment providers publish for testing (Stripe, Adyen, Braintree, PayPal, the Mastercard
# gateway): Luhn-valid, with a real brand prefix, and never a cardholder's card. A handful per brand, so a
# generated card column has few distinct values.
TEST_CARDS = {
    "visa": ("4111111111111111", "4012888888881881", "4242424242424242", "4000056655665556", "4444333322221111",
             "4005519200000004", "4009348888881881", "4012000033330026", "4012000077777777", "4217651111111119",
             "4222222222222"),
    "mastercard": ("5555555555554444", "5105105105105100", "5200828282828210", "5454545454545454",
                   "2223003122003222", "2223000048400011", "5123450000000008", "5111111111111118",
                   "2223000000000007"),
    "amex": ("378282246310005", "371449635398431", "378734493671000", "345678901234564"),
    "discover": ("6011111111111117", "6011000990139424", "6011000400000000", "6011601160116611", "6445644564456445"),
    "diners": ("30569309025904", "38520000023237", "36227206271667"),
    "jcb": ("3530111333300000", "3566002020360505", "3566111111111113"),
    "unionpay": ("6200000000000005", "6205500000000000004"),
    "maestro": ("6759649826438453",),
}


def _cards(fmt: dict, n: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    """Published test card numbers of the learned brands (Visa for cards of no known brand), of the
    learned length where the brand has a test number that long, in the learned digit grouping."""
    brands = _choose(rng, fmt.get("brands") or {"visa": 1.0}, n, "visa")
    out = np.empty(n, dtype=object)
    for brand in np.unique(brands):
        rows = np.flatnonzero(brands == brand)
        pool = TEST_CARDS.get(brand, TEST_CARDS["visa"])
        by_length: dict[int, list[str]] = {}
        for number in pool:
            by_length.setdefault(len(number), []).append(number)
        default = max(by_length, key=lambda L: len(by_length[L]))
        lengths = _choose(rng, fmt.get("lengths", {}).get(brand, {}), len(rows), default).astype(int)
        lengths = np.where(np.isin(lengths, list(by_length)), lengths, default)
        for length in np.unique(lengths):
            sub = rows[lengths == length]
            choices = np.asarray(by_length[length], dtype=object)
            numbers = choices[rng.integers(0, len(choices), len(sub))]
            mask = fmt.get("group_masks", {}).get(str(length), "#" * length)
            if mask.count("#") == length and mask != "#" * length and mask.isascii():
                digits = np.frombuffer("".join(numbers).encode(), dtype=np.uint8).reshape(len(sub), length)
                numbers = _put_digits(mask, digits, rng)
            out[sub] = numbers
    return out


def _iban_check_digits(country: str, bban: np.ndarray) -> np.ndarray:
    """ISO 13616 check digits for rows of BBAN ASCII codes (k, L), as (k, 2) ASCII codes: the mod-97
    remainder of bban + country + '00' (letters read as 10..35) is computed digit by digit."""
    tail = np.frombuffer((country + "00").encode(), dtype=np.uint8)
    codes = np.concatenate([bban, np.tile(tail, (len(bban), 1))], axis=1).astype(np.int64)
    values = np.where(codes >= 65, codes - 55, codes - 48)
    remainder = np.zeros(len(bban), dtype=np.int64)
    for j in range(values.shape[1]):
        v = values[:, j]
        remainder = (remainder * np.where(v >= 10, 100, 10) + v) % 97
    check = 98 - remainder
    return np.stack([check // 10, check % 10], axis=1).astype(np.uint8) + 48


def _default_bban_mask(country: str) -> str:
    for locale in AVAILABLE_LOCALES:
        try:
            provider = __import__(f"faker.providers.bank.{locale}", fromlist=["Provider"]).Provider
        except ImportError:
            continue
        if getattr(provider, "country_code", None) == country:
            return provider.bban_format.replace("?", "A")
    return "#" * 18


def _ibans(fmt: dict, n: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    countries = _choose(rng, fmt.get("countries") or {"DE": 1.0}, n, "DE")
    spaced = rng.random(n) < float(fmt.get("spaced_share", 0.0))
    out = np.empty(n, dtype=object)
    for country in np.unique(countries):
        rows = np.flatnonzero(countries == country)
        mask = fmt.get("bban_masks", {}).get(country) or _default_bban_mask(country)
        bban = _mask_bytes(mask, rng, len(rows))
        cc = np.tile(np.frombuffer(country.encode(), dtype=np.uint8), (len(rows), 1))
        compact = np.concatenate([cc, _iban_check_digits(country, bban), bban], axis=1)
        width = compact.shape[1]
        groups = [compact[:, i:i + 4] for i in range(0, width, 4)]
        space = np.full((len(rows), 1), 32, dtype=np.uint8)
        grouped = np.concatenate([part for g in groups for part in (g, space)][:-1], axis=1)
        out[rows] = np.where(spaced[rows], _bytes_to_str(grouped), _bytes_to_str(compact))
    return out


# US: the SSA never issues an SSN with area 9xx, and the IRS uses area 9xx only for ITINs (groups 50-65,
# 70-88, 90-92, 94-99) and ATINs (group 93), so 9xx-01..49-xxxx is neither an SSN nor a taxpayer number.
# UK: HMRC never allocates the National Insurance prefixes BG, GB, KN, NK, NT and ZZ (TN is left out:
# it marks temporary numbers).
UNISSUED_SSN_GROUPS = (1, 49)
UNALLOCATED_NINO_PREFIXES = ("BG", "GB", "KN", "NK", "NT", "ZZ")


def _national_ids(fmt: dict, n: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    """US SSNs and UK NI numbers that look valid but can never have been issued; other ID formats
    (mask scheme) are random characters in the learned mask, which may coincide with a real ID."""
    scheme = fmt.get("scheme", "mask")
    if scheme == "us_ssn":
        area = rng.integers(900, 1000, size=n)
        group = rng.integers(UNISSUED_SSN_GROUPS[0], UNISSUED_SSN_GROUPS[1] + 1, size=n)
        serial = rng.integers(1, 10000, size=n)
        out = np.full((n, 11), ord("-"), dtype=np.uint8)
        for cols, number in (((0, 1, 2), area), ((4, 5), group), ((7, 8, 9, 10), serial)):
            for i, col in enumerate(cols):
                out[:, col] = 48 + (number // 10 ** (len(cols) - 1 - i)) % 10
        return _bytes_to_str(out)
    if scheme == "uk_nino":
        prefix = np.asarray(UNALLOCATED_NINO_PREFIXES, dtype=object)[rng.integers(0, len(UNALLOCATED_NINO_PREFIXES), n)]
        digits = _fill_mask("######", rng, n)
        suffix = np.asarray(list("ABCD"), dtype=object)[rng.integers(0, 4, n)]
        spaced = "masks" in fmt and any(" " in m for m in fmt["masks"])
        if spaced:
            return np.asarray([f"{p} {d[:2]} {d[2:4]} {d[4:]} {s}" for p, d, s in zip(prefix, digits, suffix)],
                              dtype=object)
        return prefix + digits + suffix
    return _fill_masks(fmt.get("masks") or {"#########": 1.0}, n, rng)


# Address blocks reserved for documentation (RFC 5737, RFC 3849): never routed, never anyone's address.
DOCUMENTATION_IPV4 = ("192.0.2", "198.51.100", "203.0.113")
DOCUMENTATION_IPV6 = 0x20010DB8  # 2001:db8::/32


def _ips(fmt: dict, n: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    """IPv4 addresses in the three documentation /24 blocks, IPv6 ones in 2001:db8::/32, at the learned
    IPv6 share."""
    nets = np.asarray([net + "." for net in DOCUMENTATION_IPV4], dtype=object)
    out = nets[rng.integers(0, len(nets), n)] + rng.integers(1, 255, size=n).astype(str).astype(object)
    v6 = np.flatnonzero(rng.random(n) < float(fmt.get("ipv6_share", 0.0)))
    if len(v6):
        tail = rng.integers(0, 2**32, size=(len(v6), 3), dtype=np.int64)
        out[v6] = [str(ipaddress.IPv6Address((DOCUMENTATION_IPV6 << 96) | (int(a) << 64) | (int(b) << 32) | int(c)))
                   for a, b, c in tail]
    return out


def _fill_templates(fake: Faker, formats, n: int, rng: np.random.Generator, fixed: dict) -> np.ndarray:
    """Faker format strings ('{{street_name}} {{building_number}}') filled per row from small pools of
    Faker values, so that n rows cost a fixed number of Faker calls."""
    if isinstance(formats, dict):
        shares = {f: float(w) for f, w in formats.items()}
    else:
        shares = {}
        for f in formats:
            shares[f] = shares.get(f, 0.0) + 1.0
    chosen = _choose(rng, shares, n, next(iter(shares)))
    out = np.empty(n, dtype=object)
    pools: dict = {}
    for template in shares:
        rows = np.flatnonzero(chosen == template)
        if not len(rows):
            continue
        pieces = re.split(r"\{\{\s*(\w+)\s*\}\}", template)
        acc = np.full(len(rows), "", dtype=object)
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                acc = acc + piece
            elif piece in fixed:
                acc = acc + fixed[piece][rows]
            else:
                if piece not in pools:
                    pools[piece] = np.asarray([str(fake.format(piece)) for _ in range(_POOL)], dtype=object)
                acc = acc + pools[piece][rng.integers(0, _POOL, len(rows))]
        out[rows] = acc
    return out


def _addresses(fmt: dict, n: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    fake = _faker(fmt.get("locale", "en_US"), seed)
    provider = _provider(fake, "address")
    street_formats = getattr(provider, "street_address_formats", None)
    if street_formats:
        street = _fill_templates(fake, street_formats, n, rng, {})
    else:
        pool = np.asarray([fake.street_address() for _ in range(_POOL)], dtype=object)
        street = pool[rng.integers(0, _POOL, n)]
    street = pd.Series(street).str.strip().to_numpy(dtype=object)
    full = rng.random(n) < float(fmt.get("full_address_share", 0.0))
    address_formats = getattr(provider, "address_formats", None)
    if address_formats and any("street_address" in f for f in address_formats):
        # keep the templates built on a street line (drops e.g. en_US military APO/FPO forms)
        address_formats = {f: (address_formats[f] if isinstance(address_formats, dict) else 1.0)
                           for f in address_formats if "street_address" in f}
    if full.any() and address_formats:
        whole = _fill_templates(fake, address_formats, n, rng, {"street_address": street})
        sep = fmt.get("line_separator", "\n")
        if sep != "\n":
            whole = pd.Series(whole).str.replace("\n", sep, regex=False).to_numpy(dtype=object)
        street = np.where(full, whole, street)
    return street


_GENERATORS = {"phone": _phones, "credit_card": _cards, "iban": _ibans, "national_id": _national_ids,
               "ip_address": _ips, "street_address": _addresses}


def _stable(text: str) -> int:
    return zlib.crc32(str(text).encode())


def _as_output(values: np.ndarray, fmt: dict) -> pd.Series:
    s = pd.Series(values, dtype=object)
    if fmt.get("numeric"):
        digits = s.dropna().astype(str)
        if digits.str.fullmatch(r"\d{1,18}").all():
            return pd.to_numeric(s, errors="coerce").astype("Int64")
    return s


def generate_pii(columns: dict[str, tuple[str, dict]], n: int, seed: int) -> pd.DataFrame:
    """n rows of fake values; columns maps column -> (kind, format dict from learn_pii_format).

    One fake person per row feeds all name and e-mail columns; values follow the learned locale and
    masks; nulls appear at the learned rate. Deterministic for a seed."""
    rngs = {c: np.random.default_rng([seed, _stable(c)]) for c in columns}
    rngs["__people__"] = np.random.default_rng([seed, 0])
    data: dict = {}
    people_cols = {c: spec for c, spec in columns.items() if spec[0] in PERSON_KINDS}
    if people_cols and n:
        data.update(_generate_people(people_cols, n, seed, rngs))
    for col, (kind, fmt) in columns.items():
        if kind in PERSON_KINDS:
            continue
        if kind not in _GENERATORS:
            raise LookalikeError(f"Column {col!r}: unknown PII kind {kind!r}.")
        data[col] = _GENERATORS[kind](fmt, n, rngs[col], seed)
    frame = {}
    for col, (kind, fmt) in columns.items():
        values = data[col] if n else np.empty(0, dtype=object)
        nulls = np.random.default_rng([seed, 1, _stable(col)]).random(n) < float(fmt.get("null_rate", 0.0))
        values = np.where(nulls, None, values)
        frame[col] = _as_output(values, fmt)
    return pd.DataFrame(frame, index=pd.RangeIndex(n), columns=list(columns))
