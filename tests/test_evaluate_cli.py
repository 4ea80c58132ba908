"""`lookalike report` as the lead registers it: files in, HTML/JSON out, clear errors, no silent overwrite."""
import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from lookalike.errors import LookalikeError
from lookalike.evaluate.cli import report_command


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()
    app.command("report")(report_command)

    @app.callback()
    def main():  # a second command level, like the real CLI
        pass
    return app


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    for name, n in (("train", 400), ("synth", 300), ("holdout", 300)):
        x = rng.normal(size=n)
        pd.DataFrame({"x": x.round(1), "colour": rng.choice(["red", "blue"], n),
                      "y": np.where(x + rng.normal(0, 0.5, n) > 0, "hi", "lo")}).to_csv(d / f"{name}.csv", index=False)
    return d


def test_report_writes_html_and_json(app, files):
    out, js = files / "r.html", files / "m.json"
    result = CliRunner().invoke(app, ["report", str(files / "train.csv"), str(files / "synth.csv"), "--holdout",
                                      str(files / "holdout.csv"), "--target", "y", "-o", str(out), "--json", str(js)])
    assert result.exit_code == 0, result.output
    assert "privacy verdict" in result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert json.loads(js.read_text())["metrics"]["tstr_metric"] == "auc"
    again = CliRunner().invoke(app, ["report", str(files / "train.csv"), str(files / "synth.csv"), "-o", str(out)])
    assert isinstance(again.exception, LookalikeError) and "already exists" in str(again.exception)
    forced = CliRunner().invoke(app, ["report", str(files / "train.csv"), str(files / "synth.csv"), "-o", str(out),
                                      "--force"])
    assert forced.exit_code == 0, forced.output


def test_unknown_target_and_mismatched_columns_are_named(app, files, tmp_path):
    r = CliRunner().invoke(app, ["report", str(files / "train.csv"), str(files / "synth.csv"), "--target", "z",
                                 "-o", str(tmp_path / "a.html")])
    assert isinstance(r.exception, LookalikeError) and "'z'" in str(r.exception)
    pd.read_csv(files / "synth.csv").rename(columns={"x": "x2"}).to_csv(tmp_path / "bad.csv", index=False)
    r = CliRunner().invoke(app, ["report", str(files / "train.csv"), str(tmp_path / "bad.csv"),
                                 "-o", str(tmp_path / "b.html")])
    assert isinstance(r.exception, LookalikeError)
    assert "bad.csv" in str(r.exception) and "'x'" in str(r.exception) and "'x2'" in str(r.exception)
    assert not (tmp_path / "b.html").exists()
