"""The strategy interface and the mini-batch ranking rule of LOE Alg. 1."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Batch:
    """What a strategy sees of one mini-batch, for a group of M members (all detached).

    ``s_train`` is LOE Eq. 4, L_n - L_a; ``index`` the samples' positions in the
    training set; ``y_true`` the ground truth (None when unknown); ``labeled``
    marks labelled anomalies (None when there are none); ``warm`` is true during
    the trainer's warm-up epochs.
    """

    s_train: torch.Tensor
    loss_normal: torch.Tensor
    loss_anomaly: torch.Tensor
    alpha: torch.Tensor
    index: torch.Tensor
    epoch: int
    y_true: torch.Tensor | None = None
    labeled: torch.Tensor | None = None
    warm: bool = False
    alpha_max: float | None = None  # the largest α of the rows, known on the host (None: read it from ``alpha``)

    def most_flags(self) -> int | None:
        """An upper bound of the ⌊αB⌋ of every row, without reading the device (None when unknown)."""
        B = self.s_train.shape[1]
        return None if self.alpha_max is None else min(B, int(self.alpha_max * B) + 1)


@dataclass
class EpochEnd:
    """What a strategy sees at the end of an epoch: test scores of every training sample."""

    epoch: int
    train_scores: torch.Tensor
    backbone: object
    members: list[int]


class Strategy:
    """Turns the losses of a mini-batch into per-sample weights (w_n, w_a) on L_n and L_a.

    The trainer minimises mean_i [w_n,i L_n(x_i) + w_a,i L_a(x_i)] (LOE Eq. 1 with
    y_i = w_a,i when w_n,i + w_a,i = 1). ``flag`` marks the samples the strategy
    treats as anomalies, for the pseudo-label plots. Strategies with
    ``uses_warmup`` train blind for the trainer's warm-up epochs (LOE App. C).
    One instance serves a group of members; per-sample state is ``(M, N)``.

    Most strategies only choose *which* samples to flag and give flagged ones
    fixed weights: they set ``flag_weights = (w_n, w_a)`` and flag either the
    top-α of S_train (:func:`top_alpha_mask`) or, with ``flags_from_truth``,
    the true anomalies. The trainer then handles all such members in one
    vectorised step and never calls :meth:`weights`.

    Objectives that are not a per-sample weighting (separate means over the
    unlabelled and the labelled samples, an absolute value of a batch-level
    difference, as in PU Eq. 13) override :meth:`objective` instead; it gets
    the gradient-carrying losses and returns one loss per member.

    Labelled anomalies (``Batch.labeled``) are used only by strategies with
    ``uses_labels``; for every other strategy the trainer leaves them out of the
    objective (the PU paper's unsupervised baselines "did NOT use the labeled
    anomaly data", Sec. 5.3 footnote 2).
    """

    name = ""
    description = ""
    paper = ""
    params: tuple = ()
    needs_labels = False
    uses_warmup = False
    uses_alpha = True
    uses_anomaly_loss = True  # False: the objective and the ranking never read L_a (the trainer may skip it)
    flag_weights: tuple[float, float] | None = None
    flags_from_truth = False
    uses_labels = False

    def __init__(self, n_members: int, n_samples: int, device=None, **hp):
        self.n_members = n_members
        self.n_samples = n_samples
        self.device = device
        self.hp = hp

    def weights(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-sample (w_n, w_a, flag) for a batch; the default applies ``flag_weights``."""
        if self.flags_from_truth:
            if batch.y_true is None:
                raise ValueError(f"strategy {self.name!r} needs the true labels of the training data")
            flag = batch.y_true > 0.5
        elif self.uses_alpha:
            flag = top_alpha_mask(batch.s_train, batch.alpha)
        else:
            flag = torch.zeros_like(batch.s_train, dtype=torch.bool)
        w_n, w_a = self.flag_weights
        return flag_to_weights(flag, w_n, w_a)

    def objective(self, batch: Batch, loss_normal: torch.Tensor, loss_anomaly: torch.Tensor):
        """Batch objective ``(M,)`` from the per-sample losses ``(M, B)`` (with gradients), and the
        ``(w_n, w_a, flag)`` to record for the plots; only called when a subclass overrides it."""
        raise NotImplementedError

    @classmethod
    def has_objective(cls) -> bool:
        """Whether this strategy returns a batch objective (:meth:`objective`) rather than weights."""
        return cls.objective is not Strategy.objective

    def end_epoch(self, info: EpochEnd) -> None:
        """Hook for strategies that update per-sample state once per epoch or round.
        ``info.train_scores`` is None unless :meth:`wants_scores` asked for it (or the epoch is recorded)."""

    def wants_scores(self, epoch: int) -> bool:
        """Whether :meth:`end_epoch` of ``epoch`` needs the scores of every training sample."""
        return type(self).end_epoch is not Strategy.end_epoch

    def finish(self, backbone, members: list[int]) -> None:
        """Hook called once after the last epoch, e.g. to load a selected round's weights into ``members``."""


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of each row of ``values`` (M, B) over the entries where ``mask`` is true; 0 for an empty row."""
    m = mask.to(values.dtype)
    return (values * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)


def labeled_mask(batch: Batch) -> torch.Tensor:
    """The batch's labelled-anomaly mask (all false when the data has none)."""
    return batch.labeled if batch.labeled is not None else torch.zeros_like(batch.s_train, dtype=torch.bool)


def flag_to_weights(flag: torch.Tensor, w_n, w_a):
    """(w_n, w_a, flag): flagged samples get the given weights, the others (1, 0)."""
    return torch.where(flag, w_n, 1.0), torch.where(flag, w_a, 0.0), flag


def flag_counts(alpha: torch.Tensor, batch_size: int) -> torch.Tensor:
    """⌊α·B⌋ per row: how many samples of a batch of ``batch_size`` to flag (LOE Eq. 2).

    Eq. 2 needs αB to be an integer; we round down so that a batch never has
    more than the assumed fraction flagged (a batch of 25 at α = 0.1 flags 2;
    bench/reproduce_toy.py compares with rounding up).
    """
    return torch.floor(alpha * batch_size + 1e-6).long()


def top_n_mask(scores: torch.Tensor, counts: torch.Tensor, most: int | None = None) -> torch.Tensor:
    """Flag exactly the ``counts[m]`` highest scores of each row ``m`` of ``scores`` (M, B).

    Positions come from ``topk``, not from a ``>=`` threshold, so tied scores never
    flag more than ``counts[m]`` samples (Eq. 2's constraint holds with equality).
    ``most`` (≥ every count), when the caller knows it, saves reading ``counts`` back
    from the device.
    """
    mask = torch.zeros_like(scores, dtype=torch.bool)
    if most is None:
        most = int(counts.max()) if counts.numel() else 0
    k = min(most, scores.shape[1])
    if k <= 0:
        return mask
    top = scores.topk(k, dim=1).indices
    keep = torch.arange(k, device=scores.device)[None, :] < counts.reshape(-1, 1)
    return mask.scatter_(1, top, keep)


def top_alpha_mask(scores: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Flag, in each row of ``scores`` (M, B), the ⌊α·B⌋ highest scores; ``alpha`` is (M, 1)."""
    return top_n_mask(scores, flag_counts(alpha, scores.shape[1]))
