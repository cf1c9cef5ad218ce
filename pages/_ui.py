"""Widgets shared by the pages: settings from the registry, query-parameter sync, training with
progress and cancel. Layout only: every computation is a call into ``adcore``."""
from __future__ import annotations

import logging
import os
import runpy
import time
from dataclasses import replace
from pathlib import Path

import streamlit as st

from adcore import app_support as sup
from adcore.contour_picture import toy_picture
from adcore.data import DataError
from adcore.data.limits import check_training
from adcore.embedding import warm_status, warm_up_in_background
from adcore.registry import BACKBONES, STRATEGIES

APP = Path(__file__).resolve().parents[1] / "app.py"
LOG = logging.getLogger("adlab.app")


def ensure_app_navigation() -> None:
    """Call first in every page. Until ``st.navigation`` has been called once in the process,
    Streamlit assumes its legacy ``pages/`` mode and runs a requested page file alone (no
    ``app.py``, a navigation listing every file in ``pages/``): on a fresh server's first request
    to a page other than the main one, and in every AppTest run. Then run ``app.py`` instead, in
    this same run (so a pending button click is not lost), and stop the page run that called it."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        runpy.run_path(str(APP), run_name="__main__")  # its st.navigation leaves the legacy mode and runs the page
        st.stop()


def keep_widget_state(prefixes: tuple[str, ...]) -> None:
    """Keep the values of widgets whose keys start with ``prefixes`` through runs that do not draw
    them (e.g. the data page stops before its sidebar while no file is uploaded): Streamlit drops
    the state of widgets missing from a run; writing it back first keeps it (Streamlit docs, widget
    behaviour). Only for value widgets created without ``value``/``index`` (Streamlit warns when both
    set a value), and never buttons, uploaders or charts, whose state cannot be set."""
    for key in list(st.session_state.keys()):
        if key.startswith(prefixes):
            st.session_state[key] = st.session_state[key]


SETTING_KEYS = (  # the pages' setting widgets, kept when another page runs (Streamlit drops the state of widgets
    # a run does not draw, so every visit elsewhere would reset them): value widgets without value=/index= only
    "data_source", "data_protocol", "data_cls_", "data_alpha", "data_shortage", "data_backbone", "data_strategies",
    "data_epochs", "data_seeds", "data_device", "data_batch", "data_lr", "data_bb_", "data_sp_", "data_img_",
    "data_builtin", "data_normal_class", "data_onehot", "data_label_col", "data_anomaly_value",
    "cmp_data", "cmp_alpha0", "cmp_backbone", "cmp_strategies", "cmp_seeds", "cmp_epochs", "cmp_device",
    "cmp_shortage", "cmp_batch", "cmp_lr", "cmp_precision", "data_precision",
    "toy_n", "toy_alpha", "toy_backbone", "toy_strategies", "toy_epoch", "toy_seed", "toy_batch", "toy_lr", "toy_bb_",
    "toy_sp_", "toy_flags", "toy_log",
    "sens_data", "sens_backbone", "sens_seeds", "sens_epochs", "sens_device", "sens_rounds", "sens_study",
    "sens_alpha0s", "sens_alphas", "sens_taus", "sens_strategies",
    # labelled anomalies and named methods
    "data_known", "data_n_labeled", "data_labeled_", "data_oe_source", "data_oe_class", "data_oe_n",
    "data_method_preset",
    "cmp_mode", "cmp_methods", "cmp_n_labeled", "sens_counts", "sens_pu_alphas", "sens_n_labeled", "sens_methods_",
    "sens_pool_alpha0")


def keep_settings() -> None:
    """Called by ``app.py`` before the page runs: every page's settings survive visits to the others."""
    keep_widget_state(SETTING_KEYS)


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


# ---------------------------------------------------------------- query parameters

def init_from_query(page: str, defaults, widget_fields: dict, extra: dict | None = None):
    """On a page's first run in a session, put the link's settings into the widgets' state.

    ``widget_fields`` maps widget keys to a function of the config giving the widget value.
    Returns the configuration the link describes (``defaults`` for a bad link, None without one)."""
    flag = f"_{page}_from_query"
    if st.session_state.get(flag):
        return None
    st.session_state[flag] = True
    if not st.query_params:  # no link: the widgets keep their state (e.g. what another page shared)
        return None
    try:
        cfg = sup.config_from_query(st.query_params.to_dict(), defaults)
    except ValueError as err:
        st.warning(f"Ignored the settings in the link: {err}")
        cfg = defaults
    apply_config(widget_fields, cfg)
    for key, value in (extra or {}).items():
        if key in st.query_params:
            st.session_state[value] = st.query_params[key]
    return cfg


def apply_config(widget_fields: dict, cfg) -> None:
    """Put ``cfg``'s settings into the widgets' state (``widget_fields``: widget key → function of the config;
    a function that does not apply to ``cfg`` — e.g. a class option of data without classes — is skipped)."""
    for key, get in widget_fields.items():
        try:
            st.session_state[key] = get(cfg)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            pass


def sync_query(cfg, defaults, extra: dict | None = None) -> None:
    """Write the settings into the URL so that the link reproduces the run."""
    want = {**sup.config_to_query(cfg, defaults), **{k: str(v) for k, v in (extra or {}).items()}}
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)


# ---------------------------------------------------------------- the experiment the pages share

def share_experiment(page: str, cfg, dataset=None, fingerprint: str = "") -> None:
    """Make ``cfg`` (with its data) the session's experiment, which the other pages start from. Every
    ExperimentConfig field travels: a page builds its config as the shared one with its own widgets' values.
    ``origin`` is the page that chose the data; ``changed_by`` names the page that last changed each field."""
    exp = experiment()
    d = cfg.to_dict()
    same_data = exp is not None and exp["config"]["data"] == d["data"] and exp["fingerprint"] == fingerprint
    if not same_data or exp["config"] != d:
        changed_by = dict(exp["changed_by"]) if same_data else {}
        if same_data:
            changed_by.update({f: page for f in d if d[f] != exp["config"][f]})
        st.session_state["experiment"] = {
            "config": d, "dataset": dataset, "fingerprint": fingerprint, "page": page,
            "origin": exp["origin"] if same_data else page, "changed_by": changed_by,
            "rev": exp["rev"] + 1 if exp else 1}
    else:
        exp["dataset"] = dataset  # the same data, decoded again
    st.session_state[f"{page}_experiment_rev"] = st.session_state["experiment"]["rev"]


def changed_elsewhere(exp: dict, page: str) -> list[str]:
    """'α0 (on Compare)'-style notes for the shared fields another page than ``page`` changed last."""
    return [f"{sup.SETTING_NAMES.get(f, f)} (on {PAGE_NAMES.get(p, p)})" for f, p in exp["changed_by"].items()
            if p != page and p != exp["origin"]]


def experiment() -> dict | None:
    """The shared experiment: ``config`` (a dict), ``dataset``, ``fingerprint``, ``page`` (who set it last),
    ``origin``, ``changed_by``, ``rev``."""
    return st.session_state.get("experiment")


def experiment_news(page: str) -> dict | None:
    """The shared experiment if another page changed it since ``page`` last shared or adopted it."""
    exp = experiment()
    if exp is None or exp["page"] == page or st.session_state.get(f"{page}_experiment_rev") == exp["rev"]:
        return None
    return exp


def adopted(page: str, exp: dict) -> None:
    st.session_state[f"{page}_experiment_rev"] = exp["rev"]


PAGE_NAMES = {"data": "Your data", "cmp": "Compare", "toy": "Toy playground", "sens": "Sensitivity"}


def stale_note(shown, current, action: str = "Train again") -> None:
    """A mark over results whose settings differ from the sidebar's: which ones, and what to press."""
    changed = sup.changed_settings(current, shown)
    if changed:
        st.warning(f"Settings changed since these results ({', '.join(changed)}): they show the earlier run. "
                   f"{action} to see the new settings.", icon=":material/update:")


# ---------------------------------------------------------------- settings from the registry

def is_phone() -> bool:
    """Whether the browser says it is a phone (its User-Agent), for layouts that cannot shrink."""
    return "Mobi" in (st.context.headers.get("User-Agent") or "")


def device_caption(device: str) -> str:
    from adcore.device import resolve_device

    try:
        return f"Trains on **{resolve_device(device)}**"
    except ValueError as err:
        return f"⚠️ {err}"


def strategy_help(names) -> str:
    return "  \n".join(f"**{n}** — {STRATEGIES.get(n).description} *({STRATEGIES.get(n).paper})*" for n in names)


def backbone_select(key: str, kind: str = "tabular", default: str = "deepsvdd_rbf") -> str:
    names = [d["name"] for d in BACKBONES.describe() if kind in d.get("data_kinds", ("tabular",))]
    if st.session_state.get(key) not in names:
        st.session_state[key] = default if default in names else names[0]
    help_ = "  \n".join(f"**{n}** — {BACKBONES.get(n).description} *({BACKBONES.get(n).paper})*" for n in names)
    name = st.selectbox("Backbone", names, key=key, help=help_,
                        format_func=lambda n: f"{n} — {BACKBONES.get(n).description.split(':')[0]}")
    cls = BACKBONES.get(name)
    st.caption(f"{cls.description} *Paper: {cls.paper}.* Parameters: under *Optimiser and parameters*.")
    return name


def strategy_select(key: str, available: list[str], default: list[str], label: str = "Strategies") -> list[str]:
    if key not in st.session_state:
        st.session_state[key] = [s for s in default if s in available]
    else:
        st.session_state[key] = [s for s in st.session_state[key] if s in available]
    chosen = st.multiselect(label, available, key=key, help=strategy_help(available))
    return sup.order_strategies(chosen)


def set_param_widget(prefix: str, name: str, p, value) -> None:
    """Put ``value`` into the widget :func:`param_widgets` draws for parameter ``p`` of ``name``."""
    st.session_state[f"{prefix}_{name}_{p.name}"] = ",".join(map(str, value)) if p.type is tuple else value


def param_widgets(kind: str, name: str, prefix: str, given: dict | None = None) -> dict:
    """One widget per registry parameter of backbone/strategy ``name``; returns the non-default values."""
    reg = BACKBONES if kind == "backbone" else STRATEGIES
    out = {}
    for p in reg.get(name).params:
        key = f"{prefix}_{name}_{p.name}"
        if key not in st.session_state:
            set_param_widget(prefix, name, p, (given or {}).get(p.name, p.default))
        help_ = sup.param_help(p)
        if p.choices:
            v = st.selectbox(p.name, list(p.choices), key=key, help=help_)
        elif p.type is bool:
            v = st.checkbox(p.name, key=key, help=help_)
        elif p.type is tuple:
            v = st.text_input(f"{p.name} (comma-separated)", key=key, help=help_)
        elif p.type is int:
            v = st.number_input(p.name, min_value=int(p.low) if p.low is not None else None,
                                max_value=int(p.high) if p.high is not None else None, step=1, key=key, help=help_)
        elif p.type is float:
            v = st.number_input(p.name, min_value=float(p.low) if p.low is not None else None,
                                max_value=float(p.high) if p.high is not None else None, key=key, help=help_,
                                format="%g")
        else:
            v = st.text_input(p.name, key=key, help=help_)
        try:
            v = p.validate(v)
        except ValueError as err:
            st.error(str(err))
            continue
        if v != p.default:
            out[p.name] = list(v) if isinstance(v, tuple) else v
    return out




# ---------------------------------------------------------------- training with progress and cancel

def mark_cancel(page: str) -> None:
    st.session_state[f"{page}_cancel_requested"] = True


def cancel_requested(page: str) -> bool:
    return bool(st.session_state.pop(f"{page}_cancel_requested", False))


def train(page: str, cfg, *, dataset=None, fingerprint: str = "", eval_sets=None, label: str = "Training",
          oe_dataset=None, methods: list[str] | None = None):
    """Train (or fetch from the cache) with a progress bar and a Cancel button.

    Clicking Cancel (or any widget) reruns the page; Streamlit then stops this
    script at the next progress update, which unwinds the training loop. The
    Cancel button's callback records the cancel for the next run.
    Returns (key, result), or None after an error (shown in the page).
    """
    key = sup.run_key(replace(cfg, method="|".join(methods)) if methods else cfg, fingerprint, eval_sets)
    hit = sup.STORE.get(key)
    if hit is not None:
        return key, hit
    slot = st.empty()
    box = slot.container()
    bar = box.progress(0.0, text=f"{label}…")
    box.button("Cancel training", key=f"{page}_cancel", on_click=mark_cancel, args=(page,), icon=":material/stop_circle:")
    last = [0.0]
    start = time.perf_counter()

    def progress(done, total):
        now = time.perf_counter()
        if now - last[0] > 0.1 or done == total:
            last[0] = now
            frac = done / total if total else 0.0
            bar.progress(min(frac, 1.0), text=f"{label}: epoch {done} of {total} · {now - start:.1f} s"
                         + sup.eta_text(done, total, now - start))

    try:
        if dataset is not None:
            check_training(cfg, dataset)  # the memory estimate, before anything is allocated
        if methods:  # named methods side by side, one combined result
            out = sup.run_methods_cached(cfg, methods, dataset=dataset, data_fingerprint=fingerprint,
                                         progress=progress, oe_dataset=oe_dataset)
        else:
            out = sup.run_cached(cfg, dataset=dataset, data_fingerprint=fingerprint, eval_sets=eval_sets,
                                 progress=progress, oe_dataset=oe_dataset)
    except (DataError, ValueError) as err:
        slot.empty()
        st.error(f"Cannot train with these settings: {err}")
        return None
    except sup.Cancelled:
        slot.empty()
        st.warning("Training stopped early; nothing was stored.")
        return None
    except Exception as err:  # noqa: BLE001 - any other failure: a message here, the traceback in the log
        slot.empty()
        show_error("Training failed", err)
        return None
    slot.empty()
    return out


def show_error(action: str, err: BaseException) -> None:
    """``err`` as a specific message on the page (``action``: what failed, e.g. "Cannot use this data");
    the traceback of an unexpected error goes to the server log, never to the page."""
    from adcore.validation import error_text

    if isinstance(err, ValueError):
        LOG.info("%s: %s", action, err)
    else:
        LOG.error("%s: %s", action, err, exc_info=err)
    st.error(f"{action}: {error_text(err)}")
