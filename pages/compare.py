"""Compare: several strategies × several seeds on one data set; leaderboard, ROC overlay, paired test."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from adcore import app_support as sup
from adcore import plots
from adcore.data import load
from adcore.experiment import ExperimentConfig
from adcore.registry import STRATEGIES
from pages import _ui, _views

_ui.ensure_app_navigation()
PAGE = "cmp"
DEFAULTS = ExperimentConfig(data="toy", protocol=None, alpha0=0.1, backbone="deepsvdd_rbf",
                            strategies=sup.order_strategies(["blind", "refine", "loe_hard", "loe_soft"]), seeds=[0, 1, 2],
                            epochs=100, batch_size=25, lr=0.01, device="auto", standardize=False)
DATASETS = {"toy": "Toy: LOE 2-D preset", "sklearn:breast_cancer": "Breast cancer", "sklearn:wine": "Wine (class 0)",
            "sklearn:digits": "Digits (0 vs rest)"}

for _k, _v in {"cmp_data": "toy", "cmp_alpha0": 0.1, "cmp_seeds": 3, "cmp_epochs": 100, "cmp_device": "auto",
               "cmp_batch": 25, "cmp_lr": 0.01}.items():
    st.session_state.setdefault(_k, _v)
_ui.init_from_query(PAGE, DEFAULTS, {
    "cmp_data": lambda c: c.data, "cmp_alpha0": lambda c: float(c.alpha0), "cmp_seeds": lambda c: len(c.seeds),
    "cmp_epochs": lambda c: int(c.epochs), "cmp_backbone": lambda c: c.backbone,
    "cmp_strategies": lambda c: list(c.strategies), "cmp_device": lambda c: c.device,
    "cmp_batch": lambda c: int(c.batch_size or 128), "cmp_lr": lambda c: float(c.lr)})

st.title("Compare methods")
st.markdown("Several strategies, each trained with several seeds, on one data set. The leaderboard gives mean ± "
            "standard deviation over seeds; **sig.** is a two-sided paired t-test against Blind over the same "
            "seeds (same training set and initial weights per seed): `*` p < 0.05, `**` p < 0.01, `n.s.` not "
            "significant. (A t-test rather than Wilcoxon: with 3-5 seeds, Wilcoxon's exact p never drops below "
            "0.0625.)")

options = dict(DATASETS)
current = st.session_state.get("data_current")
if current is not None and current[2] and current[2] not in options:
    roles = "".join(f", {k} {v}" for k, v in current[3]["protocol_options"].items())
    options[current[2]] = f"{current[2]} (from the Your data page: {current[3]['protocol']}{roles})"
if st.session_state["cmp_data"] not in options:
    st.session_state["cmp_data"] = "toy"
with st.sidebar:
    st.header("Comparison")
    data = st.selectbox("Data set", list(options), key="cmp_data", format_func=options.get)
    alpha0 = st.slider("True contamination α0 (α = α0)", 0.0, 0.4, key="cmp_alpha0", step=0.01)
    kind = current[0].kind if current is not None and data == current[2] else "tabular"
    backbone = _ui.backbone_select("cmp_backbone", kind, default="deepsvdd_rbf" if data == "toy" else
                                   "deepsvdd_cnn" if kind == "image" else "deepsvdd")
    strategies = _ui.strategy_select("cmp_strategies", STRATEGIES.names(), DEFAULTS.strategies, "Methods")
    n_seeds = st.slider("Seeds per method", 1, 10, key="cmp_seeds")
    epochs = st.number_input("Epochs", 1, 5000, key="cmp_epochs")
    device = st.selectbox("Device", _ui.device_options(), key="cmp_device")
    st.caption(_ui.device_caption(device))
    with st.expander("Optimiser"):
        batch = st.number_input("Batch size", 2, 100_000, key="cmp_batch")
        lr = st.number_input("Learning rate", 1e-6, 1.0, key="cmp_lr", format="%g")

if "blind" not in strategies:
    st.info("Add Blind to the methods to get the paired significance test against it.")
dataset, fp, from_data_page = None, "", {}
if current is not None and data == current[2]:
    dataset, fp, from_data_page = current[0], current[1], current[3]
try:
    cfg = ExperimentConfig(data=data, **from_data_page, alpha0=float(alpha0), backbone=backbone, strategies=strategies,
                           seeds=list(range(int(n_seeds))), epochs=int(epochs), batch_size=int(batch), lr=float(lr),
                           device=device, standardize=False if data == "toy" else None)
    cfg.validate()
except ValueError as err:
    st.error(f"Impossible settings: {err}")
    st.stop()
_ui.sync_query(cfg, DEFAULTS)

if st.button("Run comparison", type="primary", key="cmp_run", icon=":material/leaderboard:"):
    st.session_state["cmp_pending"] = cfg.to_dict()
if _ui.cancel_requested(PAGE) and st.session_state.pop("cmp_pending", None) is not None:
    st.warning("Comparison cancelled.")
if st.session_state.get("cmp_pending") is not None:
    pend = ExperimentConfig.from_dict(st.session_state["cmp_pending"])
    if dataset is None and pend.data != "toy":
        dataset = load(pend.data)
    out = _ui.train(PAGE, pend, dataset=dataset, fingerprint=fp,
                    label=f"Training {len(pend.strategies)} methods × {len(pend.seeds)} seeds")
    st.session_state.pop("cmp_pending", None)
    if out is not None:
        st.session_state["cmp_last"] = out[0]

key = st.session_state.get("cmp_last")
result = sup.STORE.get(key) if key else None
if result is None:
    st.caption("Press **Run comparison**. Defaults: the toy preset, 4 methods × 3 seeds, 100 epochs (seconds).")
    st.stop()

rows = sup.leaderboard(result)
board = pd.DataFrame([{
    "method": plots.display_name(r["strategy"]), "seeds": r["seeds"],
    **{n: (None if r[f"{n} mean"] is None else f"{r[f'{n} mean']:.3f} ± {r[f'{n} std']:.3f}")
       for n in ("AUROC", "AUPRC", "F1")},
    "fit s": r["fit s mean"], "Δ AUROC vs Blind": r["Δ vs blind"], "p (paired t)": r["p vs blind"],
    "sig.": r["sig."]} for r in rows])
st.subheader(f"Leaderboard · {options.get(result.config.data, result.config.data)} · {result.config.backbone} · "
             f"α0 = {result.config.alpha0:g}")
st.dataframe(board, hide_index=True, column_config={
    "fit s": st.column_config.NumberColumn(format="%.2f", help="training seconds per model (stacked runs share)"),
    "Δ AUROC vs Blind": st.column_config.NumberColumn(format="%+.3f"),
    "p (paired t)": st.column_config.NumberColumn(format="%.3g")})
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
c[2].download_button("Scores + labels (CSV)", lambda: sup.scores_csv(result), "comparison_scores.csv", "text/csv",
                     key="cmp_dl_scores", on_click="ignore", icon=":material/table_view:")
c[3].download_button("ROC + leaderboard (HTML)", lambda: (plots.leaderboard_figure(rows).to_html(
    include_plotlyjs=True) + roc.to_html(include_plotlyjs=False, full_html=False)).encode(),
    "comparison.html", "text/html", key="cmp_dl_html", on_click="ignore", icon=":material/insert_chart:")

with st.expander("More views of this comparison (latent space, dynamics, model download)"):
    
    _views.run_views("cmp_more", key, result)
