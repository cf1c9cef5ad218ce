"""HSC, BCE and Focal on the LeNet-type CNN (EOE App. G.1: conv → batch norm → leaky ReLU → max-pool)."""
from __future__ import annotations

from adcore.backbones.classifiers import FOCAL_PARAMS, HSC_PARAMS, BinaryLosses, HypersphereLosses
from adcore.backbones.conv_base import ARCH_PARAMS, ConvBackbone
from adcore.backbones.lenet import LeNetEncoder, resolve_arch
from adcore.registry import BACKBONES


class OEClassifierCNN(ConvBackbone):
    """φ = a LeNet encoder with biases and affine batch norm (EOE App. G.1), the representation its last dense layer."""

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        self.arch = resolve_arch(hp, self.input_shape)
        self.net = LeNetEncoder(self.gens, self.input_shape, self.arch, bias=True, bn_affine=True)
        if isinstance(self, BinaryLosses):  # EOE App. G.1: the encoder followed by a linear layer and a sigmoid
            self.add_head(self.net.dims[-1])

    def _embed(self, x):
        return self.net(x)


@BACKBONES.register
class HSCCNN(HypersphereLosses, OEClassifierCNN):
    """HSC (EOE Sec. 3.2) on images."""

    name = "hsc_cnn"
    description = "HSC on a LeNet-type CNN (images)."
    paper = "EOE Sec. 3.2, App. E, G.1"
    params = ARCH_PARAMS + HSC_PARAMS


@BACKBONES.register
class BCECNN(BinaryLosses, OEClassifierCNN):
    """BCE classifier (EOE Sec. 4) on images."""

    name = "bce_cnn"
    description = "BCE classifier on a LeNet-type CNN (images)."
    paper = "EOE Sec. 4, App. G.1"
    params = ARCH_PARAMS


@BACKBONES.register
class FocalCNN(BCECNN):
    """Focal-loss classifier (γ = 2) on images (EOE Sec. 4, App. F)."""

    name = "focal_cnn"
    description = "Focal-loss classifier on a LeNet-type CNN (images)."
    paper = "EOE Sec. 4, App. F, G.1"
    params = ARCH_PARAMS + FOCAL_PARAMS
