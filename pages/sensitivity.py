"""Sensitivity: the contamination sweep (LOE Fig. 2), the α-vs-α0 matrix (LOE Fig. 3) and IAD's τ."""
from __future__ import annotations

import time

import streamlit as st

from adcore import app_support as sup
from adcore.device import available_devices
from adcore import plots, sweeps
from adcore.data import DataError
from adcore.experiment import ExperimentConfig
from adcore.methods import METHODS
from adcore.registry import STRATEGIES
from adcore.store import shared_store
from pages import _query, _settings, _training, _ui, _views

_ui.ensure_app_navigation()
PAGE = "sens"
DEFAULTS = ExperimentConfig(data="toy", alpha0=0.1, backbone="deepsvdd_rbf", strategies=sup.order_strategies(
                            ["blind", "refine", "loe_hard", "loe_soft"]), seeds=[0], epochs=60, batch_size=25, lr=0.01,
                            device="auto", standardize=False)
DATASETS = {"toy": "Toy: LOE 2-D preset", "sklearn:breast_cancer": "Breast cancer", "sklearn:wine": "Wine (class 0)",
            "sklearn:digits": "Digits (0 vs rest)"}
EXTRA_DEFAULTS = {"study": "sweep", "alpha0s": "0.05, 0.1, 0.15, 0.2", "alphas": "0.05, 0.1, 0.15, 0.2",
                  "taus": "4, 9, 16, 25", "counts": "0, 1, 2, 4, 8, 16, 32", "pu_alphas": "0.01, 0.05, 0.1, 0.2, 0.3"}
STUDIES = {"sweep": "Contamination sweep (LOE Fig. 2)", "matrix": "α vs α0 (LOE Fig. 3)", "tau": "IAD τ",
           "labels": "Few labelled anomalies (EOE Fig. 3)", "pu_alpha": "α of PU vs SOEL (PU Fig. 2)"}
METHOD_STUDIES = {"labels": ("n_labeled", ["DeepSVDD", "DeepSAD", "SOEL", "PUSVDD", "HSC", "BCE"]),
                  "pu_alpha": ("alpha", ["PUSVDD", "SOEL"])}

for _k, _v in {"sens_data": "toy", "sens_seeds": "0", "sens_epochs": 60, "sens_device": "auto", "sens_rounds": 6,
               "sens_n_labeled": 10,
               **{f"sens_{k}": v for k, v in EXTRA_DEFAULTS.items()}}.items():
    st.session_state.setdefault(_k, _v)
_query.init_from_query(PAGE, DEFAULTS, {
    "sens_data": lambda c: c.data, "sens_backbone": lambda c: c.backbone, "sens_strategies": lambda c: c.strategies,
    "sens_seeds": lambda c: ",".join(map(str, c.seeds)), "sens_epochs": lambda c: int(c.epochs),
    "sens_device": lambda c: c.device}, extra={"study": "sens_study", "alpha0s": "sens_alpha0s",
                                               "alphas": "sens_alphas", "taus": "sens_taus",
                                               "counts": "sens_counts", "pu_alphas": "sens_pu_alphas"})

st.title("Sensitivity")
st.markdown("How the strategies hold up when the contamination changes (LOE Fig. 2), when the assumed ratio α "
            "is wrong (LOE Fig. 3), and how IAD depends on the sharpness 1/τ of its weight update (IAD Eq. 13, "
            "Fig. 6). With labelled anomalies: how named methods gain from a few of them (EOE Fig. 3, where the number of "
            "outlier-exposure samples goes 0, 1, 2, 4, …) and how PU and SOEL depend on their assumed anomaly "
            "share α of the unlabelled data (PU paper Fig. 2). Each cell is a full training run (mean over seeds); "
            "runs are cached per setting.")


def floats(text: str, name: str) -> list[float]:
    try:
        vals = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ValueError(f"{name}: numbers separated by commas, got {text!r}") from None
    if not vals:
        raise ValueError(f"{name}: give at least one value")
    return vals


with st.sidebar:
    st.header("Setting")
    data = st.selectbox("Data set", list(DATASETS), key="sens_data", format_func=DATASETS.get)
    backbone = _settings.backbone_select("sens_backbone", default="deepsvdd_rbf" if data == "toy" else "deepsvdd")
    seeds_text = st.text_input("Seeds", key="sens_seeds")
    epochs = st.number_input("Epochs per run", 1, 5000, key="sens_epochs")
    device = st.selectbox("Device", available_devices(), key="sens_device")
    st.caption(_settings.device_caption(device))

study = st.segmented_control("Study", list(STUDIES), format_func=STUDIES.get, key="sens_study", required=True)
methods = None
try:
    if study in METHOD_STUDIES:
        field, default_methods = METHOD_STUDIES[study]
        st.session_state.setdefault(f"sens_methods_{study}", default_methods)
        methods = st.multiselect("Methods", list(METHODS), key=f"sens_methods_{study}",
                                 help="named methods (backbone + strategy); unsupervised ones ignore the labels")
        st.caption("Each named method brings its own backbone (the sidebar's backbone is not used here).")
        if not methods:
            raise ValueError("choose at least one method")
        strategies = ["blind"]
        pool_alpha0 = st.slider("Contamination of the unlabelled data α0", 0.0, 0.3, 0.05, 0.01,
                                key="sens_pool_alpha0")
        if study == "labels":
            values = [int(v) for v in floats(st.text_input("Numbers of labelled anomalies", key="sens_counts"),
                                             "numbers of labelled anomalies")]
        else:
            values = floats(st.text_input("Assumed anomaly share α of the unlabelled data", key="sens_pu_alphas"), "α")
            n_labeled = st.number_input("Labelled anomalies", 1, 10_000, key="sens_n_labeled")
    elif study == "tau":
        strategies = ["iad"]
        taus = floats(st.text_input("Values of 1/τ (IAD Fig. 6 tries 4, 9, 16, 25)", key="sens_taus"), "1/τ")
        rounds = st.number_input("Rounds (epochs = rounds × epochs per round)", 2, 100, key="sens_rounds")
        st.caption(sup.method_help("strategy", "iad"))
    else:
        avail = [s for s in STRATEGIES.names() if s != "iad" or study == "sweep"]
        strategies = _settings.strategy_select("sens_strategies", avail, DEFAULTS.strategies)
        alpha0s = floats(st.text_input("True contamination ratios α0", key="sens_alpha0s"), "α0")
        alphas = floats(st.text_input("Assumed ratios α", key="sens_alphas"), "α") if study == "matrix" else None
    cfg = ExperimentConfig(data=data, backbone=backbone, strategies=strategies or ["blind"],
                           seeds=sup.parse_seeds(seeds_text), epochs=int(epochs), device=device,
                           batch_size=25 if data == "toy" else 128, lr=0.01 if data == "toy" else 1e-3,
                           standardize=False if data == "toy" else None)
    if study in METHOD_STUDIES:
        cfg.alpha0 = float(pool_alpha0)
        if study == "pu_alpha":
            cfg.n_labeled = int(n_labeled)
    if study == "tau":
        per_round = max(1, int(epochs) // int(rounds))
        cfg.strategy_params = {"iad": {"epochs_per_round": per_round}}
        cfg.epochs = per_round * int(rounds)
    cfg.validate()
except ValueError as err:
    st.error(f"Impossible settings: {err}")
    st.stop()
extra = {"study": study, **{k: st.session_state[f"sens_{k}"] for k in EXTRA_DEFAULTS if k != "study"}}
_query.sync_query(cfg, DEFAULTS, {k: v for k, v in extra.items() if v != EXTRA_DEFAULTS[k]})

if study not in METHOD_STUDIES:
    values = taus if study == "tau" else (alpha0s, alphas)
skey = ("sweep", study, sup.config_key(cfg), repr(values), repr(methods))
if study in METHOD_STUDIES:
    n_runs = len(values) * len(methods)
else:
    n_runs = len(taus) if study == "tau" else len(alpha0s) * (len(alphas) if alphas else 1)
c1, c2 = st.columns([1, 3])
go_ = c1.button(f"Run {n_runs} trainings", type="primary", key="sens_run", icon=":material/play_arrow:")
c2.caption(f"{STUDIES[study]} · {DATASETS[data]} · " + (f"methods {', '.join(methods)}" if methods else
           f"{backbone} · {', '.join(cfg.strategies)}") + f" · seeds {cfg.seeds} · {cfg.epochs} epochs each")
if go_:
    st.session_state["sens_pending"] = skey
if _training.cancel_requested(PAGE) and st.session_state.pop("sens_pending", None) is not None:
    st.warning("Study cancelled; its finished runs are kept in the run store.")


def run_study(ds, **kw):
    """The rows of this study; every run is read from / written to the run store (adcore.store)."""
    kw["store"] = shared_store()
    if study == "sweep":
        return sweeps.contamination_sweep(cfg, alpha0s, ds, **kw)
    if study == "matrix":
        return sweeps.sensitivity_matrix(cfg, alpha0s, alphas, ds, **kw)
    if study in METHOD_STUDIES:
        return sweeps.method_sweep(cfg, methods, METHOD_STUDIES[study][0], values, ds, **kw)
    return sweeps.param_sweep(cfg, "iad", "inv_tau", taus, ds, **kw)


if st.session_state.get("sens_pending") == skey and sup.STORE.get(repr(skey)) is None:
    slot = st.empty()
    box = slot.container()
    bar = box.progress(0.0, text="Starting…")
    box.button("Cancel", key=f"{PAGE}_cancel", on_click=_training.mark_cancel, args=(PAGE,), icon=":material/stop_circle:")
    start = time.perf_counter()

    def progress(done, total):
        seconds = time.perf_counter() - start
        bar.progress(done / total, text=f"run {done} of {total} · {seconds:.0f} s" + sup.eta_text(done, total, seconds))

    try:
        rows = run_study(None, progress=progress)
        sup.STORE.put(repr(skey), rows)
    except (DataError, ValueError) as err:
        st.error(f"Cannot run this study: {err}")
    slot.empty()
    st.session_state.pop("sens_pending", None)

rows = sup.STORE.get(repr(skey))
if rows is None:  # after a reload or a restart: the study's runs from the run store, if all are there
    rows = run_study(None, only_stored=True)
if rows is None:
    st.caption("Press the button to run the study with these settings.")
    st.stop()
metric = st.segmented_control("Metric", ["auroc", "ap", "f1"], key="sens_metric", default="auroc", required=True,
                              format_func={"auroc": "AUROC", "ap": "AUPRC", "f1": "F1"}.get)
if study == "sweep":
    left, right = st.columns(2)
    with left:
        _views.chart(plots.sweep_figure(rows, "alpha0", metric, title="Contamination sweep (α = α0)"), key="sens_f2")
    with right:
        _views.chart(plots.sweep_heatmap(rows, "alpha0", metric), key="sens_f2h")
elif study == "matrix":
    _views.chart(plots.matrix_heatmaps(rows, metric), key="sens_f3")
elif study == "labels":
    _views.chart(plots.sweep_figure(rows, "n_labeled", metric, title="Gain from a few labelled anomalies",
                                    x_title="labelled anomalies in training"), key="sens_labels")
    st.caption("Unsupervised methods (Deep SVDD, LOE, IF, …) leave labelled anomalies out of training and train "
               "exactly as without them; their line moves only because the labelled anomalies are taken from the "
               "data's anomalies and so leave the test set.")
elif study == "pu_alpha":
    _views.chart(plots.sweep_figure(rows, "alpha", metric, title="Sensitivity to the assumed anomaly share α",
                                    x_title="assumed α of the unlabelled data"), key="sens_pu_alpha")
else:
    _views.chart(plots.sweep_figure(rows, "inv_tau", metric, title="IAD: sensitivity to 1/τ",
                                    x_title="1/τ (IAD Eq. 13)"), key="sens_tau")
st.download_button("Results (CSV)", lambda: sup.runs_csv(rows), f"sensitivity_{study}.csv", "text/csv",
                   key="sens_dl", on_click="ignore", icon=":material/table_view:")
