"""A new tab's first view: server-drawn pictures while plotly.js loads, then the charts in their place;
and the server's warm-up that makes the default pictures ready."""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from adcore import app_support as sup
from adcore.contour_picture import toy_picture
from adcore.embedding import warm_status, warm_up_in_background

def start_warmup() -> None:
    """Once per server process: train the default toy run and compile UMAP, in a background thread."""
    if os.environ.get("ADLAB_NO_WARMUP"):
        return

    def default_toy():
        grid = sup.toy_grid()
        key, result = sup.run_cached(sup.toy_config(), eval_sets={"grid": grid[2]})
        toy_picture(key, result, grid)  # the first view of a new tab (first_view)

    warm_up_in_background(before=default_toy)


def first_view(page: str) -> str:
    """What a page's plotly charts show in this run: "picture", "both" or "chart".

    A new browser tab must load plotly.js (4.7 MB; seconds to parse on a slow machine, which block the
    screen) before it draws the first plotly chart. So a browser session's first run of ``page`` shows
    server-rendered pictures instead ("picture"; the page then calls :func:`rerun_soon`), the next run adds
    the charts, drawn hidden behind the pictures until ready (:func:`picture_then_chart`, "both"), and later
    runs draw the charts alone. AppTest sessions (no request headers, no browser) always get "chart"."""
    key = f"_{page}_first_view"
    if not st.context.headers.get("User-Agent"):
        return "chart"
    stage = st.session_state.get(key)
    st.session_state[key] = "both" if stage is None else "chart"
    return stage or "picture"


@st.fragment(run_every=0.3)
def rerun_soon() -> None:
    """Rerun the whole page once, right after this run's output has reached the browser (a fragment's
    timer runs in the browser); the first view's pictures are on screen by then."""
    if st.session_state.pop("_rerun_soon", False):
        st.rerun()
    st.session_state["_rerun_soon"] = True


# The frontend's plotly.js module (loaded with the first plotly chart of a tab), and a script that imports it
# while the first view's picture is on screen instead of after the next run has sent the charts.
PLOTLY_CHUNK = next((f.name for f in (Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js")),
                    None)
PRELOAD_PLOTLY = """<script>(() => {
  const index = Array.from(document.scripts).find(s => /\\/index\\.[^/]+\\.js$/.test(s.src));
  if (!index || window.__adlabPlotly) return;
  window.__adlabPlotly = true;
  const wait = setInterval(() => {  // once the picture is on screen
    const img = document.querySelector(".st-key-PICTURE img");
    if (!img || !img.complete) return;
    clearInterval(wait);
    requestAnimationFrame(() => setTimeout(() => import(index.src.replace(/index\\.[^/]+\\.js$/, "CHUNK"))
                                                    .catch(() => {}), 0));
  }, 50);
})();</script>"""


def picture_style(key: str) -> None:
    """The CSS of :func:`picture_then_chart` for container ``key``. Draw it at the same place in every run of the
    page (the swap needs it while the next run's elements arrive; a style element only in some runs would move
    the elements after it, and Streamlit would draw them anew)."""
    box = f"> :has(> .st-key-{key}_picture)"  # the picture's layout wrapper (it holds the picture's height)
    st.html(f"<style>.st-key-{key} {{position: relative}} "
            f".st-key-{key}:has(.st-key-{key}_chart .stElementContainer) {box} "
            f"{{position: absolute; top: 0; left: 0; right: 0; z-index: 2; background: white}} "
            f".st-key-{key}:has(.st-key-{key}_chart .main-svg) {box} {{display: none}} "
            f".st-key-{key}_picture img {{object-fit: contain; object-position: left top}}</style>")


def picture_then_chart(key: str, stage: str, picture: bytes | None, draw_chart, height: int) -> None:
    """The chart ``draw_chart()`` in a container ``key``, after a first view of the JPEG ``picture`` (see
    :func:`first_view`), shown ``height`` px high (the chart's height). While both are sent, the picture lies
    over the chart's place until the chart's SVG exists (CSS of :func:`picture_style`)."""
    with st.container(key=key):
        # the picture first, so that it reaches the browser before the chart's data; an empty container in the
        # later runs, so that the chart keeps its place (a chart at a new place is drawn anew)
        with st.container(key=f"{key}_picture", height="content" if stage == "chart" else height, border=False):
            if stage != "chart":  # a media file: the picture as a data URI in st.html slowed the page down
                st.image(picture, width="stretch")
                if PLOTLY_CHUNK:
                    st.html(PRELOAD_PLOTLY.replace("CHUNK", PLOTLY_CHUNK).replace("PICTURE", f"{key}_picture"),
                            unsafe_allow_javascript=True)
        with st.container(key=f"{key}_chart"):
            if stage != "picture":
                draw_chart()


def warm_caption() -> str:
    w = warm_status()
    if not w["started"]:
        return "Embeddings: UMAP compiles on first use (~20 s)."
    if not w["done"]:
        return "Embeddings: warming up (UMAP compiling in the background)…"
    return "Embeddings: ready." if not w["error"] else f"Embeddings: warm-up failed ({w['error']})."
