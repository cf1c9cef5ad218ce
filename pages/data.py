"""Your data: upload CSV / NPZ / ODDS MAT or pick a built-in set, choose protocol and methods, train."""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from adcore import app_support as sup
from adcore.device import available_devices
from adcore import data_page as ds_page
from adcore.data import UPLOAD_TYPES, load, load_sklearn, upload_kind
from adcore.data import limits
from adcore.data.image_protocols import CLASS_PROTOCOLS
from adcore.experiment import ExperimentConfig
from adcore.trainer import PRECISION_HELP, PRECISIONS
from adcore.presets import DESCRIPTIONS as PRESET_NOTES, PRESETS, preset_fields
from adcore.registry import STRATEGIES
from pages import _csv_options, _images, _known, _query, _settings, _training, _ui, _views

_ui.ensure_app_navigation()
PAGE = "data"
DEFAULTS = ExperimentConfig(data="sklearn:breast_cancer", protocol="split", alpha0=0.1, backbone="deepsvdd",
                            strategies=sup.order_strategies(["blind", "loe_hard", "loe_soft"]), seeds=[0], epochs=30, batch_size=128,
                            lr=1e-3, device="auto")
st.session_state.setdefault("data_source", "Built-in")
for _k, _v in {"data_builtin": "breast_cancer", "data_normal_class": 0, "data_protocol": "split",
               "data_alpha0": 0.1, "data_alpha_same": True, "data_alpha": 0.1, "data_epochs": 30,
               "data_seeds": "0", "data_device": "auto", "data_batch": 128, "data_lr": 1e-3,
               "data_shortage": "error", "data_precision": "float32"}.items():
    st.session_state.setdefault(_k, _v)
def adopt(cfg, origin: str, fingerprint: str | None) -> None:
    """Put a link's or a JSON file's settings into the widgets; for an upload, ask for that file."""
    _query.apply_config(ds_page.WIDGETS, cfg)
    st.session_state.pop("data_expect", None)
    if not ds_page.is_builtin(cfg.data):
        st.session_state["data_expect"] = {"name": cfg.data, "fingerprint": fingerprint, "origin": origin}


link_cfg = _query.init_from_query(PAGE, DEFAULTS, ds_page.WIDGETS)
if link_cfg is not None and not ds_page.is_builtin(link_cfg.data):
    adopt(link_cfg, "The link", st.query_params.get("fp"))
news = _ui.experiment_news(PAGE)  # settings another page (Compare) changed on this page's data
if news is not None:
    _query.apply_config({k: f for k, f in ds_page.WIDGETS.items() if k not in ds_page.DATA_WIDGETS},
                     ExperimentConfig.from_dict(news["config"]))
    _ui.adopted(PAGE, news)

st.title("Your data")
st.markdown("Train on a built-in data set or on your own file. The **protocol** decides how a contaminated "
            "training set and a test set are made: `split` moves real anomalies into training until the "
            "contamination is α0; `loe` contaminates with noisy copies of anomalies (LOE Sec. 4.3); "
            "`transductive` trains and scores the same data (IAD), also for data without labels. Data with "
            "classes (images) adds `one_vs_rest`, `leave_one_class_out` and `seen_unseen`.")

with st.expander("Load the settings of a downloaded run (its JSON file)", icon=":material/upload:"):
    saved = st.file_uploader("Metrics + config JSON from *Downloads*", type=["json"], key="data_settings_json")
    if saved is not None and st.session_state.get("data_settings_seen") != (saved.name, saved.size):
        st.session_state["data_settings_seen"] = (saved.name, saved.size)
        try:
            saved_cfg = sup.config_from_json(saved.getvalue())
        except ValueError as err:
            st.error(f"Cannot load settings from {saved.name}: {err}")
        else:
            adopt(saved_cfg, saved.name, sup.data_fingerprint_of(saved.getvalue()))
            st.session_state["data_settings_note"] = f"Loaded the settings of {saved.name}."
    if st.session_state.get("data_settings_note"):
        st.success(st.session_state["data_settings_note"])

source = st.radio("Data", ["Built-in", "Upload"], key="data_source", horizontal=True)
ds, fingerprint, data_name, data_options = None, "", "", {}
try:
    if source == "Built-in":
        c1, c2 = st.columns([2, 1])
        name = c1.selectbox("Data set (scikit-learn)", list(ds_page.BUILTIN), key="data_builtin",
                            format_func=ds_page.BUILTIN.get)
        if name == "digits_images":
            data_name, data_options = "images:digits", _images.image_options()
            ds = sup.cached_data([data_name, data_options], lambda: load(data_name, **data_options))
        else:
            normal = None
            if name != "breast_cancer":
                normal = int(c2.number_input("Normal class", 0, 9 if name == "digits" else 2, key="data_normal_class"))
            data_name = f"sklearn:{name}" + ("" if normal is None else f":{normal}")
            ds = load_sklearn(name, normal)
            with st.expander("Preview"):
                st.dataframe(pd.DataFrame(ds.X[:8], columns=ds.feature_names).assign(anomaly=ds.y[:8]), height=240)
    else:
        up = _ui.kept_upload("data_upload", f"{UPLOAD_TYPES}. CSV: one row per sample; NPZ: arrays X and y; .mat: X and y; "
                    "zip: one folder of images per class")
        st.caption(limits.describe())
        if up is not None:
            data_name, raw = up
            kind = upload_kind(data_name)
            if kind == "csv":
                data_options = _csv_options.csv_options(raw, data_name)
            labels = None
            if kind == "idx":
                lab = _ui.kept_upload("data_upload_labels", "Labels file of these images (IDX, optional: without it the data "
                             "has no classes)")
                labels = None if lab is None else lab[1]
            ds, fingerprint = sup.load_upload_cached(raw, data_name, labels, **data_options)
            if ds.kind == "image":
                data_options = _images.image_options()
                if data_options:
                    ds, fingerprint = sup.load_upload_cached(raw, data_name, labels, **data_options)
except Exception as err:  # noqa: BLE001 - every failure of a load becomes a message (_training.show_error)
    _training.show_error("Cannot use this data", err)
    ds = None
expect = st.session_state.get("data_expect") if source == "Upload" else None
if ds is None:
    if expect is not None and st.session_state.get("data_upload_kept") is None:
        st.info(f"{expect['origin']} reproduces a run on the file **{expect['name']}**: upload it to train with "
                "its settings (the file is checked to be the same one).", icon=":material/upload_file:")
    elif source == "Upload" and st.session_state.get("data_upload_kept") is None:
        st.info(f"Upload a file to start: {UPLOAD_TYPES}.")
    st.stop()
different_file = expect is not None and expect["fingerprint"] and expect["fingerprint"] != fingerprint
if expect is not None and not different_file:
    st.success(f"This is the file {expect['origin'].lower() if expect['origin'] == 'The link' else expect['origin']}"
               f" used ({expect['name']}, fingerprint {fingerprint}).", icon=":material/verified:")
elif different_file:
    st.warning(f"This is not the file {expect['origin'].lower() if expect['origin'] == 'The link' else expect['origin']}"
               f" used: {expect['name']} had fingerprint {expect['fingerprint']}, {data_name} has {fingerprint}. "
               "Results will differ from that run.", icon=":material/warning:")

if ds.kind == "image":
    _images.preview(ds)
else:
    m = st.columns(4)
    m[0].metric("Samples", f"{len(ds):,}")
    m[1].metric("Features", "×".join(map(str, ds.input_shape)))
    m[2].metric("Anomalies", "unknown" if ds.y is None else f"{ds.n_anomalies:,}")
    m[3].metric("Contamination", "unknown" if ds.y is None else f"{ds.contamination:.1%}")
if ds.y is None and ds.classes is None:
    st.info("This data has no labels: training uses the `transductive` protocol, metrics and the plots that need "
            "labels are replaced by a note, and G-truth is not offered.")

if st.session_state.get("data_kind_seen", ds.kind) != ds.kind:  # images ↔ tables: the kind's default backbone
    st.session_state.pop("data_backbone", None)
st.session_state["data_kind_seen"] = ds.kind

def apply_preset(name: str) -> dict:
    """Put a paper preset's fields into the widgets (issue 12); returns the fields the widgets do not show."""
    if name == "(none)":
        return {}
    fields = preset_fields(name)
    pcfg = ExperimentConfig.from_dict({**fields, "data": data_name or "preset"})
    if st.session_state.get("data_preset_applied") != name:
        st.session_state["data_preset_applied"] = name
        _query.apply_config({k: f for k, f in ds_page.WIDGETS.items() if k not in ds_page.DATA_WIDGETS}, pcfg)
        if pcfg.alpha0 is None:  # natural contamination (transductive): keep every anomaly
            st.session_state["data_alpha0"] = 0.5
        for key, value in pcfg.backbone_params.items():
            st.session_state[f"data_bb_{pcfg.backbone}_{key}"] = ",".join(map(str, value)) \
                if isinstance(value, tuple) else value
        for strat, params in pcfg.strategy_params.items():
            for key, value in params.items():
                st.session_state[f"data_sp_{strat}_{key}"] = value
    return {"standardize": pcfg.standardize, "warmup": pcfg.warmup}


with st.sidebar:
    preset = st.selectbox("Paper preset", ["(none)", *[n for n in PRESETS if "data" not in PRESETS[n]]],
                          key="data_preset", help="load a paper's setting for a table row (LOE Table 6, IAD "
                                                  "Tables II/IV); change any widget afterwards")
    if preset == "(none)":
        st.session_state.pop("data_preset_applied", None)
    preset_extra = apply_preset(preset)
    if preset_extra:
        st.caption(PRESET_NOTES[preset])
    st.header("Protocol")
    protocols = _images.protocols_for(ds)
    changed = st.session_state.get("data_protocols_seen", protocols) != protocols  # e.g. labels were added
    if changed or st.session_state.get("data_protocol") not in protocols:
        st.session_state["data_protocol"] = protocols[0]
    st.session_state["data_protocols_seen"] = protocols
    protocol = st.selectbox("Protocol", protocols, key="data_protocol")
    protocol_options = _images.class_roles(ds, protocol) if protocol in CLASS_PROTOCOLS else {}
    largest = sup.largest_alpha0(ds, ExperimentConfig(protocol=protocol, protocol_options=protocol_options))
    checked = [fingerprint or data_name, protocol, protocol_options, data_options]
    if st.session_state.get("data_alpha0_checked") != checked:  # new data or protocol: make the default work
        st.session_state["data_alpha0_checked"] = checked
        if largest is not None and st.session_state["data_alpha0"] > largest and \
                st.session_state.get("data_shortage", "error") == "error":
            capped = math.floor(largest * 100) / 100
            st.session_state["data_alpha0_capped"] = (st.session_state["data_alpha0"], capped)
            st.session_state["data_alpha0"] = capped
        else:
            st.session_state.pop("data_alpha0_capped", None)
    alpha0 = st.slider("True contamination α0", 0.0, 0.5, key="data_alpha0", step=0.01,
                       help=None if largest is None else f"at most {largest:.3f} with this data and protocol")
    if largest is not None and alpha0 > largest and st.session_state.get("data_shortage", "error") == "error":
        st.warning(f"α0 = {alpha0:g} needs more anomalies than this data has: the largest α0 is {largest:.3f} "
                   "(half the anomalies stay for testing). Lower α0, or choose below what happens when anomalies "
                   "run out.")
    elif st.session_state.get("data_alpha0_capped", (None, None))[1] == alpha0:
        st.caption(f"α0 set to {alpha0:g} for this data (from {st.session_state['data_alpha0_capped'][0]:g}): its "
                   f"{ds.n_anomalies if ds.y is not None else ''} anomalies allow at most {largest:.3f} with half of "
                   "them kept for testing.")
    shortage = "error"
    if protocol == "split" or protocol in CLASS_PROTOCOLS:
        shortage = st.selectbox("If anomalies run out", ["error", "reduce_normals", "lower_alpha0"],
                                key="data_shortage", help="stop with a message, train on fewer normals to keep "
                                                          "α0, or lower α0")
    same = st.checkbox("Strategies know α0 (α = α0)", key="data_alpha_same")
    alpha = None if same else st.slider("Assumed contamination α", 0.0, 0.5, key="data_alpha", step=0.01)
    known, oe_ds = _known.known_anomalies(ds, protocol, protocol_options)
    st.header("Model")
    _known.method_preset(ds.kind)
    backbone = _settings.backbone_select("data_backbone", ds.kind,
                                         default="deepsvdd_cnn" if ds.kind == "image" else "deepsvdd")
    labelled = ds.y is not None or protocol in CLASS_PROTOCOLS
    available = [s for s in STRATEGIES.names() if labelled or not STRATEGIES.get(s).needs_labels]
    strategies = _settings.strategy_select("data_strategies", available, DEFAULTS.strategies)
    epochs = st.number_input("Epochs", 1, 5000, key="data_epochs")
    seeds_text = st.text_input("Seeds (comma-separated)", key="data_seeds")
    device = st.selectbox("Device", available_devices(), key="data_device")
    st.caption(_settings.device_caption(device))
    with st.expander("Optimiser and parameters"):
        batch = st.number_input("Batch size", 2, 100_000, key="data_batch")
        lr = st.number_input("Learning rate", 1e-6, 1.0, key="data_lr", format="%g")
        precision = st.selectbox("Precision", PRECISIONS, key="data_precision", help=PRECISION_HELP)
        bb_params = _settings.param_widgets("backbone", backbone, "data_bb",
                                            link_cfg.backbone_params if link_cfg else None)
        sp = {s: _settings.param_widgets("strategy", s, "data_sp") for s in strategies if STRATEGIES.get(s).params}

try:
    if any(v in ([], None) for v in protocol_options.values()):
        raise ValueError("choose the classes' roles in the sidebar (at least one normal and one anomaly class)")
    cfg = ExperimentConfig(data=data_name, data_options=data_options, protocol=protocol,
                           protocol_options=protocol_options, alpha0=float(alpha0),
                           alpha=None if alpha is None else float(alpha),
                           backbone=backbone, backbone_params=bb_params, strategies=strategies,
                           strategy_params={s: p for s, p in sp.items() if p}, seeds=sup.parse_seeds(seeds_text),
                           epochs=int(epochs), batch_size=int(batch), lr=float(lr), device=device, shortage=shortage,
                           precision=precision, **{**preset_extra, **known})
    cfg.validate()
except ValueError as err:
    st.error(f"Impossible settings: {err}")
    st.stop()
_known.label_note(known, strategies, ds)
_query.sync_query(cfg, DEFAULTS, {"fp": fingerprint} if fingerprint else None)
_ui.share_experiment(PAGE, cfg, ds, fingerprint)  # Compare starts from this data and these settings
if news is not None and (elsewhere := _ui.changed_elsewhere(news, PAGE)):
    st.info(f"Settings changed on another page: {', '.join(elsewhere)}.", icon=":material/sync:")

c1, c2 = st.columns([1, 4])
anyway = different_file and c2.checkbox("Train on this file anyway", key="data_other_file")
if c1.button("Train", type="primary", key="data_train", icon=":material/play_arrow:",
             disabled=bool(different_file and not anyway)):
    st.session_state["data_pending"] = cfg.to_dict()
if _training.cancel_requested(PAGE) and st.session_state.pop("data_pending", None) is not None:
    st.warning("Training cancelled. The settings are kept; press **Train** to start again.")
pending = st.session_state.get("data_pending")
if pending is not None:
    out = _training.train(PAGE, ExperimentConfig.from_dict(pending), dataset=ds, fingerprint=fingerprint,
                    label=f"Training {len(pending['strategies']) * len(pending['seeds'])} models", oe_dataset=oe_ds)
    st.session_state.pop("data_pending", None)
    if out is not None:
        runs = st.session_state.setdefault("data_runs", [])
        roles = "".join(f" {k}={v}" for k, v in protocol_options.items())
        label = f"{data_name} · {protocol}{roles} · α0={alpha0:g} · {backbone} · {', '.join(strategies)} · {epochs} ep"
        runs[:] = [r for r in runs if r[0] != out[0]][-7:] + [(out[0], label)]
        st.session_state["data_show"] = out[0]

runs = [(k, lab) for k, lab in st.session_state.get("data_runs", []) if k in sup.STORE]
if not runs:
    c2.caption("Press **Train** to run the chosen strategies on this data.")
    st.stop()
keys = [k for k, _ in runs][::-1]
if st.session_state.get("data_show") not in keys:
    st.session_state["data_show"] = keys[0]
key = st.selectbox("Run", keys, key="data_show", format_func=dict(runs).get, help="the last runs of this session")
result = sup.STORE.get(key)
_ui.stale_note(result.config, cfg)
st.caption(sup.run_caption(result))
_views.show_metrics(result)
_views.run_views(PAGE, key, result)
