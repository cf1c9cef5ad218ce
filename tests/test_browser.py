"""A real browser against ``streamlit run``: headless Debian Chromium driven by Playwright on loopback.

Trains the toy preset and checks that the contour grid is drawn, cancels a long run on the Your data
page, opens every page, uploads an image zip and uses the gallery and the latent-space selection, and
walks a newcomer's workflow with a CSV (upload → default Train → Compare gives the same numbers → the link
reproduces the run after re-uploading → the scores CSV joins back to the file's rows), takes light/dark and
desktop/phone screenshots of every page (``docs/screenshots/``), and saves the others to
``bench/out/screenshots/``. Skips when Playwright
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


def data_uploader(pg):
    """The data file input of the Your data page (the page also has one for a results JSON)."""
    return pg.locator("[data-testid='stFileUploader']").filter(has_text="one row per sample").locator("input[type=file]")


def test_first_request_of_a_fresh_server_to_a_subpage_gets_the_app_navigation(page, server):
    """Must run first: Streamlit's legacy pages/ mode would run pages/data.py alone (no app.py navigation)."""
    page.goto(server + "/data?epochs=7")
    page.get_by_role("spinbutton", name="Epochs").wait_for()
    _wait_idle(page)
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert "Toy playground" in nav and "Your data" in nav and "views" not in nav
    assert page.get_by_role("spinbutton", name="Epochs").input_value() == "7"


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


def test_a_new_tab_sees_the_grid_as_a_picture_first_then_the_chart(page, server):
    """Issue 15: the default run is stored (the test above), so a new tab's first view is its picture alone;
    the next run brings the whole page, and the interactive chart takes the picture's place once drawn."""
    tab = page.context.browser.new_page(viewport={"width": 1500, "height": 1400})
    tab.set_default_timeout(240_000)
    tab.add_init_script("window.__seen = {}; setInterval(() => { if (document.querySelector("
                        "'.st-key-toy_grid_picture img') && !document.querySelector('.js-plotly-plot')) "
                        "window.__seen.picture_alone = true; }, 20);")
    tab.goto(server + "/")
    chart = tab.locator(".js-plotly-plot").first
    chart.locator("g.contour").first.wait_for()
    assert tab.evaluate("window.__seen.picture_alone") is True
    assert not tab.locator(".st-key-toy_grid_picture img").first.is_visible()  # hidden behind the drawn chart
    assert chart.locator("g.contour").count() == 10
    tab.get_by_text("latent labels").first.click()  # a later run: the chart alone, at the same place
    tab.locator(".st-key-toy_grid_picture img").first.wait_for(state="detached", timeout=60_000)
    _wait_idle(tab)
    assert tab.locator(".js-plotly-plot").first.locator("g.contour").count() == 10
    tab.close()


def test_cancel_stops_a_long_run_and_the_page_stays_usable(page, server):
    page.goto(server + "/data?epochs=5000&seeds=0,1,2")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("epoch", exact=False).first.wait_for()  # the progress bar counts epochs
    started = time.perf_counter()
    page.get_by_role("button", name="Cancel training").click()
    page.get_by_text("Training cancelled").wait_for(timeout=60_000)
    assert time.perf_counter() - started < 60
    assert page.get_by_role("button", name="Train", exact=True).is_enabled()
    page.screenshot(path=str(SHOTS / "data_cancelled.png"), full_page=True)
    page.goto(server + "/data")  # still usable: the default run (30 epochs) trains and shows results
    page.get_by_role("button", name="Train", exact=True).click()
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


def test_image_zip_upload_gallery_and_latent_thumbnails(page, server):
    """Upload a zip of class folders, train, open the gallery, drag a box on the latent map: its images appear."""
    from test_app import shapes_zip

    page.goto(server + "/data?epochs=4")
    page.locator("[data-testid='stRadio']").get_by_text("Upload", exact=True).click()
    data_uploader(page).set_input_files(
        files=[{"name": "shapes.zip", "mimeType": "application/zip", "buffer": shapes_zip()}])
    page.get_by_text("Examples of each class").wait_for()
    _wait_idle(page)
    metrics = page.locator("[data-testid='stMetric']").all_inner_texts()
    assert any("Image size" in m and "16×16" in m for m in metrics), metrics
    page.locator("[data-testid='stImage'] img").nth(2).wait_for()  # one example grid per class
    page.screenshot(path=str(SHOTS / "data_images_upload.png"), full_page=True)

    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Trained on").wait_for()
    _wait_idle(page)
    page.get_by_role("radio", name="Images", exact=True).click()
    page.get_by_text("Most anomalous training images").wait_for()
    _wait_idle(page)
    page.get_by_text("Most anomalous training images").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.locator("[data-testid='stImage'] img").nth(3 + 16 - 1).wait_for()  # + 8 most and 8 least anomalous
    assert page.get_by_text("rank 1/", exact=False).count() >= 1
    page.screenshot(path=str(SHOTS / "data_images_gallery.png"))

    page.get_by_role("radio", name="Latent space", exact=True).click()
    page.get_by_text("Click a point, or drag a box", exact=False).wait_for()
    plot = page.locator(".js-plotly-plot").last
    plot.locator(".nsewdrag").first.wait_for()
    plot.scroll_into_view_if_needed()
    box = plot.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=8)
    page.mouse.move(box["x"] + box["width"] - 5, box["y"] + box["height"] - 5, steps=8)
    page.mouse.up()
    page.get_by_text("selected training image(s)", exact=False).wait_for()
    _wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    plot.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(SHOTS / "data_images_latent.png"))


# -- a newcomer's walk: upload a CSV, the defaults train, Compare agrees, the link reproduces, scores join back --
# the docs' screenshots are rewritten only on request (ADLAB_DOC_SHOTS=1), so a test run leaves the checkout clean
DOCS_SHOTS = ROOT / "docs" / "screenshots" if os.environ.get("ADLAB_DOC_SHOTS") else SHOTS
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2,
         "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                       "Gecko) Version/17.0 Mobile/15E148 Safari/604.1"}
DESKTOP = {"viewport": {"width": 1400, "height": 1500}}


def _shot(pg, name: str, anchor: str | None = None):
    """A screenshot of the viewport (Streamlit scrolls inside the page), scrolled to ``anchor``'s text."""
    if anchor:
        pg.get_by_text(anchor, exact=False).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        pg.wait_for_timeout(500)
    pg.screenshot(path=str(DOCS_SHOTS / f"{name}.png"))


def _roc_aurocs(pg) -> dict:
    """{method: 'AUROC 0.xxx'} from the legend of the ROC chart on the page."""
    pg.locator(".js-plotly-plot text.legendtext").filter(has_text="AUROC").first.wait_for()
    names = pg.locator(".js-plotly-plot text.legendtext").all_text_contents()
    return {n.split(" (")[0].split(" · ")[0]: n.split("AUROC")[-1].strip(" =)") for n in names if "AUROC" in n}


def _nav(pg, title):
    pg.locator("[data-testid='stSidebarNav']").get_by_text(title, exact=True).click()
    _wait_idle(pg)


def _upload_csv(pg, name, content):
    pg.locator("[data-testid='stRadio']").get_by_text("Upload", exact=True).click()
    data_uploader(pg).set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    pg.get_by_text("Value meaning", exact=False).wait_for()
    _wait_idle(pg)


def _train_from_link(pg, link, raw):
    """Open a run's link in a new session: it asks for the file; upload it, see it checked, train."""
    pg.goto(link)
    pg.get_by_text("reproduces a run on the file", exact=False).wait_for()
    _wait_idle(pg)
    data_uploader(pg).set_input_files(files=[{"name": "cardio.csv", "mimeType": "text/csv", "buffer": raw}])
    pg.get_by_text("This is the file the link used", exact=False).wait_for()
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_text("Trained on").wait_for()
    _wait_idle(pg)


def test_newcomer_walk_with_a_csv_and_screenshots(page, server):
    import io

    import pandas as pd
    from test_app import medical_csv

    raw = medical_csv()
    outside = []
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    browser = page.context.browser  # the module's browser: one Playwright per process
    ctx = browser.new_context(**DESKTOP, color_scheme="light", accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server, "data:", "blob:")) else None)

    # 1. upload: α0 fits the file, the default Train works
    pg.goto(server + "/data")
    _upload_csv(pg, "cardio.csv", raw)
    pg.get_by_text("α0 set to 0.09", exact=False).wait_for()
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_text("Trained on").wait_for()
    _wait_idle(pg)
    assert pg.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0
    _shot(pg, "data_upload", "Value meaning")
    mine = _roc_aurocs(pg)
    assert {"Blind", "LOE-hard", "LOE-soft"} <= set(mine), mine
    link = pg.url
    assert "data=cardio.csv" in link and "fp=" in link

    # 2. Compare on the same data, one seed: the same numbers
    _nav(pg, "Compare")
    pg.get_by_text("Settings from", exact=False).first.wait_for()
    slider = pg.locator("[data-testid='stSlider']").filter(has_text="Seeds per method").get_by_role("slider")
    slider.focus()
    pg.keyboard.press("Home")
    _wait_idle(pg)
    pg.get_by_role("button", name="Run comparison").click()
    pg.get_by_text("Leaderboard ·").wait_for()
    _wait_idle(pg)
    _shot(pg, "compare_upload")
    theirs = _roc_aurocs(pg)
    for method in ("Blind", "LOE-hard", "LOE-soft"):
        assert theirs[method] == mine[method], (method, theirs, mine)

    # 3. the link in a new session: asks for the file, checks it, reproduces the run
    fresh = ctx.new_page()
    fresh.set_default_timeout(90_000)
    _train_from_link(fresh, link, raw)
    assert _roc_aurocs(fresh) == mine

    # 4. the scores CSV joins back to the upload's rows
    fresh.get_by_role("radio", name="Downloads", exact=True).click()
    _wait_idle(fresh)
    with fresh.expect_download() as dl:
        fresh.get_by_role("button", name="Scores of every row (CSV)").click()
    scores = pd.read_csv(dl.value.path())
    upload = pd.read_csv(io.BytesIO(raw))
    for _, part in scores.groupby(["strategy", "seed"]):
        assert sorted(part["row"]) == list(range(len(upload)))
        joined = part.set_index("row").join(upload)
        assert (joined["y_true"] == joined["label"]).all()
        assert set(part["split"]) == {"train", "test"}
    fresh.close()
    ctx.close()

    # 5. every page in light and dark, desktop and phone; nothing fetched from outside the server
    for scheme in ("light", "dark"):
        for device, opts in (("desktop", DESKTOP), ("phone", PHONE)):
            ctx = browser.new_context(**opts, color_scheme=scheme)
            pg = ctx.new_page()
            pg.set_default_timeout(90_000)
            pg.on("request", lambda r: outside.append(r.url)
                  if not r.url.startswith((server, "data:", "blob:")) else None)
            suffix = f"{device}_{scheme}"
            pg.goto(server + "/")
            pg.locator(".js-plotly-plot").first.wait_for()
            _wait_idle(pg)
            background = pg.evaluate("getComputedStyle(document.querySelector('.stApp')).backgroundColor")
            rgb = [int(v) for v in background[background.index("(") + 1:-1].split(",")[:3]]
            assert (sum(rgb) < 200) == (scheme == "dark"), background  # the theme follows the browser
            rows = pg.locator(".js-plotly-plot").first.evaluate(
                "e => new Set(e.layout.annotations.filter(a => a.text.startsWith('(')).map(a => a.y)).size")
            assert rows == (5 if device == "phone" else 1), rows  # one panel per row on phones
            _shot(pg, f"toy_{suffix}", "Anomaly-score contours" if device == "phone" else None)
            _train_from_link(pg, link, raw)
            _shot(pg, f"data_{suffix}", "Samples" if device == "desktop" else "Trained on")
            for path, button, ready in (("compare?epochs=20", "Run comparison", "Leaderboard ·"),
                                        ("sensitivity?epochs=20", "Run 4 trainings", "Contamination sweep")):
                pg.goto(f"{server}/{path}")
                pg.get_by_role("button", name=button).click()
                pg.get_by_text(ready).first.wait_for()
                pg.locator(".js-plotly-plot").first.wait_for()
                _wait_idle(pg)
                _shot(pg, f"{path.split('?')[0]}_{suffix}", ready if device == "phone" else None)
            ctx.close()
    assert not outside, outside[:5]  # favicon, fonts and scripts are all served by the app
