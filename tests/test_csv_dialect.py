"""Real users' CSV files: the dialect is sniffed on read and written back the same way."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lookalike.cli import main
from lookalike.errors import LookalikeError
from lookalike.io import check_dialect, read_table, sniff_csv, write_csv_batch, write_table
from lookalike.schema.columns import TableSchema
from lookalike.schema.infer import infer_schema
from lookalike.synthesizer import Synthesizer


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def european(x: float) -> str:
    """1234.5 -> '1.234,50' (dot thousands, comma decimals)."""
    return f"{x:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def table(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "city": rng.choice(["Berlin", "Wien", "Zürich"], size=n),
        "amount": np.round(rng.lognormal(7, 1, n), 2),
        "rate": np.round(rng.uniform(0, 30, n), 1),
        "qty": rng.integers(1, 20, n),
    })


def write_european(df: pd.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    lines = ["city;amount;rate;qty"]
    for r in df.itertuples():
        lines.append(f"{r.city};{european(r.amount)};{str(r.rate).replace('.', ',')};{r.qty}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


# -- sniff_csv --------------------------------------------------------------------------------------
def test_sniff_plain_comma_file_is_the_default_and_reads_exactly_as_today(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text('id,name,score,note\n1,anna,2.5,"a, b"\n2,bert,3.25,"12,5"\n3,carl,,x\n')
    assert sniff_csv(path) == {"delimiter": ",", "decimal": ".", "thousands": None, "encoding": "utf-8",
                               "bom": False, "lineterminator": "\n"}
    df = read_table(path)
    pd.testing.assert_frame_equal(df, pd.read_csv(path))
    assert df["note"].tolist() == ["a, b", "12,5", "x"]  # a comma file's values never become decimals


def test_sniff_semicolon_decimal_comma_thousands_dot(tmp_path):
    path = write_european(table(), tmp_path / "eu.csv")
    assert sniff_csv(path) == {"delimiter": ";", "decimal": ",", "thousands": ".", "encoding": "utf-8",
                               "bom": False, "lineterminator": "\r\n"}
    df = read_table(path)
    expected = table()
    assert df["amount"].dtype == float and np.allclose(df["amount"], expected["amount"])
    assert np.allclose(df["rate"], expected["rate"])
    assert df.attrs["csv_dialect"]["delimiter"] == ";"


def test_sniff_decimal_comma_without_thousands(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("a;b\n12,5;x\n3,75;y\n7;z\n")
    d = sniff_csv(path)
    assert (d["delimiter"], d["decimal"], d["thousands"]) == (";", ",", None)
    assert read_table(path)["a"].tolist() == [12.5, 3.75, 7.0]


@pytest.mark.parametrize("body, why", [
    ("a;b\n12,5;2.5\n3,75;1.5\n", "a dot-decimal value elsewhere makes it ambiguous"),
    ("a;b\n1,234;x\n5,678;y\n", "a comma before exactly three digits may be a thousands separator"),
    ("a;b\n12,5 EUR;x\n3,75 EUR;y\n", "not a number"),
])
def test_sniff_keeps_dot_decimals_when_the_evidence_is_ambiguous(tmp_path, body, why):
    path = tmp_path / "amb.csv"
    path.write_text(body)
    assert sniff_csv(path)["decimal"] == ".", why
    assert sniff_csv(path)["thousands"] is None


def test_thousands_dot_never_mangles_dates_or_addresses(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text("date;amount;host;version\n01.02.2023;1.234,56;10.0.0.1;1.2\n"
                    "15.03.2023;-12,50;192.168.1.1;1.10\n")
    # '1.2' / '1.10' need '.' as the decimal mark, so this file must not get decimal commas at all
    assert sniff_csv(path)["decimal"] == "."
    path.write_text("date;amount;host\n01.02.2023;1.234,56;10.0.0.1\n15.03.2023;-12,50;192.168.1.1\n")
    assert sniff_csv(path)["thousands"] == "."
    df = read_table(path)
    assert df["date"].tolist() == ["01.02.2023", "15.03.2023"]
    assert df["host"].tolist() == ["10.0.0.1", "192.168.1.1"]
    assert df["amount"].tolist() == [1234.56, -12.5]


def test_sniff_tab_and_pipe(tmp_path):
    for delimiter, name in (("\t", "tab.csv"), ("|", "pipe.csv")):
        path = tmp_path / name
        path.write_text(delimiter.join(["a", "b", "c"]) + "\n" + "\n".join(
            delimiter.join([str(i), f"v,{i}", str(i / 4)]) for i in range(20)) + "\n")
        d = sniff_csv(path)
        assert d["delimiter"] == delimiter and d["decimal"] == "."
        df = read_table(path)
        assert df.shape == (20, 3) and df["b"].iloc[3] == "v,3" and df["c"].iloc[2] == 0.5


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("name;wert\nÄpfel;1,5\nBirnen;2,25\n".encode("utf-8-sig"))
    d = sniff_csv(path)
    assert (d["encoding"], d["bom"], d["delimiter"], d["decimal"]) == ("utf-8", True, ";", ",")
    df = read_table(path)
    assert df.columns.tolist() == ["name", "wert"]
    assert df["name"].tolist() == ["Äpfel", "Birnen"] and df["wert"].tolist() == [1.5, 2.25]
    out = write_table(df, tmp_path / "out.csv", dialect=df.attrs["csv_dialect"])
    assert out.read_bytes() == "name;wert\nÄpfel;1,5\nBirnen;2,25\n".encode("utf-8-sig")


def test_latin1_file(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city\nJosé,Málaga\nGünther,Köln\n".encode("latin-1"))
    d = sniff_csv(path)
    assert d["encoding"] in ("cp1252", "latin-1") and d["delimiter"] == ","
    assert read_table(path)["city"].tolist() == ["Málaga", "Köln"]


def test_legacy_bytes_after_the_sniffed_sample_still_read(tmp_path):
    path = tmp_path / "late.csv"
    rows = "".join(f"{i},plain\n" for i in range(60_000))  # ~600 KB of ASCII, more than the sample
    path.write_bytes(("id,word\n" + rows + "60000,caf\xe9\n").encode("latin-1"))
    assert sniff_csv(path)["encoding"] == "utf-8"  # the sample alone is valid UTF-8
    df = read_table(path)
    assert df["word"].iloc[-1] == "café" and df.attrs["csv_dialect"]["encoding"] == "cp1252"


def test_quoted_fields_with_embedded_newlines_and_delimiters(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('id;comment;value\n1;"first line\nsecond; line";1,5\n2;"x";2,5\n'
                    '3;"a\n\nb\nc";3,5\n4;plain;4,5\n')
    d = sniff_csv(path)
    assert (d["delimiter"], d["decimal"]) == (";", ",")
    df = read_table(path)
    assert len(df) == 4 and df["comment"].iloc[0] == "first line\nsecond; line"
    assert df["value"].tolist() == [1.5, 2.5, 3.5, 4.5]


def test_one_column_file_falls_back_to_comma(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("value\n1.5\n2.5\nhello world\n")
    assert sniff_csv(path)["delimiter"] == ","
    assert read_table(path)["value"].tolist() == ["1.5", "2.5", "hello world"]


def test_binary_file_gets_a_clear_error_naming_it(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(LookalikeError, match="image.csv: not a text CSV file"):
        read_table(path)
    path.write_bytes(bytes([1, 2, 3, 4, 5, 6, 7, 8, 200]) * 100)
    with pytest.raises(LookalikeError, match="image.csv: not a text CSV file"):
        read_table(path)


def test_empty_file_message_unchanged(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(LookalikeError, match="empty.csv: the file is empty"):
        read_table(path)


# -- writing ----------------------------------------------------------------------------------------
def test_write_csv_batch_header_and_bom_once_in_the_dialect(tmp_path):
    path = tmp_path / "batches.csv"
    dialect = {"delimiter": ";", "decimal": ",", "thousands": ".", "encoding": "utf-8", "bom": True,
               "lineterminator": "\r\n"}
    write_csv_batch(pd.DataFrame({"a": [1.5], "b": ["ä"]}), path, first=True, dialect=dialect)
    write_csv_batch(pd.DataFrame({"a": [2.25], "b": ["ö"]}), path, first=False, dialect=dialect)
    assert path.read_bytes() == "\ufeffa;b\r\n1,5;ä\r\n2,25;ö\r\n".encode("utf-8")


def test_write_without_dialect_is_plain_pandas(tmp_path):
    df = pd.DataFrame({"a": [1.5, 2.0], "b": ["x", "y"]})
    path = write_table(df, tmp_path / "plain.csv")
    assert path.read_text() == df.to_csv(index=False)


def test_legacy_encoding_replaces_what_it_cannot_hold(tmp_path):
    dialect = {"delimiter": ";", "decimal": ",", "encoding": "cp1252"}
    path = write_table(pd.DataFrame({"name": ["Zoë", "Łukasz"]}), tmp_path / "w.csv", dialect=dialect)
    assert path.read_bytes().decode("cp1252").splitlines() == ["name", "Zoë", "?ukasz"]


@pytest.mark.parametrize("bad", [{"delimiter": ";;"}, {"decimal": ";", "delimiter": ";"},
                                 {"encoding": "klingon"}, {"colour": "red"}])
def test_bad_dialects_are_named(bad):
    with pytest.raises(LookalikeError, match="CSV dialect"):
        check_dialect(bad)


# -- schema and synthesizer ------------------------------------------------------------------------
def test_schema_dialect_round_trips_and_is_written_only_when_set():
    schema = infer_schema(table(), detect_rules=False)
    assert "dialect" not in schema.to_dict()
    schema.dialect = {"delimiter": ";", "decimal": ",", "lineterminator": "\r\n"}
    again = TableSchema.from_yaml(schema.to_yaml())
    assert again.dialect == schema.dialect
    with pytest.raises(LookalikeError, match="dialect"):
        TableSchema.from_dict({**schema.to_dict(), "dialect": ";"})


def test_fit_keeps_the_dialect_without_touching_the_users_schema(tmp_path):
    df = read_table(write_european(table(), tmp_path / "eu.csv"))
    schema = infer_schema(df, detect_rules=False)
    syn = Synthesizer(model="copula", max_epochs=1, schema=schema).fit(df)
    assert schema.dialect is None and syn.schema_.dialect["delimiter"] == ";"
    syn.save(tmp_path / "m.lookalike")
    loaded = Synthesizer.load(tmp_path / "m.lookalike")
    assert loaded.schema_.dialect == syn.schema_.dialect
    out = loaded.sample_to_file(50, tmp_path / "s.csv", seed=1, batch_size=20)
    lines = out.read_bytes().decode("utf-8").split("\r\n")
    assert lines[0] == "city;amount;rate;qty" and lines.count(lines[0]) == 1 and len(lines) == 52
    assert "," in lines[1].split(";")[1]
    plain = Synthesizer(model="copula", max_epochs=1).fit(table())  # a DataFrame from memory: pandas' CSV
    assert plain.schema_.dialect is None
    assert plain.sample_to_file(5, tmp_path / "p.csv").read_text().startswith("city,amount,rate,qty\n")


def test_synth_round_trip_semicolon_decimal_comma(tmp_path, capsys):
    data = write_european(table(), tmp_path / "eu.csv")
    out = tmp_path / "out.csv"
    code, text = run(["synth", data, "-o", out, "--model", "copula", "--max-epochs", "1"], capsys)
    assert code == 0, text
    raw = out.read_bytes().decode("utf-8")
    header, first = raw.split("\r\n")[:2]
    assert header == "city;amount;rate;qty"
    assert any("," in line.split(";")[1] for line in raw.split("\r\n")[1:] if line)  # decimal commas
    assert sniff_csv(out)["delimiter"] == ";" and sniff_csv(out)["decimal"] == ","
    synthetic = read_table(out)
    assert synthetic["amount"].dtype == float and synthetic["rate"].dtype == float
    schema_file = tmp_path / "schema.yaml"
    code, text = run(["schema", data, "-o", schema_file], capsys)
    assert code == 0, text
    schema = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
    kinds = {c["name"]: c["kind"] for c in schema["columns"]}
    assert kinds["amount"] == "numeric" and kinds["rate"] == "numeric"
    assert schema["dialect"]["delimiter"] == ";" and schema["dialect"]["decimal"] == ","
    # fit + sample: the model carries the dialect; Parquet output is unaffected
    model = tmp_path / "m.lookalike"
    assert run(["fit", data, "-o", model, "--model", "copula", "--max-epochs", "1"], capsys)[0] == 0
    assert run(["sample", model, "-n", "30", "-o", tmp_path / "s.csv"], capsys)[0] == 0
    assert (tmp_path / "s.csv").read_bytes().startswith(b"city;amount;rate;qty\r\n")
    assert run(["sample", model, "-n", "30", "-o", tmp_path / "s.parquet"], capsys)[0] == 0
    assert pd.read_parquet(tmp_path / "s.parquet")["amount"].dtype == float


def test_synth_round_trip_latin1_accented_categories(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n = 90
    df = pd.DataFrame({"café": rng.choice(["crème brûlée", "Müsli", "piñata"], size=n),
                       "price": np.round(rng.uniform(1, 9, n), 2), "n": rng.integers(0, 5, n)})
    assert df["café"].value_counts().min() >= 10
    data = tmp_path / "latin.csv"
    df.to_csv(data, index=False, encoding="latin-1")
    out = tmp_path / "out.csv"
    code, text = run(["synth", data, "-o", out, "--model", "copula", "--max-epochs", "1"], capsys)
    assert code == 0, text
    raw = out.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    synthetic = pd.read_csv(out, encoding="latin-1")
    assert synthetic.columns.tolist() == ["café", "price", "n"]
    assert set(synthetic["café"]) <= {"crème brûlée", "Müsli", "piñata"} and synthetic["café"].nunique() >= 2
    assert sniff_csv(out)["encoding"] in ("cp1252", "latin-1")


def test_pandas_own_decimal_comma_output_sniffs_back(tmp_path):
    path = tmp_path / "pandas.csv"
    df = pd.DataFrame({"x": [1.5e-07, 2.25, np.nan, np.inf], "y": ["a", "b", "c", "d"]})
    df.to_csv(path, sep=";", decimal=",", index=False)
    assert sniff_csv(path)["decimal"] == ","
    assert read_table(path)["x"].tolist()[:2] == [1.5e-07, 2.25]


def test_numbers_are_read_exactly_as_the_file_writes_them(tmp_path):
    """pandas' default float parser is off by one bit for about 16% of 17-digit numbers (exp(logwage), float32
    numbers written in full): a number read and written back was then not the one the file held, and a
    heaped value written by the synthesizer did not equal the real one after a CSV round trip."""
    rng = np.random.default_rng(0)
    strings = [repr(float(v)) for v in np.exp(rng.normal(4.5, 0.5, 300))]
    strings += [repr(float(v)) for v in rng.random(300).astype(np.float32)]
    for sep, dec in ((",", "."), (";", ",")):
        path = tmp_path / f"exact{sep == ';'}.csv"
        path.write_text(f"x{sep}g\n" + "".join(f"{s.replace('.', dec)}{sep}a\n" for s in strings))
        x = read_table(path)["x"].to_numpy()
        assert x.tolist() == [float(s) for s in strings]
        back = tmp_path / "back.csv"
        write_table(read_table(path), back, force=True)
        assert pd.read_csv(back, float_precision="round_trip")["x"].tolist() == [float(s) for s in strings]
