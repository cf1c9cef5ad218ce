"""Toy playground: LOE Fig. 1 on an editable 2-D Gaussian mixture, with the training replayed."""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from adcore import app_support as sup
from adcore import plots
from adcore.contour_picture import toy_picture
from adcore.data import LOE_PRESET, DataError
from adcore.registry import STRATEGIES
from pages import _first_view, _query, _settings, _training, _ui, _views

_t0 = time.perf_counter()
_ui.ensure_app_navigation()
PAGE = "toy"
DEFAULTS = sup.toy_config()
PRESET_ROWS = sup.mixture_rows(LOE_PRESET)
ASK_SECONDS = 5  # runs estimated to take longer wait for the Train button
CONTROLS_PX = 124  # height of the replay controls above the grid (kept free in the light first view)


def _reset_mixture():
    st.session_state["toy_rows"] = [dict(r) for r in PRESET_ROWS]
    st.session_state.pop("toy_rows_edited", None)
    st.session_state.pop("toy_mix_editor", None)
    st.session_state["toy_n"] = 100


def _commit_mixture():
    """Closing the editor keeps its rows as the mixture (the editor's own state ends with it)."""
    if not st.session_state.get("toy_edit_mix") and "toy_rows_edited" in st.session_state:
        st.session_state["toy_rows"] = st.session_state.pop("toy_rows_edited")
    st.session_state.pop("toy_mix_editor", None)


def run_caption(result) -> str:
    return (f"{len(result.members)} models trained together in {result.seconds:.1f} s on "
            f"{sup.device_text(result)} · training set {len(result.splits[0].train)} points "
            f"({result.splits[0].info.get('n_train_anomalies', 0)} anomalies) · metrics on a fresh test draw of "
            f"{len(result.splits[0].test)} points")


def light_view() -> None:
    """A new tab's first view of the default run (trained and drawn at server start): its picture alone, and
    the full page right after (the sidebar's widgets and plotly.js take seconds to load on a slow machine)."""
    grid = sup.toy_grid()
    key = sup.run_key(DEFAULTS, eval_sets={"grid": grid[2]})
    result = sup.STORE.get(key)
    if result is None:  # still training: the full page, with its progress bar
        return
    st.caption(run_caption(result))
    st.space(CONTROLS_PX)  # where the full page has the replay controls
    phone = _ui.is_phone()
    cols = 1 if phone else 5
    _first_view.picture_then_chart("toy_grid", "picture", toy_picture(key, result, grid, cols=cols), None,
                           plots.contour_grid_height(len(result.members), cols, 340 if phone else None))
    _first_view.rerun_soon()
    st.stop()


def _toggle_play():
    st.session_state["toy_playing"] = not st.session_state.get("toy_playing", False)
    st.session_state["toy_play_restart"] = st.session_state["toy_playing"]


link_cfg = _query.init_from_query(PAGE, DEFAULTS, {
    "toy_alpha0": lambda c: float(c.alpha0), "toy_alpha_same": lambda c: c.alpha is None,
    "toy_alpha": lambda c: float(c.alpha if c.alpha is not None else c.alpha0),
    "toy_backbone": lambda c: c.backbone, "toy_strategies": lambda c: list(c.strategies),
    "toy_epochs": lambda c: int(c.epochs), "toy_seed": lambda c: int(c.seeds[0]),
    "toy_batch": lambda c: int(c.batch_size or 25), "toy_lr": lambda c: float(c.lr),
    "toy_n": lambda c: int(c.data_options.get("n_samples", 100)),
    "toy_rows": lambda c: sup.mixture_rows(c.data_options["components"]),
})

for _k, _v in {"toy_alpha0": 0.1, "toy_alpha_same": True, "toy_alpha": 0.1, "toy_epochs": DEFAULTS.epochs,
               "toy_seed": 0, "toy_batch": DEFAULTS.batch_size, "toy_lr": DEFAULTS.lr, "toy_flags": True,
               "toy_log": True}.items():
    st.session_state.setdefault(_k, _v)

st.title("Toy playground")
st.markdown("A contaminated 2-D data set: Deep SVDD learns what is normal while some training points are "
            "unlabelled anomalies. Each panel is one way of treating them (LOE Fig. 1): the colours are the "
            "anomaly score, the **orange line** is the decision boundary at the (1−α) quantile of the training "
            "scores, and **black rings** mark the points the strategy currently treats as anomalies.")
_first_view.picture_style("toy_grid")
view = _first_view.first_view(PAGE)  # a new tab's first view: a picture of the grid while plotly.js loads
if view == "picture" and not st.query_params:
    light_view()

if "toy_rows" not in st.session_state:
    _reset_mixture()
rows = st.session_state.get("toy_rows_edited", st.session_state["toy_rows"])
if st.session_state.get("toy_edit_mix"):
    with st.container(border=True):
        st.markdown("**The mixture** — one row per 2-D Gaussian N(mean, variance·I); a new row starts as a normal "
                    "component at the origin. Weights are relative to the components of the same kind.")
        defaults = sup.NEW_COMPONENT
        edited = st.data_editor(pd.DataFrame(st.session_state["toy_rows"], columns=sup.MIXTURE_COLUMNS),
                                num_rows="dynamic", key="toy_mix_editor", hide_index=True, width="stretch",
                                column_config={
                                    "mean x": st.column_config.NumberColumn(default=defaults["mean x"]),
                                    "mean y": st.column_config.NumberColumn(default=defaults["mean y"]),
                                    "variance": st.column_config.NumberColumn(
                                        min_value=0.0001, format="%.3f", default=defaults["variance"],
                                        help="spread: covariance = variance·I"),
                                    "weight": st.column_config.NumberColumn(min_value=0.0001,
                                                                            default=defaults["weight"]),
                                    "anomalous": st.column_config.CheckboxColumn(default=defaults["anomalous"])})
        rows = st.session_state["toy_rows_edited"] = edited.to_dict("records")
        st.button("Reset to the LOE preset", on_click=_reset_mixture, key="toy_reset")

with st.sidebar:
    st.header("Data")
    st.toggle("Edit the mixture", key="toy_edit_mix", on_change=_commit_mixture,
              help="Opens a table of the components above the charts: add or delete rows to add or remove "
                   "components. LOE App. A preset: normal N([1,1], 0.07 I); anomalies N([-0.25,2.5], 0.03 I) "
                   "and N([-1,0.5], 0.03 I).")
    st.caption(" · ".join(f"{'anomalous' if r['anomalous'] else 'normal'} N([{r['mean x']:g}, {r['mean y']:g}], "
                          f"{r['variance']:g} I) ×{r['weight']:g}" for r in sup.filled_rows(rows)))
    n_samples = st.number_input("Training points", 20, 2000, key="toy_n", step=10)
    alpha0 = st.slider("True contamination α0", 0.0, 0.45, key="toy_alpha0", step=0.01,
                       help="Share of anomalies in the training draw (the test draw keeps 10%).")
    same = st.checkbox("Strategies know α0 (α = α0)", key="toy_alpha_same")
    alpha = None if same else st.slider("Assumed contamination α", 0.0, 0.45, key="toy_alpha",
                                        step=0.01, help="The ratio Refine and LOE flag in each mini-batch "
                                                        "(LOE Eq. 2); also sets the decision boundary.")
    st.header("Model")
    backbone = _settings.backbone_select("toy_backbone", default="deepsvdd_rbf")
    strategies = _settings.strategy_select("toy_strategies", STRATEGIES.names(), DEFAULTS.strategies)
    epochs = st.slider("Epochs", 10, 500, key="toy_epochs", step=10)
    seed = st.number_input("Seed", 0, 10_000, key="toy_seed")
    with st.expander("Optimiser and parameters"):
        batch = st.number_input("Batch size", 2, 2000, key="toy_batch", help="LOE App. A: 25")
        lr = st.number_input("Learning rate", 1e-5, 1.0, key="toy_lr", format="%g",
                             help="LOE App. A uses 0.01; 0.003 is steadier with our RBF initialisation "
                                  "(docs/RESULTS.md)")
        bb_params = _settings.param_widgets("backbone", backbone, "toy_bb",
                                            link_cfg.backbone_params if link_cfg else None)
        sp = {s: _settings.param_widgets("strategy", s, "toy_sp") for s in strategies if STRATEGIES.get(s).params}
    st.caption(_settings.device_caption("cpu") + " — the toy models are tiny; the CPU is fastest for them.")


def last_run():
    """The last toy run of this session and its grid, shown (marked as earlier) while a new one waits."""
    last = st.session_state.get("toy_last")
    result = sup.STORE.get(last[0]) if last else None
    return (last[0], result, sup.toy_grid(last[1])) if result is not None else None


try:
    comps = sup.components_from_rows(rows)
    error = None
except DataError as err:
    comps, error = None, str(err)
if not strategies:
    error = "choose at least one strategy in the sidebar"
shown, wait = None, None
if error:
    st.error(f"The mixture cannot be sampled: {error}" if comps is None else f"Nothing to train: {error}.")
    shown = last_run()
else:
    options = {} if comps == sup.components_from_rows(PRESET_ROWS) and n_samples == 100 else \
        {"components": comps, "n_samples": int(n_samples)}
    cfg = sup.toy_config(data_options=options, alpha0=float(alpha0), alpha=None if alpha is None else float(alpha),
                         backbone=backbone, backbone_params=bb_params, strategies=strategies,
                         strategy_params={s: p for s, p in sp.items() if p}, seeds=[int(seed)], epochs=int(epochs),
                         batch_size=int(batch), lr=float(lr))
    _query.sync_query(cfg, DEFAULTS)
    if alpha0 * n_samples < 1 and "gtruth" in strategies and alpha0 > 0:
        st.info(f"α0 = {alpha0:g} of {n_samples} points rounds to no anomaly in the training set.")
    grid = sup.toy_grid(comps)
    if _training.cancel_requested(PAGE):
        st.session_state["toy_cancelled_cfg"] = cfg.to_dict()
    stopped = st.session_state.get("toy_cancelled_cfg") == cfg.to_dict()
    cost = sup.toy_seconds(cfg)
    cached = sup.run_key(cfg, eval_sets={"grid": grid[2]}) in sup.STORE
    if not cached and (stopped or cost > ASK_SECONDS) and st.session_state.get("toy_confirmed") != cfg.to_dict():
        wait = "cancelled" if stopped else "costly"
        if st.button("Train", type="primary", key="toy_train", icon=":material/play_arrow:"):
            st.session_state["toy_confirmed"] = cfg.to_dict()
            wait = None
    if wait == "cancelled":
        st.warning("Training was cancelled. Change a setting or press **Train** to run it again.")
    elif wait == "costly":
        st.info(f"This run takes about {cost:.0f} s ({len(strategies)} models × {int(epochs)} epochs × "
                f"{sup.toy_steps(cfg)} mini-batches of {int(batch)} points): press **Train** to start it. Runs "
                f"estimated under {ASK_SECONDS} s start by themselves.", icon=":material/timer:")
    if wait:
        shown = last_run()
    else:
        st.session_state.pop("toy_cancelled_cfg", None)
        out = _training.train(PAGE, cfg, eval_sets={"grid": grid[2]},
                        label=f"Training {len(strategies)} stacked models for {epochs} epochs")
        if out is not None:
            st.session_state["toy_last"] = (out[0], comps)
            shown = (*out, grid)
        else:
            shown = last_run()
if shown is None:
    st.stop()
key, result, grid = shown
st.session_state.setdefault("runs", {})[PAGE] = key
if wait:
    _ui.stale_note(result.config, cfg)
elif error:
    st.caption("The charts show the last run that could be trained.")

h0 = result.history(0)
rec = [int(e) + 1 for e in h0.recorded_epochs]
st.caption(run_caption(result))
if st.session_state.get("toy_epoch") not in rec:
    st.session_state["toy_epoch"] = rec[-1]
playing = st.session_state.get("toy_playing", False)
if st.session_state.pop("toy_play_restart", False) and st.session_state["toy_epoch"] == rec[-1]:
    st.session_state["toy_epoch"] = rec[0]  # Play at the end starts the replay from the first epoch

c1, c2, c3, _ = st.columns([1, 1.2, 1.2, 3])
c1.button("Pause" if playing else "Play", key="toy_play", on_click=_toggle_play,
          icon=":material/pause:" if playing else ":material/play_arrow:",
          help="Replay the training: contours and latent labels at each recorded epoch")
show_flags = c2.checkbox("latent labels", key="toy_flags")
log_scale = c3.checkbox("log-scale scores", key="toy_log")


phone = _ui.is_phone()  # one panel per row: five side by side would be 60 px wide


@st.fragment(run_every=0.6 if playing else None)
def contours():
    if st.session_state.get("toy_playing"):
        i = rec.index(st.session_state["toy_epoch"]) if st.session_state["toy_epoch"] in rec else 0
        if i >= len(rec) - 1:
            st.session_state["toy_playing"] = False
            st.rerun()
        st.session_state["toy_epoch"] = rec[min(i + max(1, len(rec) // 25), len(rec) - 1)]
    epoch = st.select_slider("Epoch", rec, key="toy_epoch")
    fig = plots.toy_contours(result, grid, rec.index(epoch), show_flags=show_flags, log_scale=log_scale,
                             title=f"Anomaly-score contours after epoch {epoch} of {rec[-1]}",
                             cols=1 if phone else 5, height_per_row=340 if phone else None)
    picture = None if view == "chart" else toy_picture(key, result, grid, rec.index(epoch), show_flags=show_flags,
                                                       log_scale=log_scale, cols=1 if phone else 5)
    _first_view.picture_then_chart("toy_grid", view, picture, lambda: _views.chart(fig, key="toy_contours"),
                           fig.layout.height)


contours()
if all(m.alpha == 0 for m in result.members):
    st.caption("α = 0: no decision boundary is drawn (the (1−α) quantile is the largest training score).")
_views.show_metrics(result)
if view == "picture":
    _first_view.rerun_soon()  # the charts below the grid come with the next run
else:
    _views.run_views(PAGE, key, result)
st.session_state["_script_seconds"] = time.perf_counter() - _t0  # read by bench/app_responsiveness.py
