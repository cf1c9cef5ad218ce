"""Benchmark: several data sets × several methods; AUROC table, average ranks, critical-difference diagram."""
from __future__ import annotations

import time

import streamlit as st

from adcore import app_support as sup
from adcore.device import available_devices
from adcore import benchmark as bm
from adcore.engines import run_sweep
from adcore.experiment import ExperimentConfig
from adcore.registry import STRATEGIES
from adcore.store import cell_key, shared_store
from adcore.sweep_spec import Cell, data_files, data_fingerprint
from pages import _settings, _training, _ui, _views

_ui.ensure_app_navigation()
PAGE = "bench"
BUILTIN = {"toy": "Toy: LOE 2-D preset", "sklearn:breast_cancer": "Breast cancer", "sklearn:wine": "Wine (class 0)",
           "sklearn:digits": "Digits (0 vs rest)"}
METRICS = {"auroc": "AUROC", "ap": "AUPRC", "f1": "F1"}

for _k, _v in {"bench_builtin": ["sklearn:breast_cancer", "sklearn:wine", "sklearn:digits"], "bench_folder": "",
               "bench_alpha0": 0.1, "bench_seeds": 3, "bench_epochs": 30, "bench_labeled": 0,
               "bench_device": "auto", "bench_label_col": "label"}.items():
    st.session_state.setdefault(_k, _v)

st.title("Benchmark")
st.markdown("Many data sets × several methods, each trained with several seeds: AUROC mean ± std per data set, "
            "each method's **average rank** over the data sets, and the **critical-difference diagram** of the "
            "Friedman test with the Nemenyi post-hoc test (Demšar 2006). Every finished data set is kept in the "
            "run store, so the grid is loaded instead of trained when you come back, also after a restart.")

with st.sidebar:
    st.header("Data sets")
    builtin = st.multiselect("Built-in", list(BUILTIN), key="bench_builtin", format_func=BUILTIN.get)
    uploads = st.file_uploader("Upload files (CSV, NPZ with X and y, ODDS .mat)",
                               type=["csv", "npz", "mat"], accept_multiple_files=True, key="bench_uploads")
    folder = st.text_input("Files of a folder (a path on the server)", key="bench_folder",
                           help="Every .npz, .csv and .mat file in the folder, e.g. the ADBench sets.")
    label_col = st.text_input("CSV label column (1 = anomaly)", key="bench_label_col")
    folder_files = []
    if folder.strip():
        try:
            found = data_files(folder.strip())
        except (ValueError, OSError) as err:
            st.error(f"Cannot list the folder: {err}")
        else:
            folder_files = st.multiselect("Files", found, default=found, key="bench_folder_files",
                                          format_func=lambda p: p.rsplit("/", 1)[-1])
    st.header("Methods")
    backbone = _settings.backbone_select("bench_backbone", default="deepsvdd")
    strategies = _settings.strategy_select("bench_strategies", STRATEGIES.names(),
                                     ["blind", "refine", "loe_hard", "loe_soft"], "Methods")
    alpha0 = st.slider("True contamination α0 (α = α0)", 0.0, 0.4, key="bench_alpha0", step=0.01)
    n_labeled = st.number_input("Labelled anomalies", 0, 1000, key="bench_labeled")
    n_seeds = st.slider("Seeds per method", 1, 10, key="bench_seeds")
    epochs = st.number_input("Epochs", 1, 5000, key="bench_epochs")
    device = st.selectbox("Device", available_devices(), key="bench_device")

store = shared_store()
if store is None:
    st.error("The run store cannot be opened (see the server log); the benchmark needs it to keep its results.")
    st.stop()


def data_options(name: str) -> dict:
    return {"label_col": label_col.strip()} if name.lower().endswith(".csv") and label_col.strip() else {}


def make_cell(data: str, dataset=None, fp: str | None = None) -> Cell:
    cfg = ExperimentConfig(data=data, data_options=data_options(data), alpha0=float(alpha0), backbone=backbone,
                           strategies=strategies, seeds=list(range(int(n_seeds))), epochs=int(epochs),
                           n_labeled=int(n_labeled), device=device)
    fp = data_fingerprint(data) if fp is None else fp
    return Cell(cfg, cell_key(cfg.to_dict(), fp), fp, dataset)


def grid_cells() -> list[str]:
    """The sidebar's grid: its cells' keys, after training the missing ones when the button is pressed."""
    cells = []
    try:
        if not strategies:
            raise ValueError("choose at least one method")
        cells += [make_cell(d) for d in builtin + folder_files]
        for up in uploads or []:
            try:
                ds, fp = sup.load_upload_cached(up.getvalue(), up.name, **data_options(up.name))
            except ValueError as err:  # DataError is a ValueError
                _training.show_error(f"Cannot use {up.name}", err)
                continue
            cells.append(make_cell(up.name, ds, fp))
        for c in cells:
            c.config.validate()
    except ValueError as err:
        st.error(f"Impossible settings: {err}")
        st.stop()
    if not cells:
        st.info("Choose data sets in the sidebar: built-in ones, uploaded files or the files of a folder.")
        st.stop()
    done = store.done_keys(c.key for c in cells)
    missing = [c for c in cells if c.key not in done]
    c1, c2 = st.columns([1, 3])
    run = c1.button(f"Run {len(missing)} missing data sets" if missing else "All in the store", type="primary",
                    key="bench_run", disabled=not missing, icon=":material/play_arrow:")
    c2.caption(f"{len(cells)} data sets × {len(strategies)} methods × {int(n_seeds)} seeds · {backbone} · α0 = "
               f"{alpha0:g} · {int(epochs)} epochs · {len(done)} data sets already in the run store ({store.path}).")
    if run:
        bar, start, count = st.progress(0.0, text="Starting…"), time.perf_counter(), [0]

        def progress(line: str) -> None:
            count[0] += 1  # the first line announces the sweep, each later one is a finished data set
            n = count[0] - 1
            eta = sup.eta_text(n, len(missing), time.perf_counter() - start)
            bar.progress(n / len(missing), text=f"{n} of {len(missing)} data sets{eta}")

        report = run_sweep(missing, store, engine="local", workers=1, progress=progress)
        bar.empty()
        for label, err in report.failed:
            st.warning(f"{label}: {err}")
    return [c.key for c in cells]


def stored_cells() -> list[str]:
    """A benchmark already in the run store (e.g. a CLI sweep): cells that differ only in the data set."""
    groups = bm.stored_benchmarks(store.cell_configs())
    if not groups:
        st.info("The run store holds no results yet: run the grid, or a sweep (`python -m adcore sweep --spec`).")
        st.stop()
    pick = st.selectbox("Stored benchmark", range(len(groups)), key="bench_stored",
                        format_func=lambda i: groups[i]["label"])
    return groups[pick]["cells"]


SOURCES = {"grid": "Grid of the sidebar", "stored": "Stored benchmarks"}
source = st.segmented_control("Results", list(SOURCES), key="bench_source", default="grid", required=True,
                              format_func=SOURCES.get)
keys = grid_cells() if source == "grid" else stored_cells()
rows = store.rows(cells=keys)
if not rows:
    st.caption("Press the button to train the grid; finished data sets are stored as they finish.")
    st.stop()
metric = st.segmented_control("Metric", list(METRICS), key="bench_metric", default="auroc", required=True,
                              format_func=METRICS.get)
df = bm.tidy(rows, metric)
if df.empty:
    st.warning(f"No {METRICS[metric]} in these results: the test sets have no labels.")
    st.stop()
st.subheader(f"{METRICS[metric]} per data set (mean ± std over seeds)")
st.dataframe(bm.summary_table(df, metric), key="bench_table")
test = bm.friedman_nemenyi(bm.mean_matrix(df, metric))
if "p" in test:
    st.caption(f"Friedman test over {test['n_sets']} data sets: χ² = {test['statistic']:.2f}, p = {test['p']:.3g}. "
               f"Nemenyi critical difference of average ranks at α = 0.05: {test['cd']:.2f}.")
else:
    st.caption(f"No Friedman test: {test['note']}.")
_views.chart(bm.cd_figure(test), key="bench_cd")
_views.chart(bm.bars_figure(df, metric), key="bench_bars")
st.download_button("Results (CSV)", lambda: store.frame(cells=keys).to_csv(index=False).encode(),
                   "benchmark.csv", "text/csv", key="bench_dl", on_click="ignore", icon=":material/table_view:")
