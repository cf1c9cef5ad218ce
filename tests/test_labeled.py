"""Labelled anomalies: the PU, SAD and SOEL objectives, balanced batches and the unsupervised rows leaving them out."""
import numpy as np
import pytest
import torch

from adcore.batching import BatchPlan
from adcore.registry import STRATEGIES
from adcore.strategies.base import Batch
from adcore.trainer import Member, TrainConfig, train
from adcore.weighting import Weighting

LN = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
LA = torch.tensor([[0.5, 0.4, 0.3, 0.2, 0.1, 0.05]])
LAB = torch.tensor([[False, False, False, False, True, True]])


def objective(name, alpha=0.2, warm=False, **hp):
    strat = STRATEGIES.get(name)(1, 6, **STRATEGIES.resolve_params(name, hp))
    batch = Batch(LN - LA, LN, LA, torch.tensor([[alpha]]), torch.arange(6)[None], 5, None, LAB, warm)
    return strat.objective(batch, LN, LA)


def test_pu_objective_is_eq_13_by_hand():
    loss, (wn, wa, flag) = objective("pu", alpha=0.2)
    l_a_pos = (0.1 + 0.05) / 2
    l_u_neg = (1 + 2 + 3 + 4) / 4
    l_a_neg = (5 + 6) / 2
    assert loss.item() == pytest.approx(0.2 * l_a_pos + abs(l_u_neg - 0.2 * l_a_neg))
    assert flag.tolist() == LAB.tolist()


def test_pu_absolute_value_and_non_negative_correction():
    # α large enough that L_U^- − α L_A^- < 0: abs flips it, nn steps against it, none keeps it
    neg = (1 + 2 + 3 + 4) / 4 - 0.9 * (5 + 6) / 2
    pos = 0.9 * (0.1 + 0.05) / 2
    assert neg < 0
    assert objective("pu", alpha=0.9)[0].item() == pytest.approx(pos - neg)
    assert objective("pu", alpha=0.9, correction="none")[0].item() == pytest.approx(pos + neg)
    assert objective("pu", alpha=0.9, correction="nn", gamma=2.0)[0].item() == pytest.approx(-2.0 * neg)


def test_sad_joint_and_separate_means():
    joint = objective("sad", eta=2.0)[0].item()
    assert joint == pytest.approx((1 + 2 + 3 + 4 + 2 * (0.1 + 0.05)) / 6)
    sep = objective("sad", eta=2.0, reduction="separate")[0].item()
    assert sep == pytest.approx((1 + 2 + 3 + 4) / 4 + 2 * (0.1 + 0.05) / 2)


def test_soel_flags_top_alpha_of_the_unlabelled_only():
    # B_U = 4, α = 0.5 → two flags among the unlabelled, by S_train = L_n − L_a: samples 3 and 2
    loss, (wn, wa, flag) = objective("soel", alpha=0.5)
    assert flag[0].tolist() == [False, False, True, True, True, True]
    assert loss.item() == pytest.approx((1 + 2 + 0.3 + 0.2) / 4 + (0.1 + 0.05) / 2)
    warm = objective("soel", alpha=0.5, warm=True)[0].item()
    assert warm == pytest.approx((1 + 2 + 3 + 4) / 4 + (0.1 + 0.05) / 2)


def test_unsupervised_rows_leave_labelled_anomalies_out():
    w = Weighting([Member("loe_hard", 0.5, 0), Member("sad", 0.5, 0)], 6, 0, torch.device("cpu"))
    loss, wn, wa, flag = w.loss(LN.repeat(2, 1), LA.repeat(2, 1), torch.arange(6).repeat(2, 1), 3, None,
                                LAB.repeat(2, 1))
    # LOE: ⌊0.5 · 4⌋ = 2 flags among the 4 unlabelled; the labelled ones get no weight and no flag
    assert flag[0].tolist() == [False, False, True, True, False, False]
    assert wn[0, 4:].tolist() == [0, 0] and wa[0, 4:].tolist() == [0, 0]
    assert loss[0].item() == pytest.approx((1 + 2 + 0.3 + 0.2) / 4)
    assert loss[1].item() == pytest.approx((1 + 2 + 3 + 4 + 0.1 + 0.05) / 6)


def test_balanced_batches_hold_the_requested_numbers():
    labeled = torch.zeros(2, 50, dtype=torch.bool)
    labeled[0, [3, 7, 11]] = True
    labeled[1, [0, 1, 2]] = True
    plan = BatchPlan(labeled, 50, 16, 5, [0, 1], torch.device("cpu"))
    batches = list(plan.epoch())
    assert [b.shape[1] for b in batches] == [21, 21, 20]  # 47 unlabelled in batches of 16, + 5 labelled each
    for k in range(2):
        seen = torch.cat([b[k] for b in batches])
        is_lab = labeled[k, seen]
        assert int((~is_lab).sum()) == 47 and len(set(seen[~is_lab].tolist())) == 47  # each unlabelled once
        assert all(int(labeled[k, b[k]].sum()) == 5 for b in batches)
        counts = np.bincount(seen[is_lab].numpy(), minlength=50)[labeled[k].numpy()]
        assert counts.max() - counts.min() <= 1  # the labelled set is cycled evenly
    assert plan.step_size == 21


def test_balanced_batches_need_equal_labelled_counts():
    labeled = torch.zeros(2, 10, dtype=torch.bool)
    labeled[0, 1] = True
    with pytest.raises(ValueError, match="same number"):
        BatchPlan(labeled, 10, 4, 2, [0, 1], torch.device("cpu"))


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=(300, 4)).astype(np.float32)
    anomalies = (rng.normal(size=(40, 4)) + 3.0).astype(np.float32)
    X = np.concatenate([normal, anomalies])
    labeled = np.r_[np.zeros(320, bool), np.ones(20, bool)]  # 20 unlabelled anomalies contaminate U, 20 labelled
    return X, labeled


@pytest.mark.parametrize("strategy", ["sad", "pu"])
def test_labelled_anomalies_score_higher_than_under_blind(strategy):
    X, labeled = _blobs()
    cfg = TrainConfig(epochs=15, batch_size=64, lr=1e-3, labeled_batch=16)
    res = train("deepsvdd", [Member("blind", 0.06, 0), Member(strategy, 0.06, 0)], X, labeled=labeled, config=cfg)
    s = res.score(X)
    gap = [s[k, labeled].mean() / s[k, :300].mean() for k in range(2)]
    assert gap[1] > 2 * gap[0]


def test_soel_without_labels_is_loe():
    X, _ = _blobs()
    cfg = TrainConfig(epochs=6, batch_size=64)
    res = train("deepsvdd", [Member("loe_hard", 0.1, 3), Member("soel", 0.1, 3)], X, config=cfg)
    s = res.score(X)
    np.testing.assert_allclose(s[0], s[1], rtol=1e-4, atol=1e-6)


def test_known_anomalies_of_a_file_always_train_as_labelled():
    from adcore.data import Dataset, make_split

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 3)), rng.normal(3, 1, size=(40, 3))])
    known = np.r_[np.zeros(230, bool), np.ones(10, bool)]
    ds = Dataset(X, np.r_[np.zeros(200), np.ones(40)], known, name="file")
    s = make_split(ds, "split", 0.05, 0, n_labeled=3)
    assert s.info["n_labeled"] == 13 and s.train.labeled.sum() == 13
    assert s.test.labeled is None and s.test.y.sum() == 30 - 3 - round(0.05 * 100 / 0.95)
    t = make_split(ds, "transductive", None, 0, n_labeled=2)
    assert t.train.labeled.sum() == 12 and known[t.train.labeled].sum() == 10


@pytest.mark.parametrize("data, protocol", [("blobs", "split"), ("toy", "fresh"), ("blobs", "loe")])
def test_unsupervised_methods_train_the_same_with_or_without_labelled_anomalies(data, protocol):
    from adcore.data import Dataset
    from adcore.experiment import ExperimentConfig, run_experiment

    rng = np.random.default_rng(0)
    ds = None if data == "toy" else Dataset(np.vstack([rng.normal(size=(200, 3)), rng.normal(3, 1, (40, 3))]),
                                            np.r_[np.zeros(200), np.ones(40)], name="blobs")
    base = ExperimentConfig(data=data, protocol=protocol, alpha0=0.05, backbone="deepsvdd",
                            strategies=["blind", "loe_hard"], epochs=3, batch_size=32)
    plain = run_experiment(base, ds)
    more = run_experiment(ExperimentConfig(**{**base.to_dict(), "n_labeled": 6}), ds)
    np.testing.assert_array_equal(plain.splits[0].train.X, more.splits[0].train.X)
    assert more.splits[0].info["n_labeled"] == 6
    same_test = protocol != "split"  # split: the labelled anomalies come out of the test set
    for k in range(2):
        if same_test:
            np.testing.assert_array_equal(plain.test_scores[k], more.test_scores[k])
        else:
            full = more.split_of(k).test
            assert len(full) == len(plain.split_of(k).test) - 6
