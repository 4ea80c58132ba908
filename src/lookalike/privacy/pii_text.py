"""PII inside free text: find it, swap it for a placeholder before a model learns the text, fake it after.

A text model never sees a detected e-mail, phone, card, IBAN, national id, IP address, URL, account-like
number, person name or street address: ``mask_pii`` writes ``<EMAIL>``, ``<PHONE>``... in its place, so the
model learns *where* such values occur, never the values. ``fill_pii`` turns every placeholder of a
generated text into a fresh fake of its kind (Faker via ``pii_fake``); within one text the same placeholder
kind gets the same fake each time it recurs (one e-mail per message, as people write; URLs and account
numbers are drawn afresh each time). Detection reuses the
column detectors' checks (Luhn for cards, the IBAN checksum, SSN rules, phone shapes); its recall on a
labelled sample is measured in ``benchmarks/text.py``.
"""
from __future__ import annotations

import functools
import re

import numpy as np

from lookalike.privacy import pii_checks as checks
from lookalike.privacy.pii_fake import generate_pii

# kind -> placeholder written into the text; order matters: earlier kinds claim their spans first
PLACEHOLDERS = {
    "url": "<URL>", "email": "<EMAIL>", "iban": "<IBAN>", "credit_card": "<CARD>", "national_id": "<ID>",
    "ip_address": "<IP>", "phone": "<PHONE>", "street_address": "<ADDRESS>", "account": "<NUMBER>",
    "person_name": "<NAME>",
}
PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))

# street words that are not everyday words, so ``12 baker st`` is found in any case; ``way``, ``place``,
# ``close``, ``court``, ``drive``... count only after capitalised words (``3 miles along the way`` is no address)
_STREET = r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|dr|ct|pl|terrace|parkway|highway|crescent"
_CAPITALISED_STREET = {"Boulevard", "Close"}  # besides Faker's suffixes (British and French-style words it lacks)
_PATTERNS = {
    "url": re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE),
    "email": re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
    "credit_card": re.compile(r"\b\d{4}(?:[ -]?\d{2,7}){2,4}\b|\b\d{12,19}\b"),
    "national_id": re.compile(r"\b\d{3}-\d{2}-\d{4}\b|\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
    "ip_address": re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"),
    "phone": re.compile(r"(?:\+|\b00|\()?[\d(][\d\s().\-/]{5,18}\d(?:\s*(?:x|ext\.?)\s*\d{1,6})?\b"),
    "street_address": None,  # built at first use from Faker's street suffixes: _street_pattern()
    "account": re.compile(r"\b(?=[A-Z0-9-]*\d{5})[A-Z0-9][A-Z0-9-]{5,}\b"),
}
_CHECKS = {
    "iban": lambda v: checks.is_iban(v),
    "credit_card": lambda v: checks.is_card(v),
    "national_id": checks.is_national_id,
    "ip_address": checks.is_ip,
    "phone": lambda v: checks.is_phone(v.strip()),
    "account": lambda v: not re.fullmatch(r"(?:19|20)\d{2}", v) and sum(c.isdigit() for c in v) >= 6,
}


@functools.lru_cache(maxsize=1)
def _street_pattern() -> re.Pattern:
    """A house number, one to three words and a street suffix: an unambiguous street word in any case
    (``12 baker st``), or, after capitalised words, a capitalised suffix from the English street suffixes that
    Faker's US and UK address providers list (the USPS ones: ``Junction``, ``Walk``, ``Way``, plurals such as
    ``Courts``)."""
    import importlib

    suffixes = set(_CAPITALISED_STREET)
    for loc in ("en_US", "en_GB"):
        suffixes.update(importlib.import_module(f"faker.providers.address.{loc}").Provider.street_suffixes)
    listed = "|".join(re.escape(s) for s in sorted(suffixes, key=len, reverse=True))
    number = r"\b\d{1,5}[A-Za-z]?\s+"
    return re.compile(rf"(?i:{number}(?:[A-Z][\w'.-]*\s+){{1,3}}(?:{_STREET})\b\.?)"
                      rf"|{number}(?:[A-Z][\w'.-]*\s+){{1,3}}(?:{listed})\b\.?")


@functools.lru_cache(maxsize=1)
def _first_names() -> frozenset[str]:
    """Given names from Faker's English, German, French and Spanish person providers."""
    import importlib

    names: set[str] = set()
    for loc in ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES"):
        provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            value = getattr(provider, attr, ()) or ()
            names.update(str(n) for n in (value.keys() if isinstance(value, dict) else value))
    return frozenset(n for n in names if len(n) > 2)


_TITLE_RE = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+[A-Z][a-z'-]+\b")
_NAME_RE = re.compile(r"\b(?=([A-Z][a-z]+)\s+(?:[A-Z]\.\s+)?[A-Z][a-z'-]+\b)")  # overlapping candidates
_NAME_SPAN_RE = re.compile(r"[A-Z][a-z]+\s+(?:[A-Z]\.\s+)?[A-Z][a-z'-]+\b")


def find_pii(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) spans of PII in ``text``, first detector wins."""
    taken = np.zeros(len(text) + 1, dtype=bool)
    spans = []

    def claim(start: int, end: int, kind: str) -> None:
        if not taken[start:end].any():
            taken[start:end] = True
            spans.append((start, end, kind))

    for kind, pattern in _PATTERNS.items():
        for m in (pattern or _street_pattern()).finditer(text):
            value = m.group(0)
            if kind in _CHECKS and not _CHECKS[kind](value):
                continue
            claim(m.start(), m.end(), kind)
    names = _first_names()
    for m in _TITLE_RE.finditer(text):  # a title + surname
        claim(m.start(), m.end(), "person_name")
    for m in _NAME_RE.finditer(text):  # a known given name + a capitalised word
        if m.group(1) in names:
            span = _NAME_SPAN_RE.match(text, m.start())
            claim(span.start(), span.end(), "person_name")
    return sorted(spans)


def mask_pii(text: str) -> tuple[str, dict[str, int]]:
    """``text`` with each PII span replaced by its kind's placeholder, and the count per kind."""
    out, last, counts = [], 0, {}
    for start, end, kind in find_pii(text):
        out.append(text[last:start])
        out.append(PLACEHOLDERS[kind])
        counts[kind] = counts.get(kind, 0) + 1
        last = end
    out.append(text[last:])
    return "".join(out), counts


def fill_pii(texts: list[str | None], seed: int) -> list[str | None]:
    """Every placeholder replaced by a fake of its kind: one fake per kind per text (a message that names its
    writer's e-mail twice names the same fake twice)."""
    n = len(texts)
    kinds = [k for k in PLACEHOLDERS if k not in ("url", "account")]
    fakes = generate_pii({k: (k, {}) for k in kinds}, n, seed) if n else None
    rng = np.random.default_rng([seed, 11])
    by_placeholder = {p: k for k, p in PLACEHOLDERS.items()}
    out = []
    for i, text in enumerate(texts):
        if text is None or "<" not in text:
            out.append(text)
            continue

        def fake(m: re.Match, i=i) -> str:
            kind = by_placeholder[m.group(0)]
            if kind == "url":
                return f"https://example.com/{int(rng.integers(10**6)):06d}"
            if kind == "account":
                return "".join(rng.choice(list("0123456789"), size=8))
            return str(fakes[kind].iat[i])

        out.append(PLACEHOLDER_RE.sub(fake, text))
    return out
