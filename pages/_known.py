"""Sidebar controls for labelled ("known") anomalies and outlier-exposure sets, and named-method presets."""
from __future__ import annotations

import streamlit as st

from adcore import app_support as sup
from adcore.data.image_protocols import CLASS_PROTOCOLS, class_labels
from adcore.methods import METHODS, get_method
from pages import _settings, _ui

MODES = {"none": "None", "count": "A number", "ratio": "A ratio γ_l", "oe": "An outlier-exposure set"}
OE_SOURCES = {"letters": "Letters (built-in, rendered with the system's fonts)", "class": "A class of this data",
              "upload": "Upload a file"}



def known_anomalies(ds, protocol: str, protocol_options: dict | None = None) -> tuple[dict, object]:
    """The known-anomaly settings (ExperimentConfig fields) chosen in the sidebar, and an uploaded OE set.

    An uploaded OE file is kept across pages (``_ui.kept_upload``); the normal classes of ``protocol_options``
    are not offered as an OE class."""
    st.header("Known anomalies")
    fields = {"n_labeled": 0, "labeled_ratio": None, "labeled_batch": None, "oe": None, "oe_n": None,
              "oe_options": {}}
    labelled = ds.y is not None or protocol in CLASS_PROTOCOLS
    st.session_state.setdefault("data_known", "none")
    mode = st.radio("Labelled anomalies in training", list(MODES), format_func=MODES.get, key="data_known",
                    disabled=not labelled,
                    help="anomalies whose label the methods may use (Deep SAD, PU, SOEL, HSC, …), on top of the "
                         "unlabelled data, whose contamination stays α0; methods without labels leave them out")
    if not labelled:
        st.caption("Labelled anomalies need labelled data (or classes).")
        return fields, None
    if ds.labeled is not None and ds.labeled.any():
        st.caption(f"The file marks **{int(ds.labeled.sum())}** known anomalies: they always train as labelled "
                   "anomalies; the choice below adds more, drawn from its other anomalies.")
    oe_ds = None
    if mode == "count":
        st.session_state.setdefault("data_n_labeled", 10)
        fields["n_labeled"] = int(st.number_input("How many", 0, 1_000_000, key="data_n_labeled",
                                                  help="drawn from the anomalies set aside for training"))
    elif mode == "ratio":
        st.session_state.setdefault("data_labeled_ratio", 0.01)
        fields["labeled_ratio"] = float(st.slider("γ_l = labelled / all training samples", 0.0, 0.3, step=0.005,
                                                  key="data_labeled_ratio", format="%.3f",
                                                  help="the DP-VAE paper's and Deep SAD's γ_l (e.g. 0.01, 0.05)"))
    elif mode == "oe":
        sources = [s for s in OE_SOURCES if s != "letters" or ds.kind == "image"]
        if ds.classes is None:
            sources.remove("class")
        source = st.selectbox("Outlier-exposure set", sources, format_func=OE_SOURCES.get, key="data_oe_source",
                              help="samples used only as labelled anomalies (EOE Sec. 5.2); never in the test set")
        if source == "letters":
            fields["oe"] = "images:letters:2048"
        elif source == "class":
            normal = {str(v) for k, vals in (protocol_options or {}).items() if k.startswith("normal")
                      for v in (vals if isinstance(vals, (list, tuple)) else [vals])}
            names = [n for n in class_labels(ds) if n not in normal]
            if st.session_state.get("data_oe_class") not in names:
                st.session_state["data_oe_class"] = names[-1]
            fields["oe"] = "class:" + st.selectbox("Class", names, key="data_oe_class",
                                                   help="taken out of the data: neither normal nor a test anomaly")
        else:
            up = _ui.kept_upload("data_oe_upload", "Outlier-exposure file (same kind and size as the data)")
            if up is None:
                st.caption("Upload a file of anomalies to expose the model to.")
                return fields, None
            name, raw = up
            options = {"size": tuple(ds.X.shape[2:]), "channels": ds.X.shape[1]} if ds.kind == "image" else {}
            oe_ds, fp = sup.load_upload_cached(raw, name, **options)
            fields["oe"], fields["oe_options"] = f"upload:{name}", {"fingerprint": fp}
        st.session_state.setdefault("data_oe_n", 8)
        fields["oe_n"] = int(st.number_input("OE samples (0 and 1 allowed)", 0, 1_000_000, key="data_oe_n"))
    if mode != "none":
        st.session_state.setdefault("data_labeled_batch", 0)
        batch = int(st.number_input("Labelled anomalies per batch (0 = mixed in)", 0, 100_000,
                                    key="data_labeled_batch",
                                    help="0: labelled anomalies are shuffled in with the rest (Deep SAD, PU); n: "
                                         "every batch adds n of them (balanced batches, EOE App. G uses 128 + 128)"))
        fields["labeled_batch"] = batch or None
    return fields, oe_ds


def apply_method_preset(kind: str) -> None:
    """Callback of the method preset box: set the backbone, strategy and their parameter widgets (and balanced
    batches, where the method asks for them) to the named method's."""
    from adcore.registry import BACKBONES, STRATEGIES

    name = st.session_state.get("data_method_preset")
    if not name or name == "(choose)":
        return
    m = get_method(name)
    backbone = m.backbone_for(kind)
    st.session_state["data_backbone"] = backbone
    st.session_state["data_strategies"] = [m.strategy]
    for prefix, owner, reg, values in (("data_bb", backbone, BACKBONES, m.params_for(kind)),
                                       ("data_sp", m.strategy, STRATEGIES, m.strategy_params)):
        for p in reg.get(owner).params:
            _settings.set_param_widget(prefix, owner, p, values.get(p.name, p.default))
    if "labeled_batch" in m.settings:
        st.session_state["data_labeled_batch"] = int(m.settings["labeled_batch"])


def method_preset(kind: str) -> None:
    """A box of named methods (Deep SAD, PUSVDD, HSC, IF, …) that fills in backbone and strategy."""
    st.selectbox("Start from a named method", ["(choose)", *METHODS], key="data_method_preset",
                 on_change=apply_method_preset, args=(kind,),
                 help="sets the backbone and the strategy below to the method's (Deep SAD = deepsvdd + sad, "
                      "PUSVDD = deepsvdd + pu, …); the strategies sad, pu and soel use the labelled anomalies")


def label_note(fields: dict, strategies: list[str], ds=None) -> None:
    """Say when labelled anomalies are set (in the sidebar or by the file) but no chosen strategy uses them,
    or the reverse."""
    from adcore.registry import STRATEGIES

    using = [s for s in strategies if STRATEGIES.get(s).uses_labels]
    in_file = ds is not None and ds.labeled is not None and bool(ds.labeled.any())
    has = bool(fields["n_labeled"] or fields["labeled_ratio"] or (fields["oe"] and fields["oe_n"] != 0) or in_file)
    if has and not using:
        st.info("Known anomalies are set, but none of the chosen strategies uses them (sad, pu and soel do): "
                "the strategies leave them out of training.", icon=":material/info:")
    elif using and not has:
        st.info(f"{', '.join(using)} {'trains' if len(using) == 1 else 'train'} on labelled anomalies: set some "
                "under *Known anomalies* in the sidebar (without them sad is Blind, pu and soel train on the "
                "unlabelled data alone).", icon=":material/info:")
