"""MML-VAE and DP-VAE (DP-VAE paper Sec. 3-4, App. D-F): CUBO estimator, frozen decoder, dual prior, ensembles."""
import math
import os

import numpy as np
import pytest
import torch

from adcore.backbones import build_backbone
from adcore.experiment import ExperimentConfig, run_experiment
from adcore.methods import method_config
from adcore.metrics import evaluate
from adcore.nn import StackedMLP, make_generators
from adcore.strategies.base import Batch
from adcore.strategies.sad import SAD
from adcore.trainer import Member, TrainConfig, clip_member_grads, train

THYROID = "/work/shared/datasets/adbench/38_thyroid.npz"
LOG_2PI = math.log(2 * math.pi)


def _fixed_posterior_vae(name, mu, logvar, latent=1, b=0.4, s=0.8, **hp):
    """A VAE on 1-D x whose encoder ignores x (q = N(μ, σ²)) and whose decoder is the constant b,
    so log p(x|z) = log N(x; b, s²) for every z: the paper's Fig. 2 case (L_R fixed)."""
    vae = build_backbone(name, (1,), [0], {"hidden": (4,), "latent_dim": latent, "obs_sigma": s, **hp})
    gens = make_generators([0])
    vae.encoder = StackedMLP(gens, (1, 2 * latent))
    vae.decoder = StackedMLP(gens, (latent, 1))
    with torch.no_grad():
        vae.encoder[0].weight.zero_()
        vae.encoder[0].bias.copy_(torch.tensor([[[*([mu] * latent), *([logvar] * latent)]]]))
        vae.decoder[0].weight.zero_()
        vae.decoder[0].bias.fill_(b)
    return vae


def _gauss_power_integral(mu, sigma, beta):
    """E_q[(p(z)/q(z))^{2β}] = ∫ N(z; 0, 1)^{2β} N(z; μ, σ²)^{1−2β} dz in closed form (needs A > 0)."""
    r = 2 * beta
    A = r + (1 - r) / sigma**2
    B = (1 - r) * mu / sigma**2
    C = (1 - r) * mu**2 / sigma**2
    return sigma ** (r - 1) / math.sqrt(A) * math.exp(0.5 * (B * B / A - C))


@pytest.mark.parametrize("mu, sigma, beta", [(0.7, 1.2, 1.0), (2.0, 0.5, 0.05), (1.0, 0.7, 0.5)])
def test_cubo_estimator_matches_the_closed_form_for_a_1d_gaussian(mu, sigma, beta):
    x, b, s = 0.3, 0.4, 0.8
    log_px_z = -0.5 * ((x - b) / s) ** 2 - math.log(s) - 0.5 * LOG_2PI
    vae = _fixed_posterior_vae("vae", mu, math.log(sigma**2), b=b, s=s)
    torch.manual_seed(0)
    est = vae.cubo_loss(torch.full((1, 1, 1), x), n_samples=400_000, beta=beta).item()
    exact = math.exp(2 * log_px_z) * _gauss_power_integral(mu, sigma, beta)
    assert est == pytest.approx(exact, rel=0.02)
    assert vae.cubo(torch.full((1, 1, 1), x), 400_000, beta).item() == pytest.approx(0.5 * math.log(exact), abs=0.01)


def test_cubo_pushes_the_posterior_away_from_the_prior_only_for_beta_below_one_half():
    # β = 1: the exact objective is smallest at q = p (minimising CUBO tightens the bound) ...
    grid = [_gauss_power_integral(m, 1.0, 1.0) for m in (0.0, 0.5, 1.0, 2.0)]
    assert grid == sorted(grid)
    # ... β = 0.05 (App. D.2's β_CUBO): it falls as μ leaves the prior (DP-VAE Fig. 2's "pushing q away")
    grid = [_gauss_power_integral(m, 1.0, 0.05) for m in (0.0, 0.5, 1.0, 2.0)]
    assert grid == sorted(grid, reverse=True)
    # the MC gradient agrees: at μ = 0.5, β = 0.05 descent increases μ
    vae = _fixed_posterior_vae("vae", 0.5, 0.0)
    torch.manual_seed(1)
    vae.cubo_loss(torch.zeros(1, 1, 1), 20_000, beta=0.05).sum().backward()
    assert vae.encoder[0].bias.grad[0, 0, 0] < 0


@pytest.mark.parametrize("name, shape", [("vae", (5,)), ("dpvae", (5,)), ("vae_cnn", (1, 8, 8)),
                                         ("dpvae_cnn", (1, 8, 8))])
def test_frozen_decoder_gets_no_gradient_from_the_outlier_term(name, shape):
    x = torch.rand(2, 6, *shape)
    hp = {"likelihood": "gaussian", "recon": "mean"}
    frozen = build_backbone(name, shape, [0, 1], hp)
    frozen.losses(x, train=True)[1].sum().backward()
    assert all(p.grad is None or not p.grad.any() for p in frozen.decoder.parameters())
    assert frozen.sigma_raw.grad is None or not frozen.sigma_raw.grad.any()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in frozen.encoder.parameters())
    trained = build_backbone(name, shape, [0, 1], {**hp, "freeze_decoder": False})  # Table 5's "unfreeze"
    trained.losses(x, train=True)[1].sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trained.decoder.parameters())


def test_separate_outlier_encoder_leaves_the_normal_encoder_alone():
    x = torch.randn(1, 6, 5)
    vae = build_backbone("vae", (5,), [0], {"outlier_encoder": "separate"})
    vae.losses(x, train=True)[1].sum().backward()
    assert all(p.grad is None for p in vae.encoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in vae.outlier_encoder.parameters())


def test_dpvae_outlier_kl_is_against_alpha_ones():
    alpha, mu, logvar = 2.5, 0.8, math.log(0.3)
    dp = _fixed_posterior_vae("dpvae", mu, logvar, latent=3, prior_alpha=alpha, beta_kl=0.7)
    x = torch.full((1, 4, 1), 0.3)
    log_px_z = dp.log_lik(x, torch.zeros(1, 4, 3))  # the decoder is constant
    ln, la = dp.losses(x, train=True)
    var = math.exp(logvar)
    kl = lambda m: 0.5 * 3 * (var + (mu - m) ** 2 - 1 - logvar)  # noqa: E731  KL(N(μ, σ²)^3 ‖ N(m·1, I))
    assert torch.allclose(la, -log_px_z + 0.7 * kl(alpha), atol=1e-5)
    assert torch.allclose(ln, -log_px_z + 0.7 * kl(0.0), atol=1e-5)
    # App. F's form of the same KL
    app_f = -0.5 * 3 * (1 + logvar - var - mu**2 + 2 * mu * alpha - alpha**2)
    assert kl(alpha) == pytest.approx(app_f)
    assert torch.allclose(dp.score(x), ln, atol=1e-5)  # score: ELBO under the normal prior, whatever α
    with pytest.raises(ValueError, match="α ≠ 0"):
        build_backbone("dpvae", (3,), [0], {"prior_alpha": 0.0})


def test_gamma_zero_mml_vae_equals_the_plain_vae():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 4)).astype(np.float32)
    lab = np.zeros(96, bool)
    lab[::12] = True  # "outliers" that look normal: their CUBO is high, so γ > 0 pushes hard
    cfg = TrainConfig(epochs=3, batch_size=32, device="cpu", threads=1)
    hp = {"hidden": (8,), "latent_dim": 2, "recon": "mean", "beta_cubo": 0.05}
    plain = train("vae", [Member("blind", 0.0, 3)], X, labeled=lab, backbone_params=hp, config=cfg)
    mml = train("vae", [Member("sad", 0.0, 3, (("eta", 0.0), ("reduction", "separate")))], X, labeled=lab,
                backbone_params=hp, config=cfg)
    assert np.allclose(plain.score(X), mml.score(X), atol=1e-6)
    pushed = train("vae", [Member("sad", 0.0, 3, (("eta", 10.0), ("reduction", "separate")))], X, labeled=lab,
                   backbone_params=hp, config=cfg)
    assert not np.allclose(plain.score(X), pushed.score(X), atol=1e-3)


def test_sad_switches_labelled_anomalies_on_after_start_epoch_every_nth_epoch():
    sad = SAD(1, 4, start_epoch=2, every=2, eta=1.0, reduction="joint")
    ln, la = torch.tensor([[1.0, 2.0, 3.0, 4.0]]), torch.tensor([[10.0, 20.0, 30.0, 40.0]])
    lab = torch.tensor([[False, False, False, True]])

    def loss(epoch):
        return sad.objective(Batch(ln - la, ln, la, torch.zeros(1, 1), torch.arange(4)[None], epoch,
                                   labeled=lab), ln, la)[0].item()

    assert loss(0) == loss(1) == loss(3) == pytest.approx(2.0)  # mean L_n over the unlabelled samples
    assert loss(2) == loss(4) == pytest.approx((1 + 2 + 3 + 40) / 4)


def test_kl_annealing_and_the_deterministic_elbo_score():
    vae = build_backbone("vae", (3,), [0], {"beta_kl": 0.5, "kl_anneal": 4})
    vae.start_epoch(0)
    assert vae.beta_kl(True) == pytest.approx(0.125) and vae.beta_kl(False) == 0.5
    vae.start_epoch(10)
    assert vae.beta_kl(True) == 0.5
    x = torch.randn(1, 10, 3)
    assert torch.equal(vae.score(x), vae.score(x))
    assert torch.allclose(vae.score(x[:, 3:7]), vae.score(x)[:, 3:7], atol=1e-6)  # independent of the batch
    plug_in = build_backbone("vae", (3,), [0], {"beta_kl": 0.5, "test_samples": 0})
    plug_in.load_state_dict(vae.state_dict())
    assert not torch.allclose(plug_in.score(x), vae.score(x))


def test_member_gradient_clipping_is_per_member():
    model = build_backbone("vae", (4,), [0, 1], {"hidden": (8,)})
    x = torch.randn(2, 16, 4)
    x[1] *= 50.0  # member 1 gets a much larger gradient than member 0
    model.losses(x, train=True)[0].sum().backward()
    norm = lambda k: torch.sqrt(sum(p.grad[k].pow(2).sum() for p in model.parameters())).item()  # noqa: E731
    small, large = norm(0), norm(1)
    assert large > 2 * small
    before = [p.grad[0].clone() for p in model.parameters()]
    clip_member_grads(model, (small + large) / 2)
    assert norm(1) == pytest.approx((small + large) / 2, rel=1e-4)
    assert all(torch.equal(b, p.grad[0]) for b, p in zip(before, model.parameters()))  # member 0 untouched


def test_ensemble_row_scores_the_mean_of_its_members():
    cfg = ExperimentConfig(data="toy", backbone="vae", backbone_params={"hidden": (8,)}, strategies=["blind"],
                           seeds=[0, 1], ensemble=3, epochs=2, device="cpu", threads=1)
    res = run_experiment(cfg)
    assert len(res.members) == 6 and len({m.seed for m in res.members}) == 6
    single = [r for r in res.runs if "ensemble" not in r]
    rows = [r for r in res.runs if r.get("ensemble") == 3]
    assert len(single) == 6 and [r["seed"] for r in rows] == [0, 1]
    assert [r["split_seed"] for r in single] == [0, 0, 0, 1, 1, 1] and rows[0]["strategy"] == "blind ×3"
    from adcore.leaderboard import leaderboard

    board = {row["strategy"]: row["seeds"] for row in leaderboard(res)}
    assert board == {"blind": 6, "blind ×3": 2}  # the ensemble rows are a row of their own
    for row, seed in zip(rows, (0, 1)):
        ks = [k for k, m in enumerate(res.members) if m.seed % 1_000_000 == seed]
        y = res.splits[cfg.seeds.index(seed)].test.y
        assert row["auroc"] == pytest.approx(evaluate(y, np.mean([res.test_scores[k] for k in ks], 0))["auroc"])
    assert res.summary["blind (ensemble of 3)"]["n_seeds"] == 2 and res.summary["blind"]["n_seeds"] == 6


def test_method_presets_follow_tables_11_and_12():
    thyroid = method_config(ExperimentConfig(data="/data/38_thyroid.npz"), "DP-VAE")
    assert thyroid.backbone == "dpvae" and thyroid.lr == 1e-4 and thyroid.epochs == 150
    assert thyroid.backbone_params["prior_alpha"] == 10 and thyroid.backbone_params["latent_dim"] == 4
    assert thyroid.strategy_params["sad"]["start_epoch"] == 50 and thyroid.lr_milestones == [50, 100]
    clean = method_config(ExperimentConfig(data="mnist:/x", alpha0=0.0), "MML-VAE", "image")
    polluted = method_config(ExperimentConfig(data="mnist:/x", alpha0=0.05), "MML-VAE", "image")
    assert clean.backbone == "vae_cnn" and clean.backbone_params["arch"] == "vae_mnist"
    assert (clean.lr, clean.backbone_params["beta_cubo"]) == (5e-4, 0.005)
    assert (polluted.lr, polluted.backbone_params["beta_cubo"]) == (2e-4, 0.02)
    assert clean.strategy_params["sad"]["every"] == 2 and clean.epochs == 200
    own = method_config(ExperimentConfig(data="/data/38_thyroid.npz", backbone="vae", backbone_params={"beta_kl": 1.0}),
                        "MML-VAE")
    assert own.backbone_params["beta_kl"] == 1.0  # the user's own parameters win


@pytest.mark.skipif(not os.path.exists(THYROID), reason="thyroid data not available")
def test_dpvae_moves_labelled_thyroid_anomalies_toward_the_outlier_prior():
    from dataclasses import replace

    cfg = ExperimentConfig(data=THYROID, protocol="split", alpha0=0.0, labeled_ratio=0.01, train_normal_frac=0.6,
                           seeds=[0], device="cpu", threads=1)
    cfg = method_config(cfg, "DP-VAE")
    alpha = cfg.backbone_params["prior_alpha"]
    dist = {}
    for eta in (0.0, 1.0):
        run = replace(cfg, epochs=12, lr=1e-3, lr_milestones=[], backbone_params={**cfg.backbone_params, "kl_anneal": 2},
                      strategy_params={"sad": {**cfg.strategy_params["sad"], "start_epoch": 2, "eta": eta}})
        res = run_experiment(run)
        train = res.splits[0].train
        z = res.embed(0, train.X)
        dist[eta] = np.linalg.norm(z[train.labeled] - alpha, axis=1).mean()
        normal_z = np.linalg.norm(z[~train.labeled], axis=1).mean()
        assert normal_z < np.linalg.norm(z[~train.labeled] - alpha, axis=1).mean()  # normals stay at the N(0, I) prior
    assert dist[1.0] < 0.8 * dist[0.0]


def test_vae_views_split_normal_and_labelled_training_samples():
    from adcore import vae_views

    cfg = ExperimentConfig(data="toy", backbone="dpvae", backbone_params={"hidden": (8,), "prior_alpha": 3.0},
                           strategies=["sad"], n_labeled=5, seeds=[0], epochs=2, device="cpu", threads=1)
    res = run_experiment(cfg)
    assert vae_views.is_vae_run(res)
    d = vae_views.diagnostics(res, 0)
    train = res.splits[0].train
    assert (d["group"] == 2).sum() == 5 and d["alpha"] == 3.0
    assert np.allclose(d["elbo"], -res.score(0, train.X)) and d["axis"].shape == (len(train),)
    names = [t.name for t in vae_views.elbo_histogram(d).data]
    assert any(n.startswith("labelled anomaly (5)") for n in names)
    assert len(vae_views.prior_axis_histogram(d).layout.shapes) == 2  # both priors marked


def test_dpvae_trains_with_the_unsupervised_and_pu_strategies():
    cfg = ExperimentConfig(data="toy", backbone="dpvae", backbone_params={"hidden": (8,), "prior_alpha": 3.0},
                           strategies=["blind", "loe_hard", "loe_soft", "pu", "soel"], n_labeled=6, seeds=[0],
                           epochs=3, device="cpu", threads=1)
    res = run_experiment(cfg)
    assert all(np.isfinite(s).all() for s in res.test_scores) and len(res.runs) == 5


def test_frozen_decoder_pass_leaves_batch_norm_statistics_alone():
    vae = build_backbone("vae_cnn", (1, 8, 8), [0], {"arch": "mnist", "freeze_decoder": True})
    vae.train()
    before = {n: b.clone() for n, b in vae.decoder.named_buffers()}
    assert before  # the LeNet decoder has batch norm
    vae.outlier_loss(torch.rand(1, 6, 64), train=True)
    assert all(torch.equal(before[n], b) for n, b in vae.decoder.named_buffers())


def test_vae_view_draws_both_charts_in_the_app():
    from streamlit.testing.v1 import AppTest

    def page():
        import streamlit as st

        from adcore.experiment import ExperimentConfig, run_experiment
        from pages import _views

        cfg = ExperimentConfig(data="toy", backbone="dpvae", backbone_params={"hidden": (8,), "prior_alpha": 3.0},
                               strategies=["sad"], n_labeled=5, seeds=[0], epochs=2, device="cpu", threads=1)
        st.session_state["t_view"] = "VAE"
        _views.run_views("t", "vae-view-test", run_experiment(cfg))

    at = AppTest.from_function(page, default_timeout=120)
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 2 and "N(3·1, I)" in at.caption[0].value


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 27, 27)])
def test_vae_mnist_arch_uses_stride_two_convolutions_and_decodes_to_the_input_size(shape):
    vae = build_backbone("dpvae_cnn", shape, [0, 1], {"arch": "vae_mnist", "prior_alpha": 10.0})
    assert [c.stride for c in vae.encoder.convs] == [2, 2] and not any(
        isinstance(n, torch.nn.BatchNorm2d) for n in vae.encoder.norms)
    side = 7 if shape[1] == 28 else 6  # 28 → 14 → 7; 27 → 13 → 6 (the decoder resamples back to 27)
    assert vae.encoder.dims == (128 * side * side, 1024, 64) and vae.latent == 32  # App. D.1: dense 1024-32
    x = torch.rand(2, 3, math.prod(shape))
    assert vae.decoder(vae.posterior(x)[0]).shape == x.shape
    assert torch.isfinite(vae.losses(x, train=True)[1]).all()
