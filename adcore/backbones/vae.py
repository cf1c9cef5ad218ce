"""Variational autoencoder (Kingma & Welling 2014) as in the DP-VAE paper Sec. 3, with the CUBO anomaly loss."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from adcore.backbones.base import Backbone
from adcore.nn import StackedLinear, StackedMLP, hidden_dims
from adcore.registry import BACKBONES, Param

LOG_2PI = math.log(2 * math.pi)


def _mlp_frozen(mlp: StackedMLP, x: torch.Tensor) -> torch.Tensor:
    """``mlp(x)`` with its parameters detached: gradients reach ``x`` but not the weights."""
    for layer in mlp:
        if isinstance(layer, StackedLinear):
            w = layer.weight.detach()
            x = torch.bmm(x, w) if layer.bias is None else torch.baddbmm(layer.bias.detach(), x, w)
        else:
            x = layer(x)
    return x


@BACKBONES.register
class VAE(Backbone):
    """MLP VAE with Gaussian posterior q(z|x) = N(μ(x), diag σ²(x)) and prior N(0, I).

    The encoder outputs (μ, log σ²); the decoder outputs the mean of a Gaussian
    likelihood N(x; D(z), diag s²) (s per feature, learned as ``min_sigma`` +
    softplus, or fixed with ``obs_sigma`` > 0) or the logits of a Bernoulli
    likelihood (data in [0, 1]). All normalising constants are kept, so the
    ELBO is a true lower bound of log p(x):
    ELBO(x) = E_q[log p(x|z)] − β_KL · KL(q(z|x) ‖ p(z))   (DP-VAE Sec. 3, β_KL as in App. D.2).

    L_n = −ELBO (per sample). Training uses ``n_samples`` reparameterised draws
    (default 1) and the analytic KL. The test score (``score``, ``train=False``)
    is deterministic by default: the reconstruction term at the posterior mean,
    −log p(x | z = μ(x)) + β_KL · KL — a plug-in, not a bound, but stable across
    evaluations, which IAD's rank-based h needs; ``test_samples`` > 0 uses that
    many draws instead (a noisy, unbiased −ELBO). ``embed`` = μ(x).

    L_a (for LOE; IAD does not use it): DP-VAE Sec. 4.1 pushes outliers down with
    the χ upper bound CUBO_2(x) = ½ log E_q[(p(x, z)/q(z|x))²] ≥ log p(x),
    estimated with ``cubo_samples`` draws by log-sum-exp, and (Sec. 4.1, "updating
    only the encoder") with the decoder frozen. Minimising an *upper* bound of
    log p(x) lowers the likelihood of an outlier, unlike maximising −ELBO which
    can merely loosen the bound. CUBO is unbounded below, so as for the MAF we
    take L_a = softplus(CUBO_2(x) − log q_ref(x)), the negative log posterior of
    "anomaly" against a reference density q_ref (standard normal for a Gaussian
    likelihood on standardised data, Bernoulli(½) per feature for a Bernoulli
    likelihood): finite, ≥ 0, and its gradient vanishes once the model's bound
    falls below the reference. ``beta_cubo`` scales the prior/posterior ratio
    inside CUBO as in DP-VAE Eq. 4. The MC estimate of CUBO is biased low for few
    samples (DP-VAE Sec. 2); with ``cubo_samples`` = 1 it equals the 1-sample
    ELBO estimate.
    """

    name = "vae"
    description = "VAE: negative ELBO as anomaly score; outliers pushed down through the CUBO bound (DP-VAE)."
    paper = "Kingma & Welling 2014; Daniel et al. (DP-VAE) Sec. 2-4.1, App. E"
    data_kinds = ("tabular", "image")
    params = (
        Param("hidden", (), tuple, help="encoder hidden sizes (decoder mirrored); empty = sized from the input"),
        Param("latent_dim", 0, int, 0, 1024, help="latent size; 0 = half the last hidden size"),
        Param("activation", "leaky_relu", str, choices=("leaky_relu", "relu", "tanh", "elu")),
        Param("likelihood", "gaussian", str, choices=("gaussian", "bernoulli"),
              help="decoder likelihood p(x|z); bernoulli expects data in [0, 1]"),
        Param("obs_sigma", 0.0, float, 0.0, 100.0, help="fixed Gaussian std; 0 = learned per feature"),
        Param("min_sigma", 0.05, float, 1e-4, 10.0, help="lower bound of the learned Gaussian std"),
        Param("beta_kl", 1.0, float, 0.0, 100.0, help="weight of the KL term (1 = the ELBO)"),
        Param("n_samples", 1, int, 1, 1000, help="posterior samples per training step for the ELBO"),
        Param("test_samples", 0, int, 0, 1000, help="samples for the test score; 0 = posterior mean (deterministic)"),
        Param("cubo_samples", 4, int, 1, 1000, help="posterior samples for the CUBO of L_a"),
        Param("beta_cubo", 1.0, float, 0.0, 100.0, help="β_CUBO of DP-VAE Eq. 4 (1 = the CUBO)"),
        Param("cubo_freeze_decoder", True, bool, help="CUBO updates only the encoder (DP-VAE Sec. 4.1)"),
    )

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        d = self.n_features
        hidden = hidden_dims(hp["hidden"], d)
        self.latent = hp["latent_dim"] or max(2, hidden[-1] // 2)
        self.encoder = StackedMLP(self.gens, (d, *hidden, 2 * self.latent), activation=hp["activation"])
        self.decoder = StackedMLP(self.gens, (self.latent, *hidden[::-1], d), activation=hp["activation"])
        if hp["likelihood"] == "gaussian" and hp["obs_sigma"] <= 0:
            # softplus(0.5413) ≈ 1: start at s ≈ 1 + min_sigma on standardised data
            self.sigma_raw = nn.Parameter(torch.full((self.n_models, 1, d), 0.5413))

    # -- pieces ---------------------------------------------------------------------------
    def posterior(self, x):
        """(μ, log σ²) of q(z|x), each (K, B, latent)."""
        mu, logvar = self.encoder(x.flatten(2)).chunk(2, dim=-1)
        return mu, logvar.clamp(-30.0, 20.0)

    def embed(self, x):
        return self.posterior(x)[0]

    def _obs_sigma(self):
        if self.hp["obs_sigma"] > 0:
            return None
        return self.hp["min_sigma"] + F.softplus(self.sigma_raw)

    def log_lik(self, x, z, frozen: bool = False):
        """log p(x|z) summed over features; ``x`` (K, B, d), ``z`` (K, B·S, latent) with S samples per x."""
        out = _mlp_frozen(self.decoder, z) if frozen else self.decoder(z)
        S = out.shape[1] // x.shape[1]
        xs = x.repeat(1, S, 1)
        if self.hp["likelihood"] == "bernoulli":
            return -F.binary_cross_entropy_with_logits(out, xs, reduction="none").sum(-1)
        sig = self._obs_sigma()
        if sig is None:
            s = self.hp["obs_sigma"]
            return -0.5 * ((xs - out) / s).pow(2).sum(-1) - xs.shape[-1] * (math.log(s) + 0.5 * LOG_2PI)
        if frozen:
            sig = sig.detach()
        return -(0.5 * ((xs - out) / sig).pow(2) + torch.log(sig)).sum(-1) - 0.5 * xs.shape[-1] * LOG_2PI

    @staticmethod
    def kl(mu, logvar):
        """KL(N(μ, σ²) ‖ N(0, I)) per sample."""
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)

    @staticmethod
    def _draw(mu, logvar, S):
        """S reparameterised samples per row, stacked along the batch: (K, B·S, latent), sample-major."""
        eps = torch.randn(mu.shape[0], S * mu.shape[1], mu.shape[2], device=mu.device, dtype=mu.dtype)
        return mu.repeat(1, S, 1) + eps * (0.5 * logvar).exp().repeat(1, S, 1), eps

    def _elbo(self, flat, mu, logvar, n_samples: int):
        z, _ = self._draw(mu, logvar, n_samples)
        rec = self.log_lik(flat, z).view(flat.shape[0], n_samples, flat.shape[1]).mean(1)
        return rec - self.hp["beta_kl"] * self.kl(mu, logvar)

    def _log_weights(self, flat, mu, logvar, n_samples: int, beta: float = 1.0, frozen: bool = False):
        z, eps = self._draw(mu, logvar, n_samples)
        K, B = flat.shape[:2]
        ll = self.log_lik(flat, z, frozen=frozen).view(K, n_samples, B)
        log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        log_qz = -0.5 * (eps.pow(2) + LOG_2PI + logvar.repeat(1, n_samples, 1)).sum(-1)
        return ll + beta * (log_pz - log_qz).view(K, n_samples, B)

    def _cubo(self, flat, mu, logvar, n_samples: int, beta: float = 1.0, frozen: bool = False):
        lw = self._log_weights(flat, mu, logvar, n_samples, beta, frozen)
        return 0.5 * (torch.logsumexp(2.0 * lw, dim=1) - math.log(n_samples))

    def elbo(self, x, n_samples: int = 1):
        """Monte-Carlo ELBO (K, B) with ``n_samples`` draws and the analytic KL (β_KL applied)."""
        flat = x.flatten(2)
        return self._elbo(flat, *self.posterior(flat), n_samples)

    def log_weights(self, x, n_samples: int, beta: float = 1.0, frozen: bool = False):
        """log p(x|z_s) + β (log p(z_s) − log q(z_s|x)) for s = 1..S: (K, S, B)."""
        flat = x.flatten(2)
        return self._log_weights(flat, *self.posterior(flat), n_samples, beta, frozen)

    def cubo(self, x, n_samples: int, beta: float = 1.0, frozen: bool = False):
        """CUBO_2(x) = ½ log mean_s w_s² (DP-VAE Sec. 2, App. E), MC estimate by log-sum-exp."""
        flat = x.flatten(2)
        return self._cubo(flat, *self.posterior(flat), n_samples, beta, frozen)

    def iwae(self, x, n_samples: int):
        """Importance-weighted bound log mean_s w_s ≤ log p(x) (tends to log p(x) as S grows)."""
        lw = self.log_weights(x, n_samples)
        return torch.logsumexp(lw, dim=1) - math.log(n_samples)

    def _log_ref(self, flat):
        if self.hp["likelihood"] == "bernoulli":
            return torch.full(flat.shape[:2], -flat.shape[-1] * math.log(2.0), device=flat.device)
        return -0.5 * (flat.pow(2) + LOG_2PI).sum(-1)

    # -- Backbone interface ----------------------------------------------------------------
    def losses(self, x, train=False):
        flat = x.flatten(2)
        mu, logvar = self.posterior(flat)
        if train:
            ln = -self._elbo(flat, mu, logvar, self.hp["n_samples"])
        else:
            ln = self._test_score(flat, mu, logvar)
        hp = self.hp
        cubo = self._cubo(flat, mu, logvar, hp["cubo_samples"], hp["beta_cubo"], hp["cubo_freeze_decoder"])
        return ln, F.softplus(cubo - self._log_ref(flat))

    def _test_score(self, flat, mu, logvar):
        S = self.hp["test_samples"]
        if S > 0:
            return -self._elbo(flat, mu, logvar, S)
        return -(self.log_lik(flat, mu) - self.hp["beta_kl"] * self.kl(mu, logvar))

    def score(self, x):
        flat = x.flatten(2)
        return self._test_score(flat, *self.posterior(flat))
