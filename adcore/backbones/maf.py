"""Masked autoregressive flow (Papamakarios et al. 2017), the probabilistic backbone of IAD Sec. III-B."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from adcore.backbones.base import Backbone
from adcore.nn import ACTIVATIONS, StackedBatchNorm, StackedLinear
from adcore.registry import BACKBONES, Param

LOG_2PI = math.log(2 * math.pi)


class MaskedStackedLinear(StackedLinear):
    """K linear maps whose weights are multiplied by a fixed 0/1 connectivity mask (MADE).

    The mask is shared by all members and is a non-persistent buffer, so it is not
    part of ``state_dict`` (whose tensors must carry the model dimension first).
    """

    def __init__(self, gens, mask: torch.Tensor, bias: bool = True):
        super().__init__(gens, mask.shape[0], mask.shape[1], bias=bias)
        self.register_buffer("mask", mask.float(), persistent=False)

    def forward(self, x):
        w = self.weight * self.mask
        return torch.bmm(x, w) if self.bias is None else torch.baddbmm(self.bias, x, w)


def made_masks(degrees_in: torch.Tensor, hidden: tuple, n_out_copies: int) -> list[torch.Tensor]:
    """MADE masks (Germain et al. 2015) for input degrees ``degrees_in`` (a permutation of 1..D).

    Hidden unit k of every hidden layer gets degree 1 + (k mod (D − 1)) (deterministic,
    so every degree is used); a hidden unit of degree m sees inputs of degree ≤ m, and
    output d (repeated ``n_out_copies`` times, e.g. μ and log-scale) sees hidden units
    of degree < degree(d). Output d therefore depends only on inputs that come before
    it in the order. With D = 1 no connection is allowed: the outputs are biases.
    """
    D = degrees_in.numel()
    masks, prev = [], degrees_in
    for h in hidden:
        deg = (torch.arange(h) % max(D - 1, 1)) + 1 if D > 1 else torch.full((h,), D + 1)
        masks.append(deg[None, :] >= prev[:, None])
        prev = deg
    out = degrees_in.repeat(n_out_copies)
    masks.append(out[None, :] > prev[:, None])
    return masks


class MADE(nn.Module):
    """Gaussian MADE for K members: x (K, B, D) → (μ, log-scale a), each (K, B, D), autoregressive in ``order``."""

    def __init__(self, gens, degrees_in: torch.Tensor, hidden: tuple, activation: str):
        super().__init__()
        masks = made_masks(degrees_in, hidden, 2)
        layers = []
        for i, m in enumerate(masks):
            layers.append(MaskedStackedLinear(gens, m))
            if i < len(masks) - 1:
                layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        mu, a = self.net(x).chunk(2, dim=-1)
        return mu, a


class FlowBatchNorm(StackedBatchNorm):
    """Batch normalisation as a flow layer (MAF paper Sec. 3.2 / App. B), per member.

    u → (u − m) / sqrt(v + ε) · exp(γ) + β with log |det| = Σ_d (γ_d − ½ log(v_d + ε)).
    Training uses the batch mean and variance (treated as constants of the bijection, as
    in the MAF paper); evaluation uses their running averages, so test densities do not
    depend on the batch. Parameters and buffers are ``(K, 1, D)``.
    """

    def __init__(self, n_models: int, dim: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__(n_models, dim, momentum, eps)
        self.log_gamma = nn.Parameter(torch.zeros(n_models, 1, dim))
        self.beta = nn.Parameter(torch.zeros(n_models, 1, dim))

    def forward(self, u, train: bool):
        mean, var = self.moments(u, train)
        log_scale = self.log_gamma - 0.5 * torch.log(var + self.eps)
        return (u - mean) * torch.exp(log_scale) + self.beta, log_scale.sum(-1).expand(u.shape[:2])


@BACKBONES.register
class MAF(Backbone):
    """Masked autoregressive flow with a standard Gaussian base (IAD Sec. III-B, Eq. 6-8).

    Each of ``n_layers`` Gaussian MADEs maps u → (u − μ(u)) · exp(−a(u)) with μ, a
    autoregressive in the layer's variable order; the order is reversed between
    layers (MAF Sec. 3). The last output is z (``embed``), and
    log p(x) = log N(z; 0, I) − Σ_layers Σ_d a_d, the exact change of variables.
    The log-scales are soft-clipped, a = c·tanh(a_raw / c) with c = ``max_log_scale``
    (0 = unclipped), against blow-ups on contaminated data; a = a_raw near 0.
    With ``batch_norm`` (default, as in the MAF paper Sec. 3.2 and the code IAD cites) a
    :class:`FlowBatchNorm` layer sits between consecutive MADEs; its log-determinant
    enters log p(x).

    L_n = −log p(x) (Eq. 7). The test score is the NLL (default) or, with
    ``score = "neg_density"``, −p(x) as printed in IAD Eq. 8: both rank samples
    identically (same AUROC and IAD h), but IAD's weight update Eq. 12-14 depends on
    the score's scale (min/median/max gaps) and so differs between the two.

    Anomaly loss for LOE (not used by IAD): NLL can have either sign (a density
    exceeds 1 where the data concentrate), so 1/NLL or ABC's −log(1 − e^{−NLL})
    are not defined everywhere. We take the posterior log-odds of "anomaly" under a
    two-class mixture of the flow p and a fixed reference density q, the standard
    normal of standardised data: P(anomaly | x) = q/(q + p), so
    L_a = −log P(anomaly | x) = softplus(log p(x) − log q(x)).
    It is finite for any NLL, ≥ 0, decreasing in NLL, and its gradient
    σ(log p − log q) ∇log p vanishes once the flow gives x less density than the
    reference, so anomalies are not pushed to −∞ likelihood. (For ℓ = softplus(NLL)
    the ABC term −log(1 − e^{−ℓ}) equals softplus(−NLL): the same form with q ≡ 1.)
    """

    name = "maf"
    description = "MAF: masked autoregressive flow; score = negative log-likelihood."
    paper = "IAD Sec. III-B Eq. 6-8; Papamakarios et al. 2017 (MAF), Germain et al. 2015 (MADE)"
    data_kinds = ("tabular",)
    params = (
        Param("n_layers", 5, int, 1, 50, help="number of MADE layers (IAD: 5)"),
        Param("hidden", (32,), tuple, help="hidden layer sizes of each MADE (IAD: 32 units)"),
        Param("activation", "relu", str, choices=("relu", "leaky_relu", "tanh", "elu")),
        Param("max_log_scale", 5.0, float, 0.0, 100.0, help="soft clip of each layer's log-scale; 0 = none"),
        Param("batch_norm", True, bool, help="batch-norm flow layers between the MADEs (MAF paper Sec. 3.2)"),
        Param("score", "nll", str, choices=("nll", "neg_density"),
              help="test score: −log p(x), or −p(x) as in IAD Eq. 8 (same ranking, different IAD weights)"),
        Param("ref_scale", 1.0, float, 1e-3, 1e3, help="std of the Gaussian reference density q in L_a"),
    )

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        D = self.n_features
        forward_deg = torch.arange(1, D + 1)
        self.made = nn.ModuleList(
            MADE(self.gens, forward_deg if i % 2 == 0 else forward_deg.flip(0), hp["hidden"], hp["activation"])
            for i in range(hp["n_layers"]))
        n_bn = hp["n_layers"] - 1 if hp["batch_norm"] else 0
        self.norms = nn.ModuleList(FlowBatchNorm(self.n_models, D) for _ in range(n_bn))

    def _forward(self, x, train: bool = False):
        """z and the summed log |det ∂z/∂x| for x (K, B, D); ``train``: batch statistics in the batch norms."""
        u = x.flatten(2)
        log_det = torch.zeros(u.shape[:2], device=u.device, dtype=u.dtype)
        c = self.hp["max_log_scale"]
        for i, made in enumerate(self.made):
            mu, a = made(u)
            if c > 0:
                a = c * torch.tanh(a / c)
            u = (u - mu) * torch.exp(-a)
            log_det = log_det - a.sum(-1)
            if i < len(self.norms):
                u, ld = self.norms[i](u, train)
                log_det = log_det + ld
        return u, log_det

    def log_prob(self, x, train: bool = False):
        z, log_det = self._forward(x, train)
        return -0.5 * (z.pow(2).sum(-1) + z.shape[-1] * LOG_2PI) + log_det

    def embed(self, x):
        return self._forward(x)[0]

    def losses(self, x, train=False):
        lp = self.log_prob(x, train)
        flat = x.flatten(2)
        s = self.hp["ref_scale"]
        log_q = -0.5 * ((flat / s).pow(2).sum(-1) + flat.shape[-1] * (LOG_2PI + 2 * math.log(s)))
        return -lp, F.softplus(lp - log_q)

    def score(self, x):
        nll = -self.log_prob(x)
        if self.hp["score"] == "neg_density":
            return -torch.exp((-nll).clamp(max=80.0))
        return nll
