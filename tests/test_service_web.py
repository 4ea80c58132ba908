"""The website without a browser: login with the token (HttpOnly, SameSite=Strict cookie), every page renders,
every form control has a label, nothing is loaded from another site, and the forms drive the same jobs as the
REST API (upload, schema edit, fit, sample with a condition, fake-data errors shown at their line)."""
from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service extras (fastapi) are not installed")
from fastapi.testclient import TestClient  # noqa: E402

from lookalike.service import create_app  # noqa: E402

TOKEN = "web-test-token"
ANES = Path(str(files("lookalike") / "data" / "anes96.csv"))
STATIC = Path(str(files("lookalike") / "service"))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(tmp_path_factory.mktemp("web-ws"), token=TOKEN)) as c:
        yield c


@pytest.fixture(scope="module")
def browser(client):
    """The same client, logged in."""
    r = client.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    return client


class Controls(HTMLParser):
    """Collects form controls, labels and every URL a page loads."""

    def __init__(self):
        super().__init__()
        self.controls, self.labels, self.loads = [], set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a.get("id"))
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.loads.append(a["src"])
        if tag == "link" and a.get("href"):
            self.loads.append(a["href"])


def check_page(html: str) -> None:
    parser = Controls()
    parser.feed(html)
    unlabelled = [c for c in parser.controls if c is None or c not in parser.labels]
    assert unlabelled == [], f"controls without a label: {unlabelled}"
    assert [u for u in parser.loads if not u.startswith(("/", "data:"))] == [], parser.loads


def wait(client, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}/status").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(job)


def test_pages_need_the_login_and_the_token_url_logs_in(client):
    client.cookies.clear()
    for path in ("/", "/fake", "/simulate", "/datasets/" + "0" * 32):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.post("/login", data={"token": "nope"}).status_code == 401
    check_page(client.get("/login").text)
    r = client.get(f"/?token={TOKEN}", follow_redirects=False)  # the URL `lookalike serve` prints
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and TOKEN.lower() in cookie
    assert client.get("/").status_code == 200
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303
    client.cookies.clear()


def test_static_assets_ship_with_the_package_and_call_no_other_site():
    for name in ("static/app.js", "static/style.css", "templates/base.html"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), name


def test_upload_edit_fit_sample_through_the_forms(browser):
    home = browser.get("/")
    check_page(home.text)
    assert 'id="dropzone"' in home.text
    with open(ANES, "rb") as fh:
        r = browser.post("/upload", files={"file": ("anes96.csv", fh)}, follow_redirects=False)
    assert r.status_code == 303
    dataset_url = r.headers["location"]
    page = browser.get(dataset_url).text
    check_page(page)
    assert "Extremely conservative" in page  # the preview
    assert "numbers, whole" in page and "a set of repeated labels" in page  # reasons for the inferred kinds

    r = browser.post(dataset_url + "/schema", data={"kind-1": "categorical"}, follow_redirects=False)
    assert r.status_code == 303
    page = browser.get(r.headers["location"]).text
    assert "Schema saved" in page and "set by you; inferred as numeric" in page
    assert "No business rule holds in every row" in page and "No keys declared" in page
    r = browser.post(dataset_url + "/schema", data={"kind-1": "bogus"}, follow_redirects=False)
    assert "unknown%20kind" in r.headers["location"]

    r = browser.post(dataset_url + "/fit", data={"model": "copula", "max_time": "30", "seed": "0"},
                     follow_redirects=False)  # the report inside the page: see test_service_browser.py
    job_url = r.headers["location"]
    assert job_url.startswith("/jobs/")
    check_page(browser.get(job_url).text)
    job = wait(browser, job_url.split("/")[-1])
    assert job["status"] == "done", job
    page = browser.get(job_url).text
    assert 'id="model-link"' in page and 'id="report"' not in page

    model_url = f"/models/{job['result']['model']}"
    page = browser.get(model_url).text
    check_page(page)
    r = browser.post(model_url + "/sample", data={"n": "40", "conditions": "vote=Dole", "rebalance": "",
                                                  "seed": "2", "format": "csv"}, follow_redirects=False)
    sample_url = r.headers["location"]
    job = wait(browser, sample_url.split("/")[-1])
    assert job["status"] == "done"
    csv = browser.get(f"{sample_url}/files/synthetic.csv")
    rows = csv.text.strip().splitlines()
    assert len(rows) == 41 and all(row.endswith(",Dole") for row in rows[1:])
    assert 'id="download"' in browser.get(sample_url).text
    r = browser.post(model_url + "/sample", data={"conditions": "vote"}, follow_redirects=False)
    assert "COLUMN%3DVALUE" in r.headers["location"] or "COLUMN=VALUE" in r.headers["location"]
    assert browser.get(model_url + "/download").content[:2] == b"PK"
    home = browser.get("/").text
    assert "anes96.csv" in home and "synthetic.csv" in home  # the history


def test_bad_upload_shows_the_clis_message(browser):
    r = browser.post("/upload", files={"file": ("empty.csv", b"")}, follow_redirects=True)
    assert "empty.csv: the file is empty" in r.text


def test_fake_spec_errors_are_shown_at_their_line(browser):
    page = browser.get("/fake").text
    check_page(page)
    spec = "tables:\n  t:\n    columns:\n      a: {dist: normall, mean: 0, sd: 1}\n"
    r = browser.post("/fake", data={"spec": spec, "n": "10", "seed": "0"})
    assert r.status_code == 400
    check_page(r.text)
    bad = re.search(r'<span class="bad">(.*?)</span>', r.text, re.S).group(1)
    assert bad.strip().startswith("4") and "normall" in bad and "did you mean" in bad
    r = browser.post("/fake", data={"spec": spec.replace("normall", "normal"), "n": "10", "seed": "0"},
                     follow_redirects=False)
    job = wait(browser, r.headers["location"].split("/")[-1])
    assert job["status"] == "done" and job["result"]["output"] == "t.parquet"


def test_simulator_forms(browser):
    check_page(browser.get("/simulate").text)
    r = browser.post("/simulate/market", data={"assets": "2", "days": "10", "seed": "0", "format": "csv"},
                     follow_redirects=False)
    job = wait(browser, r.headers["location"].split("/")[-1])
    assert job["status"] == "done" and job["result"]["output"] == "market.zip"
    r = browser.post("/simulate/aml", data={"accounts": "0", "days": "3"}, follow_redirects=False)
    assert r.headers["location"].startswith("/simulate?error=")


def test_api_reference_at_docs_works_offline(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "/api/jobs/{id}/output" in r.text and "Queue a job" in r.text
    check_page(r.text)
    assert "csp" not in r.text and "default-src 'self'" in r.headers["content-security-policy"]


def test_unknown_pages_say_not_found(browser):
    r = browser.get("/datasets/" + "0" * 32, headers={"accept": "text/html"})
    assert r.status_code == 404 and "not found" in r.text
    assert browser.get("/jobs/..%2F..%2Fetc").status_code in (404, 400)
