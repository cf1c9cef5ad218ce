"""The trainer's fast paths (issue 15) change the cost, never the numbers: L_a skipped where no
member uses it, the history scored on its subsample every few epochs, members stacked in groups,
bfloat16 steps on request."""
import sys

import numpy as np
import pytest
import torch

import adcore.experiment as experiment
from adcore.backbones import build_backbone
from adcore.cli import main as cli_main
from adcore.experiment import ExperimentConfig, member_groups, run_experiment
from adcore.strategies.base import top_n_mask
from adcore.trainer import RECORDS, Member, TrainConfig, train
from adcore.validation import ConfigError

RNG = np.random.default_rng(0)
X = np.vstack([RNG.normal(size=(270, 4)), RNG.normal(4, 0.5, size=(30, 4))]).astype(np.float32)
Y = np.r_[np.zeros(270), np.ones(30)]
DEEPOD_NTL = {"n_trans": 11, "trans_hidden": (50,), "enc_hidden": (100, 50), "rep_dim": 128, "bias": False}


def test_anomaly_loss_is_skipped_only_where_no_member_uses_it(monkeypatch):
    calls = {"losses": 0, "normal_loss": 0}
    cls = type(build_backbone("vae", (4,), [0]))
    for name in calls:
        original = getattr(cls, name)

        def counted(self, *a, _name=name, _f=original, **kw):
            calls[_name] += 1
            return _f(self, *a, **kw)
        monkeypatch.setattr(cls, name, counted)
    cfg = TrainConfig(epochs=3, batch_size=100, warmup=1, record_every=3)
    blind = train("vae", [Member("blind", 0.1, 0), Member("refine", 0.1, 1)], X, config=cfg)
    assert calls["losses"] == 0 and calls["normal_loss"] == 9  # 3 epochs × 3 batches, L_a never computed
    assert np.isnan(blind.history.loss_anomaly).all() and np.isfinite(blind.history.loss_normal).all()
    calls.update(losses=0, normal_loss=0)
    loe = train("vae", [Member("loe_hard", 0.1, 0)], X, config=cfg)
    assert calls["losses"] == 6  # the warm-up epoch without L_a, then 2 epochs × 3 batches with it
    assert np.isnan(loe.history.loss_anomaly[0]).all() and np.isfinite(loe.history.loss_anomaly[1:]).all()


def test_vae_normal_loss_is_the_first_of_its_losses():
    m = build_backbone("vae", (4,), [0, 1])
    x = torch.tensor(X[:20]).expand(2, 20, 4)
    with torch.no_grad():
        assert torch.allclose(m.normal_loss(x), m.losses(x)[0])


def test_history_scores_its_subsample_every_few_epochs():
    res = train("deepsvdd", [Member("loe_hard", 0.1, 0), Member("blind", 0.1, 3)], X, y_train=Y,
                config=TrainConfig(epochs=100, batch_size=50, max_recorded_samples=40))
    h = res.history
    assert len(h.recorded_epochs) == RECORDS and h.recorded_epochs[-1] == 99
    assert h.train_scores.shape == (RECORDS, 2, 40) and h.sample_index.shape == (2, 40)
    assert np.allclose(h.train_scores[-1], np.take_along_axis(res.score(X), h.sample_index, 1), rtol=1e-5)
    assert np.isfinite(h.loss_normal).all()  # every epoch, from the steps, at no cost
    assert np.isnan(h.loss_anomaly[:2]).all() and np.isfinite(h.loss_anomaly[2:]).all()  # L_a after warm-up


def test_top_n_mask_with_a_known_maximum_flags_the_same():
    scores = torch.tensor([[0.3, 0.9, 0.1, 0.9, 0.5], [1.0, 2.0, 3.0, 4.0, 5.0]])
    counts = torch.tensor([[2], [1]])
    assert torch.equal(top_n_mask(scores, counts), top_n_mask(scores, counts, 4))
    assert top_n_mask(scores, counts, 4).sum(1).tolist() == [2, 1]


def test_member_groups_split_compute_bound_stacks_only():
    assert member_groups("ntl", (6,), {}, 15, 64) == [list(range(15))]
    big = member_groups("ntl", (6,), DEEPOD_NTL, 15, 64)
    assert len(big) > 1 and sorted(k for g in big for k in g) == list(range(15))
    assert max(map(len, big)) - min(map(len, big)) <= 1
    assert member_groups("iforest", (6,), {}, 4, 64) == [[0, 1, 2, 3]]
    assert member_groups("deepsvdd_cnn", (1, 28, 28), {}, 6, 128) == [list(range(6))]  # grouped convolutions


def test_grouped_members_train_as_in_one_stack(monkeypatch):
    cfg = ExperimentConfig(data="toy", backbone="deepsvdd", strategies=["blind", "loe_hard"], seeds=[0, 1],
                           epochs=3, batch_size=25, threads=1)
    one = run_experiment(cfg)
    monkeypatch.setattr(experiment, "STACK_WORK", 1.0)  # every member a stack of its own
    alone = run_experiment(cfg)
    assert len(one.train_results) == 1 and len(alone.train_results) == 4
    for a, b in zip(one.runs, alone.runs):
        assert (a["strategy"], a["seed"]) == (b["strategy"], b["seed"])
        assert a["auroc"] == pytest.approx(b["auroc"], abs=1e-6)


def test_bfloat16_steps_train_to_the_same_quality():
    base = dict(data="sklearn:breast_cancer", alpha0=0.05, backbone="ntl", strategies=["blind", "loe_hard"],
                seeds=[0], epochs=15, batch_size=64, threads=1)
    full = run_experiment(ExperimentConfig(**base))
    half = run_experiment(ExperimentConfig(**base, precision="bfloat16"))
    for a, b in zip(full.runs, half.runs):
        assert 0.6 < a["auroc"] < 0.99 and b["auroc"] == pytest.approx(a["auroc"], abs=0.03)
    for a, b in zip(full.test_scores, half.test_scores):
        assert not np.array_equal(a, b) and np.corrcoef(a, b)[0, 1] > 0.97
    again = run_experiment(ExperimentConfig(**base, precision="bfloat16"))
    assert all(np.array_equal(a, b) for a, b in zip(half.test_scores, again.test_scores))  # reproducible


def test_precision_is_checked_and_reaches_the_cli(tmp_path, capsys):
    with pytest.raises(ConfigError, match="precision"):
        ExperimentConfig(precision="float16").validate()
    out = tmp_path / "r.json"
    assert cli_main(["run", "--data", "toy", "--epochs", "2", "--threads", "1", "--precision", "bfloat16",
                     "--out", str(out)]) == 0
    assert '"precision": "bfloat16"' in out.read_text()


HOST_READS = ("__bool__", "__int__", "__float__", "__index__", "item", "tolist", "numpy", "cpu")


def _host_reads(monkeypatch, run) -> int:
    """How often our code in ``run()`` reads a tensor back to the host (on a GPU each read is a
    synchronisation; torch's own CPU Adam reads its step counters, the CUDA one is fused)."""
    count = [0]
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *a, _f=original, **kw):
            count[0] += "adcore" in sys._getframe(1).f_code.co_filename
            return _f(self, *a, **kw)
        monkeypatch.setattr(torch.Tensor, name, counted)
    run()
    monkeypatch.undo()
    return count[0]


@pytest.mark.parametrize("strategy", ["blind", "loe_hard", "loe_soft", "refine", "sad", "soel", "pu"])
def test_training_steps_never_read_the_device(monkeypatch, strategy):
    lab = np.zeros(len(X), bool)
    lab[-10:] = True  # labelled anomalies among the data, so that the unsupervised rows leave them out
    def run(batch):
        return lambda: train("deepsvdd", [Member(strategy, 0.1, 0), Member("loe_hard", 0.1, 1)], X, labeled=lab,
                             config=TrainConfig(epochs=4, batch_size=batch, warmup=1, record_every=4))
    few, many = _host_reads(monkeypatch, run(150)), _host_reads(monkeypatch, run(15))  # 2 vs 20 steps an epoch
    assert many == few, f"{many - few} more host reads with 18 more steps per epoch"


@pytest.mark.parametrize("name", ["ntl", "icl"])
def test_bfloat16_steps_keep_the_contrastive_similarities_in_float32(name):
    m = build_backbone(name, (6,), [0, 1], {"tau": 0.01})
    x = torch.randn(2, 16, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full = m.similarities(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = m.similarities(x)
    assert half.dtype == torch.float32  # 1/τ = 100 would blow bfloat16's 3 digits up to whole logits
    assert (half - full).abs().max() < 0.05 * (1 / 0.01)
