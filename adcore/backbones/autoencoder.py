"""Autoencoder and denoising autoencoder with the ABC anomaly loss (PU paper Sec. 2.2-2.3)."""
from __future__ import annotations

import torch

from adcore.backbones.base import Backbone
from adcore.nn import StackedMLP, hidden_dims
from adcore.registry import BACKBONES, Param


@BACKBONES.register
class AutoEncoder(Backbone):
    """MLP autoencoder.

    ℓ(x) is L_n and the test score: with ``error="norm"`` (default) the norm
    ||D(E(x)) - x||₂ of the PU paper's Eq. 1 (ABC, PUAE); with ``error="squared"``
    the squared error ||x - D(E(x))||₂² of IAD Eq. 10, which changes both the
    gradient and IAD's Eq. 13-14 weights (the IAD presets use it). The anomaly
    loss is ABC's y = 1 term, L_a = -log(1 - exp(-ℓ)) (PU Eq. 3-4) of the same ℓ,
    which falls as the reconstruction error grows.
    """

    name = "ae"
    description = "Autoencoder: reconstruction error; anomalies pushed to reconstruct badly (ABC)."
    paper = "PU paper Eq. 1-4 (Yamanaka et al. 2019)"
    data_kinds = ("tabular", "image")
    params = (
        Param("hidden", (), tuple, help="encoder hidden sizes (decoder mirrored); empty = sized from the input"),
        Param("latent_dim", 0, int, 0, 1024, help="bottleneck size; 0 = half the last hidden size"),
        Param("activation", "leaky_relu", str, choices=("leaky_relu", "relu", "tanh", "elu")),
        Param("error", "norm", str, choices=("norm", "squared"),
              help="reconstruction error ℓ: ||x - x̂||₂ (norm, PU paper Eq. 1: ABC/PUAE) or ||x - x̂||₂² "
                   "(squared, IAD Eq. 10)"),
    )

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        d = self.n_features
        hidden = hidden_dims(hp["hidden"], d)
        latent = hp["latent_dim"] or max(2, hidden[-1] // 2)
        self.encoder = StackedMLP(self.gens, (d, *hidden, latent), activation=hp["activation"])
        self.decoder = StackedMLP(self.gens, (latent, *hidden[::-1], d), activation=hp["activation"])

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """Input seen during training; the plain autoencoder sees ``x`` itself."""
        return x

    def embed(self, x):
        return self.encoder(x.flatten(2))

    def losses(self, x, train=False):
        flat = x.flatten(2)
        recon = self.decoder(self.embed(self.corrupt(flat) if train else flat))
        err = (recon - flat).pow(2).sum(-1)
        if self.hp.get("error", "norm") == "norm":  # subclasses without the parameter (ae_cnn) keep the norm
            err = err.clamp_min(1e-12).sqrt()
        return err, -torch.log(-torch.expm1(-err.clamp_min(1e-6)))


@BACKBONES.register
class DenoisingAutoEncoder(AutoEncoder):
    """Denoising autoencoder (Vincent et al. 2008): Gaussian noise on the training input,
    reconstruction of the clean input; losses and score as :class:`AutoEncoder`."""

    name = "dae"
    description = "Denoising autoencoder: as 'ae', trained to reconstruct inputs from noisy copies."
    paper = "PU paper Sec. 1 (DAE, Vincent et al. 2008), Eq. 1-4"
    params = AutoEncoder.params + (
        Param("noise_std", 0.1, float, 0.0, 10.0, help="std of the Gaussian noise added to training inputs"),
    )

    def corrupt(self, x):
        return x + self.hp["noise_std"] * torch.randn_like(x)
