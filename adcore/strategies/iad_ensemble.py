"""Ensemble + IAD (IAD Sec. V-B5, Table V): IAD's rounds on an ensemble of models trained on sub-datasets.

IAD Sec. V-B5: five base models (AEs in the paper), each trained on a random sub-dataset of 80 % of the
data; anomaly scores are scaled to have the median value of 1 and then averaged (the ensemble score).
With IAD, "ensemble-based training and anomaly score computation through ensemble aggregation are
performed in lines 4-6 and 7 of Algorithm 1": every round trains each member on its sub-dataset with the
importance weights, and the weights (Eq. 12-14) and the termination value h (Eq. 15-16) come from the
ensemble score, so one weight per sample is shared by the whole ensemble, and the ensemble of the round
with the lowest h is returned.
"""
from __future__ import annotations

import torch

from adcore.registry import STRATEGIES, Param
from adcore.strategies.base import Batch
from adcore.strategies.iad import IAD


def ensemble_score(scores: torch.Tensor) -> torch.Tensor:
    """IAD Sec. V-B5 aggregation: each row of ``scores`` (members, N) divided by its median, then averaged.

    The median is taken in absolute value (scores of opposite sign keep their order); a zero median counts
    as 1e-12."""
    med = scores.median(dim=-1, keepdim=True).values.abs().clamp_min(1e-12)
    return (scores / med).mean(dim=0)


@STRATEGIES.register
class IADEnsemble(IAD):
    """Ensemble + IAD (IAD Table V). Consecutive members of a stacked run form ensembles of
    ``ensemble_size`` (the last one may be smaller); member j trains only on its own random
    ``subsample`` share of the training set (weight 0 elsewhere, the kept samples' weights divided by
    ``subsample`` so that a step averages over the sub-dataset, as training on it would). At each round's
    end every member scores all samples; :func:`ensemble_score` of its ensemble gives h and the next
    weights, shared by the ensemble's members, and every member's ``iad_scores`` / ``iad_h`` hold its
    ensemble's. ``reweight=False`` keeps all weights at 1 on the sub-datasets and returns the last round:
    the plain *Ensemble* row of Table V. Sub-datasets are drawn from ``subset_seed`` and the member's
    position in the run. In an experiment the ensembles are a seed's ``ensemble`` models (one split), so
    ``ExperimentConfig.ensemble`` must equal ``ensemble_size``; its "iad_ensemble ×K" row scores
    :func:`ensemble_score`.
    """

    name = "iad_ensemble"
    description = ("Ensemble + IAD: models on random 80 % sub-datasets share one importance weight per sample, "
                   "computed from their median-scaled mean score (IAD Table V).")
    paper = "IAD (Kim et al.) Sec. V-B5, Table V"
    params = IAD.params + (
        Param("ensemble_size", 5, int, 1, 1000, help="models per ensemble (consecutive members; paper: 5 AEs)"),
        Param("subsample", 0.8, float, 0.01, 1.0, help="share of the data each model trains on (paper: 80 %)"),
        Param("reweight", True, bool, help="IAD's weights and h selection; off: the plain Ensemble row"),
        Param("subset_seed", 0, int, 0, 2**31 - 1, help="seed of the random sub-datasets"),
    )

    aggregate = staticmethod(ensemble_score)  # the ensemble's score (the experiment's "iad_ensemble ×K" row)

    def __init__(self, n_members, n_samples, device=None, **hp):
        super().__init__(n_members, n_samples, device=device, **hp)
        size = self.hp["ensemble_size"]
        self.group = torch.arange(n_members, device=device) // size
        self.n_groups = int(self.group.max()) + 1
        n_keep = max(1, round(self.hp["subsample"] * n_samples))
        gen = torch.Generator().manual_seed(self.hp["subset_seed"])
        mask = torch.zeros(n_members, n_samples)
        for j in range(n_members):
            mask[j, torch.randperm(n_samples, generator=gen)[:n_keep]] = n_samples / n_keep
        self.subset = mask.to(device)  # 0 outside member j's sub-dataset, N / n_keep inside
        if not self.hp["reweight"]:  # no round beats -inf: no checkpoint is kept or loaded, the last round stays
            self.best_h = [-float("inf")] * n_members

    def group_scores(self, scores: torch.Tensor) -> torch.Tensor:
        return torch.stack([ensemble_score(scores[(self.group == g).to(scores.device)])
                            for g in range(self.n_groups)])

    def to_members(self, values: torch.Tensor) -> torch.Tensor:
        return values[self.group.to(values.device)]

    def weights(self, batch: Batch):
        w_n, w_a, flag = super().weights(batch)
        return w_n * self.subset.gather(1, batch.index), w_a, flag

    def _end_round(self, epoch: int, scores: torch.Tensor, backbone) -> None:
        super()._end_round(epoch, scores, backbone)
        if not self.hp["reweight"]:
            self.w.fill_(1.0)
