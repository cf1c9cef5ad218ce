"""Figure builders (adcore.plots), page-agnostic helpers (adcore.app_support) and embeddings."""
import io
import json
import threading

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from adcore import app_support as sup
from adcore import plots
from adcore.data import DataError
from adcore.embedding import embed_2d, subsample
from adcore.experiment import ExperimentConfig, run_experiment


@pytest.fixture(scope="module")
def toy_run():
    grid = sup.toy_grid(resolution=25)
    cfg = sup.toy_config(epochs=12, strategies=["blind", "refine", "loe_hard", "gtruth"])
    return run_experiment(cfg, eval_sets={"grid": grid[2]}), grid


@pytest.fixture(scope="module")
def iad_run():
    cfg = sup.toy_config(epochs=9, strategies=["blind", "iad"], seeds=[0, 1],
                         strategy_params={"iad": {"epochs_per_round": 3}})
    return run_experiment(cfg)


def _traces(fig, kind):
    return [t for t in fig.data if t.type == kind]


def test_contour_grid_draws_one_panel_per_strategy_with_boundary_and_flags(toy_run):
    result, grid = toy_run
    fig = plots.toy_contours(result, grid)
    assert isinstance(fig, go.Figure)
    contours = _traces(fig, "contour")
    fills = [t for t in contours if t.contours.coloring == "heatmap"]
    lines = [t for t in contours if t.contours.coloring == "lines"]
    assert len(fills) == 4 and len(lines) == 4  # one score map and one boundary per strategy
    assert [a.text for a in fig.layout.annotations][:4] == ["(a) Blind", "(b) Refine", "(c) LOE-hard", "(d) G-truth"]
    names = {t.name for t in _traces(fig, "scatter")}
    assert {"true normal", "true anomaly", "latent label: anomaly"} <= names
    # the boundary is the (1 − α) quantile of the training scores at that epoch
    h = result.history(0)
    assert lines[0].contours.start == pytest.approx(np.log10(np.quantile(h.train_scores[-1, 0], 0.9)), rel=1e-6)


def test_contour_epoch_replay_uses_recorded_grid_scores(toy_run):
    result, grid = toy_run
    first = plots.toy_contours(result, grid, epoch_pos=0)
    last = plots.toy_contours(result, grid, epoch_pos=-1)
    z0, z1 = np.asarray(_traces(first, "contour")[0].z), np.asarray(_traces(last, "contour")[0].z)
    assert z0.shape == z1.shape == (25, 25)
    assert not np.allclose(z0, z1)


def test_roc_histogram_losses_and_pseudo_labels(toy_run):
    result, _ = toy_run
    roc = plots.result_roc(result)
    assert len(_traces(roc, "scatter")) == 1 + 4 and "AUROC" in roc.data[1].name
    k = 1
    hist = plots.score_histogram(result.test_scores[k], result.split_of(k).test.y, sup.member_threshold(result, k))
    assert len(_traces(hist, "histogram")) == 2 and hist.layout.shapes  # two classes and the threshold line
    assert len(_traces(plots.score_histogram(result.test_scores[k]), "histogram")) == 1  # unlabelled
    assert len(plots.loss_figure(result).data) == 3 * 4
    pl = plots.pseudo_label_figure(result, [1, 2])
    assert len(pl.data) == 4 and pl.layout.annotations[0].text.startswith("precision")


def test_iad_figures_and_guards(iad_run):
    k = [i for i, m in enumerate(iad_run.members) if m.strategy == "iad"][0]
    extra = iad_run.history(k).extra
    fig = plots.iad_weight_figure(extra)
    assert len(fig.data) == 4
    dist = plots.iad_weight_distribution(extra)
    assert np.asarray(dist.data[0].z).shape[0] == len(extra["iad_h"])  # a row per round
    h = plots.iad_h_figure(extra)
    assert any("selected round" in (t.name or "") for t in h.data)
    assert "No IAD rounds" in plots.iad_h_figure({}).layout.annotations[0].text
    no_labels = {k: v for k, v in extra.items() if "normal" not in k and "anomaly" not in k}
    assert "labels" in plots.iad_weight_figure(no_labels).layout.annotations[0].text


def test_sweep_matrix_and_leaderboard_figures():
    rows = [{"strategy": s, "alpha0": a0, "alpha": a, "seed": sd, "auroc": 0.5 + a0 + 0.01 * sd}
            for s in ("blind", "loe_hard") for a0 in (0.05, 0.1) for a in (0.05, 0.1) for sd in (0, 1)]
    line = plots.sweep_figure(rows)
    assert len(line.data) == 2 and list(line.data[0].x) == [0.05, 0.1]
    assert np.asarray(plots.sweep_heatmap(rows).data[0].z).shape == (2, 2)
    mat = plots.matrix_heatmaps(rows)
    assert len(_traces(mat, "heatmap")) == 2
    assert "No results" in plots.sweep_figure([]).layout.annotations[0].text
    table = plots.leaderboard_figure(sup.leaderboard([{"strategy": "blind", "seed": 0, "auroc": 0.6,
                                                       "fit_seconds": 1.0}]))
    assert table.data[0].type == "table"


def test_embedding_scatter_notes_subsampling():
    emb = embed_2d(np.random.default_rng(0).normal(size=(300, 5)), "tsne", max_points=120)
    assert emb.coords.shape == (120, 2) and emb.subsampled and "120 of 300" in emb.note
    fig = plots.embedding_scatter(emb.coords, np.arange(120) % 2, "label", note=emb.note)
    assert fig.layout.annotations[0].text == emb.note and len(fig.data) == 2
    assert len(plots.embedding_scatter(emb.coords, np.arange(120.0), "value").data) == 1
    assert list(subsample(10, 20)) == list(range(10))


def test_query_params_round_trip():
    defaults = sup.toy_config()
    cfg = sup.toy_config(alpha0=0.2, alpha=0.15, strategies=["blind", "loe_soft"], seeds=[1, 2], epochs=80,
                         backbone_params={"n_centers": 4}, data_options={"n_samples": 150})
    q = sup.config_to_query(cfg, defaults)
    assert "lr" not in q and q["alpha0"] == "0.2" and q["strategies"] == "blind,loe_soft"
    assert sup.config_from_query(q, defaults) == cfg
    assert sup.config_from_query({}, defaults) == defaults
    assert sup.config_from_query({"view": "x"}, defaults) == defaults  # view settings may share the URL
    with pytest.raises(ValueError, match="epochs"):
        sup.config_from_query({"epochs": "many"}, defaults)


def test_json_export_reloads_as_config_and_csv_has_labels(toy_run):
    result, _ = toy_run
    data = json.loads(sup.result_json(result))
    assert sup.config_from_json(sup.result_json(result)) == result.config
    assert {"config", "runs", "summary", "thresholds", "leaderboard", "environment"} <= set(data)
    import pandas as pd

    df = pd.read_csv(io.BytesIO(sup.scores_csv(result)))
    assert {"strategy", "seed", "y_true", "score", "threshold", "predicted_anomaly"} <= set(df.columns)
    assert len(df) == sum(len(s) for s in result.test_scores)
    with pytest.raises(ValueError):
        sup.config_from_json(b"not json")


def test_model_file_round_trip_with_weights_only(toy_run):
    result, _ = toy_run
    blob = sup.model_bytes(result)
    payload = torch.load(io.BytesIO(blob), weights_only=True)  # plain tensors, strings and containers only
    assert payload["format"] == sup.MODEL_FORMAT
    model = sup.load_model(blob)
    X = result.split_of(0).test.X
    for k in range(len(result.members)):
        np.testing.assert_allclose(model.score(X, k), result.test_scores[k], rtol=1e-5, atol=1e-6)
    assert model.config == result.config
    with pytest.raises(ValueError):
        sup.load_model(b"garbage")


def test_standardised_model_applies_the_training_scaler():
    cfg = ExperimentConfig(data="sklearn:wine", backbone="deepsvdd", strategies=["blind"], epochs=2, alpha0=0.1)
    result = run_experiment(cfg)
    model = sup.load_model(sup.model_bytes(result))
    from adcore.data import load_sklearn

    ds = load_sklearn("wine")
    mean, std = result.splits[0].scaler
    np.testing.assert_allclose(model.score(ds.X[:5]), result.score(0, (ds.X[:5] - mean) / std), rtol=1e-4, atol=1e-5)


def test_leaderboard_paired_test_against_blind():
    runs = [{"strategy": s, "seed": sd, "auroc": base + sd * 0.01, "ap": 0.5, "f1": 0.4, "fit_seconds": 1.0}
            for s, base in (("blind", 0.6), ("loe_hard", 0.8)) for sd in range(3)]
    runs[3]["auroc"] += 0.004  # differences vary a little, so the t-test has a variance
    rows = {r["strategy"]: r for r in sup.leaderboard(runs)}
    assert rows["blind"]["sig."] == "baseline"
    assert rows["loe_hard"]["p vs blind"] < 0.01 and rows["loe_hard"]["sig."] == "**"
    assert rows["loe_hard"]["AUROC mean"] == pytest.approx(np.mean([r["auroc"] for r in runs[3:]]))
    one = sup.leaderboard([r for r in runs if r["seed"] == 0])
    assert one[1]["sig."] == "–"  # one seed: no test
    assert np.isnan(sup.paired_test([0.5], [0.4]))


def test_mixture_rows_validate_with_clear_messages():
    rows = sup.mixture_rows()
    assert len(rows) == 3 and rows[0]["variance"] == pytest.approx(0.07)
    assert sup.components_from_rows(rows)[1] == {"mean": [-0.25, 2.5], "cov": 0.03, "weight": 1.0, "anomalous": True}
    with pytest.raises(DataError, match="anomalous"):
        sup.components_from_rows([r for r in rows if not r["anomalous"]])
    with pytest.raises(DataError, match="variance must be positive"):
        sup.components_from_rows([{**rows[0], "variance": 0}] + rows[1:])
    with pytest.raises(DataError, match="numbers"):
        sup.components_from_rows([{**rows[0], "mean x": None}] + rows[1:])
    xs, ys, pts = sup.toy_grid(resolution=10)
    assert pts.shape == (100, 2) and xs[0] < -1 < 1 < xs[-1]


def test_store_computes_once_and_keeps_nothing_after_an_interrupt():
    store = sup.RunStore(max_items=2)
    calls = []

    def slow(report):
        calls.append(1)
        report(1, 2)
        return "value"

    results = []
    threads = [threading.Thread(target=lambda: results.append(store.get_or_run("k", slow))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["value"] * 3 and len(calls) == 1

    class Interrupt(BaseException):  # like Streamlit's rerun exception, raised in a progress update
        pass

    def interrupted(report):
        report(1, 10)

    def progress(done, total):
        raise Interrupt()

    with pytest.raises(Interrupt):
        store.get_or_run("j", interrupted, progress)
    assert store.get("j") is None and store.running("j") is None
    store.put("a", 1)
    store.put("b", 2)
    assert "k" not in store  # LRU: at most two items


def test_run_cached_cancel_raises_and_stores_nothing():
    store = sup.RunStore()
    cfg = sup.toy_config(epochs=50, strategies=["blind"])
    with pytest.raises(sup.Cancelled) as info:
        sup.run_cached(cfg, should_stop=lambda: True, store=store)
    assert info.value.partial.runs[0]["epochs_trained"] == 0
    assert sup.run_key(cfg) not in store
