"""PII columns: detect them, learn a non-identifying description of their format, generate lookalikes.

PII columns are never learned by a model. Schema inference calls `detect_pii` per column; the fitted
synthesizer keeps only `learn_pii_format`'s small JSON dict (patterns and shares, never a real value); the
decoder calls `generate_pii` to fill those columns with fake values, one fake person per row.
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import re
import unicodedata
from collections import Counter

import numpy as np
import pandas as pd

from lookalike.errors import LookalikeError
from lookalike.privacy import pii_checks as checks
from lookalike.privacy.pii_fake import generate_pii, known_locale
from lookalike.privacy.pii_names import PII_KINDS  # the one list (kinds, names, Faker providers)

__all__ = ["PII_KINDS", "detect_pii", "learn_pii_format", "generate_pii"]


# Share of non-null values that must pass a kind's check: lower when the column name already says the kind.
HINTED_SHARE = 0.5
UNHINTED_SHARE = 0.9
# Below this many non-null values, weak evidence (phones, addresses, names) needs a column-name hint.
MIN_VALUES_FOR_WEAK_KINDS = 5
_SAMPLE = 2000

_STRONG_CHECKS = (("email", checks.is_email), ("ip_address", checks.is_ip), ("iban", checks.is_iban),
                  ("credit_card", checks.is_card), ("national_id", checks.is_national_id))
_WEAK_CHECKS = (("phone", checks.is_phone), ("street_address", checks.is_street_address))
_ID_LIKE_RE = re.compile(r"^(?=(?:\D*\d){3})[A-Za-z0-9][A-Za-z0-9 .\-/]{4,24}$")


def _nonempty_strings(values: pd.Series) -> pd.Series | None:
    """Non-null values as stripped strings; None for columns that cannot hold PII (booleans, dates,
    non-integral numbers such as amounts)."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values) \
            or isinstance(values.dtype, pd.PeriodDtype) or pd.api.types.is_timedelta64_dtype(values):
        return None
    s = values.dropna()
    if pd.api.types.is_numeric_dtype(values):
        if pd.api.types.is_float_dtype(values):
            if not np.isfinite(s).all() or not (s == s.round()).all():
                return None
            s = s.astype("int64")
        return s.astype(str)
    s = s.astype(str).str.strip()
    return s[s != ""]


def _share(s: pd.Series, check) -> float:
    """Share of values passing check, evaluated once per distinct value (categoricals are cheap)."""
    if not len(s):
        return 0.0
    counts = s.value_counts(sort=False)
    passed = np.fromiter((bool(check(v)) for v in counts.index), dtype=bool, count=len(counts))
    return float(counts.to_numpy()[passed].sum() / counts.sum())


def _looks_like_name_column(s: pd.Series, max_words: int) -> bool:
    def fits(v: str) -> bool:
        words = checks.name_words(v)
        return words is not None and len(words) <= max_words
    return _share(s, fits) >= 0.8 and s.nunique() > min(2, len(s) - 1)


def _hint_confirmed(hint: str, s: pd.Series) -> bool:
    if hint in ("email", "ip_address", "iban", "credit_card"):
        return _share(s, dict(_STRONG_CHECKS)[hint]) >= HINTED_SHARE
    if hint == "phone":
        return _share(s, lambda v: checks.is_phone(v, strict=False)) >= HINTED_SHARE
    if hint == "street_address":
        return _share(s, lambda v: checks.is_street_address(v) or checks.is_street_name_only(v)) >= HINTED_SHARE
    if hint == "national_id":
        return _share(s, lambda v: bool(_ID_LIKE_RE.match(v))) >= 0.8 and s.nunique() >= 0.5 * len(s)
    if hint in ("first_name", "last_name"):
        return _looks_like_name_column(s, max_words=3)
    if hint == "person_name":
        return _looks_like_name_column(s, max_words=5)
    return False


def _generic_name_kind(s: pd.Series) -> str | None:
    """For a column called just 'name': person_name, first_name or last_name when at least half of
    the values read as personal names (Faker's name lists), else None ('Heathrow', 'Citigroup')."""
    if not _looks_like_name_column(s, max_words=5):
        return None
    counts = s.value_counts()

    def label(v: str) -> str | None:
        if checks.is_known_full_name(v) or checks.starts_with_first_name(v):
            return "both"
        return checks.known_name_words(v)
    labels = pd.Series([label(v) for v in counts.index], index=counts.index, dtype=object)
    weight = counts / counts.sum()
    if weight[labels.notna().to_numpy()].sum() < 0.5:
        return None
    one_word = np.fromiter((len(checks.name_words(v) or ()) == 1 for v in counts.index), dtype=bool,
                           count=len(counts))
    if weight[one_word].sum() >= 0.8:
        first, last = weight[(labels == "first").to_numpy()].sum(), weight[(labels == "last").to_numpy()].sum()
        return "first_name" if first >= last else "last_name"
    return "person_name"


def detect_pii(name: str, values: pd.Series) -> str | None:
    """Kind of PII in this column, from its name and its values (None if not PII).

    A name hint ('email', 'Telefon', 'nachname', ...) is only trusted when at least half of the values
    agree; without a hint, 90% of the non-null values must pass a validated check (mod-97, Luhn, SSN
    rules, phone punctuation, street suffixes, known first + last names)."""
    s = _nonempty_strings(values)
    if s is None:
        return None
    if len(s) > _SAMPLE:
        s = s.sample(_SAMPLE, random_state=0)
    hint = checks.name_hint(name)
    if hint is not None and len(s) == 0:
        return None if hint == "generic_name" else hint  # an empty column named 'email' is still an e-mail column
    if hint == "generic_name":
        kind = _generic_name_kind(s)
        if kind is not None:
            return kind
    elif hint is not None and _hint_confirmed(hint, s):
        return hint
    if len(s) == 0:
        return None
    if pd.api.types.is_numeric_dtype(values):  # bare numbers: only card numbers are specific enough
        return "credit_card" if _share(s, checks.is_card) >= UNHINTED_SHARE else None
    for kind, check in _STRONG_CHECKS:
        if _share(s, check) >= UNHINTED_SHARE:
            return kind
    if len(s) < MIN_VALUES_FOR_WEAK_KINDS:
        return None
    # Phone numbers and addresses are mostly distinct; a code repeated across rows is not one. Tested first: the
    # address check compiles regexes from Faker's street words, 0.4 CPU s of a categorical table's fit otherwise
    if s.nunique() >= 0.5 * len(s):
        for kind, check in _WEAK_CHECKS:
            if _share(s, check) >= UNHINTED_SHARE:
                return kind
    def shaped(v: str) -> bool:
        words = checks.name_words(v)
        return words is not None and 2 <= len(words) <= 3 and all(checks.is_capitalised(x) for x in words)
    if checks.names_a_non_person(name):
        return None
    if _share(s, shaped) >= UNHINTED_SHARE and (_share(s, checks.is_known_full_name) >= 0.5
                                                 or _share(s, checks.starts_with_first_name) >= 0.7):
        return "person_name"
    return None


# ---------------------------------------------------------------- format learning

_CALLING_CODES = {
    "1": "en_US", "7": "ru_RU", "20": "ar_EG", "27": "en_ZA", "30": "el_GR", "31": "nl_NL",
    "32": "nl_BE", "33": "fr_FR", "34": "es_ES", "36": "hu_HU", "39": "it_IT", "40": "ro_RO", "41": "de_CH",
    "43": "de_AT", "44": "en_GB", "45": "da_DK", "46": "sv_SE", "47": "no_NO", "48": "pl_PL", "49": "de_DE",
    "52": "es_MX", "54": "es_AR", "55": "pt_BR", "56": "es_CL", "57": "es_CO", "61": "en_AU", "62": "id_ID",
    "63": "en_PH", "64": "en_NZ", "66": "th_TH", "81": "ja_JP", "82": "ko_KR", "84": "vi_VN", "86": "zh_CN",
    "90": "tr_TR", "91": "en_IN", "98": "fa_IR", "351": "pt_PT", "352": "fr_FR", "353": "en_IE", "358": "fi_FI",
    "359": "bg_BG", "370": "lt_LT", "371": "lv_LV", "372": "et_EE", "380": "uk_UA", "385": "hr_HR",
    "386": "sl_SI", "420": "cs_CZ", "421": "sk_SK", "886": "zh_TW", "972": "he_IL", "971": "ar_AE",
}
_COUNTRY_LOCALES = {
    "DE": "de_DE", "AT": "de_AT", "CH": "de_CH", "FR": "fr_FR", "GB": "en_GB", "UK": "en_GB", "IE": "en_IE",
    "ES": "es_ES", "IT": "it_IT", "NL": "nl_NL", "BE": "nl_BE", "PL": "pl_PL", "PT": "pt_PT", "BR": "pt_BR",
    "DK": "da_DK", "SE": "sv_SE", "NO": "no_NO", "FI": "fi_FI", "CZ": "cs_CZ", "SK": "sk_SK", "HU": "hu_HU",
    "RO": "ro_RO", "GR": "el_GR", "TR": "tr_TR", "LU": "fr_FR", "HR": "hr_HR", "SI": "sl_SI", "BG": "bg_BG",
    "EE": "et_EE", "LV": "lv_LV", "LT": "lt_LT", "US": "en_US", "CA": "en_CA", "AU": "en_AU", "NZ": "en_NZ",
    "IN": "en_IN", "JP": "ja_JP", "CN": "zh_CN", "RU": "ru_RU", "UA": "uk_UA", "MX": "es_MX", "AR": "es_AR",
}
FREE_MAIL_PROVIDERS = {
    "gmail", "googlemail", "yahoo", "ymail", "hotmail", "outlook", "live", "msn", "aol", "icloud", "me", "mac",
    "mail", "gmx", "web", "t-online", "freenet", "arcor", "orange", "free", "laposte", "wanadoo", "sfr", "voila",
    "libero", "virgilio", "tiscali", "alice", "yandex", "rambler", "qq", "163", "126", "naver", "daum", "seznam",
    "wp", "onet", "interia", "o2", "bluewin", "proton", "protonmail", "zoho", "gmx.net", "btinternet", "sky",
    "telenet", "skynet", "ziggo", "kpnmail", "home", "planet", "hetnet", "terra", "uol", "bol", "ig", "rediffmail",
}
_NAME_SCRIPTS = (("CYRILLIC", "ru_RU"), ("GREEK", "el_GR"), ("HIRAGANA", "ja_JP"), ("KATAKANA", "ja_JP"),
                 ("HANGUL", "ko_KR"), ("CJK", "zh_CN"), ("ARABIC", "ar_AA"), ("HEBREW", "he_IL"), ("THAI", "th_TH"))
_MIN_SUPPORT = 5  # a mask, card brand or IBAN country is kept only when this many values share it
_GENERIC_TLD_RE = re.compile(r"(?:com|net|org|info|biz|edu|gov|mil|int|eu|[a-z]{2}|(?:co|com)\.[a-z]{2})")


def _mean(flags: pd.Series) -> float:
    """Share of True values, 0.0 for an empty column (keeps formats valid JSON: no NaN)."""
    return round(float(flags.mean()), 6) if len(flags) else 0.0


def _shares(counter: Counter, top: int | None = None, min_count: int = 1) -> dict:
    total = sum(counter.values())
    items = [(k, c) for k, c in counter.most_common(top) if c >= min_count]
    if not items and counter:
        items = counter.most_common(1)
    kept = sum(c for _, c in items)
    return {str(k): round(c / kept, 6) for k, c in items} if total else {}


def _script_locale(values: pd.Series) -> str | None:
    letters = Counter()
    for v in values.head(500):
        for ch in v:
            if ch.isalpha() and ord(ch) > 0x24F:
                letters[unicodedata.name(ch, "").split(" ")[0]] += 1
    if not letters:
        return None
    if (letters["HIRAGANA"] + letters["KATAKANA"]) >= 0.05 * sum(letters.values()):
        return "ja_JP"  # kanji alone cannot tell Japanese from Chinese, kana can
    script = letters.most_common(1)[0][0]
    return next((loc for prefix, loc in _NAME_SCRIPTS if script.startswith(prefix)), None)


def _name_locale(values: pd.Series) -> str:
    by_script = _script_locale(values)
    if by_script:
        return by_script
    votes = Counter()
    lists = checks.name_lists()
    for v in values.head(1000):
        words = [checks.fold_ascii(w).split("-")[0] for w in (checks.name_words(v) or [])]
        for loc, (firsts, lasts) in lists.items():
            if loc in checks.OTHER_SCRIPT_NAME_LOCALES:
                continue
            votes[loc] += sum(w in firsts or w in lasts for w in words)
    if not votes or votes.most_common(1)[0][1] == 0:
        return "en_US"
    best = max(votes.values())
    return next(loc for loc in checks.NAME_LIST_LOCALES if votes.get(loc) == best)


def _case_shares(values: pd.Series) -> dict:
    def case(v: str) -> str:
        letters = [c for c in v if c.isalpha()]
        if letters and all(c.isupper() for c in letters) and len(letters) > 1:
            return "upper"
        if letters and all(c.islower() for c in letters):
            return "lower"
        return "title"
    return _shares(Counter(values.map(case)))


def _learn_names(kind: str, s: pd.Series) -> dict:
    fmt = {"locale": _name_locale(s), "case": _case_shares(s)}
    if kind == "person_name":
        firsts, _ = checks.all_first_and_last_names()

        def order(v: str) -> str:
            if "," in v:
                return "last_comma_first"
            words = v.split()
            if len(words) >= 2 and len(words[0].rstrip(".")) > 1 and checks.fold_ascii(words[-1]) in firsts \
                    and checks.fold_ascii(words[0]) not in firsts:
                return "last_first"
            return "first_last"
        fmt["order"] = _shares(Counter(s.map(order)))
        initial = s.str.contains(r"(?:^|[\s,])[^\W\d_]\.?(?:\s|$)")  # 'J Pierre', 'Allard, K', 'G. Mercator'
        fmt["initial_share"] = _mean(initial)
        fmt["initial_dot"] = bool(s[initial].str.contains(r"(?:^|[\s,])[^\W\d_]\.").mean() >= 0.5) \
            if initial.any() else False
        if fmt["locale"] in ("ja_JP", "zh_CN", "zh_TW", "ko_KR"):
            fmt["separator"] = " " if s.str.contains(" ").mean() >= 0.5 else ""
    return fmt


def _email_style(local: str) -> tuple[str, str]:
    core = re.sub(r"\d+$", "", local)
    parts = [p for p in re.split(r"[._\-]", core) if p]
    sep = next((c for c in core if c in "._-"), "")
    if len(parts) >= 2:
        if len(parts[0]) == 1:
            return "initial_last", sep
        if len(parts[-1]) == 1:
            return "first_initial", sep
        return "first_last", sep
    firsts, lasts = checks.all_first_and_last_names()
    word = core.lower()
    if word in firsts:
        return "first", ""
    if any(word[:k] in firsts and word[k:] in lasts for k in range(2, len(word) - 1)):
        return "first_last", ""
    if len(word) > 1 and word[1:] in lasts:
        return "initial_last", ""
    return "handle", ""


def _learn_email(s: pd.Series) -> dict:
    local, domain = s.str.rsplit("@", n=1).str[0], s.str.rsplit("@", n=1).str[-1].str.lower()
    provider = domain.str.split(".", n=1).str[0]
    tld = domain.str.extract(r"((?:co\.|com\.)?[a-z]+)$", expand=False)
    # 'gmail.com', 'yahoo.co.uk', 'web.de': a public provider directly under a generic or country TLD
    # ('mail.acme.com' is a company domain, never kept)
    free = provider.isin(FREE_MAIL_PROVIDERS) & (domain == provider + "." + tld)
    tld = tld.where(tld.str.fullmatch(_GENERIC_TLD_RE.pattern).fillna(False))  # no '.bmw'-style brand TLDs
    styles = local.map(_email_style)
    country_tlds = tld.str.extract(r"([a-z]{2})$", expand=False).str.upper().map(_COUNTRY_LOCALES).dropna()
    locale = country_tlds.mode().iloc[0] if len(country_tlds) and len(country_tlds) >= 0.2 * len(s) else "en_US"
    # No domain is kept, not even public providers' (fake addresses are at reserved domains): only the
    # share of free-mail style addresses, the local-part styles and a locale from country TLDs.
    return {
        "locale": locale,
        "free_mail_share": _mean(free),
        "styles": _shares(Counter(st for st, _ in styles)),
        "separators": _shares(Counter(sep for _, sep in styles)),
        "digits_share": _mean(local.str.contains(r"\d$")),
        "upper_share": _mean(local.str.contains(r"[A-Z]")),
    }


def _phone_mask(value: str) -> tuple[str, str | None]:
    """'+49 30 1234567' -> ('+49 ## #######', '49'): country code and a national trunk '0' are kept."""
    v = value.strip()
    m = re.match(r"^(\+|00)\s?(\d{1,3})", v)
    code = None
    if m:
        digits = m.group(2)
        code = next((digits[:k] for k in (3, 2, 1) if digits[:k] in _CALLING_CODES), None)
        if code:
            head = v[:m.start(2)] + code
            return head + re.sub(r"\d", "#", v[len(head):]).replace("(#)", "(0)"), code
    if v.startswith("0") and not v.startswith("00"):
        return "0" + re.sub(r"\d", "#", v[1:]), None
    return re.sub(r"\d", "#", v), None


def _learn_phone(s: pd.Series) -> dict:
    s = s[s.map(lambda v: checks.is_phone(v, strict=False))]  # a mask of free text would keep its words
    masks = s.map(_phone_mask)
    codes = Counter(c for _, c in masks if c)
    with_code = sum(codes.values()) >= 0.3 * len(s) if codes else False
    locale = _CALLING_CODES[codes.most_common(1)[0][0]] if with_code else "en_US"
    return {"locale": locale, "masks": _shares(Counter(m for m, _ in masks), top=8, min_count=_MIN_SUPPORT)}


_ADDRESS_VOCAB_LOCALES = ("de_DE", "nl_NL", "da_DK", "sv_SE", "fr_FR", "es_ES", "it_IT", "pt_BR", "pl_PL")
_COMPOUND_STREET_LOCALES = ("de_DE", "nl_NL", "da_DK", "sv_SE")


@functools.lru_cache(maxsize=1)
def _address_vocab() -> list[tuple[str, re.Pattern]]:
    """Per locale, a pattern for its street words taken from Faker's address vocabulary: a suffix
    before the house number ('Hauptstraße 5') or a prefix opening the street line ('26, rue ...')."""
    out = []
    for loc in _ADDRESS_VOCAB_LOCALES:
        provider = importlib.import_module(f"faker.providers.address.{loc}").Provider
        words = set()
        for attr, value in vars(provider).items():
            if attr.startswith(("street_prefix", "street_suffix")) and isinstance(value, (tuple, list)):
                words.update(str(w).strip().lower() for w in value if len(str(w).strip()) >= 2)
        alt = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
        if loc in _COMPOUND_STREET_LOCALES:
            out.append((loc, re.compile(rf"(?:{alt})\s*\d", re.IGNORECASE)))
        else:
            out.append((loc, re.compile(rf"^(?:\d+\w?,?\s+)?(?:{alt})(?!\w)", re.IGNORECASE)))
    return out


def _address_locale(values: pd.Series) -> str:
    """The locale whose street vocabulary most values use; English (US, or GB by postcode) otherwise."""
    votes = Counter()
    lines = values.head(1000).map(lambda v: re.split(r"[\n\r]+", v.strip())[0])
    for loc, pattern in _address_vocab():
        votes[loc] = int(lines.map(lambda line: bool(pattern.search(line))).sum())
    best, count = max(votes.items(), key=lambda kv: kv[1]) if votes else ("en_US", 0)
    if count and count >= 0.3 * len(lines):
        return best
    uk_postcode = _mean(values.head(1000).str.contains(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b"))
    return "en_GB" if uk_postcode >= 0.5 else "en_US"


def _learn_address(s: pd.Series) -> dict:
    multi = s.str.contains(r"[\n\r]") | (s.str.count(",") >= 2)
    newline = s[multi].str.contains(r"[\n\r]")
    by_script = _script_locale(s)
    locale = by_script or _address_locale(s)
    return {"locale": locale, "full_address_share": _mean(multi),
            "line_separator": "\n" if (not len(newline) or newline.mean() >= 0.5) else ", "}


def _learn_iban(s: pd.Series) -> dict:
    s = s[s.map(checks.is_iban)]
    compact = s.map(checks.normalize_iban)
    country = compact.str[:2]
    masks = {}
    for cc, group in compact.groupby(country):
        bban_masks = group.str[4:].map(lambda b: re.sub(r"[A-Z]", "A", re.sub(r"\d", "#", b)))
        masks[cc] = Counter(bban_masks).most_common(1)[0][0]
    countries = _shares(Counter(country), min_count=_MIN_SUPPORT)  # fewer IBANs would single out customers
    masks = {cc: m for cc, m in masks.items() if cc in countries}
    top = max(countries, key=countries.get) if countries else "DE"
    return {"locale": _COUNTRY_LOCALES.get(top, "en_US"), "countries": countries, "bban_masks": masks,
            "spaced_share": _mean(s.str.contains(" "))}


def _learn_card(s: pd.Series) -> dict:
    digits = s.map(checks.card_digits).dropna()
    brands = digits.map(lambda d: checks.card_brand(d) if checks.luhn_ok(d) else None).fillna("other")
    brand_shares = _shares(Counter(brands), min_count=_MIN_SUPPORT)
    lengths = {b: _shares(Counter(digits[brands == b].str.len())) for b in brand_shares}
    group_masks = {}
    for length, group in s[s.map(checks.card_digits).notna()].groupby(digits.str.len()):
        group_masks[str(length)] = Counter(group.map(lambda v: re.sub(r"\d", "#", v))).most_common(1)[0][0]
    return {"locale": "en_US", "brands": brand_shares, "lengths": lengths, "group_masks": group_masks}


def _id_mask(value: str) -> str:
    """'AB 12 34 56 C' -> 'AA ## ## ## A': every digit and letter becomes a placeholder, punctuation stays."""
    masked = re.sub(r"\d", "#", value)
    return re.sub(r"[^\W\d_]", lambda m: "a" if m.group().islower() else "A", masked)


def _learn_national_id(s: pd.Series) -> dict:
    ssn = s[s.map(checks.is_us_ssn)]
    if len(ssn) >= 0.5 * len(s) and len(ssn):
        return {"locale": "en_US", "scheme": "us_ssn", "masks": _shares(Counter(ssn.map(_id_mask)))}
    nino = s[s.map(lambda v: bool(checks.NINO_RE.match(v.upper())))]
    if len(nino) >= 0.5 * len(s) and len(nino):
        return {"locale": "en_GB", "scheme": "uk_nino", "masks": _shares(Counter(nino.str.upper().map(_id_mask)))}
    masks = s[s.map(lambda v: bool(_ID_LIKE_RE.match(v)))].map(_id_mask)
    return {"locale": "en_US", "scheme": "mask", "masks": _shares(Counter(masks), top=8, min_count=_MIN_SUPPORT)}


def _learn_ip(s: pd.Series) -> dict:
    parsed = [ipaddress.ip_address(v) for v in s if checks.is_ip(v)]
    v6 = [a.version == 6 for a in parsed]
    return {"locale": "en_US", "ipv6_share": round(sum(v6) / len(v6), 6) if v6 else 0.0}


_LEARNERS = {"email": _learn_email, "phone": _learn_phone, "street_address": _learn_address, "iban": _learn_iban,
             "credit_card": _learn_card, "national_id": _learn_national_id, "ip_address": _learn_ip}


def learn_pii_format(kind: str, values: pd.Series) -> dict:
    """JSON-able, non-identifying description needed to generate lookalikes of one PII column.

    Holds the kind, a locale guess, format masks with every digit and letter replaced by '#'/'A' (a
    phone's country code and trunk '0' kept, no area code), shares of styles/brands/lengths (IBAN
    countries only when 5+ values share one), the null rate and whether the column was numeric; never a
    real value, a name, an e-mail domain (company or public provider), an area code or a number prefix."""
    if kind not in PII_KINDS:
        raise LookalikeError(f"Unknown PII kind {kind!r} for column {values.name!r}; expected one of {PII_KINDS}.")
    as_text = values.astype("string").str.strip()
    is_null = values.isna() | (as_text == "").fillna(True)
    s = _nonempty_strings(values)
    if s is None:
        s = values[~is_null].astype(str)
    fmt = {"kind": kind, "null_rate": _mean(is_null),
           "numeric": bool(pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))}
    if kind in ("person_name", "first_name", "last_name"):
        fmt.update(_learn_names(kind, s))
    else:
        fmt.update(_LEARNERS[kind](s))
    fmt["locale"] = known_locale(fmt.get("locale"))
    return fmt
