"""MAF and VAE backbones, and the soft-boundary Deep SVDD objective."""
import math
import os

import numpy as np
import pytest
import torch

from adcore.backbones import build_backbone
from adcore.backbones.maf import made_masks
from adcore.nn import StackedMLP, make_generators
from adcore.trainer import Member, TrainConfig, train

THYROID = "/work/shared/datasets/adbench/38_thyroid.npz"
LOG_2PI = math.log(2 * math.pi)


# -- MAF ---------------------------------------------------------------------------------------
def test_maf_identity_flow_gives_the_standard_normal_log_density():
    maf = build_backbone("maf", (3,), [0, 1], {"batch_norm": False})
    with torch.no_grad():
        for p in maf.parameters():
            p.zero_()
    x = torch.randn(2, 7, 3, generator=torch.Generator().manual_seed(0))
    expected = -0.5 * (x.pow(2).sum(-1) + 3 * LOG_2PI)
    assert torch.allclose(maf.log_prob(x), expected, atol=1e-6)
    ln, la = maf.losses(x)
    assert torch.allclose(ln, -expected, atol=1e-6) and torch.allclose(maf.embed(x), x)
    # the reference density of L_a is this same standard normal: log p = log q → L_a = softplus(0)
    assert torch.allclose(la, torch.full_like(la, math.log(2.0)), atol=1e-6)


def test_made_masks_are_autoregressive():
    for order in (torch.arange(1, 6), torch.arange(5, 0, -1)):
        m = [mk.float() for mk in made_masks(order, (8, 8), 2)]
        conn = m[0] @ m[1] @ m[2]  # (D, 2D): paths from input d to output j
        for copy in range(2):
            for j in range(5):
                allowed = order < order[j]
                assert torch.all(conn[~allowed, copy * 5 + j] == 0)
        assert conn[:, order.argmax()].sum() > 0  # the last variable sees its predecessors


def test_maf_log_det_matches_autograd_jacobian():
    maf = build_backbone("maf", (4,), [3], {"n_layers": 3, "hidden": (16,), "activation": "tanh"})
    with torch.no_grad():
        for p in maf.parameters():
            p.mul_(3.0)  # make the flow clearly non-trivial
    x = torch.randn(4, generator=torch.Generator().manual_seed(1))
    jac = torch.autograd.functional.jacobian(lambda v: maf.embed(v.view(1, 1, 4)).view(4), x)
    z, log_det = maf._forward(x.view(1, 1, 4))
    assert torch.allclose(log_det.view(()), torch.linalg.slogdet(jac)[1], atol=1e-4)


def test_maf_anomaly_loss_is_finite_and_decreasing_in_nll():
    maf = build_backbone("maf", (2,), [0])
    x = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [3.0, -3.0], [30.0, 30.0], [300.0, -300.0]]])
    ln, la = maf.losses(x)
    assert torch.isfinite(ln).all() and torch.isfinite(la).all() and (la >= 0).all()
    # at fixed x the anomaly loss falls as the flow's NLL rises: softplus(-NLL - log q)
    nll = torch.linspace(-50, 50, 11)
    la_curve = torch.nn.functional.softplus(-nll)
    assert torch.all(la_curve.diff() < 0)
    neg = build_backbone("maf", (2,), [0], {"score": "neg_density"})
    neg.load_state_dict(maf.state_dict())
    assert torch.equal(torch.argsort(neg.score(x[:, :3])), torch.argsort(maf.score(x[:, :3])))


# -- VAE ---------------------------------------------------------------------------------------
def _linear_gaussian_vae(a=1.5, b=0.3, s=0.7, enc=(0.4, -0.2, -1.0)):
    """1-D VAE with linear encoder/decoder: z ~ N(0,1), x|z ~ N(a z + b, s²) → p(x) = N(b, a² + s²)."""
    vae = build_backbone("vae", (1,), [0], {"hidden": (4,), "latent_dim": 1, "obs_sigma": s})
    gens = make_generators([0])
    vae.encoder = StackedMLP(gens, (1, 2))  # x → (μ, log σ²), one linear layer
    vae.decoder = StackedMLP(gens, (1, 1))
    with torch.no_grad():
        vae.decoder[0].weight.fill_(a)
        vae.decoder[0].bias.fill_(b)
        c, d, logvar = enc
        vae.encoder[0].weight.copy_(torch.tensor([[[c, 0.0]]]))
        vae.encoder[0].bias.copy_(torch.tensor([[[d, logvar]]]))
    return vae


def test_vae_elbo_is_below_the_analytic_log_likelihood():
    a, b, s = 1.5, 0.3, 0.7
    x = torch.linspace(-3, 3, 9).view(1, 9, 1)
    log_px = (-0.5 * ((x - b) ** 2 / (a * a + s * s) + math.log(a * a + s * s) + LOG_2PI)).view(1, 9)
    torch.manual_seed(0)
    vae = _linear_gaussian_vae(a, b, s)
    elbo = vae.elbo(x, n_samples=4000)
    assert torch.all(elbo < log_px)
    iwae = vae.iwae(x, n_samples=4000)
    # IWAE_S ≤ log p(x) in expectation and tends to it; one draw of 4000 samples is within MC noise of it
    assert torch.all(elbo < iwae) and torch.allclose(iwae, log_px, atol=0.1)
    assert torch.all(vae.cubo(x, n_samples=4000) >= log_px - 0.05)  # CUBO ≥ log p (MC biased low)
    # with the exact posterior N(a(x−b)/(a²+s²), s²/(a²+s²)) every importance weight equals p(x): ELBO = log p(x)
    v = a * a + s * s
    exact = _linear_gaussian_vae(a, b, s, enc=(a / v, -a * b / v, math.log(s * s / v)))
    assert torch.allclose(exact.log_weights(x, n_samples=8), log_px.expand(8, 9).unsqueeze(0), atol=1e-4)
    assert torch.allclose(exact.elbo(x, n_samples=4000), log_px, atol=0.05)  # MC reconstruction term
    assert torch.allclose(exact.cubo(x, n_samples=8), log_px, atol=1e-4)


def test_vae_losses_shapes_determinism_and_training():
    torch.manual_seed(0)
    for lik, x in (("gaussian", torch.randn(2, 16, 5)), ("bernoulli", torch.rand(2, 16, 5))):
        vae = build_backbone("vae", (5,), [0, 1], {"likelihood": lik})
        ln, la = vae.losses(x, train=True)
        assert ln.shape == la.shape == (2, 16) and torch.isfinite(ln).all() and torch.isfinite(la).all()
        assert torch.equal(vae.score(x), vae.score(x))  # posterior-mean score is deterministic
        assert vae.embed(x).shape == (2, 16, vae.latent)
        (ln.mean() + la.mean()).backward()
    # frozen decoder: the CUBO term sends no gradient to the decoder
    vae = build_backbone("vae", (5,), [0])
    vae.losses(torch.randn(1, 8, 5), train=True)[1].sum().backward()
    assert all(p.grad is None or torch.all(p.grad == 0) for p in vae.decoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in vae.encoder.parameters())


# -- Deep SVDD soft-boundary -------------------------------------------------------------------
def test_deepsvdd_soft_boundary_radius_and_score():
    x = torch.randn(2, 64, 3, generator=torch.Generator().manual_seed(0))
    one = build_backbone("deepsvdd", (3,), [0, 1])
    assert "radius" not in one.state_dict()  # the one-class default is unchanged
    sb = build_backbone("deepsvdd", (3,), [0, 1], {"objective": "soft-boundary", "nu": 0.25, "radius_warmup": 1})
    sb.load_state_dict(one.state_dict(), strict=False)
    one.setup(x)
    sb.setup(x)
    d = one.losses(x)[0]
    assert torch.allclose(sb.losses(x, train=True)[0], d / 0.25)  # R = 0 during warm-up
    assert torch.all(sb.radius == 0)
    sb.losses(x, train=True)  # second "epoch": R becomes the (1 − ν)-quantile of the batch distances
    r = torch.quantile(d.sqrt(), 0.75, dim=1, keepdim=True)
    assert torch.allclose(sb.radius, r, atol=1e-5)
    r2 = r ** 2
    assert torch.allclose(sb.losses(x)[0], r2 + torch.relu(d - r2) / 0.25, atol=1e-5)
    assert torch.allclose(sb.score(x), d - r2, atol=1e-5)
    assert ((d > r2).float().mean(1) <= 0.25 + 1e-6).all()


# -- thyroid smoke ----------------------------------------------------------------------------
@pytest.mark.skipif(not os.path.exists(THYROID), reason="thyroid data not available")
@pytest.mark.parametrize("backbone", ["maf", "vae"])
def test_backbones_detect_thyroid_anomalies(backbone):
    from sklearn.metrics import roc_auc_score

    d = np.load(THYROID, allow_pickle=False)
    X, y = d["X"].astype(np.float32), d["y"]
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    res = train(backbone, [Member("blind", 0.1, 0), Member("loe_hard", 0.025, 0)], X,
                config=TrainConfig(epochs=4, batch_size=128))
    scores = res.score(X)
    assert np.isfinite(scores).all()
    assert roc_auc_score(y, scores[0]) > 0.85


def test_deepsvdd_pretraining_is_per_member_and_optional():
    X = torch.randn(200, 5, generator=torch.Generator().manual_seed(0))
    hp = {"hidden": (8,), "rep_dim": 3, "pretrain_epochs": 2}
    plain = build_backbone("deepsvdd", (5,), [4], {"hidden": (8,), "rep_dim": 3})
    alone = build_backbone("deepsvdd", (5,), [4], hp)
    stacked = build_backbone("deepsvdd", (5,), [7, 4], hp)
    assert "radius" not in alone.state_dict() and set(alone.state_dict()) == set(plain.state_dict())
    alone.setup(X.expand(1, 200, 5))
    stacked.setup(X.expand(2, 200, 5))
    # member 1 of the stack trains exactly as member 0 alone (own init, own data order)
    for n, t in alone.member_state(0).items():
        assert torch.allclose(t, stacked.member_state(1)[n], atol=1e-5), n
    assert all(p.grad is None for p in stacked.parameters())
