"""Iterative Anomaly Detection: sample-wise importance weights and the h termination rule (IAD Sec. IV).

IAD (Kim et al.) trains a base detector in *rounds*. Round t minimises the
weighted loss Eq. 11, (1/n) Σ_i w_i^(t) l(x_i), for E epochs (the inner loop
of Alg. 1); then every training sample is scored, the termination value h^(t)
is computed (Eq. 15-16) and the weights are updated by the sigmoid Eq. 12-14.
After the last round the model of the round with the lowest h is returned
(Alg. 1 line 11).

Mapping onto the engine: a round is ``epochs_per_round`` consecutive epochs,
so ``TrainConfig.epochs = rounds × epochs_per_round`` (Alg. 1 runs t = 0..T,
i.e. T + 1 rounds; the paper uses T = 15 on tabular data → 16 rounds). The
model is *not* re-initialised between rounds (Alg. 1 keeps training f_θ), and
the optimizer state carries over. Only L_n is used (w_a = 0), so IAD works with
every backbone; the importance weights act on the backbone's test score
``Backbone.score`` (IAD Eq. 3, 5, 8, 10).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from adcore.registry import STRATEGIES, Param
from adcore.strategies.base import Batch, EpochEnd, Strategy


def weight_update(scores: torch.Tensor, inv_tau: float = 4.0):
    """IAD Eq. 12-14 on each row of ``scores`` (M, N): returns (w, alpha, beta).

    w_i = 1 / (1 + exp(α (s_i − β))), β = s_med (Eq. 14),
    α = 1 / (min(s_med − s_min, s_max − s_med) · τ) = (1/τ) / min(...) (Eq. 13).
    With 1/τ = 4 the sample on the nearer side of the median at the extreme
    gets exactly 1/(1+e^{±4}) (0.982 at s_min or 0.018 at s_max), the other
    extreme is at least that close to 1 (resp. 0). ``s_med`` is the lower
    median for even N (``torch.median``). A zero gap (more than half the
    scores tied at an extreme) is floored at 1e-12 · (s_max − s_min) (or 1e-30),
    which makes the update a step function at the median.
    """
    s = scores.double()
    s_min = s.min(dim=1, keepdim=True).values
    s_max = s.max(dim=1, keepdim=True).values
    s_med = s.median(dim=1, keepdim=True).values
    gap = torch.minimum(s_med - s_min, s_max - s_med)
    gap = torch.maximum(gap, ((s_max - s_min) * 1e-12).clamp_min(1e-30))
    alpha = inv_tau / gap
    w = torch.sigmoid(-alpha * (s - s_med))
    return w.to(scores.dtype), alpha.squeeze(1), s_med.squeeze(1)


def ranks(scores: torch.Tensor) -> torch.Tensor:
    """1-based ascending ranks of each row of ``scores`` (M, N); ties keep index order."""
    order = torch.argsort(scores, dim=1, stable=True)
    r = torch.empty_like(order)
    r.scatter_(1, order, torch.arange(1, scores.shape[1] + 1, device=scores.device).expand_as(order))
    return r


def termination_value(rank_now: torch.Tensor, rank_prev: torch.Tensor) -> torch.Tensor:
    """h^(t) of IAD Eq. 15-16 per row: samples whose rank crossed the halfway point ⌈n/2⌉.

    Literal Eq. 16: counted when r^(t) < ⌈n/2⌉ and r^(t−1) > ⌈n/2⌉, or the
    reverse, with 1-based ranks; a sample ranked exactly ⌈n/2⌉ in either round
    is in neither half and never counts.
    """
    half = math.ceil(rank_now.shape[1] / 2)
    down = (rank_now < half) & (rank_prev > half)
    up = (rank_now > half) & (rank_prev < half)
    return (down | up).sum(dim=1)


def select_round(h) -> np.ndarray:
    """Alg. 1 line 11: arg-min over t ≥ 1 of h^(t) (``h`` is (..., R) with h^(0) undefined); ties → earliest."""
    h = np.asarray(h, dtype=float)
    if h.shape[-1] < 2:
        return np.zeros(h.shape[:-1], dtype=int)
    return np.argmin(h[..., 1:], axis=-1) + 1


def _auroc(y, s) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def round_aurocs(round_scores, y) -> np.ndarray:
    """AUROC of every round: ``round_scores`` is (R, N) or (R, K, N) test scores, ``y`` (N,) or (K, N)."""
    s = np.asarray(round_scores, dtype=float)
    if s.ndim == 2:
        return np.array([_auroc(y, st) for st in s])
    y = np.asarray(y)
    yk = (lambda k: y) if y.ndim == 1 else (lambda k: y[k])  # noqa: E731
    return np.array([[_auroc(yk(k), s[t, k]) for k in range(s.shape[1])] for t in range(s.shape[0])])


def iad_best(round_scores, y) -> tuple[np.ndarray, np.ndarray]:
    """IAD-Best (IAD Sec. V-B): the round with the highest test AUROC and that AUROC.

    ``round_scores`` (R, N) or (R, K, N) holds the test scores of every round
    (t = 0, the base model, included, as "the best model during iterative
    learning"). Returns (best_round, best_auroc), scalars or (K,) arrays.
    """
    a = round_aurocs(round_scores, y)
    best = np.nanargmax(a, axis=0)
    return best, np.nanmax(a, axis=0)


def performance_gain_ratio(auc_iad, auc_base, auc_best):
    """PGR (IAD Sec. V-B3) = 100 · (AUC(IAD) − AUC(Base)) / (AUC(IAD-Best) − AUC(Base)).

    The normalisation assumes IAD-Best > Base (0 = Base, 100 = IAD-Best); where
    IAD-Best ≤ Base the ratio has no meaning and NaN is returned.
    """
    iad, base, best = (np.asarray(v, dtype=float) for v in (auc_iad, auc_base, auc_best))
    den = best - base
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 100.0 * (iad - base) / np.where(den > 0, den, 1.0), np.nan)


@STRATEGIES.register
class IAD(Strategy):
    """Iterative Anomaly Detection (IAD Sec. IV, Eq. 11-16, Alg. 1).

    Round t trains with w_n,i = w_i^(t) (w^(0) = 1, so round 0 is the base
    model) and w_a = 0 (Eq. 11). At the end of each round (every
    ``epochs_per_round`` epochs) the scores s^(t) of all training samples give
    h^(t) against the previous round (Eq. 15-16) and the next weights
    w^(t+1) = u(s^(t)) (Eq. 12-14). The checkpoint of the round with the lowest
    h^(t), t ≥ 1, is loaded back into the member after training (Alg. 1 l. 11).
    ``flag`` marks samples whose current weight is below 0.5.

    ``history`` (copied into ``History.extra``), per member:
    ``iad_round_epochs`` (last epoch of each round), ``iad_weights`` (R, N) the
    weights each round trained with, ``iad_scores`` (R, N) the scores at its
    end, ``iad_h`` (R,) (NaN at t = 0), ``iad_alpha``/``iad_beta`` (R,) of the
    update after each round, ``iad_selected_round``; with labels
    ``iad_weight_{mean,median}_{normal,anomaly}`` (R,) (IAD Fig. 5a); with
    ``keep_checkpoints`` ``iad_checkpoints``, every round's ``member_state``.
    """

    name = "iad"
    description = ("IAD: per-sample importance weights from a sigmoid of the anomaly scores, updated each round; "
                   "returns the round whose ranking changed least (no contamination ratio needed).")
    paper = "IAD (Kim et al.) Sec. IV, Eq. 11-16, Alg. 1"
    uses_alpha = False
    params = (
        Param("epochs_per_round", 10, int, 1, 10000,
              help="E, epochs of the inner loop; the run's epochs = rounds × E (IAD Alg. 1 leaves E unspecified)"),
        Param("inv_tau", 4.0, float, 1e-3, 1e4, help="1/τ of Eq. 13 (paper default 4; Fig. 6 tries 4, 9, 16, 25)"),
        Param("keep_checkpoints", False, bool,
              help="keep every round's member weights in .checkpoints (else only the best-h round's)"),
    )

    def __init__(self, n_members, n_samples, device=None, **hp):
        super().__init__(n_members, n_samples, device=device, **hp)
        M, N = n_members, n_samples
        self.w = torch.ones(M, N, device=device)
        self._y = torch.full((M, N), float("nan"), device=device)
        self._y_seen = False
        self._prev_ranks = None
        self._last = None  # (epoch, scores) of the latest epoch, to close a trailing partial round
        self._round_start = 0
        self.best_h = [math.inf] * M
        self.best_state: list = [None] * M
        self.checkpoints: list[list] = [[] for _ in range(M)]
        self._members: list[int] | None = None
        self._rounds: dict[str, list] = {k: [] for k in ("epoch", "w", "s", "h", "alpha", "beta")}
        self._label_stats: dict[str, list] = {}
        self.history: dict[str, list] = {}

    def weights(self, batch: Batch):
        if batch.y_true is not None and batch.epoch == 0:
            self._y.scatter_(1, batch.index, batch.y_true.to(self._y.dtype))
            self._y_seen = True
        w_n = self.w.gather(1, batch.index)
        return w_n, torch.zeros_like(w_n), w_n < 0.5

    def wants_scores(self, epoch: int) -> bool:
        return (epoch + 1 - self._round_start) % self.hp["epochs_per_round"] == 0

    def end_epoch(self, info: EpochEnd) -> None:
        self._members = list(info.members)
        if info.train_scores is not None:  # round ends, and every recorded epoch (the last one always)
            self._last = (info.epoch, info.train_scores)
        if self.wants_scores(info.epoch):
            self._end_round(info.epoch, info.train_scores, info.backbone)

    def group_scores(self, scores: torch.Tensor) -> torch.Tensor:
        """The scores s^(t) that h and the weights are computed from, one row per group: here each member
        is its own group (Ensemble + IAD overrides this with the aggregated ensemble score)."""
        return scores

    def to_members(self, values: torch.Tensor) -> torch.Tensor:
        """Per-group rows (G, ...) → per-member rows (M, ...)."""
        return values

    def _end_round(self, epoch: int, scores: torch.Tensor, backbone) -> None:
        t = len(self._rounds["epoch"])
        self._round_start = epoch + 1
        scores = self.group_scores(scores.detach().float())
        r = ranks(scores)
        if self._prev_ranks is None:
            h = torch.full((scores.shape[0],), float("nan"))
        else:
            h = termination_value(r, self._prev_ranks).float().cpu()
        self._prev_ranks = r
        h, scores = self.to_members(h), self.to_members(scores)
        for j, k in enumerate(self._members):
            state = None
            if self.hp["keep_checkpoints"]:
                state = backbone.member_state(k)
                self.checkpoints[j].append(state)
            if t >= 1 and float(h[j]) < self.best_h[j]:
                self.best_h[j] = float(h[j])
                self.best_state[j] = state if state is not None else backbone.member_state(k)
        w_next, alpha, beta = weight_update(scores, self.hp["inv_tau"])
        R = self._rounds
        R["epoch"].append(epoch)
        R["w"].append(self.w.cpu().numpy().copy())
        R["s"].append(scores.cpu().numpy())
        R["h"].append(h.numpy())
        R["alpha"].append(alpha.cpu().numpy())
        R["beta"].append(beta.cpu().numpy())
        if self._y_seen:
            self._record_label_stats(self.w)
        self.w = w_next
        self._publish()

    def _record_label_stats(self, w: torch.Tensor) -> None:
        """Mean and median weight of true normals / anomalies for the round just finished (IAD Fig. 5a)."""
        for cls, name in ((0.0, "normal"), (1.0, "anomaly")):
            mask = self._y == cls
            mean, med = [], []
            for j in range(w.shape[0]):
                v = w[j][mask[j]]
                mean.append(float(v.mean()) if v.numel() else float("nan"))
                med.append(float(v.median()) if v.numel() else float("nan"))
            self._label_stats.setdefault(f"iad_weight_mean_{name}", []).append(mean)
            self._label_stats.setdefault(f"iad_weight_median_{name}", []).append(med)

    def _publish(self) -> None:
        R = self._rounds
        M = self.n_members
        h = np.stack(R["h"], axis=1)  # (M, R)
        sel = select_round(h)
        hist = {
            "iad_round_epochs": [list(R["epoch"]) for _ in range(M)],
            "iad_weights": list(np.stack(R["w"], axis=1)),
            "iad_scores": list(np.stack(R["s"], axis=1)),
            "iad_h": list(h),
            "iad_alpha": list(np.stack(R["alpha"], axis=1)),
            "iad_beta": list(np.stack(R["beta"], axis=1)),
            "iad_selected_round": [int(v) for v in sel],
        }
        for key, rows in self._label_stats.items():
            hist[key] = list(np.array(rows).T)
        if self.hp["keep_checkpoints"]:
            hist["iad_checkpoints"] = list(self.checkpoints)
        self.history = hist

    def finish(self, backbone, members: list[int]) -> None:
        """Close a trailing partial round, then load the best-h round into each member (Alg. 1 line 11)."""
        if self._last is not None and self._last[0] >= self._round_start:
            self._end_round(self._last[0], self._last[1], backbone)
        for j, k in enumerate(members):
            if self.best_state[j] is not None:
                backbone.load_member_state(k, self.best_state[j])
