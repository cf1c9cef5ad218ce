"""First meaningful paint of the toy page from a new tab (issue 15); prints a Markdown table.

For each app checkout given (default: this one), ``streamlit run app.py`` with the background warm-up on
(as ``make run``); once every server is warm (warm-up reported ready: the default toy run trained, UMAP
compiled), each repeat opens the toy page in a **fresh browser context** (a new tab with an empty cache)
and records, in ms since navigation:

- *paint*: the contour grid visible, as the server-rendered picture or as the plotly chart, whichever is
  first (polled every 25 ms, stamped in the next animation frame, so a main thread busy parsing plotly.js
  delays it as it delays the screen);
- *chart*: the interactive plotly contour grid drawn;
- *title*: the page title shown (what Streamlit itself costs).

Then, in the same tab, a cached rerun: the *latent labels* box toggled → the contour chart redrawn
without the rings (browser time, click to redraw). Several checkouts are measured interleaved (one
repeat each in turn), so that a before/after comparison sees the same load.

    .venv/bin/python bench/first_paint.py [--repeats 5] [--app /tmp/adlab_before --app .] [--shots DIR]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1500, "height": 1200}
MARKS = """
window.__fp = {};
const stamp = (k) => { if (!(k in window.__fp)) { window.__fp[k] = -1;
  requestAnimationFrame(() => { window.__fp[k] = performance.now(); }); } };
const poll = setInterval(() => {
  if (document.querySelector("h1")) stamp("title");
  const img = document.querySelector(".st-key-toy_grid_picture img");
  if (img && img.complete && img.naturalWidth > 0) stamp("picture");
  if (document.querySelector(".js-plotly-plot g.contour")) stamp("chart");
  if ("chart" in window.__fp && window.__fp.chart > 0) clearInterval(poll);
}, 25);
"""


def loadavg() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def med(xs) -> str:
    return f"{statistics.median(xs):.2f} s (n={len(xs)}, min {min(xs):.2f}, max {max(xs):.2f})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(app_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ADLAB_NO_WARMUP"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true", "--server.fileWatcherType", "none"], cwd=app_dir,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)


def wait_warm(browser, url: str) -> None:
    """Until the sidebar says the background warm-up (default toy run, UMAP compilation) is done."""
    while True:
        pg = browser.new_page()
        pg.goto(url + "/sensitivity")
        pg.get_by_text("Embeddings:").first.wait_for(timeout=600_000)
        ready = pg.get_by_text("Embeddings: ready").count() > 0
        pg.close()
        if ready:
            return
        time.sleep(5)


def traces(pg) -> int:
    return pg.locator(".js-plotly-plot").first.locator(".scatterlayer .trace").count()


def new_tab(browser, url: str, shot: Path | None) -> dict:
    """Seconds since navigation: title, paint (picture or chart), chart; and the cached rerun."""
    ctx = browser.new_context(viewport=VIEWPORT)  # empty HTTP cache: a first visit
    pg = ctx.new_page()
    pg.add_init_script(MARKS)
    pg.goto(url + "/")
    if shot:
        pg.wait_for_function("() => (window.__fp.picture > 0) || (window.__fp.chart > 0)", timeout=600_000)
        pg.screenshot(path=str(shot.with_name(shot.stem + "_first.png")))
    pg.wait_for_function("() => window.__fp.chart > 0", timeout=600_000)
    marks = {k: v / 1000 for k, v in pg.evaluate("window.__fp").items() if v > 0}
    marks["paint"] = min(marks.get("picture", 1e9), marks["chart"])
    pg.get_by_text("Anomaly-score contours after epoch").first.wait_for()
    pg.wait_for_timeout(500)
    if shot:
        pg.screenshot(path=str(shot.with_name(shot.stem + "_chart.png")))
    before = traces(pg)
    start = time.perf_counter()
    pg.get_by_text("latent labels").first.click()
    pg.wait_for_function(f"() => document.querySelector('.js-plotly-plot').querySelectorAll("
                         f"'.scatterlayer .trace').length != {before}", timeout=60_000)
    marks["rerun"] = time.perf_counter() - start
    ctx.close()
    return marks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--app", action="append", type=Path, help="an AD Lab checkout (repeatable; default: this one)")
    ap.add_argument("--shots", type=Path, help="folder for screenshots of the first view and of the chart")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    apps = [a.resolve() for a in (args.app or [ROOT])]
    print(f"load average before: {loadavg()} · {os.cpu_count()} CPUs", flush=True)
    servers = [start_server(a) for a in apps]
    results = {a: [] for a in apps}
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            for _, url in servers:
                wait_warm(b, url)
            print(f"servers warm · load {loadavg()}", flush=True)
            loads = []
            for i in range(args.repeats):
                for a, (_, url) in zip(apps, servers):
                    shot = None
                    if args.shots and i == 0:
                        args.shots.mkdir(parents=True, exist_ok=True)
                        shot = args.shots / f"{a.name}.png"
                    results[a].append(new_tab(b, url, shot))
                    m = results[a][-1]
                    print(f"{a} #{i}: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(m.items())), flush=True)
                loads.append(os.getloadavg()[0])
            b.close()
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"load average after: {loadavg()} · 1-min load during the repeats: "
          f"{min(loads):.1f}-{max(loads):.1f}\n")
    print("| checkout | measurement | median |\n|---|---|---|")
    for a in apps:
        rs = results[a]
        for k, what in [("title", "new tab → page title shown"),
                        ("paint", "new tab → contour grid visible (picture or chart)"),
                        ("chart", "new tab → interactive contour chart drawn"),
                        ("rerun", "cached rerun in the browser: toggle latent labels → chart redrawn")]:
            xs = [r[k] for r in rs if k in r]
            if xs:
                print(f"| {a.name} | {what} | {med(xs)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
