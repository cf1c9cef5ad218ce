"""Convolutional VAE / MML-VAE and DP-VAE for images: LeNet-type encoder and mirrored decoder (DP-VAE App. D.1).

The losses are the MLP backbones' code (:mod:`adcore.backbones.vae`, :mod:`adcore.backbones.dpvae`);
only the networks differ. Default ``arch`` is ``auto`` (Ruff et al.'s LeNet, which App. D.1 says it
follows, with biases); ``vae_fmnist`` / ``vae_mnist`` are the paper's own variants.
"""
from __future__ import annotations

from adcore.backbones.conv_base import ARCH_PARAMS, ConvBackbone
from adcore.backbones.lenet import LeNetDecoder, LeNetEncoder, resolve_arch
from adcore.backbones.dpvae import DPVAE, DualPrior
from adcore.backbones.vae import VAE
from adcore.registry import BACKBONES, Param


def _image_params(params) -> tuple:
    """The MLP VAE's parameters without the MLP sizes, with image defaults (Bernoulli likelihood)."""
    out = []
    for p in params:
        if p.name in ("hidden", "activation"):
            continue
        if p.name == "likelihood":
            p = Param("likelihood", "bernoulli", str, choices=("gaussian", "bernoulli"),
                      help="decoder likelihood p(x|z); bernoulli (default here) suits intensities in [0, 1]")
        elif p.name == "latent_dim":
            p = Param("latent_dim", 0, int, 0, 1024, help="latent size; 0 = the arch's last dense size")
        out.append(p)
    return ARCH_PARAMS + tuple(out)


class _ConvVAE(ConvBackbone):
    """LeNet encoder (outputs μ and log σ²), mirrored decoder, and an optional second (outlier) encoder;
    mixed in before :class:`~adcore.backbones.vae.VAE`, whose loss code it uses."""

    def __init__(self, input_shape, seeds, **hp):
        ConvBackbone.__init__(self, input_shape, seeds, **hp)
        self.arch = resolve_arch(hp, self.input_shape)
        self.latent = hp["latent_dim"] or self.arch["dense"][-1]
        self.encoder = LeNetEncoder(self.gens, self.input_shape, self.arch, out_dim=2 * self.latent)
        self.decoder = LeNetDecoder(self.gens, self.encoder, self.latent, self.arch)
        self._init_sigma()  # VAE's
        if hp["outlier_encoder"] == "separate":
            self.outlier_encoder = LeNetEncoder(self.gens, self.input_shape, self.arch, out_dim=2 * self.latent)
        self._kl_scale = 1.0

    def _embed(self, x):
        return self.posterior(x)[0]

    def _profile_forward(self, x):
        self.decoder(self.encoder(x)[..., : self.latent])


@BACKBONES.register
class VAECNN(_ConvVAE, VAE):
    """Convolutional VAE / MML-VAE (DP-VAE App. D.1; losses of :class:`adcore.backbones.vae.VAE`)."""

    name = "vae_cnn"
    description = "Convolutional VAE / MML-VAE (images): −ELBO as anomaly score; outliers pushed down via exp(2·CUBO)."
    paper = "DP-VAE App. D.1 (CNN sizes), Sec. 3, 4.1 (losses); Kingma & Welling 2014"
    data_kinds = ("image",)
    params = _image_params(VAE.params)


@BACKBONES.register
class DPVAECNN(DualPrior, _ConvVAE, VAE):
    """Convolutional DP-VAE (DP-VAE App. D.1, Sec. 4.2; losses of :class:`adcore.backbones.dpvae.DualPrior`)."""

    name = "dpvae_cnn"
    description = "Convolutional dual-prior VAE (images): outliers' ELBO against N(α·1, I); −ELBO as anomaly score."
    paper = "DP-VAE App. D.1 (CNN sizes), Sec. 4.2, App. F"
    data_kinds = ("image",)
    params = _image_params(DPVAE.params)

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        self.check_alpha()
