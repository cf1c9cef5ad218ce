"""What the pages share: the app's navigation, widget state kept across pages, the session's experiment
and kept uploads (settings from the registry: ``_settings``; links: ``_query``; training: ``_training``;
a new tab's first view: ``_first_view``). Layout only: every computation is a call into ``adcore``."""
from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st

from adcore import app_support as sup

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


def is_phone() -> bool:
    """Whether the browser says it is a phone (its User-Agent), for layouts that cannot shrink."""
    return "Mobi" in (st.context.headers.get("User-Agent") or "")


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
