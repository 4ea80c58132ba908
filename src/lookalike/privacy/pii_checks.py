"""Value validators and column-name hints for PII detection.

Each validator answers "does this one value look like kind K?" with a real check where one exists
(mod-97 for IBANs, Luhn plus a brand prefix for cards, SSN block rules), so that a column is only
flagged when most of its values pass. The name hints are multilingual token rules; a hint alone never
flags a column, the values must agree.
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import re

from faker.decode import unidecode

# ---------------------------------------------------------------- column names

_PERSON_QUALIFIERS = {
    "customer", "client", "contact", "person", "patient", "employee", "owner", "holder", "cardholder",
    "member", "applicant", "borrower", "student", "guest", "passenger", "driver", "manager", "teacher",
    "author", "recipient", "sender", "beneficiary", "buyer", "seller", "payer", "payee", "full", "kunde",
    "kunden", "user", "doctor", "physician", "nurse", "agent", "account", "insured", "policyholder",
}
_NOT_PERSON_QUALIFIERS = {
    "product", "company", "file", "filename", "city", "country", "state", "brand", "model", "item",
    "category", "street", "host", "hostname", "domain", "table", "column", "dataset", "species", "team",
    "store", "shop", "bank", "hospital", "department", "dept", "region", "airport", "airline", "carrier",
    "project", "org", "organisation", "organization", "business", "firm", "vendor", "supplier", "merchant",
    "drug", "disease", "event", "campaign", "school", "university", "station", "place", "location",
    "display", "screen", "nick", "nickname", "login", "username", "job", "title", "type", "code", "group",
    "class", "field", "var", "variable", "feature", "attribute", "path", "app", "application", "service",
    "server", "database", "db", "key", "tag", "label", "sheet", "plan", "package", "pkg", "module",
}
_FIRST_NAME_WORDS = {"firstname", "fname", "forename", "givenname", "vorname", "prenom", "prénom", "nombre"}
_LAST_NAME_WORDS = {"lastname", "lname", "surname", "familyname", "nachname", "apellido", "apellidos",
                    "achternaam", "cognome"}
_PHONE_WORDS = {"phone", "tel", "telephone", "mobile", "cell", "cellphone", "fax", "telefon", "telefonnummer",
                "handy", "mobil", "phonenumber", "msisdn", "telefono", "téléphone", "telephon", "mobilephone",
                "mobilenumber", "telno", "phoneno"}
_ADDRESS_WORDS = {"address", "addr", "street", "strasse", "straße", "adresse", "anschrift", "direccion",
                  "dirección", "indirizzo", "addressline", "streetaddress", "address1", "address2", "adres",
                  "straat", "rue"}
_NATIONAL_ID_WORDS = {"ssn", "nino", "passport", "taxid", "tin", "socialsecurity", "sozialversicherungsnummer",
                      "steuernummer", "steuerid", "personalausweis", "dni", "nif", "nie", "bsn", "pesel", "cpf",
                      "aadhaar", "insee", "nationalid", "passportnumber", "passportno", "idnumber", "svnr",
                      "ahv", "nir", "codicefiscale", "personnummer", "cnp"}
_CARD_WORDS = {"cc", "ccnum", "ccnumber", "pan", "creditcard", "cardnumber", "kreditkarte", "kartennummer",
               "card", "cardno", "debitcard", "creditcardnumber"}
_IP_WORDS = {"ip", "ipv4", "ipv6", "ipaddr", "ipaddress", "clientip", "remoteip", "sourceip", "srcip", "dstip"}
_EMAIL_WORDS = {"email", "mail", "emailaddress", "courriel", "correo", "mailaddress"}


def column_tokens(name: str) -> list[str]:
    """Lower-case words of a column name: 'customerEmail_2' -> ['customer', 'email', '2']."""
    spaced = re.sub(r"([a-zäöü])([A-ZÄÖÜ])", r"\1 \2", str(name))
    return [t for t in re.split(r"[\W_]+", spaced.lower()) if t]


def names_a_non_person(name: str) -> bool:
    """'product_name', 'company', 'cityName': a name column whose qualifier says it is not a person."""
    tokens = column_tokens(name)
    words = set(tokens)
    stems = {t[:-4] for t in tokens if t.endswith("name") and len(t) > 4}
    return bool((words | stems) & _NOT_PERSON_QUALIFIERS)


def name_hint(name: str) -> str | None:
    """PII kind suggested by a column name, or None. 'generic_name' means a bare 'name' column."""
    tokens = column_tokens(name)
    words = set(tokens)
    joined = "".join(tokens)
    pairs = {a + b for a, b in zip(tokens, tokens[1:])}
    every = words | pairs | {joined}

    if every & _IP_WORDS or ("remote" in words and "addr" in words):
        return "ip_address"
    if every & _EMAIL_WORDS or any(t.endswith("email") or t.startswith("email") for t in tokens):
        return "email"
    if any(t.startswith("iban") for t in tokens):
        return "iban"
    if every & _CARD_WORDS:
        return "credit_card"
    if every & _NATIONAL_ID_WORDS or {"national", "id"} <= words or {"tax", "id"} <= words:
        return "national_id"
    if every & _PHONE_WORDS:
        return "phone"
    if every & _FIRST_NAME_WORDS or {"first", "name"} <= words or {"given", "name"} <= words:
        return "first_name"
    if every & _LAST_NAME_WORDS or {"last", "name"} <= words or {"family", "name"} <= words:
        return "last_name"
    if "mac" in words or "web" in words or "url" in words:
        return None
    if every & _ADDRESS_WORDS:
        return "street_address"
    if "fullname" in every or "cardholder" in words or "accountholder" in every:
        return "person_name"
    if "name" in words or any(t.endswith("name") for t in tokens):
        others = words - {"name"}
        if others & _NOT_PERSON_QUALIFIERS or any(t.endswith("name") and t != "name" and t[:-4]
                                                 in _NOT_PERSON_QUALIFIERS for t in tokens):
            return None
        if others & _PERSON_QUALIFIERS or any(t[:-4] in _PERSON_QUALIFIERS for t in tokens if t.endswith("name")):
            return "person_name"
        if words == {"name"} or tokens == ["name"]:
            return "generic_name"
        return None
    if "person" in words or "holder" in words:
        return "person_name"
    return None


# ---------------------------------------------------------------- validators

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'\-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}$")
SSN_RE = re.compile(r"^(\d{3})-(\d{2})-(\d{4})$")
NINO_RE = re.compile(r"^[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]$")
IBAN_RE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_PHONE_CHARS_RE = re.compile(r"^(?:\+|00)?[\d\s().\-]+?(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?$", re.IGNORECASE)
_PHONE_CHARS_LOOSE_RE = re.compile(r"^(?:\+|00)?[\d\s().\-/]+?(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?$", re.IGNORECASE)
_EXTENSION_RE = re.compile(r"\s*(?:x|ext\.?|#)\s*\d{1,6}$", re.IGNORECASE)
_DATE_LIKE_RE = re.compile(
    r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_ZIP4_RE = re.compile(r"^\d{5}-\d{4}$")
_THOUSANDS_RE = re.compile(r"^-?\d{1,3}(?P<sep>[.,'])\d{3}(?:(?P=sep)\d{3})*(?:(?!(?P=sep))[.,]\d{1,2})?$")
_YEAR_CODE_RE = re.compile(r"^(?:19|20)\d{2}-\d+$")


def is_email(value: str) -> bool:
    return bool(EMAIL_RE.match(value))


_IP_CHARS_RE = re.compile(r"^[0-9A-Fa-f:.]{2,45}$")


def is_ip(value: str) -> bool:
    if not _IP_CHARS_RE.match(value) or ("." not in value and ":" not in value):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def normalize_iban(value: str) -> str:
    return re.sub(r"[\s\-]", "", value).upper()


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 mod-97 check on a compact IBAN."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def is_iban(value: str) -> bool:
    compact = normalize_iban(value)
    return bool(IBAN_RE.match(compact)) and iban_checksum_ok(compact)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_brand(digits: str) -> str | None:
    """Card network from the leading digits (IIN ranges); None when no network uses that prefix."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if n < 13 and not (two in (50, 56, 57, 58) or digits[:2] in ("63", "67") or digits.startswith("0604")):
        return None  # only Maestro issues 12-digit cards
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "mastercard"
    if two in (34, 37) and n == 15:
        return "amex"
    if (digits.startswith("6011") or digits.startswith("65") or 644 <= int(digits[:3]) <= 649) and n in (16, 19):
        return "discover"
    if (digits.startswith("35") and 16 <= n <= 19) or (digits[:4] in ("1800", "2131") and n == 15):
        return "jcb"
    if (two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305) and 14 <= n <= 19:
        return "diners"
    if (two in (50, 56, 57, 58) or digits[:2] in ("63", "67") or digits.startswith("0604")) and 12 <= n <= 19:
        return "maestro"
    if digits[:2] == "62" and 16 <= n <= 19:
        return "unionpay"
    return None


def card_digits(value: str) -> str | None:
    """Digits of a card number written with optional single spaces or dashes, else None."""
    if not re.fullmatch(r"\d{4}(?:[ \-]?\d{2,7}){2,4}|\d{12,19}", value):
        return None
    digits = re.sub(r"\D", "", value)
    return digits if 12 <= len(digits) <= 19 else None


def is_card(value: str) -> bool:
    digits = card_digits(value)
    return digits is not None and luhn_ok(digits) and card_brand(digits) is not None


def is_us_ssn(value: str) -> bool:
    m = SSN_RE.match(value)
    if not m:
        return False
    area, group, serial = m.groups()
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def is_national_id(value: str) -> bool:
    """Formats specific enough to stand alone: US SSN written ###-##-####, UK National Insurance number."""
    return is_us_ssn(value) or bool(NINO_RE.match(value.upper()))


def phone_digits(value: str) -> str:
    return re.sub(r"\D", "", _EXTENSION_RE.sub("", value))


def is_phone(value: str, strict: bool = True) -> bool:
    """7-15 digits with phone punctuation. strict (no column-name hint): also needs a '+', '00' or
    parentheses or at least three digit groups, and rejects dates, ZIP+4 codes, amounts and IPs."""
    pattern = _PHONE_CHARS_RE if strict else _PHONE_CHARS_LOOSE_RE
    if not pattern.match(value):
        return False
    n_digits = len(phone_digits(value))
    if not 7 <= n_digits <= 15:
        return False
    if value.count("(") != value.count(")"):
        return False
    if not strict:
        return True
    core = _EXTENSION_RE.sub("", value).strip()
    groups = [g for g in re.split(r"[\s().\-]+", core.lstrip("+")) if g]
    # '+49 30 1234567', '(030) 1234567', '555-123-4567' but not two-part codes or ranges ('17-000003', '2500-5000')
    if not (core.startswith("+") or core.startswith("00") or "(" in core or len(groups) >= 3):
        return False
    if _DATE_LIKE_RE.match(core) or _ZIP4_RE.match(core) or _THOUSANDS_RE.match(core):
        return False
    if _YEAR_CODE_RE.match(core) or is_ip(core):
        return False
    if re.fullmatch(r"-?\d+\.\d+", core):  # a decimal number
        return False
    return True


# Street addresses: house number + words + street suffix (English/French style), or a street word with a
# street suffix + house number (German/Dutch/Nordic), or a street prefix + name + number (Romance/Polish).
# The word lists are Faker's own address vocabularies plus common abbreviations.
_EN_SUFFIXES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|way|terrace|ter|"
    "circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl|crescent|cres|close|grove|gardens|row|walk|"
    "alley|loop|path|pike|plaza|point|ridge|run|view|hill|mews|green|park|expressway|expy|freeway|fwy|"
    "turnpike|tpke|causeway|route|rte"
).split("|")
_COMPOUND_SUFFIXES = ("straße", "strasse", "str.", "weg", "allee", "platz", "gasse", "ring", "damm", "ufer",
                      "chaussee", "steig", "pfad", "straat", "laan", "plein", "gracht", "kade", "singel", "dreef",
                      "vej", "gade", "gatan", "gata", "vägen", "veien", "gränd", "torget")
_PREFIX_WORDS = ("rue", "avenue", "av.", "boulevard", "bd", "chemin", "place", "allée", "impasse", "quai", "route",
                 "calle", "c/", "avenida", "avda.", "paseo", "plaza", "carrer", "via", "viale", "piazza", "corso",
                 "vicolo", "rua", "travessa", "largo", "ulica", "ul.", "al.", "aleja", "plac")


def _faker_words(locales: tuple[str, ...], attrs: tuple[str, ...]) -> set[str]:
    words: set[str] = set()
    for loc in locales:
        try:
            provider = importlib.import_module(f"faker.providers.address.{loc}").Provider
        except ImportError:
            continue
        for attr in attrs:
            words.update(str(w).strip().lower() for w in getattr(provider, attr, ()) or () if str(w).strip())
    return words


def _alternation(words: set[str]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


@functools.lru_cache(maxsize=1)
def _address_regexes() -> tuple[re.Pattern, ...]:
    english_words = set(_EN_SUFFIXES) | _faker_words(("en_US", "en_GB", "en_AU", "en_CA"), ("street_suffixes",))
    compound = set(_COMPOUND_SUFFIXES) | _faker_words(("de_DE", "de_AT", "nl_NL", "sv_SE", "da_DK"),
                                                      ("street_suffixes_short", "street_suffixes"))
    prefixes = set(_PREFIX_WORDS) | _faker_words(("fr_FR", "es_ES", "es_MX", "pt_BR", "pt_PT", "pl_PL"),
                                                 ("street_prefixes",)) | _faker_words(("it_IT",), ("street_suffixes",))
    word = r"[^\W\d_][\w'.\-]*"
    number = r"\d{1,5}\s?[a-zA-Z]?(?:[-/]\d{1,5})?"
    english = re.compile(
        rf"^\d{{1,6}}[A-Za-z]?(?:-\d+)?,?\s+(?:{word}\s+){{0,4}}(?:{_alternation(english_words)})\.?(?=\s|,|$)",
        re.IGNORECASE)
    germanic = re.compile(rf"^(?:{word}[\s\-]){{0,4}}{word}?(?:{_alternation(compound)})\s*,?\s*{number}(?=\s|,|$)",
                          re.IGNORECASE)
    romance_first = re.compile(rf"^\d{{1,5}}(?:\s?(?:bis|ter))?,?\s+(?:{_alternation(prefixes)})\s+\w", re.IGNORECASE)
    romance_last = re.compile(rf"^(?:{_alternation(prefixes)})\s+.+?,?\s+(?:n[º°o.]\s*)?{number}(?=\s|,|$)",
                              re.IGNORECASE)
    street_only = re.compile(rf"(?:(?:{_alternation(compound)})|\b(?:{_alternation(english_words)})\.?)$|"
                             rf"^(?:{_alternation(prefixes)})\s+\w", re.IGNORECASE)
    return english, germanic, romance_first, romance_last, street_only


_SECONDARY_LINE_RE = re.compile(r"^(?:flat|studio|apt\.?|apartment|suite|unit|room|c/o)\b", re.IGNORECASE)


# Prefixes that make a street even without a house number ('rue Rocher', 'Calle Mayor').
_STRONG_PREFIX_RE = re.compile(r"^(?:rue|avenue|boulevard|chemin|impasse|allée|calle|avenida|via|viale|piazza|rua|"
                               r"travessa|ulica|aleja)\s+(?:(?:de|del|la|le|des|du|da|do|dos|das|di|della)\s+)?"
                               r"[^\W\d_][\w'\-]+", re.IGNORECASE)


def _street_line(value: str) -> str:
    """The line of a (possibly multi-line) address that holds the street: skips 'Flat 3' style lines."""
    lines = [ln.strip() for ln in re.split(r"[\n\r]+", value.strip()) if ln.strip()]
    if len(lines) > 1 and _SECONDARY_LINE_RE.match(lines[0]):
        return lines[1]
    return lines[0] if lines else ""


def address_style(value: str) -> str | None:
    """'english' | 'germanic' | 'romance' when the street line reads like a street address, else None."""
    line = _street_line(value)
    english, germanic, romance_first, romance_last, _ = _address_regexes()
    if english.match(line):
        return "english"
    if germanic.match(line):
        return "germanic"
    if romance_first.match(line) or romance_last.match(line) or _STRONG_PREFIX_RE.match(line):
        return "romance"
    lines = [ln.strip() for ln in re.split(r"[\n\r]+", value.strip()) if ln.strip()]
    if len(lines) > 1 and _SECONDARY_LINE_RE.match(lines[0]) and is_street_name_only(lines[1]):
        return "english"  # 'Flat 3\nBaker Street'
    return None


def is_street_address(value: str) -> bool:
    return address_style(value) is not None


def is_street_name_only(value: str) -> bool:
    """A street without house number ('Hauptstraße', 'Baker Street'); only used with a name hint."""
    return bool(_address_regexes()[4].search(_street_line(value)))


# ---------------------------------------------------------------- person names

NAME_LIST_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "sv_SE",
                     "da_DK", "pt_PT", "fi_FI", "cs_CZ", "tr_TR")
# Names in other scripts, matched after transliteration; their locale comes from the script instead.
OTHER_SCRIPT_NAME_LOCALES = ("ru_RU", "uk_UA", "el_GR", "bg_BG")
_NAME_PARTICLES = {"van", "von", "der", "den", "de", "da", "di", "del", "la", "le", "du", "dos", "das", "y", "zu",
                   "mc", "mac", "st.", "bin", "al", "el", "ten", "ter"}
_NAME_AFFIXES = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "herr", "frau", "mme", "mlle", "m", "sr", "sra",
                 "jr", "sr", "ii", "iii", "iv", "md", "phd", "dds", "dvm", "b.sc", "m.sc", "dipl", "ing", "univ"}


def fold_ascii(text: str) -> str:
    """'Jürgen' -> 'jurgen', 'Чеслав' -> 'cheslav': Faker's own transliteration, lower-cased, for
    matching names across scripts and for building e-mail addresses."""
    return unidecode(str(text)).lower()


def _names_of(provider, kind: str) -> list[str]:
    """Every name list of a Faker person provider for kind 'first' or 'last' ('first_names_female',
    'unisex_last_names', ...)."""
    names: list[str] = []
    for attr in dir(provider):
        value = getattr(provider, attr, None)
        if f"{kind}_name" in attr and isinstance(value, (tuple, list, dict)) and len(value) > 1:
            names.extend(str(x) for x in value)
    return names


@functools.lru_cache(maxsize=1)
def name_lists() -> dict[str, tuple[frozenset, frozenset]]:
    """Faker's first and last names per locale, folded to lower-case ASCII."""
    out = {}
    for loc in NAME_LIST_LOCALES + OTHER_SCRIPT_NAME_LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        except ImportError:
            continue
        firsts = frozenset(fold_ascii(x) for x in _names_of(provider, "first"))
        lasts = frozenset(fold_ascii(x) for x in _names_of(provider, "last"))
        out[loc] = (firsts, lasts)
    return out


@functools.lru_cache(maxsize=1)
def name_affixes() -> frozenset:
    """Titles and suffixes ('mr', 'pani', 'g-zha', 'phd'): ours plus every Faker locale's prefixes/suffixes."""
    words = set(_NAME_AFFIXES)
    for loc in NAME_LIST_LOCALES + OTHER_SCRIPT_NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        for attr in dir(provider):
            value = getattr(provider, attr, None)
            if ("prefix" in attr or "suffix" in attr) and isinstance(value, (tuple, list, dict)):
                words.update(fold_ascii(str(w)).strip().rstrip(".") for w in value)
    return frozenset(w for w in words if w)


@functools.lru_cache(maxsize=1)
def all_first_and_last_names() -> tuple[frozenset, frozenset]:
    lists = name_lists()
    return (frozenset().union(*(f for f, _ in lists.values())), frozenset().union(*(l for _, l in lists.values())))


_NAME_WORD_RE = re.compile(r"^[^\W\d_][^\W\d_'’.\-]*(?:['’\-][^\W\d_]+)*\.?$")


def name_words(value: str) -> list[str] | None:
    """Words of a value that could be a personal name (letters, hyphens, apostrophes), else None.
    'Smith, John' -> ['John', 'Smith'] (comma form reordered); titles and suffixes are dropped."""
    text = value.strip()
    if not text or any(ch.isdigit() for ch in text) or "@" in text:
        return None
    if text.count(",") == 1:
        last, first = (p.strip() for p in text.split(","))
        if fold_ascii(first).rstrip(".") in _NAME_AFFIXES:  # 'John Smith, Jr.'
            text = last
        else:
            text = f"{first} {last}"
    elif "," in text:
        return None
    # titles, suffixes and abbreviations ('Dr.', 'pani', 'Dipl.-Ing.', 'J.') are not first or last names
    affixes = name_affixes()
    words = [w for w in text.split() if fold_ascii(w).rstrip(".") not in affixes and "." not in w]
    if not 1 <= len(words) <= 5 or not all(_NAME_WORD_RE.match(w) for w in words):
        return None
    return words


def is_capitalised(word: str) -> bool:
    return word[:1].isupper() and (word[1:].islower() or word[1:].isupper() or "-" in word or "'" in word
                                   or any(c.isupper() for c in word[1:3]))


def is_known_full_name(value: str) -> bool:
    """2-4 capitalised words: a known first name then a known last name (last word, a hyphen part, or
    the tail with particles such as 'van der Berg'), or a last name then a first name, per Faker's lists."""
    words = name_words(value)
    if words is None:
        return False
    core = [w for w in words if fold_ascii(w) not in _NAME_PARTICLES]
    if not 2 <= len(core) <= 4 or not all(is_capitalised(w) for w in core):
        return False
    firsts, lasts = all_first_and_last_names()
    folded = [fold_ascii(w) for w in words]
    tails = {folded[-1], " ".join(folded[1:]), *folded[-1].split("-")}
    tails |= {" ".join(folded[i:]) for i in range(1, len(folded))}
    if folded[0].split("-")[0] in firsts and any(t in lasts for t in tails):
        return True
    # family name first: 'Бурова Екатерина Сергеевна'
    return folded[0] in lasts and folded[1].split("-")[0] in firsts


def starts_with_first_name(value: str) -> bool:
    """2-4 capitalised words opening with a known first name ('Gary Muhrcke'): Faker's last-name
    lists are short, so a real surname is often unknown while the first name is not."""
    words = name_words(value)
    if words is None:
        return False
    core = [w for w in words if fold_ascii(w) not in _NAME_PARTICLES]
    firsts, _ = all_first_and_last_names()
    return 2 <= len(core) <= 4 and all(is_capitalised(w) for w in core) \
        and fold_ascii(core[0]).split("-")[0] in firsts


def known_name_words(value: str) -> str | None:
    """'first' / 'last' / 'both' when every word longer than an initial is a known first or last name
    ('Allison', 'Suzuki, I', 'J Pierre'), else None."""
    words = [fold_ascii(w) for w in name_words(value) or [] if len(w.rstrip(".")) > 1]
    if not words:
        return None
    firsts, lasts = all_first_and_last_names()

    def is_last(w: str) -> bool:
        return w in lasts or w.split("-")[-1] in lasts
    if len(words) == 1:
        return "first" if words[0].split("-")[0] in firsts else "last" if is_last(words[0]) else None
    return "both" if all(w.split("-")[0] in firsts or is_last(w) for w in words) else None
