"""The trainer, backbones and experiment runner: directions of the losses, stacking,
reproducibility, history, and LOE beating Blind on the LOE toy data."""
import numpy as np
import pytest
import torch

from adcore.backbones import build_backbone
from adcore.data.toy import TOY_TRAINING
from adcore.experiment import ExperimentConfig, run_experiment
from adcore.registry import BACKBONES, STRATEGIES
from adcore.trainer import Member, TrainConfig, train

RNG = np.random.default_rng(0)
X = np.vstack([RNG.normal(size=(90, 4)), RNG.normal(4, 0.5, size=(10, 4))]).astype(np.float32)
Y = np.r_[np.zeros(90), np.ones(10)]


def test_deepsvdd_losses_point_the_right_way():
    m = build_backbone("deepsvdd", (4,), [0])
    m.setup(torch.tensor(X)[None])
    near = m.center.detach().clone()
    with torch.no_grad():
        dist = lambda x: (m.embed(x) - m.center).pow(2).sum(-1)  # noqa: E731
        ln, la = m.losses(torch.tensor(X)[None])
    d = dist(torch.tensor(X)[None])
    order = torch.argsort(d[0])
    assert torch.all(torch.diff(ln[0, order]) >= 0) and torch.all(torch.diff(la[0, order]) <= 0)
    assert torch.allclose(ln, d) and torch.allclose(la, 1 / (d + 1e-6))
    assert near.abs().min() >= 0.1 - 1e-6  # centers near zero are pushed to ±eps


def test_autoencoder_abc_anomaly_loss():
    m = build_backbone("ae", (4,), [0])
    with torch.no_grad():
        ln, la = m.losses(torch.tensor(X)[None])
    assert torch.allclose(la, -torch.log(1 - torch.exp(-ln)), rtol=1e-4)
    order = torch.argsort(ln[0])
    assert torch.all(torch.diff(la[0, order]) <= 1e-6)


def test_stacked_member_trains_like_a_single_model():
    cfg = TrainConfig(epochs=5, batch_size=32, lr=1e-2)
    stacked = train("deepsvdd", [Member("loe_hard", 0.1, s) for s in (0, 1, 2)], X, config=cfg)
    alone = train("deepsvdd", [Member("loe_hard", 0.1, 1)], X, config=cfg)
    assert np.allclose(stacked.score(X)[1], alone.score(X)[0], rtol=1e-4, atol=1e-5)
    assert not np.allclose(stacked.score(X)[0], stacked.score(X)[1])


def test_same_seed_same_numbers():
    cfg = TrainConfig(epochs=3, batch_size=16)
    a = train("dae", [Member("loe_soft", 0.1, 7)], X, config=cfg).score(X)
    b = train("dae", [Member("loe_soft", 0.1, 7)], X, config=cfg).score(X)
    assert np.array_equal(a, b)


def test_history_records_everything_the_plots_need():
    calls = []
    res = train("deepsvdd", [Member("loe_hard", 0.1, 0), Member("blind", 0.1, 0)], X, y_train=Y, X_test=X, y_test=Y,
                config=TrainConfig(epochs=4, batch_size=25, warmup=1, record_every=2, test_every=2),
                eval_sets={"grid": X[:7]}, progress=lambda e, E, info: calls.append(e))
    h = res.history
    assert calls == [1, 2, 3, 4]
    assert h.loss_total.shape == (4, 2) and np.isfinite(h.loss_total).all()
    assert h.recorded_epochs.tolist() == [1, 3]
    assert h.train_scores.shape == (2, 2, 100) and h.eval["grid"].shape == (2, 2, 7)
    assert h.flags[:, 0].sum(1).tolist() == [8, 8]  # 4 batches × ⌊0.1·25⌋ flags per batch
    assert not h.flags[:, 1].any()
    assert np.isnan(h.precision[0, 0]) and 0 <= h.precision[3, 0] <= 1  # warm-up epoch flags nothing
    assert np.isfinite(h.test_auroc).all()
    assert h.member(0).strategies == ["loe_hard"] and h.member(1).train_scores.shape == (2, 1, 100)
    assert len(h.epoch_table()) == 8


def test_stop_flag_ends_training_early():
    state = {"n": 0}

    def stop():
        state["n"] += 1
        return state["n"] > 2

    res = train("deepsvdd", [Member("blind")], X, config=TrainConfig(epochs=50), should_stop=stop)
    assert res.stopped and res.history.n_epochs == 2


@pytest.mark.parametrize("backbone", [b for b in BACKBONES.names()
                                      if "tabular" in BACKBONES.get(b).data_kinds])
def test_every_tabular_backbone_runs_with_every_strategy(backbone):
    strategies = [s for s in STRATEGIES.names() if not s.startswith("iad")] + ["iad"] * ("iad" in STRATEGIES.names())
    members = [Member(s, 0.1, 0) for s in dict.fromkeys(strategies)]
    res = train(backbone, members, X[:, :2] if backbone == "deepsvdd_rbf" else X, y_train=Y,
                config=TrainConfig(epochs=2, batch_size=50, warmup=0))
    scores = res.score(X[:, :2] if backbone == "deepsvdd_rbf" else X)
    assert scores.shape == (len(members), 100) and np.isfinite(scores).all()
    assert np.isfinite(res.history.loss_total).all()


def test_loe_beats_blind_on_the_loe_toy_data():
    """LOE Fig. 1 / Sec. 4.1: on the 2-D mixture with the RBF Deep SVDD (α0 = α = 0.1,
    batch 25, 200 epochs), LOE-hard and LOE-soft beat Blind; G-truth is at least as good."""
    cfg = ExperimentConfig(data="toy", backbone="deepsvdd_rbf", seeds=[0, 1, 2, 3, 4],
                           strategies=["blind", "loe_hard", "loe_soft", "gtruth"], **TOY_TRAINING)
    s = {k: v["auroc"]["mean"] for k, v in run_experiment(cfg).summary.items()}
    assert s["loe_hard"] > s["blind"] and s["loe_soft"] > s["blind"]
    assert s["gtruth"] >= s["blind"]


def test_experiment_json_reproduces_the_run():
    cfg = ExperimentConfig(data="sklearn:breast_cancer", backbone="ae", strategies=["blind", "loe_soft"],
                           seeds=[0, 1], epochs=3, alpha0=0.05, shortage="reduce_normals")
    first = run_experiment(cfg)
    again = run_experiment(ExperimentConfig.from_dict(first.to_json()["config"]))
    assert [r["auroc"] for r in first.runs] == [r["auroc"] for r in again.runs]
    assert first.to_json()["config"]["protocol"] == "split"
    assert set(first.summary) == {"blind", "loe_soft"} and first.summary["blind"]["n_seeds"] == 2


def test_experiment_rejects_impossible_settings():
    with pytest.raises(ValueError, match="unknown backbone"):
        run_experiment(ExperimentConfig(backbone="resnet9000"))
    with pytest.raises(ValueError, match="has no parameter"):
        run_experiment(ExperimentConfig(backbone="ae", backbone_params={"depth": 3}))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\)"):
        run_experiment(ExperimentConfig(alpha=1.5))
