"""The CLI commands as the lead registers them: files written, progress, and errors naming the bad value."""
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from lookalike.errors import LookalikeError
from lookalike.simulate.cli import fake_command, simulate_app

app = typer.Typer()
app.add_typer(simulate_app, name="simulate")
app.command("fake")(fake_command)
runner = CliRunner()


def test_fake_command_writes_tables(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("tables:\n  t:\n    columns:\n      id: {dist: sequence}\n      x: {dist: normal, mean: 0, sd: 1}\n")
    result = runner.invoke(app, ["fake", str(spec), "-n", "25", "-o", str(tmp_path / "t.csv"), "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "t.csv").shape == (25, 2)
    result = runner.invoke(app, ["fake", str(spec), "-n", "0", "-o", str(tmp_path / "u.csv")])
    assert isinstance(result.exception, LookalikeError) and "got 0" in str(result.exception)


def test_simulate_aml_command(tmp_path):
    out = tmp_path / "aml"
    result = runner.invoke(app, ["simulate", "aml", "--accounts", "200", "--days", "3", "-o", str(out),
                                 "--format", "csv", "--laundering-rate", "0.01"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["accounts.csv", "alerts.csv", "customers.csv",
                                                     "transactions.csv"]
    result = runner.invoke(app, ["simulate", "aml", "--accounts", "200", "--days", "3", "-o", str(tmp_path / "x"),
                                 "--typologies", "fan_in,smurf"])
    assert isinstance(result.exception, LookalikeError) and "'smurf'" in str(result.exception)
    result = runner.invoke(app, ["simulate", "aml", "--accounts", "200", "--days", "3", "-o", str(tmp_path / "y"),
                                 "--format", "xlsx"])
    assert isinstance(result.exception, LookalikeError) and "'xlsx'" in str(result.exception)


def test_simulate_market_command(tmp_path):
    out = tmp_path / "mkt"
    result = runner.invoke(app, ["simulate", "market", "--assets", "2", "--days", "30", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(out / "prices.parquet").shape[0] == 60
    result = runner.invoke(app, ["simulate", "market", "--assets", "0", "-o", str(tmp_path / "z")])
    assert isinstance(result.exception, LookalikeError) and "got 0" in str(result.exception)


@pytest.mark.parametrize("cmd", [["simulate", "--help"], ["simulate", "aml", "--help"], ["fake", "--help"]])
def test_help_texts(cmd):
    result = runner.invoke(app, cmd)
    assert result.exit_code == 0 and "Usage" in result.output
