"""The command line: every error a user can make gets one clear line, a non-zero exit and no output file."""
from pathlib import Path

import pandas as pd
import pytest

from lookalike.cli import main


@pytest.fixture
def data(tmp_path, mixed_table) -> Path:
    path = tmp_path / "train.csv"
    mixed_table.to_csv(path, index=False)
    return path


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_synth_fit_sample_schema_round_trip(data, tmp_path, capsys):
    out = tmp_path / "synth.csv"
    code, text = run(["synth", data, "-o", out, "--model", "copula", "-n", "50"], capsys)
    assert code == 0, text
    assert len(pd.read_csv(out)) == 50
    model = tmp_path / "m.lookalike"
    assert run(["fit", data, "-o", model, "--model", "copula"], capsys)[0] == 0
    code, text = run(["sample", model, "-n", "20", "-o", tmp_path / "s.parquet", "--where", "segment=business"], capsys)
    assert code == 0, text
    assert (pd.read_parquet(tmp_path / "s.parquet")["segment"] == "business").all()
    schema = tmp_path / "schema.yaml"
    assert run(["schema", data, "-o", schema], capsys)[0] == 0
    edited = schema.read_text().replace("name: score\n  kind: numeric", "name: score\n  kind: categorical")
    schema.write_text(edited)
    code, text = run(["synth", data, "-o", tmp_path / "s2.csv", "--model", "copula", "--schema", schema], capsys)
    assert code == 0, text


@pytest.mark.parametrize("case, expected", [
    ("missing", "file not found"),
    ("empty_file", "the file is empty"),
    ("header_only", "no rows"),
    ("all_missing", "column 'blank' is entirely missing"),
    ("directory", "is a directory"),
    ("bad_type", "unsupported file type"),
    ("corrupt_parquet", "cannot read Parquet"),
])
def test_bad_input_files(case, expected, tmp_path, mixed_table, capsys):
    path = {"missing": tmp_path / "nope.csv", "empty_file": tmp_path / "empty.csv",
            "header_only": tmp_path / "header.csv", "all_missing": tmp_path / "blank.csv",
            "directory": tmp_path / "dir.csv", "bad_type": tmp_path / "data.json",
            "corrupt_parquet": tmp_path / "bad.parquet"}[case]
    if case == "empty_file":
        path.write_text("")
    elif case == "header_only":
        path.write_text("a,b\n")
    elif case == "all_missing":
        df = mixed_table.copy()
        df["blank"] = None
        df.to_csv(path, index=False)
    elif case == "directory":
        path.mkdir()
    elif case == "bad_type":
        path.write_text("{}")
    elif case == "corrupt_parquet":
        path.write_bytes(b"not parquet at all")
    out = tmp_path / "out.csv"
    code, text = run(["synth", path, "-o", out, "--model", "copula"], capsys)
    assert code == 1
    assert expected in text and "Traceback" not in text
    assert not out.exists()


@pytest.mark.parametrize("args, expected", [
    (["--model", "gan9000"], "unknown model 'gan9000'"),
    (["-n", "0"], "-n must be a positive number"),
    (["-n", "-5"], "-n must be a positive number"),
])
def test_bad_options(args, expected, data, tmp_path, capsys):
    out = tmp_path / "out.csv"
    code, text = run(["synth", data, "-o", out, *args], capsys)
    assert code == 1 and expected in text
    assert not out.exists()


def test_existing_output_is_refused_unless_forced(data, tmp_path, capsys):
    out = tmp_path / "out.csv"
    out.write_text("precious")
    code, text = run(["synth", data, "-o", out, "--model", "copula"], capsys)
    assert code == 1 and "--force" in text
    assert out.read_text() == "precious"
    code, _ = run(["synth", data, "-o", out, "--model", "copula", "--force"], capsys)
    assert code == 0 and out.read_text() != "precious"


def test_unwritable_output_fails_before_any_work(data, tmp_path, capsys):
    code, text = run(["synth", data, "-o", tmp_path / "no" / "such" / "out.csv"], capsys)
    assert code == 1 and "does not exist" in text


def test_unknown_condition_value_and_column(data, tmp_path, capsys):
    model = tmp_path / "m.lookalike"
    run(["fit", data, "-o", model, "--model", "copula"], capsys)
    out = tmp_path / "s.csv"
    code, text = run(["sample", model, "-o", out, "--where", "segment=galactic"], capsys)
    assert code == 1 and "'galactic' was never seen" in text and not out.exists()
    code, text = run(["sample", model, "-o", out, "--where", "sgment=retail"], capsys)
    assert code == 1 and "unknown column 'sgment'" in text and not out.exists()


def test_failure_mid_write_leaves_no_partial_file(data, tmp_path, monkeypatch, capsys):
    from lookalike.synthesizer import Synthesizer

    def boom(self, *a, **k):
        yield pd.DataFrame({"a": [1]})
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Synthesizer, "sample_batches", boom)
    out = tmp_path / "out.csv"
    code, text = run(["synth", data, "-o", out, "--model", "copula"], capsys)
    assert code == 1 and "disk on fire" in text and "--debug" in text
    assert not out.exists()
    assert list(tmp_path.glob(".out.csv*")) == []
    with pytest.raises(RuntimeError):
        main(["synth", str(data), "-o", str(out), "--model", "copula", "--debug"])


def test_demo_writes_a_new_file_each_time(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for expected in ("synthetic.csv", "synthetic-2.csv"):
        code, text = run(["demo", "--model", "copula"], capsys)
        assert code == 0, text
        assert (tmp_path / "lookalike-demo" / expected).exists()
    assert (tmp_path / "lookalike-demo" / "report-2.html").exists()
    assert "privacy verdict" in text
