"""The RBF-network Deep SVDD of the LOE toy experiment (LOE App. A)."""
from __future__ import annotations

import math

import torch
from sklearn.cluster import KMeans
from torch import nn

from adcore.backbones.base import Backbone
from adcore.nn import stacked_uniform
from adcore.registry import BACKBONES, Param


@BACKBONES.register
class RBFDeepSVDD(Backbone):
    """One hidden layer of Gaussian RBF units with fixed centers and learnable scales,
    a linear 1-D output with bias, and a learnable, randomly initialised center c.

    The RBF centers are the k-means centers of the training data (on the LOE toy
    mixture they land on the three component means, as in the paper).
    L_n = (f(x) - c)², L_a = 1 / ((f(x) - c)² + eps); test score L_n.

    The paper leaves the initial widths and the center's distribution open and
    trains with lr 0.01. Over 10 fresh toy draws that setting was unstable for
    every strategy (G-truth itself failed on some seeds); starting c at the mean
    initial output with σ = 0.75 and lr 0.003 gave the paper's ordering
    Blind < Refine < LOE < G-truth (docs/RESULTS.md). ``center_init="random"``
    restores the paper's random center.
    """

    name = "deepsvdd_rbf"
    description = "Deep SVDD on a small RBF network (the LOE 2-D toy model)."
    paper = "LOE App. A"
    params = (
        Param("n_centers", 3, int, 1, 50, help="number of RBF units (k-means centers of the training data)"),
        Param("init_scale", 0.75, float, 1e-3, 100.0,
              help="initial width σ of every RBF unit (not given in the paper; 0.75 suits the toy data)"),
        Param("eps", 1e-6, float, 0.0, 1.0, help="added to the distance in L_a for numerical stability"),
        Param("center_init", "mean", str, choices=("random", "mean"),
              help="initial center c: the mean initial output (default), or random N(0, 1) as in LOE App. A"),
    )

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        m, d = hp["n_centers"], self.n_features
        self.register_buffer("rbf_centers", torch.zeros(self.n_models, m, d))
        # φ_j(x) = exp(-γ_j ||x - μ_j||²) with γ_j = 1 / (2 σ_j²), learnt as log γ_j
        log_gamma = -math.log(2 * hp["init_scale"] ** 2)
        self.log_gamma = nn.Parameter(torch.full((self.n_models, 1, m), log_gamma))
        self.weight = nn.Parameter(stacked_uniform(self.gens, (m, 1), m ** -0.5))
        self.bias = nn.Parameter(stacked_uniform(self.gens, (1, 1), m ** -0.5))
        self.center = nn.Parameter(torch.stack([torch.randn(1, generator=g) for g in self.gens]))

    @torch.no_grad()
    def setup(self, x):
        shared = x.stride(0) == 0  # one training set expanded over all members: cluster it once
        for k in range(1 if shared else self.n_models):
            km = KMeans(self.hp["n_centers"], n_init=10, random_state=0).fit(x[k].flatten(1).cpu().numpy())
            centers = torch.as_tensor(km.cluster_centers_, dtype=x.dtype)
            self.rbf_centers[slice(None) if shared else k] = centers
        if self.hp["center_init"] == "mean":
            self.center.copy_(self.output(x).mean(dim=1, keepdim=True))

    def embed(self, x):
        sq = torch.cdist(x.flatten(2), self.rbf_centers).square()
        return torch.exp(-sq * self.log_gamma.exp())

    def output(self, x):
        """The 1-D Deep SVDD representation f(x), ``(K, batch)``."""
        return torch.baddbmm(self.bias, self.embed(x), self.weight).squeeze(-1)

    def losses(self, x, train=False):
        dist = (self.output(x) - self.center).square()
        return dist, 1.0 / (dist + self.hp["eps"])
