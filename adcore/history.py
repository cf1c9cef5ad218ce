"""Per-epoch training record of a stacked run: what the app's dynamics plots draw."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class History:
    """Arrays indexed ``[epoch, member, ...]``.

    ``loss_total`` (the weighted objective, averaged over the epoch's
    mini-batches) holds every epoch, and so do ``loss_normal``/``loss_anomaly``,
    the mean L_n and L_a of the epoch's mini-batches as the steps saw them
    (``loss_anomaly`` is NaN in epochs where no member used L_a, which the
    trainer then skipped). The per-sample arrays (``train_scores``,
    ``weight_normal``, ``weight_anomaly``, ``flags``) and ``eval`` hold the
    epochs listed in ``recorded_epochs`` for the training samples listed in
    ``sample_index`` (all of them up to ``max_recorded_samples``).
    ``precision``/``recall`` compare the flagged samples with the truth (NaN
    when unknown or nothing was flagged); ``test_auroc`` is NaN where not measured.
    """

    strategies: list[str]
    alphas: list[float]
    seeds: list[int]
    loss_total: np.ndarray
    loss_normal: np.ndarray
    loss_anomaly: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    recorded_epochs: np.ndarray
    sample_index: np.ndarray
    train_scores: np.ndarray
    weight_normal: np.ndarray
    weight_anomaly: np.ndarray
    flags: np.ndarray
    test_auroc: np.ndarray
    eval: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def empty(cls, strategies: list[str], alphas: list[float], seeds: list[int]) -> "History":
        """The record of a model fitted without epochs (the shallow baselines)."""
        K = len(seeds)
        curve, per_sample = np.zeros((0, K)), np.zeros((0, K, 0))
        return cls(list(strategies), list(alphas), list(seeds), curve, curve, curve, curve, curve,
                   np.zeros(0, int), np.zeros((K, 0), int), per_sample, per_sample, per_sample,
                   per_sample.astype(bool), curve)

    @property
    def n_epochs(self) -> int:
        return self.loss_total.shape[0]

    def member(self, k: int) -> "History":
        """The history of member ``k`` alone (K = 1)."""
        pick = lambda a: a[:, k : k + 1]  # noqa: E731
        return History(
            strategies=[self.strategies[k]], alphas=[self.alphas[k]], seeds=[self.seeds[k]],
            loss_total=pick(self.loss_total), loss_normal=pick(self.loss_normal),
            loss_anomaly=pick(self.loss_anomaly), precision=pick(self.precision), recall=pick(self.recall),
            recorded_epochs=self.recorded_epochs, sample_index=self.sample_index[k : k + 1],
            train_scores=pick(self.train_scores), weight_normal=pick(self.weight_normal),
            weight_anomaly=pick(self.weight_anomaly), flags=pick(self.flags), test_auroc=pick(self.test_auroc),
            eval={n: pick(a) for n, a in self.eval.items()},
            extra={n: (v[k] if isinstance(v, list) else v) for n, v in self.extra.items()},
        )

    def epoch_table(self) -> list[dict]:
        """Tidy per-epoch, per-member rows of the scalar curves (for plots and JSON)."""
        rows = []
        auroc = np.full(self.loss_total.shape, np.nan)
        auroc[self.recorded_epochs] = self.test_auroc
        for e in range(self.n_epochs):
            for k, strategy in enumerate(self.strategies):
                rows.append({
                    "epoch": e + 1, "member": k, "strategy": strategy, "seed": self.seeds[k],
                    "alpha": self.alphas[k], "loss": float(self.loss_total[e, k]),
                    "loss_normal": float(self.loss_normal[e, k]), "loss_anomaly": float(self.loss_anomaly[e, k]),
                    "precision": _nan_to_none(self.precision[e, k]), "recall": _nan_to_none(self.recall[e, k]),
                    "test_auroc": _nan_to_none(auroc[e, k]),
                })
        return rows


def _nan_to_none(v) -> float | None:
    v = float(v)
    return None if np.isnan(v) else v
