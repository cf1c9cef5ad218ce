"""Compare: several strategies × several seeds on one data set; leaderboard, ROC overlay, paired test."""
from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import streamlit as st

from adcore import app_support as sup
from adcore.device import available_devices
from adcore.trainer import PRECISION_HELP, PRECISIONS
from adcore import plots
from adcore.data import load
from adcore.experiment import ExperimentConfig
from adcore.methods import METHODS
from adcore.registry import STRATEGIES
from adcore.store import stored_runs
from pages import _query, _settings, _training, _ui, _views

_ui.ensure_app_navigation()
PAGE = "cmp"
DEFAULTS = sup.toy_config(strategies=sup.order_strategies(["blind", "refine", "loe_hard", "loe_soft"]),
                          seeds=[0, 1, 2], epochs=100, device="auto")
TABULAR = dict(protocol="split", backbone="deepsvdd", epochs=30, batch_size=128, lr=1e-3, standardize=None,
               data_options={})  # the Your data page's defaults
DATASETS = {"toy": "Toy: LOE 2-D preset", "sklearn:breast_cancer": "Breast cancer", "sklearn:wine": "Wine (class 0)",
            "sklearn:digits": "Digits (0 vs rest)"}
OWN = ("strategies", "seeds", "strategy_params")  # this page's choices; every other setting travels
SETTINGS = {  # widget → its value in a config (the sidebar shows the config it starts from)
    "cmp_alpha0": lambda c: float(c.alpha0), "cmp_backbone": lambda c: c.backbone,
    "cmp_epochs": lambda c: int(c.epochs), "cmp_device": lambda c: c.device,
    "cmp_batch": lambda c: int(c.batch_size or 128), "cmp_lr": lambda c: float(c.lr),
    "cmp_shortage": lambda c: c.shortage, "cmp_n_labeled": lambda c: int(c.n_labeled),
    "cmp_precision": lambda c: c.precision}
SHOWN = ("protocol", "alpha0", "backbone", "epochs", "batch_size", "lr", "shortage")
MODES = {"strategies": "Strategies", "methods": "Named methods"}
METHOD_FIELDS = ("method", "backbone", "backbone_params", "strategies", "strategy_params")  # each method's own
DEFAULT_METHODS = ("DeepSVDD", "LOE", "DeepSAD", "SOEL", "PUSVDD", "HSC", "IsolationForest")


def base_config(data: str, exp: dict | None) -> tuple[ExperimentConfig, str]:
    """The configuration a data choice starts from, and where it comes from."""
    if exp is not None and data == exp["config"]["data"]:
        return ExperimentConfig.from_dict(exp["config"]), f"*{_ui.PAGE_NAMES.get(exp['origin'], exp['origin'])}*"
    if data == "toy":
        return DEFAULTS, "this page's defaults (LOE App. A toy settings)"
    return replace(DEFAULTS, data=data, **TABULAR), "this page's defaults (as on *Your data*)"


exp = _ui.experiment()
st.session_state.setdefault("cmp_data", exp["config"]["data"] if exp else "toy")
for _k, _v in {"cmp_seeds": 3, "cmp_shortage": "error", **{k: f(DEFAULTS) for k, f in SETTINGS.items()}}.items():
    st.session_state.setdefault(_k, _v)
from_link = exp is None and bool(st.query_params) and "_cmp_from_query" not in st.session_state  # a shared link
_query.init_from_query(PAGE, DEFAULTS, {
    "cmp_data": lambda c: c.data, "cmp_seeds": lambda c: len(c.seeds), "cmp_strategies": lambda c: list(c.strategies),
    **SETTINGS})

st.title("Compare methods")
st.markdown("Several strategies on one backbone, or several **named methods** (Deep SAD, PUSVDD, HSC, Isolation "
            "Forest, … each with its own backbone), each trained with several seeds on the same splits of one data "
            "set. The leaderboard gives mean ± standard deviation over seeds; **sig.** is a two-sided paired t-test "
            "against the baseline (Blind, or the first named method) over the same seeds (same training set and "
            "initial weights per seed): `*` p < 0.05, `**` p < 0.01, `n.s.` not significant. (A t-test rather than "
            "Wilcoxon: with 3-5 seeds, Wilcoxon's exact p never drops below 0.0625.)")

options = dict(DATASETS)
if exp is not None:
    shared = ExperimentConfig.from_dict(exp["config"])
    roles = "".join(f", {k} {v}" for k, v in shared.protocol_options.items())
    options[shared.data] = (f"{DATASETS.get(shared.data, shared.data)} (as on the "
                            f"{_ui.PAGE_NAMES.get(exp['page'], exp['page'])} page: {shared.protocol}{roles})")
if st.session_state["cmp_data"] not in options:
    st.session_state["cmp_data"] = "toy"
with st.sidebar:
    st.header("Comparison")
    data = st.selectbox("Data set", list(options), key="cmp_data", format_func=options.get)
    base, source = base_config(data, exp)
    shared_data = exp is not None and data == exp["config"]["data"]
    applied = (data, exp["rev"] if shared_data else None)
    if st.session_state.get("cmp_applied") != applied:  # a new data choice, or the shared settings changed
        if not from_link:
            _query.apply_config(SETTINGS, base)
        st.session_state["cmp_applied"] = applied
    alpha0 = st.slider("True contamination α0" + (" (α = α0)" if base.alpha is None else ""), 0.0, 0.5,
                       key="cmp_alpha0", step=0.01)
    kind = exp["dataset"].kind if shared_data and exp["dataset"] is not None else "tabular"
    mode = st.segmented_control("Compare", list(MODES), format_func=MODES.get, key="cmp_mode", default="strategies",
                                required=True)
    methods = None
    if mode == "methods":
        st.session_state.setdefault("cmp_methods", list(DEFAULT_METHODS))
        methods = st.multiselect("Methods", list(METHODS), key="cmp_methods",
                                 help="named methods: each its own backbone and strategy, all on the same splits; "
                                      "the first is the baseline of the paired test")
        n_labeled = st.number_input("Labelled anomalies", 0, 1_000_000, key="cmp_n_labeled",
                                    help="known anomalies on top of the unlabelled data (contamination α0), in "
                                         "addition to any the file marks itself; the semi-supervised methods train "
                                         "on them, the others leave them out")
        backbone, strategies = base.backbone, list(base.strategies)
    else:
        backbone = _settings.backbone_select("cmp_backbone", kind, default=base.backbone)
        strategies = _settings.strategy_select("cmp_strategies", STRATEGIES.names(), DEFAULTS.strategies, "Methods")
    n_seeds = st.slider("Seeds per method", 1, 10, key="cmp_seeds")
    epochs = st.number_input("Epochs", 1, 5000, key="cmp_epochs")
    device = st.selectbox("Device", available_devices(), key="cmp_device")
    st.caption(_settings.device_caption(device))
    shortage = base.shortage
    if base.protocol not in ("fresh", "loe", "transductive"):
        shortage = st.selectbox("If anomalies run out", ["error", "reduce_normals", "lower_alpha0"],
                                key="cmp_shortage", help="stop with a message, train on fewer normals to keep "
                                                         "α0, or lower α0")
    with st.expander("Optimiser"):
        batch = st.number_input("Batch size", 2, 100_000, key="cmp_batch")
        lr = st.number_input("Learning rate", 1e-6, 1.0, key="cmp_lr", format="%g")
        precision = st.selectbox("Precision", PRECISIONS, key="cmp_precision", help=PRECISION_HELP)

if mode == "strategies" and "blind" not in strategies:
    st.info("Add Blind to the methods to get the paired significance test against it.")
if mode == "methods" and not methods:
    st.info("Choose at least one method.")
    st.stop()
if mode == "methods" and not n_labeled and not base.labeled_ratio and not base.oe and \
        "known_value" not in base.data_options:
    st.caption("No labelled anomalies: the semi-supervised methods (Deep SAD, PU, SOEL, HSC, …) then train like "
               "their unsupervised base. Set some in the sidebar to see what they add.")
dataset, fp = (exp["dataset"], exp["fingerprint"]) if shared_data else (None, "")
try:
    cfg = replace(base, alpha0=float(alpha0), backbone=backbone,
                  backbone_params=base.backbone_params if backbone == base.backbone else {},
                  strategies=strategies, strategy_params={s: p for s, p in base.strategy_params.items() if s in strategies},
                  seeds=list(range(int(n_seeds))), epochs=int(epochs), batch_size=int(batch), lr=float(lr),
                  device=device, shortage=shortage, precision=precision,
                  **({"n_labeled": int(n_labeled)} if methods else {}))
    cfg.validate()
except ValueError as err:
    st.error(f"Impossible settings: {err}")
    st.stop()
changed = sup.changed_settings(cfg, base, skip=OWN)
if shared_data and changed:  # the change travels back: one experiment state for every page
    _ui.share_experiment(PAGE, replace(base, **{f: getattr(cfg, f) for f in cfg.to_dict() if f not in OWN}),
                         dataset, fp)
    exp = _ui.experiment()
    st.session_state["cmp_applied"] = (data, exp["rev"])
    changed = []
notes = changed + (_ui.changed_elsewhere(exp, "") if shared_data else [])
with st.sidebar:
    st.caption(f"Settings from {source}: "
               f"{sup.settings_text(cfg, [n for n in SHOWN if n != 'backbone' or mode == 'strategies'])}."
               + (f" **Changed:** {', '.join(notes)}." if notes else "")
               + " Methods and seeds are this page's.")
_query.sync_query(cfg, DEFAULTS)

if st.button("Run comparison", type="primary", key="cmp_run", icon=":material/leaderboard:"):
    st.session_state["cmp_pending"] = cfg.to_dict()
    st.session_state["cmp_pending_methods"] = methods
if _training.cancel_requested(PAGE) and st.session_state.pop("cmp_pending", None) is not None:
    st.warning("Comparison cancelled.")
if st.session_state.get("cmp_pending") is not None:
    pend = ExperimentConfig.from_dict(st.session_state["cmp_pending"])
    out = None
    try:
        if dataset is None and pend.data != "toy":
            dataset = load(pend.data, **pend.data_options)
    except Exception as err:  # noqa: BLE001 - a failed load is a message (_training.show_error), not a traceback
        _training.show_error("Cannot use this data", err)
    else:
        chosen = st.session_state.get("cmp_pending_methods")
        out = _training.train(PAGE, pend, dataset=dataset, fingerprint=fp, methods=chosen,
                        label=f"Training {len(chosen or pend.strategies)} methods × {len(pend.seeds)} seeds")
    st.session_state.pop("cmp_pending", None)
    if out is not None:
        st.session_state["cmp_last"] = out[0]

key = st.session_state.get("cmp_last")
result = sup.STORE.get(key) if key else None
if result is None:
    stored = stored_runs(cfg.to_dict(), fp) if mode == "strategies" else None  # after a reload or a restart: the metrics from the run store
    if stored:
        st.subheader("Leaderboard from the run store")
        st.dataframe(pd.DataFrame([{"method": plots.display_name(r["strategy"]), "seeds": r["seeds"],
                                    "AUROC": f"{r['AUROC mean']:.3f} ± {r['AUROC std']:.3f}",
                                    "Δ AUROC vs Blind": r["Δ vs blind"], "sig.": r["sig."]}
                                   for r in sup.leaderboard(stored) if r["AUROC mean"] is not None]),
                     hide_index=True, key="cmp_stored")
        when = pd.Timestamp(stored[0]["created"], unit="s").strftime("%Y-%m-%d %H:%M UTC")
        st.caption(f"{len(stored)} models trained with these settings on {stored[0]['device']} ({when}). The store "
                   "keeps metrics, not models: press **Run comparison** for ROC curves, downloads and latent views.")
    else:
        st.caption("Press **Run comparison**." + (" Defaults: the toy preset, 4 methods × 3 seeds, 100 epochs "
                                                   "(seconds)." if cfg.data == "toy" and mode == "strategies" else ""))
    st.stop()

named = len(result.config.method or "") > 0  # a run of named methods (adcore.methods.combine)
baseline = result.members[0].strategy if named else "blind"
rows = sup.leaderboard(result, baseline=baseline)
if named:  # the order the methods were chosen in, the baseline first
    chosen = list(dict.fromkeys(m.strategy for m in result.members))
    rows.sort(key=lambda r: chosen.index(r["strategy"]))
versus = baseline if named else "Blind"
board = pd.DataFrame([{
    "method": plots.display_name(r["strategy"]), "seeds": r["seeds"],
    **{n: (None if r[f"{n} mean"] is None else f"{r[f'{n} mean']:.3f} ± {r[f'{n} std']:.3f}")
       for n in ("AUROC", "AUPRC", "F1")},
    "fit s": r["fit s mean"], f"Δ AUROC vs {versus}": "–" if r["Δ vs blind"] is None else f"{r['Δ vs blind']:+.3f}",
    "p (paired t)": "–" if r["p vs blind"] is None else f"{r['p vs blind']:.3g}", "sig.": r["sig."]} for r in rows])
title = (f"Leaderboard · {options.get(result.config.data, result.config.data)} · "
         + ("named methods" if named else result.config.backbone) + f" · α0 = {result.config.alpha0:g}"
         + (f" · {result.splits[0].info['n_labeled']} labelled anomalies" if result.splits[0].info.get("n_labeled")
            else ""))
st.subheader(title)
if named and mode == "methods" and result.config.method != ", ".join(methods):
    st.warning(f"These results are of {result.config.method}; the methods chosen now differ. Press **Run "
               "comparison** to see them.", icon=":material/update:")
_ui.stale_note(replace(result.config, **{f: getattr(cfg, f) for f in METHOD_FIELDS}) if named else result.config,
               cfg, "Press **Run comparison**")
st.dataframe(board, hide_index=True, column_config={
    "fit s": st.column_config.NumberColumn(format="%.2f", help="training seconds per model (stacked runs share)")})
st.caption(f"{len(result.members)} models trained together in {result.seconds:.1f} s on {sup.device_text(result)}.")

seeds = result.config.seeds
seed = st.select_slider("ROC curves of seed", seeds, key="cmp_roc_seed") if len(seeds) > 1 else seeds[0]
members = [k for k, m in enumerate(result.members) if m.seed == seed]
roc = plots.result_roc(result, members)
_views.chart(roc, key="cmp_roc")

c = st.columns(4)
c[0].download_button("Runs (CSV)", lambda: sup.runs_csv(result.runs), "comparison_runs.csv", "text/csv",
                     key="cmp_dl_runs", on_click="ignore", icon=":material/table_view:")
c[1].download_button("Leaderboard + config (JSON)", lambda: json.dumps(
    {"config": result.config.to_dict(), "leaderboard": rows, "runs": result.runs}, indent=2, default=str),
    "comparison.json", "application/json", key="cmp_dl_json", on_click="ignore", icon=":material/data_object:")
c[2].download_button("Scores of every row (CSV)", lambda: sup.scores_csv(result), "comparison_scores.csv", "text/csv",
                     key="cmp_dl_scores", on_click="ignore", icon=":material/table_view:")
c[3].download_button("ROC + leaderboard (HTML)", lambda: sup.report_html(title, board, [roc]),
                     "comparison.html", "text/html", key="cmp_dl_html", on_click="ignore",
                     icon=":material/insert_chart:")

with st.expander("More views of this comparison (latent space, dynamics, model download)"):
    
    _views.run_views("cmp_more", key, result)
