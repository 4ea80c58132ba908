"""SQL reflection, the same DDL on the way out, all-or-nothing writes, folders, and the CLI's bad inputs."""
import os

import pandas as pd
import pytest
import sqlalchemy as sa

from db_data import bank_tables, create
from lookalike.cli import main
from lookalike.errors import LookalikeError
from lookalike.io import sql as sqlio
from lookalike.relational.synthesizer import DatabaseSynthesizer


@pytest.fixture(scope="module")
def bank_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "bank.db"
    create(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="module")
def model(bank_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "bank.lookalike"
    assert main(["fit-db", f"sqlite:///{bank_db}", "-o", str(out), "--model", "copula"]) == 0
    return out


def test_reflection_reads_keys_types_and_indexes(bank_db):
    data, ddl, notes = sqlio.reflect(f"sqlite:///{bank_db}")
    assert set(data) == {"branches", "customers", "accounts", "cards", "transactions", "employees", "orders", "order_lines"}
    assert ddl["order_lines"]["primary_key"] == ["order_id", "line_no"]
    assert {fk["references"] for fk in ddl["accounts"]["foreign_keys"]} == {"customers", "branches"}
    assert ddl["customers"]["unique"] == [["email"]]
    assert ddl["accounts"]["indexes"] == [{"name": "ix_accounts_kind", "columns": ["kind"], "unique": False}]
    kinds = {c["name"]: c for c in ddl["accounts"]["columns"]}
    assert kinds["balance"]["type"] == {"name": "Numeric", "precision": 12, "scale": 2}
    assert kinds["kind"]["nullable"] is False
    assert pd.api.types.is_datetime64_any_dtype(data["transactions"]["booked"])


def test_sample_db_writes_the_same_ddl_with_valid_keys(model, tmp_path):
    target = tmp_path / "syn.db"
    assert main(["sample-db", str(model), "-o", f"sqlite:///{target}", "--scale", "0.5"]) == 0
    engine = sa.create_engine(f"sqlite:///{target}")
    insp = sa.inspect(engine)
    assert insp.get_pk_constraint("order_lines")["constrained_columns"] == ["order_id", "line_no"]
    assert {fk["referred_table"] for fk in insp.get_foreign_keys("accounts")} == {"customers", "branches"}
    assert [i["name"] for i in insp.get_indexes("accounts")] == ["ix_accounts_kind"]
    assert any(i["column_names"] == ["email"] and i["unique"] for i in insp.get_indexes("customers", include_auto_indexes=True))
    cols = {c["name"]: c for c in insp.get_columns("accounts")}
    assert str(cols["balance"]["type"]) == "NUMERIC(12, 2)" and cols["kind"]["nullable"] is False
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        n = conn.exec_driver_sql("select count(*) from branches").scalar()
    assert n == 10
    engine.dispose()
    # never overwritten without --force
    assert main(["sample-db", str(model), "-o", f"sqlite:///{target}"]) == 1
    assert main(["sample-db", str(model), "-o", f"sqlite:///{target}", "--force", "--scale", "0.25"]) == 0


def test_a_failure_mid_write_leaves_nothing(model, tmp_path, monkeypatch):
    db = DatabaseSynthesizer.load(model)
    tables = db.sample(seed=1)
    tables["cards"].loc[0, "card_id"] = tables["cards"].loc[1, "card_id"]  # a duplicate key fails the 4th table
    target = tmp_path / "broken.db"
    with pytest.raises(LookalikeError, match="nothing was written"):
        db.to_sql(f"sqlite:///{target}", tables=tables)
    assert os.listdir(tmp_path) == []
    folder = tmp_path / "out"
    real_to_csv = pd.DataFrame.to_csv
    calls = []

    def failing(self, *a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_to_csv(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)
    with pytest.raises(OSError):
        db.to_folder(folder, tables=tables)
    assert os.listdir(tmp_path) == []


def test_folder_round_trip_infers_keys_and_says_so(tmp_path, capsys):
    src = tmp_path / "bank"
    src.mkdir()
    real = bank_tables()
    for name in ("customers", "accounts", "cards"):
        real[name].drop(columns=["home_branch", "branch_id"], errors="ignore").to_csv(src / f"{name}.csv", index=False)
    assert main(["schema-db", str(src), "-o", str(tmp_path / "db.yaml")]) == 0
    err = capsys.readouterr().err
    assert "inferred foreign key accounts.customer_id -> customers.customer_id" in err
    model = tmp_path / "m.lookalike"
    assert main(["fit-db", str(src), "-o", str(model), "--model", "copula", "--schema", str(tmp_path / "db.yaml")]) == 0
    out = tmp_path / "syn"
    assert main(["sample-db", str(model), "-o", str(out)]) == 0
    cards, accounts = pd.read_csv(out / "cards.csv"), pd.read_csv(out / "accounts.csv")
    assert cards["account_id"].isin(accounts["account_id"]).all()
    assert main(["report-db", str(src), str(out), "--json", str(tmp_path / "m.json")]) == 0
    assert '"integrity": 1.0' in (tmp_path / "m.json").read_text()
    assert main(["sample-db", str(model), "-o", str(out)]) == 1  # exists: not without --force


@pytest.mark.parametrize("args, message", [
    (["fit-db", "sqlite:///{tmp}/missing.db", "-o", "{tmp}/m.lookalike"], "database file .*missing.db not found"),
    (["fit-db", "sqlite:///{bank}", "-o", "{tmp}/m.lookalike", "--tables", "customers,nope"], "unknown table.*nope"),
    (["fit-db", "postgresql+psycopg://u:secret@127.0.0.1:1/db", "-o", "{tmp}/m.lookalike"], "cannot connect to"),
    (["fit-db", "nodriver://x/y", "-o", "{tmp}/m.lookalike"], "no driver|not a database URL"),
    (["sample-db", "{tmp}/none.lookalike", "-o", "{tmp}/out"], "model file not found"),
    (["sample-db", "{bank}", "-o", "{tmp}/out"], "not a lookalike database model"),
])
def test_bad_input_is_one_line_and_writes_nothing(bank_db, tmp_path, capsys, args, message):
    import re

    args = [a.format(tmp=tmp_path, bank=bank_db) for a in args]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "secret" not in err
    assert len(err.strip().splitlines()) <= 2
    assert os.listdir(tmp_path) == []


def test_keys_of_tables_with_es_plurals_are_inferred():
    from lookalike.relational.infer import infer_database

    branches = pd.DataFrame({"branch_id": [1, 2, 3], "size": ["s", "m", "l"]})
    boxes = pd.DataFrame({"box_id": [1, 2], "branch_id": [1, 3]})
    addresses = pd.DataFrame({"address_id": [1, 2, 3], "box_id": [1, 1, 2]})
    schema, notes = infer_database({"branches": branches, "boxes": boxes, "addresses": addresses})
    assert [t.primary_key for t in schema.tables.values()] == [["branch_id"], ["box_id"], ["address_id"]]
    assert {(r.child, r.parent) for r in schema.relations} == {("boxes", "branches"), ("addresses", "boxes")}
