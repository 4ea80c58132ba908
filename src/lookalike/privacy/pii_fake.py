"""Fake PII values from the formats that `learn_pii_format` describes.

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


class _EmailColumn:
    """Per-row e-mail choices (style, separator, digits, domain) for one e-mail column."""

    def __init__(self, fmt: dict, people: _People, n: int, rng: np.random.Generator, seed: int):
        self.fmt, self.people, self.rng = fmt, people, rng
        locale = fmt.get("locale", "en_US")
        fake = _faker(people.locale if locale == "en_US" else locale, seed)
        internet = _provider(fake, "internet")
        self.free_domains = np.asarray(list(dict.fromkeys(getattr(internet, "free_email_domains", ("gmail.com",)))),
                                       dtype=object)
        words = {re.sub(r"[^a-z0-9\-]", "", checks.fold_ascii(fake.domain_word())) for _ in range(_POOL // 3)}
        self.company_words = np.asarray(sorted(w for w in words if w) or ["example"], dtype=object)
        self.fields = {}
        self.redraw(np.ones(n, dtype=bool))

    def redraw(self, rows: np.ndarray) -> None:
        k, rng, fmt = int(rows.sum()), self.rng, self.fmt
        draws = {
            "style": _choose(rng, fmt.get("styles", {}), k, "first_last"),
            "sep": _choose(rng, fmt.get("separators", {}), k, "."),
            "digits": np.where(rng.random(k) < float(fmt.get("digits_share", 0.0)),
                               rng.integers(1, 100, size=k).astype(str), ""),
            "free": rng.random(k) < float(fmt.get("free_mail_share", 0.5)),
            "free_domain": _choose(rng, fmt["free_domains"], k, "") if fmt.get("free_domains")
            else self.free_domains[rng.integers(0, len(self.free_domains), size=k)],
            "company": self.company_words[rng.integers(0, len(self.company_words), size=k)],
            "tld": _choose(rng, fmt.get("tlds", {}), k, "com"),
            "upper": rng.random(k) < float(fmt.get("upper_share", 0.0)),
        }
        for name, values in draws.items():
            if name not in self.fields:
                self.fields[name] = np.empty(len(rows), dtype=values.dtype)
            self.fields[name][rows] = values

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
        domain = np.where(f["free"], f["free_domain"], f["company"] + "." + f["tld"].astype(str))
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

def _phones(fmt: dict, n: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    return _fill_masks(fmt.get("masks") or {"(###) ###-####": 1.0}, n, rng)


def _fill_masks(masks: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    """n values, each from a digit mask drawn by its learned share."""
    chosen = _choose(rng, masks, n, next(iter(masks)))
    out = np.empty(n, dtype=object)
    for mask in masks:
        rows = chosen == mask
        if rows.any():
            out[rows] = _fill_mask(mask, rng, int(rows.sum()), first_nonzero=True)
    return out


def _luhn_check_digit(body: np.ndarray) -> np.ndarray:
    """Check digits for rows of digits (k, L-1) so that the full number passes Luhn."""
    rev = body[:, ::-1].astype(np.int64)
    doubled = rev[:, 0::2] * 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = doubled.sum(axis=1) + rev[:, 1::2].sum(axis=1)
    return (10 - total % 10) % 10


_BRAND_PREFIXES = {
    "visa": ["4"], "mastercard": [str(x) for x in range(51, 56)] + ["2221", "2300", "2500", "2720"],
    "amex": ["34", "37"], "discover": ["6011", "65", "644", "649"], "jcb": ["3528", "3550", "3589"],
    "diners": ["36", "38", "300", "305"], "maestro": ["5018", "5020", "5038", "56", "57", "58", "6304", "6759"],
    "unionpay": ["62"],
}
_BRAND_LENGTH = {"visa": 16, "mastercard": 16, "amex": 15, "discover": 16, "jcb": 16, "diners": 14,
                 "maestro": 16, "unionpay": 16, "other": 16}


def _cards(fmt: dict, n: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    brands = _choose(rng, fmt.get("brands") or {"visa": 1.0}, n, "visa")
    out = np.empty(n, dtype=object)
    for brand in np.unique(brands):
        rows = np.flatnonzero(brands == brand)
        lengths = _choose(rng, fmt.get("lengths", {}).get(brand, {}), len(rows), _BRAND_LENGTH.get(brand, 16))
        for length in np.unique(lengths.astype(int)):
            sub = rows[lengths.astype(int) == length]
            k = len(sub)
            if brand in _BRAND_PREFIXES:
                choices = np.asarray(_BRAND_PREFIXES[brand], dtype=object)
                prefixes = choices[rng.integers(0, len(choices), k)]
            else:
                prefixes = _choose(rng, fmt.get("other_first_digits", {}), k, "6")
            body = rng.integers(0, 10, size=(k, length - 1))
            for prefix in np.unique(prefixes):
                body[np.ix_(prefixes == prefix, np.arange(len(prefix)))] = [int(ch) for ch in prefix]
            digits = np.concatenate([body, _luhn_check_digit(body)[:, None]], axis=1)
            numbers = (digits.astype(np.uint8) + 48).view(f"S{length}").ravel().astype(str)
            mask = fmt.get("group_masks", {}).get(str(length), "#" * length)
            if mask.count("#") == length and mask != "#" * length:
                positions = [i for i, ch in enumerate(mask) if ch == "#"]
                grid = np.tile(np.frombuffer(mask.encode(), dtype=np.uint8), (k, 1))
                grid[:, positions] = digits.astype(np.uint8) + 48
                numbers = grid.view(f"S{len(mask)}").ravel().astype(str)
            out[sub] = numbers.astype(object)
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


def _national_ids(fmt: dict, n: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    scheme = fmt.get("scheme", "mask")
    if scheme == "us_ssn":
        area = rng.integers(1, 900, size=n)
        area = np.where(area == 666, 667, area)  # SSA never issues area 000, 666 or 9xx, group 00, serial 0000
        group, serial = rng.integers(1, 100, size=n), rng.integers(1, 10000, size=n)
        out = np.full((n, 11), ord("-"), dtype=np.uint8)
        for cols, number in (((0, 1, 2), area), ((4, 5), group), ((7, 8, 9, 10), serial)):
            for i, col in enumerate(cols):
                out[:, col] = 48 + (number // 10 ** (len(cols) - 1 - i)) % 10
        return _bytes_to_str(out)
    if scheme == "uk_nino":
        first, second = list("ABCEGHJKLMNOPRSTWXYZ"), list("ABCEGHJKLMNPRSTWXYZ")
        a = np.asarray(first)[rng.integers(0, len(first), n)]
        b = np.asarray(second)[rng.integers(0, len(second), n)]
        digits = _fill_mask("######", rng, n)
        suffix = np.asarray(list("ABCD"))[rng.integers(0, 4, n)]
        spaced = "masks" in fmt and any(" " in m for m in fmt["masks"])
        if spaced:
            return np.asarray([f"{x}{y} {d[:2]} {d[2:4]} {d[4:]} {s}" for x, y, d, s in zip(a, b, digits, suffix)],
                              dtype=object)
        return np.asarray([f"{x}{y}{d}{s}" for x, y, d, s in zip(a, b, digits, suffix)], dtype=object)
    return _fill_masks(fmt.get("masks") or {"#########": 1.0}, n, rng)


def _ips(fmt: dict, n: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    octets = rng.integers(0, 256, size=(n, 4))
    octets[:, 3] = rng.integers(1, 255, size=n)
    public_first = np.asarray([x for x in range(1, 224) if x not in (10, 100, 127, 169, 172, 192, 198, 203)])
    octets[:, 0] = public_first[rng.integers(0, len(public_first), n)]
    private = rng.random(n) < float(fmt.get("private_share", 0.0))
    which = rng.integers(0, 3, n)
    octets[private & (which == 0), 0] = 10
    rows = private & (which == 1)
    octets[rows, 0], octets[rows, 1] = 192, 168
    rows = private & (which == 2)
    octets[rows, 0], octets[rows, 1] = 172, rng.integers(16, 32, int(rows.sum()))
    s = octets.astype(str)
    out = (pd.Series(s[:, 0]) + "." + s[:, 1] + "." + s[:, 2] + "." + s[:, 3]).to_numpy(dtype=object)
    v6 = np.flatnonzero(rng.random(n) < float(fmt.get("ipv6_share", 0.0)))
    if len(v6):
        hi = rng.integers(0x2000, 0x4000, size=len(v6))
        rest = rng.integers(0, 2**63, size=(len(v6), 2), dtype=np.int64)
        out[v6] = [str(ipaddress.IPv6Address((int(h) << 112) | ((int(a) << 49) ^ int(b)) & ((1 << 112) - 1)))
                   for h, (a, b) in zip(hi, rest)]
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
