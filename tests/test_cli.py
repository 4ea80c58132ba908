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
    ("too_few_rows", "at least 10 are needed"),
])
def test_bad_input_files(case, expected, tmp_path, mixed_table, capsys):
    path = {"missing": tmp_path / "nope.csv", "empty_file": tmp_path / "empty.csv",
            "header_only": tmp_path / "header.csv", "all_missing": tmp_path / "blank.csv",
            "directory": tmp_path / "dir.csv", "bad_type": tmp_path / "data.json",
            "corrupt_parquet": tmp_path / "bad.parquet", "too_few_rows": tmp_path / "tiny.csv"}[case]
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
    elif case == "too_few_rows":
        mixed_table.head(3).to_csv(path, index=False)
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


def test_excel_and_parquet_inputs(tmp_path, mixed_table, capsys):
    for name in ("train.xlsx", "train.parquet"):
        path = tmp_path / name
        (mixed_table.to_excel if name.endswith("xlsx") else mixed_table.to_parquet)(path, index=False)
        out = tmp_path / f"out-{name}.csv"
        code, text = run(["synth", path, "-o", out, "--model", "copula", "-n", "30"], capsys)
        assert code == 0, text
        assert list(pd.read_csv(out).columns) == list(mixed_table.columns)


def test_model_list_comes_from_the_registry_and_an_unknown_name_lists_it(data, tmp_path, capsys):
    from lookalike.cli import MODEL_HELP
    from lookalike.models import REGISTRY

    assert all(name in MODEL_HELP for name in REGISTRY)
    code, text = run(["synth", data, "-o", tmp_path / "out.csv", "--model", "nosuch"], capsys)
    assert code == 1 and "unknown model 'nosuch'" in text
    assert all(name in text for name in ["auto", *REGISTRY]) and len(text.strip().splitlines()) == 1


def test_the_cli_starts_without_torch_and_sets_openmp_waiting_for_itself_only(tmp_path):
    """The command bounds OpenMP's spinning for its own process (GOMP_SPINCOUNT), never on import."""
    import os
    import subprocess
    import sys

    src = Path(__file__).resolve().parents[1] / "src"
    code = ("import sys, os; import lookalike.cli; assert 'torch' not in sys.modules; "
            "assert 'GOMP_SPINCOUNT' not in os.environ; lookalike.cli.main(['--help']); "
            "print(os.environ['GOMP_SPINCOUNT'])")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(src), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "1000"


def test_model_param_values_are_typed():
    from lookalike.cli import parse_model_params

    assert parse_model_params(None) is None
    assert parse_model_params(["epochs=3", "dropout=0.1", "flag=true", "other=False", "size=S", "note=a=b",
                               " spaced = 2 "]) == {
        "epochs": 3, "dropout": 0.1, "flag": True, "other": False, "size": "S", "note": "a=b", "spaced": 2}
    assert isinstance(parse_model_params(["x=1"])["x"], int)


@pytest.mark.parametrize("command", ["fit", "synth"])
@pytest.mark.parametrize("bad", ["dropout", "=3"])
def test_malformed_model_param_is_one_line_and_exit_1(command, bad, data, tmp_path, capsys):
    out = tmp_path / ("m.lookalike" if command == "fit" else "out.csv")
    code, text = run([command, data, "-o", out, "--model", "copula", "--model-param", bad], capsys)
    assert code == 1 and "--model-param expects KEY=VALUE" in text and bad in text
    assert len(text.strip().splitlines()) == 1 and not out.exists()


def test_model_params_reach_the_generator_and_unknown_keys_are_refused(data, tmp_path, capsys):
    from lookalike.synthesizer import Synthesizer

    model = tmp_path / "m.lookalike"
    code, text = run(["fit", data, "-o", model, "--model", "copula", "--model-param", "shrinkage=0.5"], capsys)
    assert code == 0, text
    assert Synthesizer.load(model).model_.shrinkage == 0.5
    out = tmp_path / "out.csv"
    code, text = run(["synth", data, "-o", out, "--model", "copula", "--model-param", "nosuch=1"], capsys)
    assert code == 1 and "nosuch" in text and not out.exists()


def test_report_needs_enough_rows_to_hold_some_out(mixed_table, tmp_path, capsys):
    path = tmp_path / "small.csv"
    mixed_table.head(40).to_csv(path, index=False)
    code, text = run(["synth", path, "-o", tmp_path / "out.csv", "--model", "copula",
                      "--report", tmp_path / "r.html"], capsys)
    assert code == 1 and "--report needs at least 50 rows to hold some out, the data has 40" in text


def test_synth_with_report_prints_the_summary_and_verbose_logs_epochs(data, tmp_path, capsys):
    out, report = tmp_path / "out.csv", tmp_path / "r.html"
    code, text = run(["synth", data, "-o", out, "--model", "copula", "--report", report, "--target", "segment"],
                     capsys)
    assert code == 0, text
    assert len(pd.read_csv(out)) == 300 and report.exists()
    assert "real holdout" in text and "privacy verdict" in text
    pytest.importorskip("torch")
    code, text = run(["synth", data, "-o", tmp_path / "a.csv", "--model", "argn", "--max-epochs", "1", "-n", "20",
                      "--verbose"], capsys)
    assert code == 0, text
    assert "argn epoch 1" in text
