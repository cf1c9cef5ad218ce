"""IAD strategy (Kim et al., Sec. IV): weight update Eq. 12-14, termination h Eq. 15-16, round selection Alg. 1."""
import math
import os

import numpy as np
import pytest
import torch

from adcore.strategies.iad import (iad_best, performance_gain_ratio, ranks, round_aurocs, select_round,
                                   termination_value, weight_update)
from adcore.trainer import Member, TrainConfig, train

THYROID = "/work/shared/datasets/adbench/38_thyroid.npz"


# -- Eq. 12-14 -------------------------------------------------------------------------------
def test_weight_update_extremes_and_median():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(3, 101, generator=g) * torch.tensor([[1.0], [10.0], [0.01]]) + 5.0
    s[1] = s[1].exp()  # a skewed row: the max is much farther from the median than the min
    w, alpha, beta = weight_update(s, inv_tau=4.0)
    lo, hi = s.argmin(1), s.argmax(1)
    w_lo, w_hi = w.gather(1, lo[:, None]).squeeze(1), w.gather(1, hi[:, None]).squeeze(1)
    edge = 1.0 / (1.0 + math.exp(-4.0))  # 0.982: the extreme on the nearer side of the median
    assert torch.all(w_lo >= edge - 1e-5) and torch.all(w_hi <= 1 - edge + 1e-5)
    # one of the two extremes sits exactly at the 1/τ point of the sigmoid
    assert torch.allclose(torch.maximum(1 - w_lo, w_hi), torch.full((3,), 1 - edge), atol=1e-5)
    med = s.median(1, keepdim=True).values
    assert torch.allclose(beta, med.squeeze(1).double())
    assert torch.allclose(w[s == med], torch.tensor(0.5))
    # monotone: higher score, lower weight
    order = s.argsort(1)
    assert torch.all(w.gather(1, order).diff(dim=1) <= 1e-7)
    # the paper's parameterisation: α = (1/τ) / min(med − min, max − med)
    gap = torch.minimum(med - s.min(1, keepdim=True).values, s.max(1, keepdim=True).values - med).squeeze(1)
    assert torch.allclose(alpha, 4.0 / gap.double())


def test_weight_update_is_affine_invariant_and_handles_ties():
    s = torch.rand(1, 50, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(weight_update(s)[0], weight_update(3.0 * s - 7.0)[0], atol=1e-5)
    w = weight_update(torch.tensor([[0.0, 0.0, 0.0, 1.0]]))[0]  # gap = 0 → a step at the median
    assert torch.isfinite(w).all() and w[0, 3] < 1e-6 and torch.allclose(w[0, :3], torch.tensor(0.5))


# -- Eq. 15-16 -------------------------------------------------------------------------------
def test_ranks_are_one_based_and_stable():
    r = ranks(torch.tensor([[0.3, 0.1, 0.3, -1.0]]))
    assert r.tolist() == [[3, 2, 4, 1]]


def test_termination_value_on_hand_made_ranks():
    t = lambda now, prev: int(termination_value(torch.tensor([now]), torch.tensor([prev]))[0])  # noqa: E731
    # n = 5, ⌈n/2⌉ = 3: ranks 1-2 low, 4-5 high, rank 3 in neither half
    assert t([5, 4, 3, 2, 1], [1, 2, 3, 4, 5]) == 4
    assert t([2, 1, 3, 5, 4], [1, 2, 3, 4, 5]) == 0  # swaps within the halves do not count
    assert t([3, 2, 1, 4, 5], [1, 2, 3, 4, 5]) == 0  # 1 → 3 and 3 → 1 touch the halfway rank only
    assert t([4, 2, 3, 1, 5], [1, 2, 3, 4, 5]) == 2
    # n = 4, ⌈n/2⌉ = 2: rank 1 low, ranks 3-4 high (literal Eq. 16)
    assert t([3, 2, 1, 4], [1, 2, 3, 4]) == 2
    assert t([2, 1, 3, 4], [1, 2, 3, 4]) == 0
    assert t([4, 3, 2, 1], [1, 2, 3, 4]) == 2
    # rows are independent members
    h = termination_value(torch.tensor([[5, 4, 3, 2, 1], [1, 2, 3, 4, 5]]), torch.tensor([[1, 2, 3, 4, 5]] * 2))
    assert h.tolist() == [4, 0]


def test_select_round_is_argmin_over_t_ge_1():
    assert select_round([np.nan, 5, 3, 3, 7]) == 2  # earliest of ties; h^(0) undefined
    assert select_round([np.nan]) == 0
    assert select_round(np.array([[np.nan, 1, 0], [np.nan, 0, 9]])).tolist() == [2, 1]


def test_iad_best_and_pgr():
    y = np.array([0, 0, 0, 1])
    rounds = np.array([[0.0, 1.0, 2.0, 1.5],   # AUROC 2/3
                       [0.0, 1.0, 2.0, 3.0],   # 1.0
                       [3.0, 1.0, 2.0, 0.0]])  # 0.0
    best, auc = iad_best(rounds, y)
    assert best == 1 and auc == 1.0
    assert np.allclose(round_aurocs(rounds, y), [2 / 3, 1.0, 0.0])
    b, a = iad_best(np.stack([rounds, rounds[::-1]], axis=1), y)  # (R, K, N)
    assert b.tolist() == [1, 1] and a.tolist() == [1.0, 1.0]
    assert performance_gain_ratio(0.8, 0.7, 0.9) == pytest.approx(50.0)
    assert np.isnan(performance_gain_ratio(0.8, 0.7, 0.7)) and np.isnan(performance_gain_ratio(0.8, 0.7, 0.6))
    assert np.allclose(performance_gain_ratio([0.7, 0.6], [0.7, 0.7], [0.9, 0.8]), [0.0, -100.0])


# -- the strategy in the trainer ------------------------------------------------------------
def _toy(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = np.zeros(n)
    y[: n // 10] = 1
    X[: n // 10] += 4.0
    return X, y


def test_rounds_checkpoints_and_selected_model():
    X, y = _toy()
    E, epochs = 2, 11  # 5 full rounds and a trailing 1-epoch round closed by finish()
    members = [Member("iad", 0.1, s, (("epochs_per_round", E), ("keep_checkpoints", True))) for s in (0, 1)]
    res = train("deepsvdd", members, X, y_train=y, config=TrainConfig(epochs=epochs, batch_size=64))
    ex = res.history.extra
    for k in range(2):
        assert ex["iad_round_epochs"][k] == [1, 3, 5, 7, 9, 10]
        h, scores, w = ex["iad_h"][k], ex["iad_scores"][k], ex["iad_weights"][k]
        assert np.isnan(h[0]) and len(h) == 6
        # h recomputed from the recorded scores (Eq. 15-16)
        r = ranks(torch.as_tensor(scores))
        assert [int(termination_value(r[t : t + 1], r[t - 1 : t])[0]) for t in range(1, 6)] == h[1:].tolist()
        # w^(0) = 1 and w^(t+1) = u(s^(t)) (Eq. 12)
        assert np.all(w[0] == 1.0)
        assert np.allclose(w[1:], weight_update(torch.as_tensor(scores[:-1]))[0].numpy(), atol=1e-6)
        sel = ex["iad_selected_round"][k]
        assert sel == int(np.argmin(h[1:]) + 1)
        # the returned member is the selected round's checkpoint
        final = res.backbone.member_state(k)
        ck = ex["iad_checkpoints"][k][sel]
        assert all(torch.equal(final[n], ck[n]) for n in final)
        assert torch.allclose(torch.as_tensor(res.score(X)[k]), torch.as_tensor(scores[sel]), atol=1e-4)
        # Fig. 5a statistics
        assert ex["iad_weight_mean_normal"][k][0] == 1.0 and len(ex["iad_weight_median_anomaly"][k]) == 6


def test_iad_mixed_with_other_strategies_in_one_stack():
    X, y = _toy()
    members = [Member("blind", 0.1, 0), Member("iad", 0.1, 0, (("epochs_per_round", 2),)), Member("loe_hard", 0.1, 0)]
    res = train("ae", members, X, config=TrainConfig(epochs=6, batch_size=64))
    ex = res.history.extra
    assert ex["iad_selected_round"][0] is None and ex["iad_selected_round"][2] is None
    assert ex["iad_selected_round"][1] in (1, 2)
    # the blind member is unaffected by the IAD member stacked next to it
    alone = train("ae", [Member("blind", 0.1, 0)], X, config=TrainConfig(epochs=6, batch_size=64))
    assert np.allclose(alone.score(X)[0], res.score(X)[0], atol=1e-4)


@pytest.mark.skipif(not os.path.exists(THYROID), reason="thyroid data not available")
def test_thyroid_deepsvdd_weights_separate_normals_from_anomalies():
    d = np.load(THYROID, allow_pickle=False)
    X, y = d["X"].astype(np.float32), d["y"].astype(float)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    members = [Member("iad", 0.1, s, (("epochs_per_round", 3),)) for s in (0, 1)]
    res = train("deepsvdd", members, X, y_train=y, backbone_params={"hidden": (32, 16), "rep_dim": 4},
                config=TrainConfig(epochs=18, batch_size=128))
    ex = res.history.extra
    for k in range(2):
        sel = ex["iad_selected_round"][k]
        w = ex["iad_weights"][k][sel]
        assert w[y == 0].mean() > w[y == 1].mean()
        assert ex["iad_weight_mean_normal"][k][sel] == pytest.approx(w[y == 0].mean(), abs=1e-6)
