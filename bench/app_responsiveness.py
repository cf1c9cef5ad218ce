"""Responsiveness of the app (issue 5), measured three ways; prints a Markdown table.

1. Default toy page, browser: ``streamlit run app.py`` (warm-up on, as ``make run``), wait until the
   server is warm (background warm-up finished: default toy run trained, UMAP compiled), then a new
   browser session opens ``/`` and we time goto → contour grid drawn. The page records when its elements
   appear (the metrics table) and when the plotly.js chunk has downloaded, which splits that time. Also a
   returning visitor (a new session in the same browser profile: plotly.js from the HTTP cache) and a cache
   miss (``?seed=N``): the same page when it must train first. Needs Playwright + /usr/bin/chromium;
   skipped otherwise.
2. View-only reruns, AppTest in-process, script time as app.py measures it: toggling the latent labels,
   moving the epoch slider, recolouring an embedding already computed, switching views.
   And the toy page reached from the sidebar in a tab where the app is already open.
3. t-SNE and UMAP of 5,000 points of a real backbone embedding (Deep SVDD, 32-d) after ``warm_up()``.

    .venv/bin/python bench/app_responsiveness.py [--repeats 3] [--skip-browser | --browser-only]
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
sys.path.insert(0, str(ROOT))


def loadavg() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def med(xs):
    return f"{statistics.median(xs):.2f} s (n={len(xs)}, min {min(xs):.2f}, max {max(xs):.2f})"


# ms since navigation: the metrics table shown (the page's elements appear together, once every lazy
# frontend chunk has loaded) and the contour grid drawn; read back with the plotly chunk's download end.
TIMELINE = """
window.__adlab = {};
new MutationObserver(() => {
  const mark = (k, sel) => {
    if (!(k in window.__adlab) && document.querySelector(sel)) window.__adlab[k] = performance.now();
  };
  mark("page", "[data-testid=stTable]");
  mark("grid", ".js-plotly-plot g.contour");
}).observe(document, {subtree: true, childList: true});
"""
VIEWPORT = {"width": 1500, "height": 1200}
PLOTLY_LOADED = """performance.getEntriesByType("resource").filter(r => r.name.includes("PlotlyChart"))
                   .map(r => r.responseEnd)[0]"""


def browser(repeats: int) -> list[tuple[str, str, str]]:
    from bench.first_paint import wait_warm

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [("default toy page (browser)", "skipped: playwright not installed", "< 3 s")]
    if not Path("/usr/bin/chromium").exists():
        return [("default toy page (browser)", "skipped: no /usr/bin/chromium", "< 3 s")]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "ADLAB_NO_WARMUP"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true", "--server.fileWatcherType", "none"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    rows = []
    try:
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                  args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                        "--disable-component-update", "--disable-sync"])

            def open_toy(query="", context=None):
                """Seconds from goto to the drawn grid, and the page's timeline (s since navigation)."""
                pg = context.new_page() if context else b.new_page(viewport=VIEWPORT)
                pg.add_init_script(TIMELINE)
                start = time.perf_counter()
                pg.goto(url + "/" + query)
                pg.locator(".js-plotly-plot g.contour").first.wait_for(timeout=600_000)
                took = time.perf_counter() - start
                marks = {k: v / 1000 for k, v in pg.evaluate("window.__adlab").items()}
                marks["plotly.js"] = (pg.evaluate(PLOTLY_LOADED) or 0) / 1000
                pg.close()
                return took, marks

            first, _ = open_toy()
            rows.append(("first page view after `streamlit run` (imports, warm-up racing)", f"{first:.2f} s",
                         "—"))
            # warm: wait until the background warm-up (default run, UMAP compilation) has finished
            waited = time.perf_counter()
            wait_warm(b, url)
            rows.append(("… until the background warm-up reported ready", f"{time.perf_counter() - waited + first:.0f} s",
                         "—"))

            def open_plain():
                pg = b.new_page(viewport=VIEWPORT)
                start = time.perf_counter()
                pg.goto(url + "/sensitivity")
                pg.get_by_text("Press the button").first.wait_for(timeout=600_000)
                took = time.perf_counter() - start
                pg.close()
                return took

            plain = [open_plain() for _ in range(repeats)]
            rows.append(("baseline: a page without charts (Sensitivity), new session (frontend load + websocket)",
                         med(plain), "—"))
            warm = [open_toy() for _ in range(repeats)]
            rows.append(("default toy page, new session, warm server (goto → contour grid drawn)",
                         med([t for t, _ in warm]), "< 3 s"))
            for mark, what in [("plotly.js", "plotly.js chunk (4.7 MB) downloaded"),
                               ("page", "page elements shown (metrics table; held back until plotly.js has loaded)"),
                               ("grid", "contour grid drawn (in the same pass as the ROC and histogram)")]:
                rows.append((f"… timeline since navigation: {what}", med([m[mark] for _, m in warm]), "—"))
            profile = b.new_context(viewport=VIEWPORT)
            open_toy(context=profile)  # fills the HTTP cache
            back = [open_toy(context=profile)[0] for _ in range(repeats)]
            profile.close()
            rows.append(("returning visitor: new session in the same browser profile (plotly.js cached)", med(back),
                         "—"))
            rows.append(("toy page reached from the sidebar in an open tab (frontend and plotly.js loaded)",
                         med(in_app(b, url, repeats)), "< 3 s"))
            miss = [open_toy(f"?seed={100 + i}")[0] for i in range(repeats)]
            rows.append(("toy page that must train first (cache miss: new seed, 5 models × 200 epochs)", med(miss),
                         "a couple of seconds"))
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows


def in_app(b, url: str, repeats: int) -> list[float]:
    """Seconds from clicking *Toy playground* in the sidebar (coming from Sensitivity, same tab) to a newly
    drawn contour grid: what a user sees once the app is open."""
    pg = b.new_page(viewport=VIEWPORT)
    pg.goto(url + "/")
    pg.locator(".js-plotly-plot g.contour").first.wait_for(timeout=600_000)
    took = []
    for _ in range(repeats):
        pg.get_by_role("link", name="Sensitivity").click()
        pg.get_by_text("Press the button").first.wait_for(timeout=600_000)
        pg.locator(".js-plotly-plot").first.wait_for(state="detached", timeout=600_000)
        start = time.perf_counter()
        pg.get_by_role("link", name="Toy playground").click()
        pg.locator(".js-plotly-plot g.contour").first.wait_for(timeout=600_000)
        took.append(time.perf_counter() - start)
    pg.close()
    return took


def view_reruns(repeats: int) -> list[tuple[str, str, str]]:
    os.environ["ADLAB_NO_WARMUP"] = "1"
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    assert not at.exception, at.exception

    def timed(action) -> float:
        """Script seconds of the rerun (app.py's own timer; AppTest's overhead excluded)."""
        action().run()
        assert not at.exception, [e.value for e in at.exception]
        return at.session_state["_script_seconds"]

    fresh = []
    for _ in range(repeats):
        new = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        new.run()
        fresh.append(new.session_state["_script_seconds"])
    flags, epochs, switch = [], [], []
    opts = at.select_slider(key="toy_epoch").options
    for i in range(repeats):
        flags.append(timed(lambda: at.checkbox(key="toy_flags").set_value(i % 2 == 1)))
        epochs.append(timed(lambda: at.select_slider(key="toy_epoch").set_value(opts[(i * 17) % len(opts)])))
    at.button_group(key="toy_view").set_value("Latent space").run()  # computes the t-SNE once
    colours = []
    for i in range(repeats):
        for c in ("latent label", "score", "true label"):
            colours.append(timed(lambda: at.button_group(key="toy_emb_colour").set_value(c)))
    for i in range(repeats):
        for v in ("Scores & ROC", "Training dynamics", "Latent space"):
            switch.append(timed(lambda: at.button_group(key="toy_view").set_value(v)))
    return [("script time of the default toy page in a new session (run cached)", med(fresh), "< 3 s with drawing"),
            ("rerun: toggle latent labels on the contour grid", med(flags), "< 0.3 s"),
            ("rerun: move the epoch slider (replay)", med(epochs), "< 0.3 s"),
            ("rerun: recolour the embedding (t-SNE already computed)", med(colours), "< 0.3 s"),
            ("rerun: switch view (scores / dynamics / latent)", med(switch), "< 0.3 s")]


def embeddings(repeats: int) -> list[tuple[str, str, str]]:
    from adcore.embedding import embed_2d, warm_up
    from adcore.experiment import ExperimentConfig, run_experiment

    start = time.perf_counter()
    warm_up()
    warm_s = time.perf_counter() - start
    cfg = ExperimentConfig(data="toy", data_options={"n_samples": 5000}, backbone="deepsvdd", strategies=["blind"],
                           epochs=2, batch_size=256)
    res = run_experiment(cfg)
    Z = res.embed(0, res.splits[0].train.X)
    assert Z.shape[0] == 5000
    rows = [("warm_up() (numba compile of UMAP, t-SNE; background thread in the app)", f"{warm_s:.1f} s", "—")]
    for method in ("umap", "tsne"):
        ts = [embed_2d(Z, method, max_points=5000, seed=i).seconds for i in range(repeats)]
        rows.append((f"{'t-SNE (openTSNE, Barnes-Hut)' if method == 'tsne' else 'UMAP (umap-learn)'} of 5,000 × "
                     f"{Z.shape[1]} embedding, warm process", med(ts), "< 10 s"))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--skip-browser", action="store_true")
    only.add_argument("--browser-only", action="store_true", help="only part 1 (the browser)")
    args = ap.parse_args()
    print(f"load average before: {loadavg()} · {os.cpu_count()} CPUs", flush=True)
    rows = []
    if not args.skip_browser:
        rows += browser(args.repeats)
        print(f"browser done · load {loadavg()}", flush=True)
    if not args.browser_only:
        rows += view_reruns(args.repeats)
        print(f"reruns done · load {loadavg()}", flush=True)
        rows += embeddings(args.repeats)
    print(f"load average after: {loadavg()}\n")
    print("| measurement | median | target |\n|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
