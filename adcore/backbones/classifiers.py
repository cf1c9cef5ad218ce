"""Outlier-exposure classifiers of "Exposing Outlier Exposure" (EOE Sec. 3.1-3.2, App. E-F): HSC, BCE, Focal.

Each maps x to a representation φ(x) and has a normal loss L_n = ℓ(x, y = normal)
and an anomaly loss L_a = ℓ(x, y = anomaly), so that with strategy ``sad`` and
labelled anomalies (or an OE set) they are EOE's methods, and with ``pu`` the PU
classifier baselines (``bce`` + ``pu`` with ``correction = "nn"`` is nnPU).

- HSC (Sec. 3.2): l(z) = exp(−h(z)) is the probability of "normal";
  L_n = h(φ(x)), L_a = −log(1 − exp(−h(φ(x)))), score h(φ(x)); h = ‖z‖² (the
  paper's main form) or the pseudo-Huber √(‖z‖² + 1) − 1 (App. E, its best).
- BCE (Sec. 4): a linear head f on φ, p = σ(f) the probability of "anomaly";
  L_n = −log(1 − p), L_a = −log p, score f.
- Focal (Lin et al. 2017; EOE Sec. 4, App. F): BCE scaled by (1 − p_t)^γ and
  the class weight (α for anomalies, 1 − α for normals; α = 0.5 with balanced
  batches, App. F), γ = 2; score f.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from adcore.backbones.base import Backbone
from adcore.nn import StackedLinear, StackedMLP, hidden_dims
from adcore.registry import BACKBONES, Param

RADIAL = ("squared", "pseudo_huber")
HSC_PARAMS = (Param("radial", "squared", str, choices=RADIAL,
                    help="h(z): squared = ‖z‖² (EOE Sec. 3.2); pseudo_huber = √(‖z‖²+1) − 1 (App. E)"),)
FOCAL_PARAMS = (
    Param("gamma", 2.0, float, 0.0, 10.0, help="focusing parameter γ (EOE App. F; 0 = BCE)"),
    Param("focal_alpha", 0.5, float, 0.0, 1.0, help="class weight α of anomalies (0.5 with balanced batches)"),
)


def hsc_distance(z: torch.Tensor, radial: str) -> torch.Tensor:
    """h(φ(x)) per sample of ``z`` (K, B, r)."""
    sq = z.pow(2).sum(-1)
    return sq if radial == "squared" else torch.sqrt(sq + 1.0) - 1.0


def hsc_losses(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_n, L_a) = (h, −log(1 − exp(−h))) of EOE Sec. 3.2."""
    return h, -torch.log(-torch.expm1(-h.clamp_min(1e-6)))


def bce_losses(logit: torch.Tensor, gamma: float = 0.0, alpha: float | None = None):
    """(L_n, L_a) of a binary classifier with anomaly logit f: BCE, or focal loss when ``gamma`` > 0."""
    ln, la = F.softplus(logit), F.softplus(-logit)  # −log(1 − σ(f)), −log σ(f)
    if gamma:
        p = torch.sigmoid(logit)
        ln, la = p.pow(gamma) * ln, (1 - p).pow(gamma) * la
    if alpha is not None:
        ln, la = (1 - alpha) * ln, alpha * la
    return ln, la


class HypersphereLosses:
    """HSC's losses and score on ``self.embed`` (mixed into the MLP and the CNN backbone)."""

    def losses(self, x, train=False):
        return hsc_losses(hsc_distance(self.embed(x), self.hp["radial"]))

    def score(self, x):
        return hsc_distance(self.embed(x), self.hp["radial"])


class BinaryLosses:
    """A linear anomaly-logit head on ``self.embed`` with BCE (or, given ``gamma``, focal) losses; score = logit."""

    def add_head(self, rep_dim: int) -> None:
        self.head = StackedLinear(self.gens, rep_dim, 1)

    def logit(self, x):
        return self.head(self.embed(x)).squeeze(-1)

    def losses(self, x, train=False):
        return bce_losses(self.logit(x), self.hp.get("gamma", 0.0), self.hp.get("focal_alpha"))

    def score(self, x):
        return self.logit(x)


class OEClassifier(Backbone):
    """An MLP φ (with biases: the labelled anomalies rule out the collapse Deep SVDD guards against)."""

    data_kinds = ("tabular", "image")
    base_params = (
        Param("hidden", (), tuple, help="hidden layer sizes; empty = two layers sized from the input"),
        Param("rep_dim", 32, int, 1, 1024, help="dimension of the representation φ(x)"),
        Param("activation", "leaky_relu", str, choices=("leaky_relu", "relu", "tanh", "elu")),
    )

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        d = self.n_features
        self.net = StackedMLP(self.gens, (d, *hidden_dims(hp["hidden"], d), hp["rep_dim"]),
                              activation=hp["activation"])
        if isinstance(self, BinaryLosses):
            self.add_head(hp["rep_dim"])

    def embed(self, x):
        return self.net(x.flatten(2))


@BACKBONES.register
class HSC(HypersphereLosses, OEClassifier):
    """Hypersphere classifier (EOE Sec. 3.2, App. E); see the module docstring."""

    name = "hsc"
    description = "HSC: hypersphere classifier; normal near the origin of φ, anomalies pushed out (needs labels or OE)."
    paper = "EOE (Liznerski et al.) Sec. 3.2, App. E"
    params = OEClassifier.base_params + HSC_PARAMS


@BACKBONES.register
class BCE(BinaryLosses, OEClassifier):
    """Binary cross-entropy classifier, normal vs (labelled / OE) anomalies (EOE Sec. 4)."""

    name = "bce"
    description = "BCE: binary classifier of normal vs labelled/OE anomalies; score = anomaly logit."
    paper = "EOE (Liznerski et al.) Sec. 4, App. G.1"
    params = OEClassifier.base_params


@BACKBONES.register
class Focal(BCE):
    """Focal-loss classifier (Lin et al. 2017), γ = 2 as in EOE Sec. 4 and App. F."""

    name = "focal"
    description = "Focal: BCE classifier with the focal loss (γ = 2) for imbalanced classes."
    paper = "EOE Sec. 4, App. F; Lin et al. 2017"
    params = OEClassifier.base_params + FOCAL_PARAMS
