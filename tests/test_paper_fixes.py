"""One test per deviation from the LOE / IAD papers fixed in issue 12."""
import numpy as np
import pytest
import torch

from adcore.strategies.base import top_alpha_mask, top_n_mask
from adcore.trainer import Member, _Weighting


def weigh(name, ln, la, alpha=0.2, epoch=5, warmup=0, index=None):
    K, B = ln.shape
    w = _Weighting([Member(name, alpha, 0)] * 1, B, warmup, torch.device("cpu"))
    return w(ln, la, torch.arange(B)[None] if index is None else index, epoch, None, None)


# --- Refine (LOE App. B) ---------------------------------------------------------------------------------------

def test_refine_drops_top_alpha_by_normal_loss_not_s_train():
    # sample 0 has the largest L_n but an even larger L_a: S_train = L_n - L_a ranks it last, Refine must drop it
    ln = torch.tensor([[10.0, 1.0, 2.0, 0.5, 0.7, 0.2, 0.1, 0.3, 0.4, 0.6]])
    la = torch.tensor([[20.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]])
    wn, wa, flag = weigh("refine", ln, la, alpha=0.2)
    assert flag[0].nonzero().ravel().tolist() == [0, 2]
    assert torch.all(wa == 0)
    assert wn[0, 0] == 0 and wn[0, 2] == 0


def test_refine_averages_over_the_kept_samples():
    torch.manual_seed(0)
    ln, la = torch.rand(1, 20) * 5, torch.rand(1, 20)
    wn, wa, flag = weigh("refine", ln, la, alpha=0.1)
    kept = ~flag[0]
    assert int(flag.sum()) == 2
    objective = (wn * ln + wa * la).mean()  # what the trainer minimises
    assert objective.item() == pytest.approx(ln[0, kept].mean().item(), rel=1e-6)


def test_refine_warms_up_blind():
    ln, la = torch.rand(1, 10), torch.rand(1, 10)
    wn, wa, flag = weigh("refine", ln, la, epoch=0, warmup=2)
    assert torch.all(wn == 1) and not flag.any()


# --- the top-⌊αB⌋ rule with ties (LOE Eq. 2) -------------------------------------------------------------------

def test_ties_flag_exactly_floor_alpha_b():
    scores = torch.tensor([[1.0, 3.0, 3.0, 3.0, 0.0, 3.0, 2.0, 3.0, 1.0, 0.5]])  # five tied maxima
    mask = top_alpha_mask(scores, torch.tensor([[0.2]]))
    assert int(mask.sum()) == 2
    assert torch.all(scores[mask] == 3.0)
    constant = torch.zeros(3, 25)
    assert top_alpha_mask(constant, torch.tensor([[0.1], [0.2], [0.0]])).sum(1).tolist() == [2, 5, 0]


def test_top_n_mask_rows_have_their_own_counts():
    scores = torch.tensor([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]])
    mask = top_n_mask(scores, torch.tensor([[1], [3]]))
    assert mask.tolist() == [[False, False, False, True], [True, True, True, False]]


def test_loe_hard_with_tied_losses_flags_exactly_floor_alpha_b():
    ln = torch.ones(2, 30)
    wn, wa, flag = _Weighting([Member("loe_hard", 0.1, 0), Member("loe_hard", 0.2, 1)], 30, 0,
                              torch.device("cpu"))(ln, torch.zeros_like(ln), torch.arange(30).expand(2, 30), 3,
                                                   None, None)
    assert flag.sum(1).tolist() == [3, 6] and wa.sum(1).tolist() == [3.0, 6.0]
