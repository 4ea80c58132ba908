"""The HTML report opens in a real headless browser offline: no console or page errors, no request leaving
file://, the summary card is visible and readable (a screenshot is kept for people to look at)."""
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from lookalike.evaluate import evaluate

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and shutil.which("chromium") is None,
                       reason="Debian chromium is not installed (apt-get install -y chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python package) is not installed")


def _table(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, n).round()
    return pd.DataFrame({"age": x, "city": rng.choice(["Oslo", "Graz", "Lyon"], n),
                         "spend": (x * 3 + rng.normal(0, 5, n)).round(2),
                         "churn": np.where(rng.random(n) < 0.3, "yes", "no")})


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("browser") / "report.html"
    evaluate(_table(500, 0), _table(400, 1), _table(400, 2), target="churn", sensitive="city").to_html(path)
    return path


def test_report_renders_offline_without_errors(report_file):
    errors, requests = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                                    args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report_file.as_uri(), wait_until="load")
        page.wait_for_selector("#dist-0 .main-svg", timeout=30_000)  # Plotly drew the first figure
        n_plots = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
        summary = page.locator("#summary")
        assert summary.is_visible()
        text = summary.inner_text()
        shot = report_file.parent / "summary.png"
        summary.screenshot(path=str(shot))
        browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file://", "data:", "blob:", "about:"))] == []
    assert n_plots >= 4 + 3  # four distributions, pairs, correlations, importances, distances
    for phrase in ("Accuracy.", "Utility.", "Verdict", "floor", "ceiling"):
        assert phrase in text
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("LOOKALIKE_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, os.path.join(keep, "summary.png"))
