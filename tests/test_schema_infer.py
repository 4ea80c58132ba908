"""Schema inference on tricky columns, and the YAML round trip users edit."""
import numpy as np
import pandas as pd
import pytest

from lookalike.errors import LookalikeError
from lookalike.schema import TableSchema, infer_schema


def kinds(df):
    return {c.name: c.kind for c in infer_schema(df).columns}


def test_numbers_stored_as_strings_are_numeric_and_keep_their_format():
    df = pd.DataFrame({"price": ["1,200.50", "15.00", "3,000.25", "7.10"] * 5})
    col = infer_schema(df).columns[0]
    assert col.kind == "numeric"
    assert col.options["stored_as"] == "string" and col.options["thousands"] is True
    assert col.options["decimals"] == 2


def test_ids_that_look_numeric_stay_strings():
    df = pd.DataFrame({"account": [f"{i:06d}" for i in range(50)], "zip": ["01234", "02345"] * 25})
    k = kinds(df)
    assert k["account"] == "id"
    assert k["zip"] == "categorical"  # leading zeros: a code, not a number


def test_booleans_in_any_spelling():
    df = pd.DataFrame({"a": ["yes", "no"] * 10, "b": ["Y", "N"] * 10, "c": [True, False] * 10,
                       "d": [0, 1] * 10, "e": ["true", None] * 10})
    assert set(kinds(df).values()) == {"boolean"}


def test_mixed_date_formats_are_kept_as_a_mixture():
    dates = ["2021-03-04", "05/06/2021", "2021-07-08", "2021-09-10"] * 5
    col = infer_schema(pd.DataFrame({"d": dates})).columns[0]
    assert col.kind == "datetime"
    formats = dict((f, s) for f, s in col.options["formats"])
    assert formats["%Y-%m-%d"] == pytest.approx(0.75)
    assert sum(formats.values()) == pytest.approx(1.0)


def test_integer_keys_constants_text_and_categories():
    rng = np.random.default_rng(1)
    words = ["good", "service", "slow", "delivery", "friendly", "staff", "price", "too", "high"]
    df = pd.DataFrame({
        "rownames": np.arange(1, 41),
        "country": ["DE"] * 40,
        "comment": [" ".join(rng.choice(words, 8)) for _ in range(40)],
        "colour": rng.choice(["red", "green"], 40),
        "amount": rng.integers(0, 1000, 40),
    })
    assert kinds(df) == {"rownames": "id", "country": "constant", "comment": "text",
                         "colour": "categorical", "amount": "numeric"}


def test_all_missing_column_is_an_error_naming_it():
    df = pd.DataFrame({"a": [1, 2, 3], "empty": [None, None, None]})
    with pytest.raises(LookalikeError, match="'empty'"):
        infer_schema(df)


def test_schema_yaml_round_trip_and_override():
    df = pd.DataFrame({"a": [1, 2, 3] * 5, "b": ["x", "y", "z"] * 5})
    schema = infer_schema(df)
    text = schema.to_yaml().replace("kind: numeric", "kind: categorical")
    edited = TableSchema.from_yaml(text)
    assert edited["a"].kind == "categorical" and edited["b"].kind == "categorical"


def test_schema_rejects_unknown_kind_with_column_name():
    with pytest.raises(LookalikeError, match="column 'a': unknown kind 'numbr'"):
        TableSchema.from_yaml("columns:\n- {name: a, kind: numbr}\n")
