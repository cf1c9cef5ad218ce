"""Each strategy's choice of samples, pinned exactly, and the warm-up."""
import numpy as np
import pytest
import torch

from adcore.registry import STRATEGIES
from adcore.strategies.base import Batch, flag_counts, top_alpha_mask
from adcore.trainer import Member, TrainConfig, train
from adcore.weighting import Weighting

SCORES = torch.tensor([[0.1, 5.0, 0.3, 2.0, -1.0, 0.2, 4.0, 0.0, 0.5, 0.4]])  # B = 10
LN = SCORES + 1.0  # L_n - L_a = SCORES with L_a = 1
LA = torch.ones_like(SCORES)


def weights_of(name, alpha=0.2, epoch=5, warmup=2, y=None):
    w = Weighting([Member(name, alpha, 0)], 10, warmup, torch.device("cpu"))
    return w(LN, LA, torch.arange(10)[None], epoch, y, None)


def test_flag_counts_round_down():
    assert flag_counts(torch.tensor([[0.1]]), 25).item() == 2
    assert flag_counts(torch.tensor([[0.1]]), 30).item() == 3
    assert flag_counts(torch.tensor([[0.29]]), 100).item() == 29
    assert flag_counts(torch.tensor([[0.0]]), 100).item() == 0


def test_top_alpha_mask_picks_highest_per_row():
    scores = torch.stack([SCORES[0], -SCORES[0]])
    mask = top_alpha_mask(scores, torch.tensor([[0.2], [0.3]]))
    assert mask[0].nonzero().ravel().tolist() == [1, 6]
    assert mask[1].nonzero().ravel().tolist() == [0, 4, 7]


@pytest.mark.parametrize("name, flagged_weights", [("loe_hard", (0.0, 1.0)), ("loe_soft", (0.5, 0.5))])
def test_ranked_strategies_flag_top_alpha_of_s_train(name, flagged_weights):
    wn, wa, flag = weights_of(name)
    assert flag[0].nonzero().ravel().tolist() == [1, 6]
    for i in range(10):
        expected = flagged_weights if i in (1, 6) else (1.0, 0.0)
        assert (wn[0, i].item(), wa[0, i].item()) == expected


def test_ranking_uses_normal_minus_anomaly_loss():
    # sample 0 has the largest L_n but an even larger L_a: LOE Eq. 4 must not flag it
    ln = torch.tensor([[10.0, 1.0, 2.0, 0.5]])
    la = torch.tensor([[20.0, 0.1, 0.1, 0.1]])
    w = Weighting([Member("loe_hard", 0.25, 0)], 4, 0, torch.device("cpu"))
    _, wa, flag = w(ln, la, torch.arange(4)[None], 0, None, None)
    assert flag[0].tolist() == [False, False, True, False]
    assert wa[0].tolist() == [0.0, 0.0, 1.0, 0.0]


def test_blind_flags_nothing():
    wn, wa, flag = weights_of("blind")
    assert torch.all(wn == 1) and torch.all(wa == 0) and not flag.any()


@pytest.mark.parametrize("name, epoch", [("blind", 5), ("loe_hard", 1), ("loe_hard", 2)])
def test_batch_objective_is_mean_normal_loss_until_something_is_flagged(name, epoch):
    """Blind and the warm-up of LOE (warm-up 2) minimise the batch mean of L_n with weights (1, 0); after
    the warm-up LOE-hard puts its top ⌊αB⌋ = 2 of S_train (samples 1 and 6) on L_a."""
    w = Weighting([Member(name, 0.2, 0)], 10, 2, torch.device("cpu"))
    ln, la = LN.clone().requires_grad_(), LA.clone().requires_grad_()
    per_member, wn, wa, flag = w.loss(ln, la, torch.arange(10)[None], epoch, None, None)
    per_member.sum().backward()
    picked = [1, 6] if (name, epoch) == ("loe_hard", 2) else []
    assert flag[0].nonzero().ravel().tolist() == picked
    on_la = torch.zeros(10, dtype=torch.bool)
    on_la[picked] = True
    expected = torch.where(on_la, LA[0], LN[0]).mean()
    assert per_member.item() == pytest.approx(expected.item())
    la_grad = la.grad if la.grad is not None else torch.zeros_like(la)  # None: L_a is not in the objective
    assert torch.equal(ln.grad[0] != 0, ~on_la) and torch.equal(la_grad[0] != 0, on_la)
    assert torch.equal(wn[0], (~on_la).float()) and torch.equal(wa[0], on_la.float())


def test_gtruth_uses_true_labels():
    y = torch.zeros(1, 10)
    y[0, [2, 9]] = 1
    wn, wa, flag = weights_of("gtruth", y=y)
    assert flag[0].nonzero().ravel().tolist() == [2, 9]
    assert wa[0].tolist() == y[0].tolist() and wn[0].tolist() == (1 - y[0]).tolist()


@pytest.mark.parametrize("name", ["refine", "loe_hard", "loe_soft"])
def test_warmup_trains_blind(name):
    wn, wa, flag = weights_of(name, epoch=1, warmup=2)
    assert torch.all(wn == 1) and torch.all(wa == 0) and not flag.any()
    _, _, flag = weights_of(name, epoch=2, warmup=2)
    assert flag.sum() == 2


def test_mixed_members_get_their_own_rules():
    members = [Member("blind", 0.2, 0), Member("loe_hard", 0.2, 0), Member("loe_soft", 0.3, 0),
               Member("refine", 0.1, 0)]
    w = Weighting(members, 10, 0, torch.device("cpu"))
    ln, la = LN.expand(4, 10), LA.expand(4, 10)
    wn, wa, flag = w(ln, la, torch.arange(10).expand(4, 10), 3, None, None)
    assert flag.sum(1).tolist() == [0, 2, 3, 1]
    assert wa[1].sum() == 2 and wa[2].sum() == 1.5 and wa[3].sum() == 0
    assert wn[3].sum() == pytest.approx(10)  # Refine: 9 kept samples of weight 10/9 (mean over the kept ones)


def test_registry_lists_every_strategy_with_description():
    names = STRATEGIES.names()
    for name in ("blind", "refine", "loe_hard", "loe_soft", "gtruth"):
        assert name in names
    for entry in STRATEGIES.describe():
        assert entry["description"] and entry["paper"]


def test_gtruth_without_labels_is_a_clear_error():
    with pytest.raises(ValueError, match="true labels"):
        train("deepsvdd", [Member("gtruth")], np.random.randn(20, 3), config=TrainConfig(epochs=1))


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown strategy 'loe_medium'"):
        STRATEGIES.get("loe_medium")


def test_custom_strategy_batch_view():
    batch = Batch(SCORES, LN, LA, torch.tensor([[0.2]]), torch.arange(10)[None], 0)
    wn, wa, flag = STRATEGIES.get("loe_hard")(1, 10).weights(batch)
    assert flag[0].nonzero().ravel().tolist() == [1, 6]
