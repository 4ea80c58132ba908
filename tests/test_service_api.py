"""The REST contract of `lookalike serve`, through httpx (FastAPI's TestClient): every endpoint, every error
case of the issue (401, path traversal, 413, bad uploads with the CLI's message, foreign model files), and
jobs that really run in worker processes (copula fits and small simulations, so the whole file stays fast)."""
from __future__ import annotations

import io
import os
import pickle
import time
import zipfile
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the service extras (fastapi) are not installed")
from fastapi.testclient import TestClient  # noqa: E402

from lookalike.errors import LookalikeError  # noqa: E402
from lookalike.io import read_table  # noqa: E402
from lookalike.service import create_app, is_loopback, serve  # noqa: E402
from lookalike.synthesizer import Synthesizer  # noqa: E402

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ANES = Path(str(files("lookalike") / "data" / "anes96.csv"))
ANES_HEAD = b"".join(ANES.read_bytes().splitlines(keepends=True)[:101])  # header + 100 rows
BAD_ID = "0" * 32


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return tmp_path_factory.mktemp("service-ws")


@pytest.fixture(scope="module")
def client(workspace):
    app = create_app(workspace, token=TOKEN, max_upload_bytes=2_000_000)
    with TestClient(app) as c:
        yield c


def wait(client, job_id, timeout=120, until=("done", "failed", "cancelled")):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=AUTH).json()
        if job["status"] in until:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s: {job}")


def upload(client, name, content, url="/api/datasets"):
    return client.post(url, headers=AUTH, files={"file": (name, content, "application/octet-stream")})


def cli_message(tmp_path, name, content) -> str:
    """What `lookalike schema NAME` prints after 'error: ' for this file."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LookalikeError) as info:
        read_table(path)
    return str(info.value).replace(str(path), name)


@pytest.fixture(scope="module")
def dataset(client):
    r = upload(client, "anes96.csv", ANES.read_bytes())
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def fitted(client):
    """A copula fit with a 20% holdout and its report, on 300 rows of the ANES table (to keep judging quick)."""
    rows = b"".join(ANES.read_bytes().splitlines(keepends=True)[:301])
    small = upload(client, "anes300.csv", rows).json()["id"]
    r = client.post("/api/jobs", headers=AUTH, json={"type": "fit", "dataset": small, "model": "copula",
                                                      "max_time": 30, "holdout": 0.2})
    assert r.status_code == 202, r.text
    job = wait(client, r.json()["id"])
    assert job["status"] == "done", job
    return job


# ------------------------------------------------------------------------------------------------ auth
ENDPOINTS = [("get", "/api/info"), ("get", "/api/datasets"), ("post", "/api/datasets"),
             ("get", f"/api/datasets/{BAD_ID}"), ("delete", f"/api/datasets/{BAD_ID}"),
             ("get", f"/api/datasets/{BAD_ID}/schema"), ("put", f"/api/datasets/{BAD_ID}/schema"),
             ("post", "/api/jobs"), ("get", "/api/jobs"), ("get", f"/api/jobs/{BAD_ID}"),
             ("delete", f"/api/jobs/{BAD_ID}"), ("get", f"/api/jobs/{BAD_ID}/output"),
             ("get", f"/api/jobs/{BAD_ID}/files/report.html"), ("get", "/api/models"),
             ("get", f"/api/models/{BAD_ID}"), ("post", "/api/models"), ("delete", f"/api/models/{BAD_ID}")]


@pytest.mark.parametrize("method, path", ENDPOINTS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_every_api_call_needs_the_bearer_token(client, method, path, headers):
    r = client.request(method, path, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "token" in r.json()["detail"]


def test_the_website_cookie_does_not_open_the_api(client):
    r = client.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/api/info").status_code == 401  # the cookie jar now holds the cookie: still 401
    client.cookies.clear()


def test_info_and_openapi_docs(client):
    info = client.get("/api/info", headers=AUTH).json()
    assert "copula" in info["generators"] and info["max_upload_bytes"] == 2_000_000
    assert client.get("/docs").status_code == 200  # drawn on the server; no Swagger UI from a CDN
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/datasets", "/api/datasets/{id}/schema", "/api/jobs", "/api/jobs/{id}",
                 "/api/jobs/{id}/output", "/api/models", "/api/models/{id}"):
        assert path in paths


# ------------------------------------------------------------------------------------------------ datasets
def test_upload_reads_the_table_and_infers_a_schema(client, dataset):
    assert dataset["rows"] == 944 and dataset["columns"] == 10 and dataset["name"] == "anes96.csv"
    got = client.get(f"/api/datasets/{dataset['id']}", headers=AUTH).json()
    assert got["preview"]["columns"][0] == "population_k" and len(got["preview"]["rows"]) == 20
    assert dataset["id"] in [d["id"] for d in client.get("/api/datasets", headers=AUTH).json()]


def test_upload_semicolon_csv_and_parquet(client, tmp_path):
    r = upload(client, "eu.csv", ("a;b\n" + "".join(f"{i},5;x{i % 3}\n" for i in range(30))).encode())
    assert r.status_code == 201 and r.json()["columns"] == 2
    schema = client.get(f"/api/datasets/{r.json()['id']}/schema", headers=AUTH).json()
    assert schema["dialect"]["delimiter"] == ";" and schema["columns"][0]["kind"] == "numeric"
    buf = io.BytesIO()
    pd.DataFrame({"x": range(20), "y": ["a", "b"] * 10}).to_parquet(buf)
    r = upload(client, "t.parquet", buf.getvalue())
    assert r.status_code == 201 and r.json()["rows"] == 20


@pytest.mark.parametrize("name, content", [
    ("empty.csv", b""),
    ("header.csv", b"a,b,c\n"),
    ("binary.csv", bytes(range(256)) * 40),
    ("broken.parquet", b"PAR1 this is not parquet"),
    ("sheet.xlsx", b"not a spreadsheet"),
])
def test_bad_uploads_get_400_with_the_clis_message(client, tmp_path, name, content):
    r = upload(client, name, content)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert detail == cli_message(tmp_path, name, content)
    assert detail.startswith(f"{name}: ") and "\n" not in detail


def test_upload_type_and_form_errors(client, workspace):
    r = upload(client, "notes.txt", b"a,b\n1,2\n")
    assert r.status_code == 400 and "unsupported file type '.txt'" in r.json()["detail"]
    r = client.post("/api/datasets", headers=AUTH, files={"other": ("x.csv", b"a\n1\n")})
    assert r.status_code == 400 and "field named 'file'" in r.json()["detail"]
    r = client.post("/api/datasets", headers=AUTH, content=b"a,b\n1,2\n")
    assert r.status_code == 400 and "multipart" in r.json()["detail"]
    r = client.post("/api/datasets", headers={**AUTH, "content-type": "multipart/form-data; boundary=xyz"},
                    content=b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\nbroken")
    assert r.status_code == 400
    assert list((workspace / "uploads").iterdir()) == []  # nothing half-received is kept


@pytest.mark.parametrize("name", ["../../evil.csv", "..\\evil.csv", "/etc/passwd.csv", ".hidden.csv", "sub/evil.csv", ".."])
def test_path_traversal_in_upload_names_is_refused(client, workspace, name):
    r = upload(client, name, ANES_HEAD)
    assert r.status_code == 400 and "not allowed" in r.json()["detail"]
    assert not (workspace.parent / "evil.csv").exists() and not (workspace / "evil.csv").exists()


def test_uploads_over_the_limit_get_413(client, workspace):
    big = b"a,b\n" + b"1,2\n" * 600_000  # 2.4 MB > 2 MB
    r = upload(client, "big.csv", big)  # with Content-Length: refused before reading
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    body = b"".join([b"--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n", big,
                     b"\r\n--b0--\r\n"])

    def chunks():  # no Content-Length: the stream is cut off at the limit
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    r = client.post("/api/datasets", headers={**AUTH, "content-type": "multipart/form-data; boundary=b0"},
                    content=chunks())
    assert r.status_code == 413
    assert list((workspace / "uploads").iterdir()) == []


def test_ids_that_are_not_ids_get_4xx(client):
    for path in ("/api/datasets/..%2F..%2Fetc/schema", "/api/datasets/../lookalike.db", "/api/models/%2e%2e",
                 "/api/jobs/..%2Flookalike.db/output", f"/api/datasets/{BAD_ID}", "/api/models/abc",
                 "/api/jobs/" + "g" * 32):
        r = client.get(path, headers=AUTH)
        assert 400 <= r.status_code < 500, (path, r.status_code)
        assert b"SQLite" not in r.content


# ------------------------------------------------------------------------------------------------ schema
def test_schema_get_put_json_and_yaml(client, dataset):
    url = f"/api/datasets/{dataset['id']}/schema"
    schema = client.get(url, headers=AUTH).json()
    assert [c["name"] for c in schema["columns"]][:2] == ["population_k", "tv_news_days"]
    yaml_text = client.get(url + "?format=yaml", headers=AUTH).text
    assert "kind: numeric" in yaml_text

    schema["columns"][1]["kind"] = "categorical"
    r = client.put(url, headers=AUTH, json=schema)
    assert r.status_code == 200 and r.json()["columns"][1]["kind"] == "categorical"
    assert client.get(url, headers=AUTH).json()["columns"][1]["kind"] == "categorical"

    r = client.put(url, headers={**AUTH, "content-type": "application/yaml"},
                   content=yaml_text.replace("name: tv_news_days\n  kind: numeric", "name: tv_news_days\n  kind: numeric"))
    assert r.status_code == 200 and r.json()["columns"][1]["kind"] == "numeric"  # YAML put it back


def test_schema_put_errors_name_the_column(client, dataset):
    url = f"/api/datasets/{dataset['id']}/schema"
    schema = client.get(url, headers=AUTH).json()
    bad = {**schema, "columns": [dict(c) for c in schema["columns"]]}
    bad["columns"][0]["kind"] = "numberish"
    r = client.put(url, headers=AUTH, json=bad)
    assert r.status_code == 400 and "column 'population_k': unknown kind 'numberish'" in r.json()["detail"]
    r = client.put(url, headers=AUTH, json={**schema, "columns": schema["columns"][1:]})
    assert r.status_code == 400 and "['population_k']" in r.json()["detail"]
    r = client.put(url, headers=AUTH, json={**schema, "columns": schema["columns"] + [{"name": "zz", "kind": "numeric"}]})
    assert r.status_code == 400 and "lacks: ['zz']" in r.json()["detail"]
    r = client.put(url, headers={**AUTH, "content-type": "application/yaml"}, content=b"columns: [unclosed")
    assert r.status_code == 400 and "not valid YAML" in r.json()["detail"]
    r = client.put(url, headers=AUTH, json=[1, 2])
    assert r.status_code == 400
    assert client.get(url, headers=AUTH).json() == schema  # nothing changed


# ------------------------------------------------------------------------------------------------ jobs
def test_fit_with_holdout_gives_a_model_and_a_report(client, fitted):
    result = fitted["result"]
    assert fitted["progress"] == 1.0 and fitted["elapsed"] > 0
    assert result["generator"] == "copula" and result["report"] == "report.html"
    assert 0.5 < result["summary"]["bivariate_accuracy"] <= 1
    r = client.get(f"/api/jobs/{fitted['id']}/files/report.html", headers=AUTH)
    assert r.status_code == 200 and "<html" in r.text.lower()
    assert client.get(f"/api/jobs/{fitted['id']}/output", headers=AUTH).status_code == 200  # the report too


def test_sample_with_conditions_and_download(client, fitted, tmp_path):
    model = fitted["result"]["model"]
    r = client.post("/api/jobs", headers=AUTH, json={"type": "sample", "model": model, "n": 120, "format": "csv",
                                                      "seed": 1, "conditions": {"vote": "dole"}})
    job = wait(client, r.json()["id"])
    assert job["status"] == "done" and job["result"]["output"] == "synthetic.csv"
    out = client.get(f"/api/jobs/{job['id']}/output", headers=AUTH)
    assert out.status_code == 200 and "synthetic.csv" in out.headers["content-disposition"]
    (tmp_path / "s.csv").write_bytes(out.content)
    df = pd.read_csv(tmp_path / "s.csv")
    assert len(df) == 120 and set(df["vote"]) == {"Dole"} and list(df.columns) == list(pd.read_csv(ANES).columns)

    r = client.post("/api/jobs", headers=AUTH, json={"type": "sample", "model": model, "n": 200, "format": "parquet",
                                                      "rebalance": {"vote": {"Dole": 0.9}}})
    job = wait(client, r.json()["id"])
    df = pd.read_parquet(io.BytesIO(client.get(f"/api/jobs/{job['id']}/output", headers=AUTH).content))
    assert len(df) == 200 and (df["vote"] == "Dole").mean() > 0.75


def test_a_job_that_fails_says_why_in_one_line(client, fitted):
    r = client.post("/api/jobs", headers=AUTH, json={"type": "sample", "model": fitted["result"]["model"], "n": 5,
                                                      "conditions": {"vote": "Perot-2"}})
    job = wait(client, r.json()["id"])
    assert job["status"] == "failed"
    assert job["message"].startswith("column 'vote': value 'Perot-2' was never seen") and "\n" not in job["message"]
    r = client.get(f"/api/jobs/{job['id']}/output", headers=AUTH)
    assert r.status_code == 409


def test_report_jobs_from_a_model_and_from_two_datasets(client, fitted):
    r = client.post("/api/jobs", headers=AUTH, json={"type": "report", "model": fitted["result"]["model"], "n": 100})
    job = wait(client, r.json()["id"])
    assert job["status"] == "done", job
    assert job["result"]["summary"]["bivariate_accuracy_holdout"] is not None  # judged against the holdout
    assert "<html" in client.get(f"/api/jobs/{job['id']}/output", headers=AUTH).text.lower()
    small = upload(client, "small.csv", ANES_HEAD).json()["id"]
    r = client.post("/api/jobs", headers=AUTH, json={"type": "report", "dataset": small, "synthetic": small})
    job = wait(client, r.json()["id"])
    assert job["status"] == "done" and job["result"]["summary"]["univariate_accuracy"] == pytest.approx(1.0)


def test_fake_and_simulate_jobs(client, tmp_path):
    spec = "format: csv\ntables:\n  people:\n    columns:\n      id: {dist: sequence}\n      age: {dist: normal, mean: 40, sd: 9}\n"
    job = wait(client, client.post("/api/jobs", headers=AUTH, json={"type": "fake", "spec": spec, "n": 50, "seed": 3}).json()["id"])
    assert job["status"] == "done" and job["result"]["output"] == "people.csv"
    df = pd.read_csv(io.BytesIO(client.get(f"/api/jobs/{job['id']}/output", headers=AUTH).content))
    assert len(df) == 50 and list(df.columns) == ["id", "age"]

    for body, tables in (({"simulator": "aml", "options": {"accounts": 60, "days": 3, "seed": 1}},
                          {"customers", "accounts", "transactions", "alerts"}),
                         ({"simulator": "market", "options": {"assets": 2, "days": 15}, "format": "parquet"},
                          {"prices", "options"})):
        r = client.post("/api/jobs", headers=AUTH, json={"type": "simulate", **body})
        job = wait(client, r.json()["id"])
        assert job["status"] == "done", job
        archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/jobs/{job['id']}/output", headers=AUTH).content))
        assert {Path(n).stem for n in archive.namelist()} >= tables


@pytest.mark.parametrize("body, status, words", [
    ({"type": "train"}, 422, "type"),
    ({"type": "fit"}, 400, "'dataset' is required"),
    ({"type": "fit", "dataset": BAD_ID}, 404, "not found"),
    ({"type": "fit", "dataset": "../../etc"}, 404, "not valid"),
    ({"type": "sample", "model": BAD_ID}, 404, "model"),
    ({"type": "sample", "model": "x/../y"}, 404, "not valid"),
    ({"type": "fake", "spec": "tables:\n  t:\n    columns:\n      a: {dist: normall, mean: 0, sd: 1}\n"}, 400,
     "spec:4: tables.t.columns.a.dist"),
    ({"type": "fake", "spec": ""}, 400, "spec"),
    ({"type": "simulate", "simulator": "weather"}, 400, "aml or market"),
    ({"type": "simulate", "simulator": "aml", "options": {"accounts": -3}}, 400, "accounts"),
    ({"type": "simulate", "simulator": "aml", "options": {"path": "/etc"}}, 400, "unknown option"),
    ({"type": "report"}, 400, "'dataset' is required"),
    ({"type": "fake", "spec": "tables: {}", "output": "/tmp/x"}, 400, "unknown field"),
])
def test_bad_job_requests_are_refused_before_queuing(client, body, status, words):
    before = len(client.get("/api/jobs", headers=AUTH).json())
    r = client.post("/api/jobs", headers=AUTH, json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    assert len(client.get("/api/jobs", headers=AUTH).json()) == before


def test_bad_fit_and_sample_settings(client, dataset, fitted):
    for body, words in (({"model": "nosuch"}, "unknown model 'nosuch'"), ({"max_time": -1}, "max_time"),
                        ({"holdout": 1.5}, "holdout"), ({"target": "nope"}, "target: unknown column 'nope'"),
                        ({"max_epochs": "many"}, "max_epochs")):
        r = client.post("/api/jobs", headers=AUTH, json={"type": "fit", "dataset": dataset["id"], **body})
        assert r.status_code == 400 and words in r.json()["detail"], r.text
    for body, words in (({"n": 0}, "n must be"), ({"format": "xlsx"}, "csv or parquet"),
                        ({"conditions": ["vote"]}, "conditions")):
        r = client.post("/api/jobs", headers=AUTH, json={"type": "sample", "model": fitted["result"]["model"], **body})
        assert r.status_code == 400 and words in r.json()["detail"], r.text


def test_cancel_stops_the_worker_and_keeps_no_output(client, dataset, workspace):
    models_before = set(os.listdir(workspace / "models"))
    r = client.post("/api/jobs", headers=AUTH, json={"type": "fit", "dataset": dataset["id"], "model": "argn",
                                                      "max_time": 120, "max_epochs": 10_000})
    job_id = r.json()["id"]
    wait(client, job_id, until=("running",))
    deadline = time.monotonic() + 30
    while (pid := client.app.state.service.store.one("jobs", job_id)["pid"]) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive(pid)
    r = client.delete(f"/api/jobs/{job_id}", headers=AUTH)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    time.sleep(0.5)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
    assert client.get(f"/api/jobs/{job_id}", headers=AUTH).json()["status"] == "cancelled"
    assert set(os.listdir(workspace / "models")) == models_before and not (workspace / "jobs" / job_id).exists()
    assert client.get(f"/api/jobs/{job_id}/output", headers=AUTH).status_code == 409
    assert client.delete(f"/api/jobs/{job_id}", headers=AUTH).status_code == 204  # a finished job: removed
    assert client.get(f"/api/jobs/{job_id}", headers=AUTH).status_code == 404


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie not yet reaped counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_job_output_names_cannot_leave_the_job_folder(client, fitted):
    job = fitted["id"]
    for name in ("..%2F..%2Flookalike.db", ".hidden", "%2E%2E", "schema.yaml", "%2Fetc%2Fpasswd"):
        r = client.get(f"/api/jobs/{job}/files/{name}", headers=AUTH)
        assert 400 <= r.status_code < 500, (name, r.status_code)


def test_jobs_list_shows_status_fields(client, fitted):
    jobs = client.get("/api/jobs", headers=AUTH).json()
    assert fitted["id"] in [j["id"] for j in jobs]
    assert {"id", "status", "progress", "message", "result"} <= set(jobs[0])


# ------------------------------------------------------------------------------------------------ models
def test_model_download_and_upload_round_trip(client, fitted, tmp_path):
    model = fitted["result"]["model"]
    r = client.get(f"/api/models/{model}", headers=AUTH)
    assert r.status_code == 200
    path = tmp_path / "m.lookalike"
    path.write_bytes(r.content)
    assert Synthesizer.load(path).model_.name == "copula"
    r = upload(client, "mine.lookalike", r.content, url="/api/models")
    assert r.status_code == 201
    new = r.json()["id"]
    assert new != model and new in [m["id"] for m in client.get("/api/models", headers=AUTH).json()]
    job = wait(client, client.post("/api/jobs", headers=AUTH, json={"type": "sample", "model": new, "n": 10}).json()["id"])
    assert job["status"] == "done"
    assert client.delete(f"/api/models/{new}", headers=AUTH).status_code == 204
    assert client.get(f"/api/models/{new}", headers=AUTH).status_code == 404


class Boom:
    def __reduce__(self):
        return (os.system, ("touch /tmp/lookalike-pwned",))


def _zip(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("content", [
    pickle.dumps(Boom()),
    _zip({"data.pkl": pickle.dumps(Boom())}),
    _zip({"model.json": b'{"format": "lookalike-model", "format_version": 1}', "weights.safetensors": pickle.dumps(Boom())}),
    _zip({"model.json": b'{"format": "something-else"}', "weights.safetensors": b""}),
    b"",
    b"just text",
])
def test_foreign_or_pickled_model_files_are_refused(client, workspace, content):
    before = set(os.listdir(workspace / "models"))
    r = upload(client, "evil.lookalike", content, url="/api/models")
    assert r.status_code == 400 and r.json()["detail"].startswith("evil.lookalike: ")
    assert set(os.listdir(workspace / "models")) == before
    assert not Path("/tmp/lookalike-pwned").exists()


def test_delete_dataset(client):
    r = upload(client, "small.csv", b"a,b\n" + b"".join(f"{i},{i % 2}\n".encode() for i in range(30)))
    id = r.json()["id"]
    assert client.delete(f"/api/datasets/{id}", headers=AUTH).status_code == 204
    assert client.get(f"/api/datasets/{id}", headers=AUTH).status_code == 404
    assert client.delete(f"/api/datasets/{id}", headers=AUTH).status_code == 404


# ------------------------------------------------------------------------------------------------ serving
def test_serve_binds_loopback_by_default_and_warns_for_other_hosts(monkeypatch, tmp_path):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: calls.append((host, port)))
    monkeypatch.setenv("LOOKALIKE_TOKEN", "from-the-environment")
    lines: list[str] = []
    serve(workspace=tmp_path / "a", echo=lines.append)
    assert calls[-1] == ("127.0.0.1", 8765)
    assert not any("warning" in line for line in lines)
    assert any("http://127.0.0.1:8765/?token=from-the-environment" in line for line in lines)
    lines.clear()
    serve(host="0.0.0.0", port=9000, workspace=tmp_path / "b", echo=lines.append)
    assert calls[-1] == ("0.0.0.0", 9000) and lines[0].startswith("warning: listening on 0.0.0.0")
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("192.168.1.4")


def test_generated_token_when_none_is_set(monkeypatch, tmp_path):
    monkeypatch.delenv("LOOKALIKE_TOKEN", raising=False)
    a, b = create_app(tmp_path / "a"), create_app(tmp_path / "b")
    assert len(a.state.service.token) >= 24 and a.state.service.token != b.state.service.token
