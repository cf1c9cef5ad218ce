"""Settings drawn from the registry: the backbone and strategy choosers, one widget per parameter of
each, and the device caption."""
from __future__ import annotations

import streamlit as st

from adcore import app_support as sup
from adcore.registry import BACKBONES, STRATEGIES


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
