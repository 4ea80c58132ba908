"""fit-db --ray and compare --ray on a local Ray cluster that this module starts: the tables (generators) are
fitted as Ray tasks at the same time and give what the one-process fit gives for the same seed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")

import lookalike  # noqa: E402
from db_data import bank_tables  # noqa: E402
from lookalike.cli import main  # noqa: E402
from lookalike.errors import LookalikeError  # noqa: E402
from lookalike.relational.synthesizer import DatabaseSynthesizer  # noqa: E402
from lookalike.schema.database import DatabaseSchema  # noqa: E402
from test_db_synthesizer import schema_for  # noqa: E402

TIMING = ["fit_seconds", "fit_cpu_seconds", "sample_rows_per_second"]


def test_fit_db_on_ray_gives_the_one_process_database(cluster):
    full = bank_tables(n_customers=60)
    chain = ("branches", "customers", "accounts", "cards")  # four levels, and accounts have two parents
    real = {name: full[name] for name in chain}
    schema = DatabaseSchema(tables={name: schema_for(full).tables[name] for name in chain})
    local = DatabaseSynthesizer(model="copula", seed=0).fit(real, schema)
    spread = DatabaseSynthesizer(model="copula", seed=0, ray=True).fit(real, schema)
    assert spread.order_ == local.order_
    a, b = local.sample(seed=3), spread.sample(seed=3)
    assert list(a) == list(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_a_table_that_cannot_be_fitted_is_named(cluster):
    rng = np.random.default_rng(0)
    tables = {"fine": pd.DataFrame({"x": rng.normal(size=100), "y": rng.choice(["a", "b"], 100)}),
              "tiny": pd.DataFrame({"x": rng.normal(size=6), "y": ["a", "b"] * 3})}
    with pytest.raises(LookalikeError, match="table 'tiny'"):
        DatabaseSynthesizer(model="copula", ray=True).fit(tables)


def test_compare_on_ray_gives_the_same_numbers(cluster, tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    g = rng.choice(["a", "b", "c"], n)
    df = pd.DataFrame({"g": g, "x": rng.normal(size=n) + (g == "a") * 2, "flag": rng.random(n) < 0.4})
    local = lookalike.compare(df, models=["copula"], target="flag", max_time=None)
    spread = lookalike.compare(df, models=["copula", "vae"], target="flag", max_time=1, ray=True,
                               output=tmp_path / "cmp")
    assert list(spread.table["model"]) == ["copula", "vae"]
    pd.testing.assert_frame_equal(spread.table.drop(columns=TIMING + ["report"]).iloc[:1],
                                  local.table.drop(columns=TIMING), check_dtype=False)
    assert spread.table["bivariate_accuracy"].notna().all() and "error" not in spread.table
    assert (tmp_path / "cmp" / "report-vae.html").exists() and (tmp_path / "cmp" / "index.html").exists()


def test_cli_fit_db_and_compare_with_ray(cluster, tmp_path):
    folder = tmp_path / "bank"
    folder.mkdir()
    real = bank_tables()
    for name in ("branches", "customers", "accounts"):
        real[name].to_csv(folder / f"{name}.csv", index=False)
    model = tmp_path / "bank.lookalike"
    assert main(["fit-db", str(folder), "-o", str(model), "--model", "copula", "--ray"]) == 0
    fake = DatabaseSynthesizer.load(model).sample(seed=1)
    assert set(fake) == {"branches", "customers", "accounts"}
    assert fake["accounts"]["customer_id"].isin(fake["customers"]["customer_id"]).all()
    real["customers"].to_csv(tmp_path / "c.csv", index=False)
    assert main(["compare", str(tmp_path / "c.csv"), "--models", "copula", "--max-time", "2", "-o",
                 str(tmp_path / "cmp"), "--ray"]) == 0
    assert (tmp_path / "cmp" / "report-copula.html").exists()
