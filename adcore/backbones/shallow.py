"""Shallow baselines from scikit-learn: Isolation Forest, OC-SVM and LOF (PU paper Sec. 5.2; ADBench).

They sit where a backbone sits, so every leaderboard can show whether a deep
method earns its place, but they have no per-sample losses and no strategy:
:func:`adcore.trainer.train` fits member k's model once on its unlabelled
training samples (labelled anomalies are left out, as the PU paper does for
unsupervised methods) with ``random_state = seed``. Scores follow PyOD:
higher = more anomalous (the negated ``score_samples``). The latent view shows
the input features.
"""
from __future__ import annotations

import numpy as np
import torch

from adcore.backbones.base import Backbone
from adcore.registry import BACKBONES, Param


class ShallowBackbone(Backbone):
    """K fitted scikit-learn detectors behind the backbone interface (``fit`` instead of ``losses``)."""

    shallow = True
    data_kinds = ("tabular", "image")

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        self.seeds = [int(s) for s in seeds]
        self.models: list = [None] * len(seeds)
        self.register_buffer("device_marker", torch.zeros(len(seeds), 1), persistent=False)

    def make(self, seed: int):
        raise NotImplementedError

    def fit(self, x: torch.Tensor) -> None:
        """Fit member k on ``x[k]`` (a list of ``(N_k, …)`` tensors or one ``(K, N, …)`` tensor)."""
        for k, xk in enumerate(x):
            self.models[k] = self.make(self.seeds[k]).fit(xk.flatten(1).cpu().numpy())

    def score(self, x):
        out = [-self.models[k].score_samples(x[k].flatten(1).cpu().numpy()) for k in range(self.n_models)]
        return torch.as_tensor(np.stack(out), dtype=torch.float32, device=x.device)

    def losses(self, x, train=False):
        raise TypeError(f"{self.name} is a shallow model: it is fitted once and has no training losses")

    def embed(self, x):
        return x.flatten(2)

    def eval_rows(self) -> int:
        return 1 << 30

    def member_state(self, k: int) -> dict:
        raise TypeError(f"{self.name} is a scikit-learn model, not a network: it cannot be saved as weights")


@BACKBONES.register
class IsolationForestModel(ShallowBackbone):
    """scikit-learn's ``IsolationForest`` (Liu et al. 2008), the PU paper's IF baseline (defaults kept)."""

    name = "iforest"
    description = "Isolation Forest (scikit-learn): random partitioning trees; a shallow baseline."
    paper = "Liu et al. 2008; PU paper Sec. 5.2"
    params = (Param("n_estimators", 100, int, 1, 10000, help="number of trees"),)

    def make(self, seed):
        from sklearn.ensemble import IsolationForest

        return IsolationForest(n_estimators=self.hp["n_estimators"], random_state=seed)


@BACKBONES.register
class OCSVMModel(ShallowBackbone):
    """scikit-learn's ``OneClassSVM`` with an RBF kernel (Schölkopf et al. 2001)."""

    name = "ocsvm"
    description = "One-class SVM (scikit-learn, RBF kernel): a shallow baseline."
    paper = "Schölkopf et al. 2001; DP-VAE Table 4"
    params = (
        Param("nu", 0.1, float, 1e-4, 1.0, help="upper bound on the fraction of training errors"),
        Param("gamma", "scale", str, help="RBF width: 'scale', 'auto' or a number"),
    )

    def make(self, seed):
        from sklearn.svm import OneClassSVM

        gamma = self.hp["gamma"]
        if gamma not in ("scale", "auto"):
            try:
                gamma = float(gamma)
            except ValueError:
                raise ValueError(f"ocsvm: gamma must be 'scale', 'auto' or a number; got {gamma!r}") from None
        return OneClassSVM(nu=self.hp["nu"], gamma=gamma)


@BACKBONES.register
class LOFModel(ShallowBackbone):
    """scikit-learn's ``LocalOutlierFactor`` in novelty mode (Breunig et al. 2000)."""

    name = "lof"
    description = "Local Outlier Factor (scikit-learn, novelty mode): a shallow baseline."
    paper = "Breunig et al. 2000; ADBench"
    params = (Param("n_neighbors", 20, int, 1, 10000, help="neighbours of the local density"),)

    def make(self, seed):
        from sklearn.neighbors import LocalOutlierFactor

        return LocalOutlierFactor(n_neighbors=self.hp["n_neighbors"], novelty=True)
