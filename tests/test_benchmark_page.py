"""Benchmark computations (ranks, Friedman, Nemenyi CD) and the app's pages on the run store:
the Benchmark page runs a grid and loads it back; Compare and Sensitivity survive a restart."""
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

os.environ["ADLAB_NO_WARMUP"] = "1"

from streamlit.testing.v1 import AppTest  # noqa: E402

from adcore import app_support as sup  # noqa: E402
from adcore import benchmark as bm  # noqa: E402
from adcore import engines  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def fresh_store(tmp_path, monkeypatch):
    """The app's run store in a new file, and an empty in-memory run cache."""
    monkeypatch.setenv("ADLAB_STORE", str(tmp_path / "runs.sqlite"))
    sup.STORE.clear()
    yield tmp_path / "runs.sqlite"
    sup.STORE.clear()


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    no_errors(at)
    return at


def no_errors(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def test_nemenyi_cd_matches_demsar_table():
    # Demšar (2006) Table 5(a), q_0.05 for k = 2..10, and CD = q √(k(k+1)/6N)
    q = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    for k, qk in zip(range(2, 11), q):
        assert bm.nemenyi_cd(k, 6) == pytest.approx(qk * np.sqrt(k * (k + 1) / 36), abs=2e-3)


def test_ranks_friedman_and_cliques():
    means = pd.DataFrame({"A": [0.9, 0.8, 0.85, 0.7], "B": [0.8, 0.8, 0.75, 0.6], "C": [0.7, 0.6, 0.65, 0.65]},
                         index=["s1", "s2", "s3", "s4"])
    ranks = bm.average_ranks(means)
    assert ranks.to_dict() == {"A": 1.125, "B": 2.125, "C": 2.75}  # the tie on s2 shares rank 1.5
    test = bm.friedman_nemenyi(means)
    ref = stats.friedmanchisquare(means["A"], means["B"], means["C"])
    assert test["p"] == pytest.approx(ref.pvalue) and test["n_sets"] == 4 and test["k"] == 3
    assert bm.cliques(ranks, test["cd"]) == [["A", "B", "C"]]  # CD 1.66 > 2.75 - 1.125
    assert bm.cliques(ranks, 1.1) == [["A", "B"], ["B", "C"]]
    assert bm.cliques(ranks, 0.5) == []  # every pair differs by more than the CD
    few = bm.friedman_nemenyi(means[["A", "B"]])
    assert "p" not in few and "3 methods" in few["note"]


def test_table_labels_and_figures():
    rows = [{"data": d, "alpha0": 0.1, "backbone": b, "strategy": s, "seed": seed, "auroc": 0.5 + 0.1 * seed}
            for d in ("sklearn:wine", "/data/adbench/38_thyroid.npz") for b in ("deepsvdd", "ntl")
            for s in ("blind", "loe_hard") for seed in (0, 1)]
    df = bm.tidy(rows)
    assert set(df["dataset"]) == {"sklearn:wine", "38_thyroid.npz"}
    assert set(df["method"]) == {"Blind · deepsvdd", "LOE-hard · deepsvdd", "Blind · ntl", "LOE-hard · ntl"}
    table = bm.summary_table(df)
    assert table.loc["sklearn:wine", "Blind · ntl"] == "0.550 ± 0.050"
    assert table.loc["average rank"].tolist() == ["2.50"] * 4
    bars = bm.bars_figure(df)
    assert len(bars.data) == 4 and np.allclose(bars.data[0].error_y.array, [0.05, 0.05])  # as the table: ddof 0
    two_alphas = bm.tidy([{**r, "alpha0": a} for r in rows[:2] for a in (0.05, 0.1)])
    assert set(two_alphas["dataset"]) == {"sklearn:wine (α0=0.05)", "sklearn:wine (α0=0.1)"}


def grid_page(folder) -> AppTest:
    """The Benchmark page set to 2 built-in sets + the files of ``folder``, 3 methods × 2 seeds, 3 epochs."""
    at = open_page("benchmark")
    at.multiselect(key="bench_builtin").set_value(["sklearn:wine", "sklearn:breast_cancer"]).run()
    at.text_input(key="bench_folder").set_value(str(folder)).run()
    at.multiselect(key="bench_strategies").set_value(["blind", "refine", "loe_hard"]).run()
    at.slider(key="bench_seeds").set_value(2).run()
    at.number_input(key="bench_epochs").set_value(3).run()
    no_errors(at)
    return at


def test_benchmark_page_runs_the_grid_then_loads_it_from_the_store(fresh_store, tmp_path, monkeypatch):
    folder = tmp_path / "sets"
    folder.mkdir()
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(150, 4)), rng.normal(3, 1, size=(30, 4))]
    np.savez(folder / "blobs.npz", X=X, y=(np.arange(180) >= 150).astype(int))
    at = grid_page(folder)
    assert at.button(key="bench_run").label == "Run 3 missing data sets"
    at.button(key="bench_run").click().run()
    no_errors(at)
    table = at.dataframe[0].value
    assert list(table.index) == ["sklearn:wine", "sklearn:breast_cancer", "blobs.npz", "average rank"]
    assert list(table.columns) == ["Blind", "Refine", "LOE-hard"]
    assert all(" ± " in v for v in table.iloc[:3].to_numpy().ravel())
    cd, bars = charts(at)
    assert "Critical difference" in cd["layout"]["title"]["text"] and "3 data sets" in cd["layout"]["title"]["text"]
    assert [t["type"] for t in bars["data"]] == ["bar"] * 3

    def no_training(*a, **k):
        raise AssertionError("a stored data set was trained again")

    monkeypatch.setattr(engines, "run_cell", no_training)
    sup.STORE.clear()  # as after a restart: only the run store is left
    again = grid_page(folder)
    assert again.button(key="bench_run").disabled
    assert again.dataframe[0].value.equals(table)
    again.button_group(key="bench_source").set_value("stored").run()  # the same benchmark, picked from the store
    no_errors(again)
    assert "3 data sets" in again.selectbox(key="bench_stored").options[0]
    assert again.dataframe[0].value.equals(table)


def test_stored_cells_group_into_benchmarks_by_everything_but_the_data():
    base = {"backbone": "deepsvdd", "alpha0": 0.1, "strategies": ["blind"], "seeds": [0, 1], "epochs": 5, "lr": 0.001}
    configs = {"a": {**base, "data": "toy"}, "b": {**base, "data": "sklearn:wine"},
               "c": {**base, "data": "toy", "lr": 0.01}, "d": {**base, "data": "toy", "batch_size": 32}}
    groups = bm.stored_benchmarks(configs)
    assert [g["cells"] for g in groups] == [["a", "b"], ["c"], ["d"]]
    assert groups[0]["label"] == "deepsvdd · α0 = 0.1 · 1 methods × 2 seeds · 5 epochs · lr 0.001 · 2 data sets"
    assert groups[2]["label"].endswith("lr 0.001 · variant 2 · 1 data sets")  # differs from a/b in batch size


def test_compare_and_sensitivity_results_survive_a_restart(fresh_store):
    at = open_page("compare")
    at.number_input(key="cmp_epochs").set_value(5).run()
    at.slider(key="cmp_seeds").set_value(2).run()
    at.button(key="cmp_run").click().run()
    no_errors(at)
    trained = at.dataframe[0].value
    sup.STORE.clear()  # a restart: the in-memory cache is gone
    back = open_page("compare")
    back.number_input(key="cmp_epochs").set_value(5).run()
    back.slider(key="cmp_seeds").set_value(2).run()
    no_errors(back)
    assert [s.value for s in back.subheader] == ["Leaderboard from the run store"]
    stored = back.dataframe[0].value
    assert list(stored["method"]) == list(trained["method"])
    assert list(stored["AUROC"]) == list(trained["AUROC"])

    sens = open_page("sensitivity")
    sens.number_input(key="sens_epochs").set_value(4).run()
    sens.text_input(key="sens_alpha0s").set_value("0.05, 0.1").run()
    sens.button(key="sens_run").click().run()
    no_errors(sens)
    first = charts(sens)[0]
    sup.STORE.clear()
    sens = open_page("sensitivity")
    sens.number_input(key="sens_epochs").set_value(4).run()
    sens.text_input(key="sens_alpha0s").set_value("0.05, 0.1").run()
    no_errors(sens)
    assert charts(sens)[0]["data"] == first["data"]  # drawn from the store, without pressing the button
