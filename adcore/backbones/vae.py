"""Variational autoencoder and the max-min likelihood VAE (MML-VAE) of the DP-VAE paper (Sec. 3, 4.1, App. E)."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from adcore.backbones.base import Backbone
from adcore.nn import StackedMLP, hidden_dims
from adcore.registry import BACKBONES, Param

LOG_2PI = math.log(2 * math.pi)
CUBO_LINEAR_ABOVE = 20.0  # exp(2·CUBO) continues linearly above exp(20): same minimisers, no float32 overflow
TEST_NOISE_SEED = 20211213  # the test score's shared posterior draws (deterministic, the same for every sample)
OUTLIER_NOISE_OFFSET = 7919  # the outlier terms' own random stream: the first member's seed + this


def frozen_call(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module(x)`` with its parameters detached (gradients reach ``x`` but not the weights) and its
    buffers copied (batch norm's running statistics are not updated by this pass)."""
    state = {n: p.detach() for n, p in module.named_parameters()}
    state.update({n: b.clone() for n, b in module.named_buffers()})
    return functional_call(module, state, (x,))


def gaussian_kl(mu, logvar, prior_mean: float = 0.0):
    """KL(N(μ, diag σ²) ‖ N(m·1, I)) per sample (DP-VAE App. F):
    −½ Σ_i [1 + log σ_i² − σ_i² − μ_i² + 2 μ_i m − m²]."""
    return 0.5 * ((mu - prior_mean).pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def exp_cubo(two_cubo: torch.Tensor) -> torch.Tensor:
    """L = exp{2·CUBO_2} (DP-VAE Sec. 3, App. E), continued linearly (C¹) above exp(20).

    The exponentiated bound is what the paper minimises; its gradient is L·∇(2·CUBO),
    which overflows float32 for outliers the model still finds very likely. Above
    2·CUBO = 20 we use exp(20)·(1 + 2·CUBO − 20): still increasing in CUBO, so the
    minimisers are unchanged, and the gradient clipping of App. D.2 bounds the step.
    """
    cap = CUBO_LINEAR_ABOVE
    return torch.where(two_cubo <= cap, two_cubo.clamp(max=cap).exp(), math.exp(cap) * (1.0 + two_cubo - cap))


VAE_PARAMS = (
    Param("likelihood", "gaussian", str, choices=("gaussian", "bernoulli"),
          help="decoder likelihood p(x|z); bernoulli expects data in [0, 1]"),
    Param("obs_sigma", 0.0, float, 0.0, 100.0, help="fixed Gaussian std; 0 = learned per feature"),
    Param("min_sigma", 0.05, float, 1e-4, 10.0, help="lower bound of the learned Gaussian std"),
    Param("recon", "sum", str, choices=("sum", "mean"),
          help="log p(x|z) summed over features (a true ELBO) or their mean (the scale the paper's β values "
               "of App. D.2 assume)"),
    Param("beta_kl", 1.0, float, 0.0, 100.0, help="β_KL, the weight of the KL term (1 = the ELBO; App. D.2)"),
    Param("kl_anneal", 0, int, 0, 10000, help="epochs over which β_KL rises linearly from 0 (App. D: 20); 0 = off"),
    Param("n_samples", 1, int, 1, 1000, help="posterior samples per training step for the ELBO"),
    Param("test_samples", 10, int, 0, 1000,
          help="posterior samples of the test score −ELBO (the same draws for every sample, so the score is "
               "deterministic); 0 = plug-in at the posterior mean"),
    Param("freeze_decoder", True, bool,
          help="the outlier term updates only the encoder (DP-VAE Sec. 4.1, 4.2; Table 5 'freeze')"),
    Param("outlier_encoder", "same", str, choices=("same", "separate"),
          help="outliers use the same encoder as normal data (Eq. 3) or a second one (Eq. 2; Table 5 'separate')"),
)

MML_PARAMS = (
    Param("cubo_samples", 4, int, 1, 1000, help="posterior samples for the MC estimate of the CUBO (App. E)"),
    Param("beta_cubo", 1.0, float, 0.0, 100.0,
          help="β_CUBO of Eq. 4, on log p(z) − log q(z|x) (1 = the CUBO; the paper uses β_CUBO = β_KL)"),
)


@BACKBONES.register
class VAE(Backbone):
    """MLP VAE, q(z|x) = N(μ(x), diag σ²(x)), prior N(0, I), trained as the MML-VAE of DP-VAE Sec. 4.1.

    ELBO(x) = E_q[log p(x|z)] − β_KL · KL(q(z|x) ‖ N(0, I)) (Sec. 3, β_KL of App. D.2;
    ``kl_anneal`` raises β_KL linearly over the first epochs as App. D does). The
    decoder gives a Gaussian N(x; D(z), diag s²) (s learned per feature, or fixed
    ``obs_sigma``) or Bernoulli likelihood, normalising constants kept; with
    ``recon = "mean"`` log p(x|z) is averaged over the features instead of summed.

    - L_n = −ELBO (``n_samples`` reparameterised draws, analytic KL).
    - L_a = exp{2·CUBO_2(x)}, the exponentiated χ upper bound of Sec. 3 and App. E,
      CUBO_2 = ½ log E_q[(p(x|z) (p(z)/q(z|x))^β_CUBO)²] estimated with
      ``cubo_samples`` draws by log-sum-exp (Eq. 4), through a frozen decoder
      (``freeze_decoder``: "updating only the encoder", Sec. 4.1). With strategy
      ``sad`` (η = γ) the objective is Eq. 3's loss γ·CUBO(X_outlier) − ELBO(X_normal)
      in the exponentiated form; γ = 0 is the plain VAE. L_a ≥ 0, and small for
      samples the model already finds unlikely.
    - score = −ELBO with ``test_samples`` draws (Sec. 4.4), the same ε for every
      sample (common random numbers): deterministic and independent of the batch.
    - ``embed`` = μ(x).

    β_CUBO matters for the direction of the push: for a fixed reconstruction term,
    E_q[(p(z)/q(z|x))^{2β}] is minimal at q = p when β > ½ (it tightens the bound)
    and maximal at q = p when β < ½, so only β_CUBO < ½ (the paper's 0.05, 0.005)
    drives outlier posteriors *away* from the prior (tests/test_dpvae.py).

    LOE with this backbone (no labels) ranks by S_train = L_n − L_a = −ELBO − exp(2·CUBO):
    both terms fall as a sample gets likelier, so the ranking is still "least likely
    first", but the flagged samples now have L_a ≈ 0 and almost no gradient from it —
    LOE-hard acts like Refine (drops them from L_n), LOE-soft trains them on ½ L_n.
    The earlier L_a = softplus(CUBO − log q_ref) pushed flagged samples below a
    reference density instead.
    """

    name = "vae"
    description = "VAE / MML-VAE: −ELBO as anomaly score; labelled outliers pushed down through exp(2·CUBO) (DP-VAE)."
    paper = "Kingma & Welling 2014; Daniel et al. (DP-VAE) Sec. 3, 4.1, 4.4, App. D-E"
    data_kinds = ("tabular", "image")
    params = (
        Param("hidden", (), tuple, help="encoder hidden sizes (decoder mirrored); empty = sized from the input"),
        Param("latent_dim", 0, int, 0, 1024, help="latent size; 0 = half the last hidden size"),
        Param("activation", "leaky_relu", str, choices=("leaky_relu", "relu", "tanh", "elu")),
        *VAE_PARAMS, *MML_PARAMS,
    )

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        d = self.n_features
        hidden = hidden_dims(hp["hidden"], d)
        self.latent = hp["latent_dim"] or max(2, hidden[-1] // 2)
        self.encoder = StackedMLP(self.gens, (d, *hidden, 2 * self.latent), activation=hp["activation"])
        self.decoder = StackedMLP(self.gens, (self.latent, *hidden[::-1], d), activation=hp["activation"])
        self._init_sigma()
        if hp["outlier_encoder"] == "separate":
            self.outlier_encoder = StackedMLP(self.gens, (d, *hidden, 2 * self.latent), activation=hp["activation"])
        self._kl_scale = 1.0

    def _init_sigma(self):
        if self.hp["likelihood"] == "gaussian" and self.hp["obs_sigma"] <= 0:
            # softplus(0.5413) ≈ 1: start at s ≈ 1 + min_sigma on standardised data
            self.sigma_raw = nn.Parameter(torch.full((self.n_models, 1, self.n_features), 0.5413))

    # -- schedule ---------------------------------------------------------------------------
    def start_epoch(self, epoch: int) -> None:
        """KL annealing (App. D): β_KL · min(1, (epoch + 1) / kl_anneal) while training."""
        n = self.hp["kl_anneal"]
        self._kl_scale = min(1.0, (epoch + 1) / n) if n else 1.0

    def beta_kl(self, train: bool) -> float:
        return self.hp["beta_kl"] * (self._kl_scale if train else 1.0)

    # -- pieces ---------------------------------------------------------------------------
    def posterior(self, x, outlier: bool = False):
        """(μ, log σ²) of q(z|x), each (K, B, latent); ``outlier`` uses the outlier encoder if there is one."""
        enc = self.outlier_encoder if outlier and hasattr(self, "outlier_encoder") else self.encoder
        mu, logvar = enc(x.flatten(2)).chunk(2, dim=-1)
        return mu, logvar.clamp(-30.0, 20.0)

    def embed(self, x):
        return self.posterior(x)[0]

    def _obs_sigma(self):
        if self.hp["obs_sigma"] > 0:
            return None
        return self.hp["min_sigma"] + F.softplus(self.sigma_raw)

    def log_lik(self, x, z, frozen: bool = False):
        """log p(x|z) over features (summed, or averaged with ``recon = "mean"``);
        ``x`` (K, B, d), ``z`` (K, B·S, latent) with S samples per x. ``frozen``: decoder weights detached."""
        out = frozen_call(self.decoder, z) if frozen else self.decoder(z)
        S = out.shape[1] // x.shape[1]
        xs = x.repeat(1, S, 1)
        if self.hp["likelihood"] == "bernoulli":
            ll = -F.binary_cross_entropy_with_logits(out, xs, reduction="none").sum(-1)
        else:
            sig = self._obs_sigma()
            if sig is None:
                s = self.hp["obs_sigma"]
                ll = -0.5 * ((xs - out) / s).pow(2).sum(-1) - xs.shape[-1] * (math.log(s) + 0.5 * LOG_2PI)
            else:
                sig = sig.detach() if frozen else sig
                ll = -(0.5 * ((xs - out) / sig).pow(2) + torch.log(sig)).sum(-1) - 0.5 * xs.shape[-1] * LOG_2PI
        return ll / xs.shape[-1] if self.hp["recon"] == "mean" else ll

    kl = staticmethod(gaussian_kl)

    def _outlier_noise(self, device) -> torch.Generator:
        """The outlier terms' own random stream, so that L_n's draws do not depend on whether the trainer
        asks for L_a (it skips L_a in epochs no objective reads it): γ = 0 then trains exactly as the plain VAE."""
        gen = getattr(self, "_outlier_gen", None)
        if gen is None or gen.device.type != torch.device(device).type:
            gen = torch.Generator(device=device).manual_seed(self.gens[0].initial_seed() + OUTLIER_NOISE_OFFSET)
            self._outlier_gen = gen
        return gen

    @staticmethod
    def _draw(mu, logvar, S, eps=None, generator=None):
        """S reparameterised samples per row, stacked along the batch: (K, B·S, latent), sample-major.
        ``eps`` (S, latent) gives every row the same S draws; else they come from ``generator``."""
        K, B, L = mu.shape
        if eps is None:
            eps = torch.randn(K, S * B, L, device=mu.device, dtype=mu.dtype, generator=generator)
        else:
            eps = eps[None, :, None, :].expand(K, S, B, L).reshape(K, S * B, L)
        return mu.repeat(1, S, 1) + eps * (0.5 * logvar).exp().repeat(1, S, 1), eps

    def _elbo(self, flat, mu, logvar, n_samples: int, beta: float, *, frozen=False, prior_mean=0.0, eps=None,
              generator=None):
        z, _ = self._draw(mu, logvar, n_samples, eps, generator)
        rec = self.log_lik(flat, z, frozen).view(flat.shape[0], n_samples, flat.shape[1]).mean(1)
        return rec - beta * self.kl(mu, logvar, prior_mean)

    def _log_weights(self, flat, mu, logvar, n_samples: int, beta: float = 1.0, frozen: bool = False,
                     generator=None):
        z, eps = self._draw(mu, logvar, n_samples, generator=generator)
        K, B = flat.shape[:2]
        ll = self.log_lik(flat, z, frozen=frozen).view(K, n_samples, B)
        log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        log_qz = -0.5 * (eps.pow(2) + LOG_2PI + logvar.repeat(1, n_samples, 1)).sum(-1)
        return ll + beta * (log_pz - log_qz).view(K, n_samples, B)

    def _two_cubo(self, flat, mu, logvar, n_samples: int, beta: float = 1.0, frozen: bool = False, generator=None):
        """2·CUBO_2 = log mean_s w_s², by log-sum-exp (App. E, Eq. 4)."""
        lw = self._log_weights(flat, mu, logvar, n_samples, beta, frozen, generator)
        return torch.logsumexp(2.0 * lw, dim=1) - math.log(n_samples)

    def elbo(self, x, n_samples: int = 1):
        """Monte-Carlo ELBO (K, B) with ``n_samples`` draws and the analytic KL (β_KL applied)."""
        flat = x.flatten(2)
        return self._elbo(flat, *self.posterior(flat), n_samples, self.hp["beta_kl"])

    def log_weights(self, x, n_samples: int, beta: float = 1.0, frozen: bool = False):
        """log p(x|z_s) + β (log p(z_s) − log q(z_s|x)) for s = 1..S: (K, S, B)."""
        flat = x.flatten(2)
        return self._log_weights(flat, *self.posterior(flat), n_samples, beta, frozen)

    def cubo(self, x, n_samples: int, beta: float = 1.0, frozen: bool = False):
        """CUBO_2(x) = ½ log mean_s w_s² (DP-VAE Sec. 3, App. E), MC estimate by log-sum-exp."""
        flat = x.flatten(2)
        return 0.5 * self._two_cubo(flat, *self.posterior(flat), n_samples, beta, frozen)

    def cubo_loss(self, x, n_samples: int, beta: float = 1.0, frozen: bool = False):
        """The exponentiated objective L = exp{2·CUBO_2} of App. E (MC estimate; see :func:`exp_cubo`)."""
        flat = x.flatten(2)
        return exp_cubo(self._two_cubo(flat, *self.posterior(flat), n_samples, beta, frozen))

    def iwae(self, x, n_samples: int):
        """Importance-weighted bound log mean_s w_s ≤ log p(x) (tends to log p(x) as S grows)."""
        lw = self.log_weights(x, n_samples)
        return torch.logsumexp(lw, dim=1) - math.log(n_samples)

    # -- Backbone interface ----------------------------------------------------------------
    def outlier_loss(self, flat, train: bool):
        """L_a: exp{2·CUBO_2} of the outlier posterior (MML-VAE, Sec. 4.1)."""
        hp = self.hp
        mu, logvar = self.posterior(flat, outlier=True)
        return exp_cubo(self._two_cubo(flat, mu, logvar, hp["cubo_samples"], hp["beta_cubo"], hp["freeze_decoder"],
                                       self._outlier_noise(flat.device)))

    def normal_loss(self, x, train=False):
        flat = x.flatten(2)
        if train:
            return -self._elbo(flat, *self.posterior(flat), self.hp["n_samples"], self.beta_kl(True))
        return self._test_score(flat)

    def losses(self, x, train=False):
        return self.normal_loss(x, train), self.outlier_loss(x.flatten(2), train)

    def _test_score(self, flat):
        mu, logvar = self.posterior(flat)
        S, beta = self.hp["test_samples"], self.beta_kl(False)
        if S == 0:
            return -(self.log_lik(flat, mu) - beta * self.kl(mu, logvar))
        gen = torch.Generator().manual_seed(TEST_NOISE_SEED)
        eps = torch.randn(S, self.latent, generator=gen).to(device=mu.device, dtype=mu.dtype)
        return -self._elbo(flat, mu, logvar, S, beta, eps=eps)

    def score(self, x):
        return self._test_score(x.flatten(2))
