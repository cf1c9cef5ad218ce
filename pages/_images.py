"""Widgets of the data page for image data and other data with classes: conversion options,
a class overview, and the classes' roles in the class protocols (LOE Sec. 4.2, PU Sec. 5.1)."""
from __future__ import annotations

import streamlit as st

from adcore import image_views
from adcore.data.image_protocols import CLASS_PROTOCOLS, class_labels
from adcore.data.images import local_feature_extractors

SIZES = ["auto", 8, 16, 28, 32, 64]
CHANNELS = {"auto": "auto (grey if every image is grey)", 1: "grey (1 channel)", 3: "RGB (3 channels)"}
PROTOCOL_HELP = {
    "one_vs_rest": "the chosen class(es) normal, every other class anomalous (LOE Sec. 4.2, IAD Sec. V-A)",
    "leave_one_class_out": "the chosen class(es) anomalous, every other class normal",
    "seen_unseen": "one class normal; training anomalies come from the seen classes, the test set adds an "
                   "unseen class (PU paper Sec. 5.1)",
}


def image_options(prefix: str = "data_img") -> dict:
    """Size, channel layout and IAD's L1 normalisation: the image loaders' options (non-defaults only)."""
    for key, value in {"size": "auto", "channels": "auto", "l1": False}.items():
        st.session_state.setdefault(f"{prefix}_{key}", value)
    c1, c2, c3 = st.columns([1.2, 1.2, 1])
    size = c1.selectbox("Convert images to", SIZES, key=f"{prefix}_size",
                        format_func=lambda v: "the most common size (longer side ≤ 64 px)" if v == "auto" else f"{v}×{v}",
                        help="Every image is resized to one size (nearest for enlarging, bilinear for shrinking).")
    channels = c2.selectbox("Channels", list(CHANNELS), key=f"{prefix}_channels", format_func=CHANNELS.get)
    l1 = c3.checkbox("L1 contrast normalisation", key=f"{prefix}_l1",
                     help="IAD Sec. V-A (after Ruff et al. 2018): x ← (x − mean) / mean|x − mean| per image, "
                          "then min-max scaling to [0, 1]. Off: intensities are only scaled to [0, 1].")
    extractors = local_feature_extractors()
    features = None
    if extractors:  # only with weights on this machine; nothing is ever downloaded
        features = st.selectbox("Model input", ["pixels", *extractors], key=f"{prefix}_features",
                                format_func=lambda v: v if v == "pixels" else f"frozen {v} features (local weights)",
                                help="Pre-trained ImageNet features make the data tabular (LOE Table 2's setting).")
    options = {"size": None if size == "auto" else int(size), "channels": None if channels == "auto" else channels,
               "l1_normalize": True if l1 else None, "features": None if features in (None, "pixels") else features}
    return {k: v for k, v in options.items() if v is not None}


def preview(ds) -> None:
    """Size, channels and classes of image data, with a few images of each class (or of the set)."""
    C, H, W = ds.input_shape
    m = st.columns(4)
    m[0].metric("Images", f"{len(ds):,}")
    m[1].metric("Image size", f"{H}×{W}", help="the size every image was converted to")
    m[2].metric("Channels", "grey" if C == 1 else "RGB")
    m[3].metric("Classes", "none" if ds.classes is None else len(class_labels(ds)))
    if ds.meta.get("conversion"):
        st.caption(f"Conversion: {ds.meta['conversion']}.")
    if ds.classes is None:
        st.image(image_views.image_grid(ds.X[:32], n_cols=16, size=36), caption="the first images")
        st.caption("No class labels (for IDX images, add the labels file): the class protocols are not offered.")
        return
    names = class_labels(ds)
    counts = ds.meta.get("class_counts") or {}
    examples = image_views.class_examples(ds.X, ds.classes, ds.meta.get("class_names"), per_class=8)
    shown = list(examples.items())[:20]
    with st.expander(f"Examples of each class ({len(shown)} of {len(names)} classes)" if len(names) > 20 else
                     "Examples of each class", expanded=True):
        cols = st.columns(min(5, len(shown)))
        for i, (name, idx) in enumerate(shown):
            cols[i % len(cols)].image(image_views.image_grid(ds.X[idx], n_cols=4, size=36),
                                      caption=f"{name} · {counts.get(name, len(idx)):,} images")


def class_roles(ds, protocol: str, prefix: str = "data_cls") -> dict:
    """Widgets for the classes' roles in a class protocol; returns its ``protocol_options``."""
    names = class_labels(ds)
    st.caption(PROTOCOL_HELP[protocol])
    if protocol == "one_vs_rest":
        _keep_valid(f"{prefix}_normal", names, [names[0]])
        return {"normal_class": st.multiselect("Normal class(es)", names, key=f"{prefix}_normal")}
    if protocol == "leave_one_class_out":
        _keep_valid(f"{prefix}_anomaly", names, [names[0]])
        return {"anomaly_class": st.multiselect("Anomaly class(es)", names, key=f"{prefix}_anomaly")}
    _keep_valid(f"{prefix}_one_normal", names, names[0])
    normal = st.selectbox("Normal class", names, key=f"{prefix}_one_normal")
    rest = [n for n in names if n != normal]
    _keep_valid(f"{prefix}_unseen", rest, rest[0] if rest else None)
    unseen = st.selectbox("Unseen anomaly class (test set only)", rest, key=f"{prefix}_unseen")
    return {"normal_class": normal, "unseen_class": unseen}


def _keep_valid(key: str, options: list, default) -> None:
    """Reset a widget's state when the data changed and its value is no longer a class."""
    value = st.session_state.get(key)
    ok = value is not None and (set(value) <= set(options) if isinstance(value, list) else value in options)
    if not ok:
        st.session_state[key] = default


def protocols_for(ds) -> list[str]:
    """The protocols ``ds`` allows: class protocols for data with classes, the others with labels."""
    plain = ["split", "loe", "transductive"] if ds.y is not None else ["transductive"]
    return (list(CLASS_PROTOCOLS) + plain) if ds.classes is not None else plain
