"""Whole databases through the service (httpx TestClient): fit-db from a SQLite file and from a zip of CSV
files, sample-db to a zip of CSVs and to a SQLite file with every key valid, the database model's download,
passwords kept out of every response and job record, and zips that try to escape refused with 4xx."""
from __future__ import annotations

import io
import sqlite3
import stat
import time
import zipfile

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the service extras (fastapi) are not installed")
from fastapi.testclient import TestClient  # noqa: E402

from lookalike.service import create_app  # noqa: E402

TOKEN = "test-token-db-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "Sup3rS3cretPw"
DDL = """
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, segment VARCHAR(10) NOT NULL, income FLOAT);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
  channel VARCHAR(10), amount FLOAT);
CREATE TABLE items (item_id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(order_id),
  qty INTEGER, price FLOAT);
"""
FIT = {"model": "copula", "max_time": 10}


def tables(seed: int = 0) -> dict[str, pd.DataFrame]:
    """customers <- orders <- items: 60 customers, 1-3 orders each, 1-3 items per order."""
    rng = np.random.default_rng(seed)
    seg = rng.choice(["retail", "premium"], 60, p=[0.7, 0.3])
    customers = pd.DataFrame({"customer_id": np.arange(1, 61), "segment": seg,
                              "income": np.where(seg == "premium", 90_000.0, 30_000.0) + rng.normal(0, 3000, 60).round()})
    k = rng.integers(1, 4, 60)
    orders = pd.DataFrame({"order_id": np.arange(1, k.sum() + 1), "customer_id": np.repeat(customers.customer_id, k),
                           "channel": rng.choice(["web", "shop"], k.sum()),
                           "amount": rng.gamma(2, 40, k.sum()).round(2)})
    m = rng.integers(1, 4, len(orders))
    items = pd.DataFrame({"item_id": np.arange(1, m.sum() + 1), "order_id": np.repeat(orders.order_id, m),
                          "qty": rng.integers(1, 6, m.sum()), "price": rng.gamma(2, 10, m.sum()).round(2)})
    return {"customers": customers, "orders": orders.reset_index(drop=True), "items": items.reset_index(drop=True)}


def check_keys(out: dict[str, pd.DataFrame]) -> None:
    assert set(out) == {"customers", "orders", "items"}
    assert all(len(df) for df in out.values())
    for child, parent, key in (("orders", "customers", "customer_id"), ("items", "orders", "order_id")):
        assert out[parent][key].is_unique
        assert out[child][key].notna().all()
        assert set(out[child][key]) <= set(out[parent][key]), f"{child}.{key} points to missing {parent}"
    assert out["items"]["item_id"].is_unique


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return tmp_path_factory.mktemp("service-db-ws")


@pytest.fixture(scope="module")
def client(workspace):
    app = create_app(workspace, token=TOKEN, max_upload_bytes=1_000_000)
    with TestClient(app) as c:
        yield c


def wait(client, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=AUTH).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s")


def job(client, body: dict, timeout=60) -> dict:
    r = client.post("/api/jobs", headers=AUTH, json=body)
    assert r.status_code == 202, r.text
    return wait(client, r.json()["id"], timeout)


def read_zip(content: bytes) -> dict[str, pd.DataFrame]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {n.rsplit(".", 1)[0]: pd.read_csv(zf.open(n)) for n in zf.namelist()}


def zip_bytes(entries: list[tuple], ) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for entry in entries:
            name, data = entry[0], entry[1]
            info = zipfile.ZipInfo(name)
            if len(entry) > 2:
                info.external_attr = entry[2] << 16
            zf.writestr(info, data)
    return buf.getvalue()


def csv_zip(prefix: str = "") -> bytes:
    return zip_bytes([(f"{prefix}{name}.csv", df.to_csv(index=False)) for name, df in tables(1).items()])


@pytest.fixture(scope="module")
def sqlite_db(workspace):
    path = workspace / "shop.db"
    with sqlite3.connect(path) as con:
        con.executescript(DDL)
        for name, df in tables().items():
            df.to_sql(name, con, if_exists="append", index=False)
    return path


@pytest.fixture(scope="module")
def db_model(client, sqlite_db):
    done = job(client, {"type": "fit-db", "url": f"sqlite:///{sqlite_db}", **FIT})
    assert done["status"] == "done", done
    return done


def test_fit_db_from_sqlite_then_sample_zip_and_sqlite(client, db_model, workspace):
    result = db_model["result"]
    assert result["tables"] == {n: len(df) for n, df in tables().items()}
    model = result["model"]
    info = client.get("/api/models", headers=AUTH).json()
    assert any(m["id"] == model and m["info"]["kind"] == "database" for m in info)

    # the model file downloads like a table model's, and uploads back (validated as data)
    r = client.get(f"/api/models/{model}", headers=AUTH)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert "database.json" in zf.namelist()
    r = client.post("/api/models", headers=AUTH, files={"file": ("shop.lookalike", r.content)})
    assert r.status_code == 201, r.text

    done = job(client, {"type": "sample-db", "model": model, "scale": 1.0, "seed": 3})
    assert done["status"] == "done", done
    r = client.get(f"/api/jobs/{done['id']}/output", headers=AUTH)
    assert r.status_code == 200 and done["result"]["output"] == "synthetic.zip"
    out = read_zip(r.content)
    check_keys(out)
    assert {n: len(df) for n, df in out.items()} == done["result"]["tables"]

    done = job(client, {"type": "sample-db", "model": model, "scale": 0.5, "format": "sqlite"})
    assert done["status"] == "done", done
    r = client.get(f"/api/jobs/{done['id']}/output", headers=AUTH)
    path = workspace / "downloaded.db"
    path.write_bytes(r.content)
    with sqlite3.connect(path) as con:
        out = {t: pd.read_sql(f"SELECT * FROM {t}", con) for t in ("customers", "orders", "items")}
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        ddl = con.execute("SELECT sql FROM sqlite_master WHERE name = 'items'").fetchone()[0]
    check_keys(out)
    assert "REFERENCES" in ddl.upper()
    assert len(out["customers"]) == 30

    # a database model is not a table model, and the other way round
    r = client.post("/api/jobs", headers=AUTH, json={"type": "sample", "model": model, "n": 10})
    assert r.status_code == 400 and "sample-db" in r.json()["detail"]


def test_fit_db_from_a_zip_of_csv_files(client):
    r = client.post("/api/databases", headers=AUTH, files={"file": ("shop.zip", csv_zip("shop/"))})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["tables"] == {n: len(df) for n, df in tables(1).items()}
    assert client.get(f"/api/databases/{body['id']}", headers=AUTH).json()["rows"] == body["rows"]
    done = job(client, {"type": "fit-db", "database": body["id"], **FIT})
    assert done["status"] == "done", done
    done = job(client, {"type": "sample-db", "model": done["result"]["model"], "seed": 1})
    assert done["status"] == "done", done
    check_keys(read_zip(client.get(f"/api/jobs/{done['id']}/output", headers=AUTH).content))


def test_a_password_never_shows(client, workspace):
    url = f"postgresql://alice:{PASSWORD}@127.0.0.1:9/bank"
    done = job(client, {"type": "fit-db", "url": url, **FIT})
    assert done["status"] == "failed"
    assert "cannot connect" in done["message"] and "\n" not in done["message"]
    assert done["params"]["url"] == "postgresql://alice:***@127.0.0.1:9/bank"
    # a bad port, a bad backend, a file outside the workspace: refused before queuing, still without the password
    for bad in (f"postgresql://alice:{PASSWORD}@host:notaport/db", f"mysql://alice:{PASSWORD}@h/db",
                "sqlite:////etc/passwd.db", "sqlite:///lookalike.db", "not a url"):
        r = client.post("/api/jobs", headers=AUTH, json={"type": "fit-db", "url": bad})
        assert r.status_code == 400, (bad, r.text)
        assert PASSWORD not in r.text
    client.get(f"/?token={TOKEN}")
    pages = [client.get("/api/jobs", headers=AUTH), client.get(f"/api/jobs/{done['id']}", headers=AUTH),
             client.get("/"), client.get(f"/jobs/{done['id']}"), client.get(f"/jobs/{done['id']}/status")]
    for r in pages:
        assert r.status_code == 200
        assert PASSWORD not in r.text
    with sqlite3.connect(workspace / "lookalike.db") as con:
        rows = con.execute("SELECT * FROM jobs").fetchall()
    assert rows and PASSWORD not in repr(rows)
    for f in workspace.glob("lookalike.db*"):
        assert PASSWORD.encode() not in f.read_bytes()
    assert not any((workspace / "secrets").iterdir())  # the worker took it and removed it


def test_library_errors_fail_the_job_with_one_line(client, sqlite_db):
    done = job(client, {"type": "fit-db", "url": f"sqlite:///{sqlite_db.name}", "tables": ["customers", "nope"]})
    assert done["status"] == "failed" and "unknown table(s) nope" in done["message"]
    r = client.post("/api/jobs", headers=AUTH, json={"type": "fit-db", "url": "sqlite:///missing.db"})
    assert r.status_code == 400 and "not found" in r.json()["detail"]
    r = client.post("/api/jobs", headers=AUTH, json={"type": "fit-db"})
    assert r.status_code == 400
    r = client.post("/api/jobs", headers=AUTH, json={"type": "sample-db", "model": "0" * 32})
    assert r.status_code == 404


@pytest.mark.parametrize("entries, words", [
    ([("../evil.csv", "a\n1\n")], "'..'"),
    ([("ok/../../evil.csv", "a\n1\n")], "'..'"),
    ([("/abs/evil.csv", "a\n1\n")], "absolute"),
    ([("link.csv", "/etc/passwd", stat.S_IFLNK | 0o777)], "links"),
    ([(f"t{i}.csv", "a\n1\n") for i in range(201)], "entries"),
    ([("notes.txt", "hello")], "not a CSV"),
])
def test_unsafe_zips_are_refused(client, workspace, entries, words):
    r = client.post("/api/databases", headers=AUTH, files={"file": ("db.zip", zip_bytes(entries))})
    assert r.status_code == 400 and words in r.json()["detail"], r.text
    assert not (workspace / "evil.csv").exists() and not (workspace.parent / "evil.csv").exists()
    assert not any((workspace / "uploads").iterdir())


def test_zip_limits_and_bad_files(client):
    r = client.post("/api/databases", headers=AUTH, files={"file": ("db.zip", b"not a zip")})
    assert r.status_code == 400 and "not a zip" in r.json()["detail"]
    r = client.post("/api/databases", headers=AUTH, files={"file": ("db.csv", b"a\n1\n")})
    assert r.status_code == 400
    r = client.post("/api/databases", headers=AUTH, files={"file": ("db.zip", b"x" * 1_200_000)})
    assert r.status_code == 413
    r = client.post("/api/databases", headers=AUTH, files={"file": ("db.zip", zip_bytes([("t.csv", "")]))})
    assert r.status_code == 400
    assert client.get("/api/databases", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_website_forms(client):
    client.get(f"/?token={TOKEN}")
    html = client.get("/").text
    for control in ("db-url", "db-file", "db-url-model", "db-zip-model", "db-url-time", "db-zip-time"):
        assert f'id="{control}"' in html and f'for="{control}"' in html
    r = client.post("/databases/upload", files={"file": ("shop.zip", csv_zip())},
                    data={"model": "copula", "max_time": "10"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job_id = r.headers["location"].rsplit("/", 1)[1]
    assert client.get(f"/jobs/{job_id}").status_code == 200  # the job page (progress)
    done = wait(client, job_id)
    assert done["status"] == "done" and done["params"]["model"] == "copula", done
    model = done["result"]["model"]
    page = client.get(f"/models/{model}").text
    for control in ("scale", "sample-db-seed", "db-format"):
        assert f'for="{control}"' in page
    r = client.post(f"/models/{model}/sample-db", data={"scale": "0.5", "seed": "0", "format": "csv"},
                    follow_redirects=False)
    job_id = r.headers["location"].rsplit("/", 1)[1]
    assert wait(client, job_id)["status"] == "done"
    page = client.get(f"/jobs/{job_id}").text
    assert f'href="/jobs/{job_id}/files/synthetic.zip"' in page
    check_keys(read_zip(client.get(f"/jobs/{job_id}/files/synthetic.zip").content))
    r = client.post("/databases/fit", data={"url": f"postgresql://bob:{PASSWORD}@h:x/db"}, follow_redirects=False)
    assert r.status_code == 303 and "error=" in r.headers["location"] and PASSWORD not in r.headers["location"]
