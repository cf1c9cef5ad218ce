"""Links and settings: a link's query parameters into the widgets on a page's first run, and the
settings into the URL, so that a link reproduces the run (the format: ``adcore.app_support``)."""
from __future__ import annotations

import streamlit as st

from adcore import app_support as sup


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
