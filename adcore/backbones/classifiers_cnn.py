"""HSC, BCE and Focal on the LeNet-type CNN (EOE App. G.1: conv → batch norm → leaky ReLU → max-pool)."""
from __future__ import annotations

from adcore.backbones.classifiers import FOCAL_PARAMS, HSC_PARAMS, bce_losses, hsc_distance, hsc_losses
from adcore.backbones.cnn import ARCH_PARAMS, ConvBackbone, LeNetEncoder, resolve_arch
from adcore.nn import StackedLinear
from adcore.registry import BACKBONES


class OEClassifierCNN(ConvBackbone):
    """φ = a LeNet encoder with biases and affine batch norm (EOE App. G.1), the representation its last dense layer."""

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        self.arch = resolve_arch(hp, self.input_shape)
        self.net = LeNetEncoder(self.gens, self.input_shape, self.arch, bias=True, bn_affine=True)

    def _embed(self, x):
        return self.net(x)


@BACKBONES.register
class HSCCNN(OEClassifierCNN):
    """HSC (EOE Sec. 3.2) on images."""

    name = "hsc_cnn"
    description = "HSC on a LeNet-type CNN (images)."
    paper = "EOE Sec. 3.2, App. E, G.1"
    params = ARCH_PARAMS + HSC_PARAMS

    def losses(self, x, train=False):
        return hsc_losses(hsc_distance(self.embed(x), self.hp["radial"]))

    def score(self, x):
        return hsc_distance(self.embed(x), self.hp["radial"])


@BACKBONES.register
class BCECNN(OEClassifierCNN):
    """BCE classifier (EOE Sec. 4): the encoder followed by a linear layer and a sigmoid (App. G.1)."""

    name = "bce_cnn"
    description = "BCE classifier on a LeNet-type CNN (images)."
    paper = "EOE Sec. 4, App. G.1"
    params = ARCH_PARAMS

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        self.head = StackedLinear(self.gens, self.net.dims[-1], 1)

    def logit(self, x):
        return self.head(self.embed(x)).squeeze(-1)

    def losses(self, x, train=False):
        return bce_losses(self.logit(x))

    def score(self, x):
        return self.logit(x)


@BACKBONES.register
class FocalCNN(BCECNN):
    """Focal-loss classifier (γ = 2) on images (EOE Sec. 4, App. F)."""

    name = "focal_cnn"
    description = "Focal-loss classifier on a LeNet-type CNN (images)."
    paper = "EOE Sec. 4, App. F, G.1"
    params = ARCH_PARAMS + FOCAL_PARAMS

    def losses(self, x, train=False):
        return bce_losses(self.logit(x), self.hp["gamma"], self.hp["focal_alpha"])
