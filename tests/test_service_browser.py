"""The whole website flow in Debian's Chromium (driven by Playwright, which never downloads a browser):
drop the demo table on the upload zone, edit one column's kind, fit with a small budget and watch progress
reach 100%, read the report in the page, sample with a condition, download the file and check it.

Screenshots of each page are kept in $LOOKALIKE_ARTIFACTS (default: <tmp>/artifacts/service-browser)."""
from __future__ import annotations

import io
import os
import shutil
import socket
import tempfile
import threading
import time
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM) and shutil.which("chromium") is None,
                                reason="Debian chromium is not installed (apt-get install -y chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python package) is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed")

from lookalike.service import create_app  # noqa: E402

TOKEN = "browser-test-token"
ANES = Path(str(files("lookalike") / "data" / "anes96.csv"))


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("LOOKALIKE_ARTIFACTS") or Path(tempfile.gettempdir()) / "artifacts") / "service-browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(tmp_path_factory.mktemp("browser-ws"), token=TOKEN)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


def test_upload_edit_fit_report_sample_download(server, artifacts, tmp_path):
    errors, foreign = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                                    args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("request", lambda r: None if r.url.startswith((server, "data:", "blob:", "about:")) else foreign.append(r.url))
        page.set_default_timeout(60_000)

        # log in with the URL `lookalike serve` prints, then drop the demo table on the upload zone
        page.goto(f"{server}/?token={TOKEN}")
        assert page.url == f"{server}/"
        page.screenshot(path=str(artifacts / "01-home.png"))
        transfer = page.evaluate_handle("""text => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], "anes96.csv", {type: "text/csv"}));
            return dt; }""", ANES.read_text(encoding="utf-8"))
        page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
        assert page.locator("#dropzone span").inner_text() == "Ready: anes96.csv"
        page.get_by_role("button", name="Upload", exact=True).click()
        page.wait_for_url("**/datasets/*")
        assert page.get_by_role("heading", name="anes96.csv").is_visible()

        # edit one column's kind: tv_news_days (0-7 days) becomes categorical
        page.get_by_label("Kind of tv_news_days", exact=True).select_option("categorical")
        page.get_by_role("button", name="Save schema").click()
        page.wait_for_selector("text=Schema saved.")
        assert "set by you; inferred as numeric" in page.locator("tr.edited").inner_text()
        page.screenshot(path=str(artifacts / "02-dataset.png"), full_page=True)

        # fit the flagship with a small budget and watch progress until 100%
        page.get_by_label("Generator", exact=True).select_option("argn")
        page.get_by_label("Time budget (seconds)").fill("20")
        page.get_by_label("At most this many epochs (optional)").fill("1")
        page.get_by_role("button", name="Fit").click()
        page.wait_for_url("**/jobs/*")
        job_url = page.url
        seen, shot = [], False
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                percent = int(page.locator("#percent").inner_text().rstrip("%"))
                status = page.locator("#status").inner_text()
            except sync_api.Error:  # the page reloads when the job finishes
                time.sleep(0.1)
                continue
            seen.append(percent)
            if status == "running" and 0 < percent < 100 and not shot:
                page.screenshot(path=str(artifacts / "03-training.png"))
                shot = True
            if status in ("done", "failed", "cancelled"):
                break
            time.sleep(0.2)
        assert page.locator("#status").inner_text() == "done", page.locator("#message").inner_text()
        assert seen[-1] == 100 and any(0 < s < 100 for s in seen), seen
        assert page.locator("#bar").get_attribute("value") == "1.0"

        # the report, in the page, with its summary first
        frame = page.frame_locator("#report")
        frame.locator("#summary").wait_for()
        assert "Accuracy." in frame.locator("#summary").inner_text()
        assert page.locator("#summary").is_visible()  # the headline numbers above the frame
        page.screenshot(path=str(artifacts / "04-report.png"))

        # sample with a condition and download the file
        page.locator("#model-link").click()
        page.wait_for_url("**/models/*")
        page.get_by_label("Rows", exact=True).fill("150")
        page.get_by_label("Conditions: COLUMN=VALUE, one per line (fixed in every row)").fill("vote=Dole")
        page.get_by_role("button", name="Sample", exact=True).click()
        page.wait_for_url("**/jobs/*")
        assert page.url != job_url
        page.wait_for_selector("#download", timeout=120_000)
        page.screenshot(path=str(artifacts / "05-sample.png"))
        with page.expect_download() as info:
            page.locator("#download").click()
        download = info.value
        assert download.suggested_filename == "synthetic.csv"
        target = tmp_path / "synthetic.csv"
        download.save_as(target)

        page.goto(f"{server}/")
        page.screenshot(path=str(artifacts / "06-history.png"), full_page=True)
        browser.close()

    df = pd.read_csv(target)
    assert len(df) == 150 and set(df["vote"]) == {"Dole"}
    assert list(df.columns) == list(pd.read_csv(io.StringIO(ANES.read_text())).columns)
    assert set(df["tv_news_days"].unique()) <= set(range(8))  # the edited column still holds real day counts
    assert errors == [] and foreign == []
    for name in ("01-home", "02-dataset", "03-training", "04-report", "05-sample", "06-history"):
        assert (artifacts / f"{name}.png").stat().st_size > 5_000, name
