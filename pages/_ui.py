"""Widgets shared by the pages: navigation, settings from the registry, query-parameter sync and the
experiment the pages share (training: ``_training``; a new tab's first view: ``_first_view``). Layout
only: every computation is a call into ``adcore``."""
from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st

from adcore import app_support as sup
from adcore.registry import BACKBONES, STRATEGIES

APP = Path(__file__).resolve().parents[1] / "app.py"


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


def kept_upload(key: str, label: str) -> tuple[str, bytes] | None:
    """(name, bytes) of the file in uploader ``key``, kept through visits to other pages (Streamlit forgets an
    uploader's file when its page is left); removing the file in the uploader forgets it."""
    returning = key not in st.session_state  # the uploader was not drawn in the last run (another page)
    up = st.file_uploader(label, type=None, key=key)
    if up is not None:
        st.session_state[f"{key}_kept"] = (up.name, up.getvalue())
    elif not returning:
        st.session_state.pop(f"{key}_kept", None)
    kept = st.session_state.get(f"{key}_kept")
    if kept is not None and up is None:
        st.caption(f"Using **{kept[0]}**, uploaded earlier in this session (upload a file to replace it).")
    return kept
