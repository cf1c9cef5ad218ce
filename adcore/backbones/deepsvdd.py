"""Deep SVDD on an MLP (Ruff et al. 2018), with the LOE anomaly loss (LOE Sec. 3.1)."""
from __future__ import annotations

import torch

from adcore.backbones.base import Backbone
from adcore.nn import StackedMLP, hidden_dims
from adcore.registry import BACKBONES, Param


@BACKBONES.register
class DeepSVDD(Backbone):
    """One-class Deep SVDD.

    L_n = ||f(x) - c||² pulls normal data to the center c, fixed as the mean
    initial representation of the training data (Ruff et al. 2018, Sec. 3.3);
    L_a = 1 / (||f(x) - c||² + eps) pushes anomalies away, as in Deep SAD
    (Ruff et al. 2019, Eq. 6) and LOE Sec. 3.1. Test score: L_n.
    """

    name = "deepsvdd"
    description = "Deep SVDD: distance to a hypersphere center in an MLP feature space."
    paper = "Ruff et al. 2018; LOE Sec. 3.1 (L_a = 1/||f(x)-c||², Ruff et al. 2019 Eq. 6)"
    data_kinds = ("tabular", "image")
    params = (
        Param("hidden", (), tuple, help="hidden layer sizes; empty = two layers sized from the input"),
        Param("rep_dim", 32, int, 1, 1024, help="dimension of the representation f(x)"),
        Param("bias", False, bool, help="bias terms (Ruff et al. leave them out to avoid the trivial solution)"),
        Param("activation", "leaky_relu", str, choices=("leaky_relu", "relu", "tanh", "elu")),
        Param("center_eps", 0.1, float, 0.0, 10.0,
              help="center coordinates closer to 0 than this are moved to ±center_eps (Ruff et al.)"),
        Param("eps", 1e-6, float, 0.0, 1.0, help="added to the distance in L_a for numerical stability"),
    )

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        dims = (self.n_features, *hidden_dims(hp["hidden"], self.n_features), hp["rep_dim"])
        self.net = StackedMLP(self.gens, dims, bias=hp["bias"], activation=hp["activation"])
        self.register_buffer("center", torch.zeros(self.n_models, 1, hp["rep_dim"]))

    def embed(self, x):
        return self.net(x.flatten(2))

    @torch.no_grad()
    def setup(self, x):
        c = self.embed(x).mean(dim=1, keepdim=True)
        eps = self.hp["center_eps"]
        c = torch.where(c.abs() < eps, torch.where(c < 0, -eps, eps), c)
        self.center.copy_(c)

    def losses(self, x, train=False):
        dist = (self.embed(x) - self.center).pow(2).sum(-1)
        return dist, 1.0 / (dist + self.hp["eps"])
