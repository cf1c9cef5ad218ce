"""A real browser against ``streamlit run``: headless Debian Chromium driven by Playwright on loopback.

Trains the toy preset and checks that the contour grid is drawn, cancels a long run on the Your data
page, opens every page and saves screenshots to ``bench/out/screenshots/``. Skips when Playwright
(requirements-browser.txt) or /usr/bin/chromium (``apt-get install chromium``) is missing.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("ADLAB_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "bench" / "out" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (requirements-browser.txt)")
if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "ADLAB_NO_WARMUP": "1"}  # the test measures the app, not the warm-up thread
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start within 2 minutes")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page(server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        pg = browser.new_page(viewport={"width": 1500, "height": 1400})
        pg.set_default_timeout(240_000)
        yield pg
        browser.close()


def _wait_idle(pg, timeout=240_000):
    """Until the script run has finished (Streamlit shows a 'running' widget while it runs)."""
    pg.wait_for_timeout(500)
    pg.locator("[data-testid='stStatusWidget']").wait_for(state="detached", timeout=timeout)


def test_toy_preset_trains_and_draws_the_contour_grid(page, server):
    page.goto(server + "/")
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    page.get_by_text("Anomaly-score contours after epoch 200 of 200").wait_for()
    titles = chart.locator("text.annotation-text").evaluate_all("els => els.map(e => e.textContent)")
    assert titles[:5] == ["(a) Blind", "(b) Refine", "(c) LOE-soft", "(d) LOE-hard", "(e) G-truth"]
    assert chart.locator("g.contour").count() == 10  # a score map and a decision boundary per strategy
    assert page.get_by_text("G-truth").count() >= 1
    _wait_idle(page)
    page.screenshot(path=str(SHOTS / "toy.png"), full_page=True)


def test_cancel_stops_a_long_run_and_the_page_stays_usable(page, server):
    page.goto(server + "/data?epochs=5000&seeds=0,1,2")
    page.get_by_role("button", name="Train").click()
    page.get_by_text("epoch", exact=False).first.wait_for()  # the progress bar counts epochs
    started = time.perf_counter()
    page.get_by_role("button", name="Cancel training").click()
    page.get_by_text("Training cancelled").wait_for(timeout=60_000)
    assert time.perf_counter() - started < 60
    assert page.get_by_role("button", name="Train").is_enabled()
    page.screenshot(path=str(SHOTS / "data_cancelled.png"), full_page=True)
    page.goto(server + "/data")  # still usable: the default run (30 epochs) trains and shows results
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Trained on").wait_for()
    _wait_idle(page)
    page.screenshot(path=str(SHOTS / "data.png"), full_page=True)


@pytest.mark.parametrize("path,button,ready", [
    ("compare?epochs=20", "Run comparison", "Leaderboard ·"),
    ("sensitivity?epochs=20", "Run 4 trainings", "Contamination sweep (α = α0)"),
])
def test_other_pages_run_and_render(page, server, path, button, ready):
    page.goto(f"{server}/{path}")
    page.get_by_role("button", name=button).click()
    page.get_by_text(ready).first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    _wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(SHOTS / f"{path.split('?')[0]}.png"), full_page=True)
