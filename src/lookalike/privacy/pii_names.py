"""The one list of PII kinds and column names, and the Faker provider each kind is faked with.

Column names are read by :func:`lookalike.privacy.pii_checks.name_hint` (multilingual token rules); both
schema inference (``detect_pii``, which also checks the values) and fake-data specs written from a table
(``lookalike schema --as-spec``) use it, so they agree on which names mean personal data.

Direct identifiers only. Quasi-identifiers (city, postcode, date of birth, company, job title) are not PII
here: on their own they do not name a person, and a model learns them like any other column, as categories
or dates whose rare values value protection keeps out of the output (values seen in fewer than ``k`` rows
never appear verbatim). A city is therefore a categorical column, never a Faker column.
"""
from __future__ import annotations

from lookalike.privacy.pii_checks import name_hint

PII_KINDS = ("email", "phone", "person_name", "first_name", "last_name", "street_address", "iban", "credit_card",
             "national_id", "ip_address")

# PII kind -> Faker provider used by fake-data specs (``{faker: <provider>}``)
FAKER_PROVIDERS: dict[str, str] = {
    "email": "email",
    "phone": "phone_number",
    "person_name": "name",
    "first_name": "first_name",
    "last_name": "last_name",
    "street_address": "street_address",
    "iban": "iban",
    "credit_card": "credit_card_number",
    "national_id": "ssn",
    "ip_address": "ipv4",
}


def pii_kind_from_name(name: str, generic: bool = True) -> str | None:
    """The PII kind a column name suggests ('customerEmail' -> 'email', 'name' -> 'person_name'), or None.

    ``generic=False`` leaves a bare 'name' (an airport? a product?) undecided. A name alone is weak
    evidence: schema inference also checks the values (``detect_pii``)."""
    hint = name_hint(name)
    if hint == "generic_name":
        return "person_name" if generic else None
    return hint


def faker_provider(kind: str) -> str:
    """The Faker provider that fakes a PII kind."""
    try:
        return FAKER_PROVIDERS[kind]
    except KeyError:
        raise KeyError(f"unknown PII kind {kind!r}; known: {', '.join(PII_KINDS)}") from None


def pii_kind_of_provider(provider: str) -> str | None:
    """The PII kind a Faker provider fakes ('phone_number' -> 'phone'), or None for other providers."""
    for kind, p in FAKER_PROVIDERS.items():
        if p == provider:
            return kind
    return None
