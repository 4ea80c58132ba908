"""PII inside free text: each kind is found and masked, ordinary words are left alone, fakes fill placeholders."""
import pytest

from lookalike.privacy.pii_text import PLACEHOLDERS, fill_pii, mask_pii


@pytest.mark.parametrize("text, kind", [
    ("mail me at maria.lopez@example.net today", "email"),
    ("call +44 20 7946 0958 after six", "phone"),
    ("call (415) 555-2671 after six", "phone"),
    ("card 4111 1111 1111 1111 was charged", "credit_card"),
    ("IBAN DE89370400440532013000 please", "iban"),
    ("my SSN is 123-45-6789", "national_id"),
    ("server 192.168.10.4 is down", "ip_address"),
    ("see https://t.co/abc123 now", "url"),
    ("account 88123456 is frozen", "account"),
    ("I live at 221 Baker Street since May", "street_address"),
    ("send it to 12 baker st please", "street_address"),
    ("we met at 2328 Orr Junction yesterday", "street_address"),
    ("moved to 5 Patrick Courts last year", "street_address"),
    ("books at 1250 Old Country Rd, from 7 pm", "street_address"),
    ("ask John Smith about it", "person_name"),
    ("Dr. Watson knows", "person_name"),
])
def test_each_kind_is_masked(text, kind):
    masked, counts = mask_pii(text)
    assert counts == {kind: 1}
    assert PLACEHOLDERS[kind] in masked


@pytest.mark.parametrize("text", ["Oil paint on canvas 1990", "I love New York in 2015",
                                  "The rate went from 3.5 to 4.25 percent", "Untitled (Study No. 4)",
                                  "I waited 2 hours at the station", "we walked 3 miles along the way"])
def test_ordinary_text_is_left_alone(text):
    assert mask_pii(text) == (text, {})


def test_fill_gives_one_fake_per_kind_per_text_and_keeps_the_rest():
    texts = ["from <EMAIL> to <EMAIL>, ring <PHONE>", None, "no pii here"]
    out = fill_pii(texts, seed=0)
    assert out[1] is None and out[2] == "no pii here"
    first, second = out[0].split(" to ")[0][5:], out[0].split(" to ")[1].split(",")[0]
    assert "@" in first and first == second and "<" not in out[0]
    assert fill_pii(texts, seed=0) == out
