"""The database layer against a real PostgreSQL server (``.ci/run`` starts one and sets
LOOKALIKE_TEST_POSTGRES_URL, a password-protected superuser URL). Skipped, saying why, when there is none."""
import os
import uuid

import pytest
import sqlalchemy as sa

from db_data import create
from lookalike.cli import main
from lookalike.errors import LookalikeError
from lookalike.relational.synthesizer import DatabaseSynthesizer

URL = os.environ.get("LOOKALIKE_TEST_POSTGRES_URL")


def _server():
    if not URL:
        return "LOOKALIKE_TEST_POSTGRES_URL is not set (no PostgreSQL server was started; see .ci/run)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    try:
        sa.create_engine(URL).connect().close()
    except Exception as exc:  # noqa: BLE001
        return f"cannot connect to the PostgreSQL server: {exc}"
    return None


REASON = _server()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


@pytest.fixture()
def database():
    """A fresh database on the server, dropped afterwards."""
    name = f"lookalike_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.engine.make_url(URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def test_reflect_fit_and_write_back_to_postgres(database, tmp_path):
    create(database)
    model = tmp_path / "m.lookalike"
    assert main(["fit-db", database, "-o", str(model), "--model", "copula"]) == 0
    target = tmp_path / "syn.db"  # PostgreSQL -> SQLite ...
    assert main(["sample-db", str(model), "-o", f"sqlite:///{target}"]) == 0
    db = DatabaseSynthesizer.load(model)
    assert db.ddl_["order_lines"]["primary_key"] == ["order_id", "line_no"]
    assert db.ddl_["customers"]["unique"] == [["email"]]
    # ... and back into PostgreSQL: refused while the tables exist, replaced with --force, keys enforced
    assert main(["sample-db", str(model), "-o", database]) == 1
    assert main(["sample-db", str(model), "-o", database, "--force", "--scale", "0.5"]) == 0
    engine = sa.create_engine(database)
    insp = sa.inspect(engine)
    assert {fk["referred_table"] for fk in insp.get_foreign_keys("accounts")} == {"customers", "branches"}
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from branches").scalar() == 10
    engine.dispose()


def test_a_failure_mid_write_is_rolled_back(database, tmp_path):
    create(database)
    db = DatabaseSynthesizer(model="copula").fit(database, tables=["customers", "branches", "accounts", "cards"])
    tables = db.sample(seed=1)
    tables["cards"].loc[0, "card_id"] = tables["cards"].loc[1, "card_id"]
    target = sa.engine.make_url(database)
    admin = sa.create_engine(URL, isolation_level="AUTOCOMMIT")
    empty = f"{target.database}_out"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {empty}")
    url = target.set(database=empty).render_as_string(hide_password=False)
    try:
        with pytest.raises(LookalikeError, match="rolled back"):
            db.to_sql(url, tables=tables)
        engine = sa.create_engine(url)
        assert sa.inspect(engine).get_table_names() == []
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {empty} WITH (FORCE)")
        admin.dispose()


def test_wrong_password_is_one_line_without_the_password(tmp_path, capsys):
    url = sa.engine.make_url(URL).set(password="wrong-secret").render_as_string(hide_password=False)
    assert main(["fit-db", url, "-o", str(tmp_path / "m.lookalike")]) == 1
    err = capsys.readouterr().err
    assert "cannot connect to" in err and "password authentication failed" in err
    assert "wrong-secret" not in err
    assert os.listdir(tmp_path) == []
