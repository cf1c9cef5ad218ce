"""Deep SVDD on an MLP (Ruff et al. 2018), with the LOE anomaly loss (LOE Sec. 3.1)."""
from __future__ import annotations

import torch
from torch import nn

from adcore.backbones.base import Backbone
from adcore.nn import ACTIVATIONS, StackedBatchNorm, StackedLinear, StackedMLP, hidden_dims
from adcore.registry import BACKBONES, Param


def svdd_mlp(gens, dims, bias: bool, activation: str, batch_norm: bool) -> nn.Sequential:
    """``dims[0] → … → dims[-1]``; with ``batch_norm`` each hidden layer is Linear → BatchNorm → activation
    (Ruff et al.'s MLP: ``BatchNorm1d(eps=1e-4, affine=False)``)."""
    if not batch_norm:
        return StackedMLP(gens, dims, bias=bias, activation=activation)
    layers = []
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(StackedLinear(gens, d_in, d_out, bias=bias))
        if i < len(dims) - 2:
            layers += [StackedBatchNorm(len(gens), d_out), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


@BACKBONES.register
class DeepSVDD(Backbone):
    """One-class or soft-boundary Deep SVDD.

    One-class (default): L_n = ||f(x) - c||² pulls normal data to the center c,
    fixed as the mean initial representation of the training data (Ruff et al.
    2018, Sec. 3.3); L_a = 1 / (||f(x) - c||² + eps) pushes anomalies away, as in
    Deep SAD (Ruff et al. 2019, Eq. 6) and LOE Sec. 3.1. Test score: L_n.

    Soft-boundary (Ruff et al. 2018 Eq. 3; IAD Eq. 1-3, competitor "SB Deep
    SVDD"): the objective R² + 1/(νn) Σ_i max(0, d_i − R²), d_i = ||f(x_i) − c||²,
    written per sample as L_n,i = R² + (1/ν) max(0, d_i − R²), so that its batch
    mean is the objective and a strategy weight w_i scales sample i's share
    (R² included). R is a per-member buffer, not a gradient parameter: as in
    Ruff et al. Sec. 3.1 ("R can be solved by line search" → the (1−ν)-quantile of
    the distances), after each training mini-batch R is set to the (1−ν)-quantile
    of ||f(x) − c|| over that batch, from ``radius_warmup`` epochs on (R = 0
    before, i.e. the one-class objective scaled by 1/ν). The loss of a batch uses
    the R from before that batch. Test score d − R² (the signed distance to the
    boundary; the same ranking as d). L_a is the one-class one.

    ``pretrain_epochs`` > 0 first trains ``net`` as the encoder of an autoencoder
    (a mirrored decoder with the same bias setting, squared reconstruction error,
    Adam, batches of 128, each member with its own data order) on the training set,
    as Ruff et al. 2018 (Sec. 4) and their code do before fixing c; the decoder is
    then dropped. Default 0: c from the randomly initialised network.

    Why a bias-free MLP without batch norm sits near chance on standardised tabular data
    (issue 12, thyroid as IAD's base): with leaky ReLU and no bias the network is
    positively homogeneous, f(λx) = λ f(x) and f(0) = 0, and standardised data are centred
    at the origin, so normal points near the mean cannot reach c ≠ 0; minimising the mean
    distance shrinks the whole representation (mean distance 0.002 after 160 epochs) and
    the ranking left over is arbitrary (AUROC 0.50). Ruff et al.'s bias-free design
    assumes inputs away from the origin (images); their MLP for tabular data (the Deep
    SAD code IAD's Deep SVDD follows) puts ``BatchNorm1d(affine=False)`` after every hidden
    layer, whose batch mean acts as a data-dependent bias. ``batch_norm=True`` gives that
    architecture; with it, or with ``bias=True``, the pre-trained model keeps its ranking.
    With batch norm, c is the mean representation in evaluation mode after the running
    statistics are set to the training set's statistics.
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
        Param("batch_norm", False, bool,
              help="batch norm (no affine terms) after each hidden layer, as Ruff et al.'s MLP; see the docstring"),
        Param("center_eps", 0.1, float, 0.0, 10.0,
              help="center coordinates closer to 0 than this are moved to ±center_eps (Ruff et al.)"),
        Param("eps", 1e-6, float, 0.0, 1.0, help="added to the distance in L_a for numerical stability"),
        Param("objective", "one-class", str, choices=("one-class", "soft-boundary"),
              help="one-class: mean distance; soft-boundary: radius R and the ν trade-off (Ruff et al. 2018)"),
        Param("nu", 0.1, float, 1e-4, 1.0,
              help="soft-boundary ν: upper bound on the fraction of training data outside the sphere"),
        Param("radius_warmup", 10, int, 0, 100000, help="soft-boundary: epochs before R is first updated"),
        Param("pretrain_epochs", 0, int, 0, 100000,
              help="epochs of autoencoder pre-training of the network before c is set (Ruff et al.); 0 = none"),
        Param("pretrain_lr", 1e-3, float, 1e-6, 1.0, help="Adam learning rate of the pre-training"),
    )

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        dims = (self.n_features, *hidden_dims(hp["hidden"], self.n_features), hp["rep_dim"])
        self.dims = dims
        self.net = svdd_mlp(self.gens, dims, hp["bias"], hp["activation"], hp["batch_norm"])
        self.init_svdd_state(hp["rep_dim"])

    def init_svdd_state(self, rep_dim: int) -> None:
        """The center c (and, for the soft-boundary form, the radius R) that losses and score read."""
        self.register_buffer("center", torch.zeros(self.n_models, 1, rep_dim))
        self.soft = self.hp["objective"] == "soft-boundary"
        if self.soft:
            self.register_buffer("radius", torch.zeros(self.n_models, 1))
            self._n_train = 0
            self._seen = 0

    def embed(self, x):
        return self.net(x.flatten(2))

    def setup(self, x):
        if self.hp["pretrain_epochs"] > 0:
            self._pretrain(x.flatten(2))
        with torch.no_grad():
            norms = [m for m in self.net.modules() if isinstance(m, StackedBatchNorm)]
            if norms:  # running statistics = the training set's, then c in evaluation mode
                mode, saved = self.training, [m.momentum for m in norms]
                for m in norms:
                    m.momentum = 1.0
                self.train()
                self.embed(x)
                for m, momentum in zip(norms, saved):
                    m.momentum = momentum
                self.eval()
                c = self.embed(x).mean(dim=1, keepdim=True)
                self.train(mode)
            else:
                c = self.embed(x).mean(dim=1, keepdim=True)
        eps = self.hp["center_eps"]
        c = torch.where(c.abs() < eps, torch.where(c < 0, -eps, eps), c)
        self.center.copy_(c)
        if self.soft:
            self._n_train, self._seen = x.shape[1], 0

    def _pretrain(self, x: torch.Tensor, batch_size: int = 128) -> None:
        """Autoencoder pre-training of ``net`` on ``x`` (K, N, d); the decoder is discarded afterwards."""
        hp = self.hp
        decoder = svdd_mlp(self.gens, self.dims[::-1], hp["bias"], hp["activation"], hp["batch_norm"]).to(x.device)
        params = list(self.net.parameters()) + list(decoder.parameters())
        opt = torch.optim.Adam(params, lr=hp["pretrain_lr"])
        K, N = x.shape[:2]
        B = min(batch_size, N)
        order = [torch.Generator().manual_seed(int(torch.randint(2**31 - 1, (1,), generator=g))) for g in self.gens]
        kk = torch.arange(K, device=x.device)[:, None]
        with torch.enable_grad():
            for _ in range(hp["pretrain_epochs"]):
                perm = torch.stack([torch.randperm(N, generator=g) for g in order]).to(x.device)
                for i in range(0, N, B):
                    xb = x[kk, perm[:, i : i + B]]
                    loss = (decoder(self.net(xb)) - xb).pow(2).sum(-1).mean(1).sum()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
        for p in self.net.parameters():
            p.grad = None

    def losses(self, x, train=False):
        dist = (self.embed(x) - self.center).pow(2).sum(-1)
        la = 1.0 / (dist + self.hp["eps"])
        if not self.soft:
            return dist, la
        r2 = self.radius.pow(2)
        ln = r2 + torch.relu(dist - r2) / self.hp["nu"]
        if train:
            if self._n_train and self._seen // self._n_train >= self.hp["radius_warmup"]:
                with torch.no_grad():
                    r = torch.quantile(dist.detach().clamp_min(0).sqrt(), 1.0 - self.hp["nu"], dim=1, keepdim=True)
                self.radius.copy_(r)
            self._seen += x.shape[1]
        return ln, la

    def score(self, x):
        dist = (self.embed(x) - self.center).pow(2).sum(-1)
        return dist - self.radius.pow(2) if self.soft else dist
