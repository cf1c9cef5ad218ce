"""(Denoising) autoencoders on the LeNet-type CNN and its mirrored decoder (IAD Sec. V-A)."""
from __future__ import annotations

from adcore.backbones.autoencoder import AutoEncoder, DenoisingAutoEncoder
from adcore.backbones.conv_base import ARCH_PARAMS, ConvBackbone
from adcore.backbones.lenet import LeNetDecoder, LeNetEncoder, resolve_arch
from adcore.registry import BACKBONES, Param

@BACKBONES.register
class AutoEncoderCNN(ConvBackbone, AutoEncoder):
    """Convolutional autoencoder: LeNet-type encoder, mirrored decoder (IAD Sec. V-A).

    Losses as :class:`~adcore.backbones.autoencoder.AutoEncoder`: L_n = ||D(E(x)) − x||₂
    (PU Eq. 1, the test score), L_a = −log(1 − exp(−L_n)) (ABC, PU Eq. 3-4).
    The bottleneck is the encoder's last dense layer. Biases on (``bias``).
    """

    name = "ae_cnn"
    description = "Convolutional autoencoder (images): reconstruction error; anomalies pushed to reconstruct badly."
    paper = "IAD Sec. V-A (LeNet AE, Ruff et al.); PU Eq. 1-4 (ABC anomaly loss)"
    data_kinds = ("image",)
    params = ARCH_PARAMS + (Param("bias", True, bool, help="bias terms (Ruff et al.'s AE has none)"),)

    def __init__(self, input_shape, seeds, **hp):
        ConvBackbone.__init__(self, input_shape, seeds, **hp)
        self.arch = resolve_arch(hp, self.input_shape)
        self.encoder = LeNetEncoder(self.gens, self.input_shape, self.arch, bias=hp["bias"])
        self.decoder = LeNetDecoder(self.gens, self.encoder, self.encoder.dims[-1], self.arch, bias=hp["bias"])

    def _embed(self, x):
        return self.encoder(x)

    def _profile_forward(self, x):
        self.decoder(self.encoder(x))


@BACKBONES.register
class DenoisingAutoEncoderCNN(AutoEncoderCNN):
    """:class:`AutoEncoderCNN` trained on Gaussian-noised inputs (as ``dae``)."""

    name = "dae_cnn"
    description = "Convolutional denoising autoencoder (images)."
    paper = "PU paper Sec. 1 (DAE); IAD Sec. V-A (LeNet AE)"
    params = AutoEncoderCNN.params + tuple(p for p in DenoisingAutoEncoder.params if p.name == "noise_std")
    corrupt = DenoisingAutoEncoder.corrupt
