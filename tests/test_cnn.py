"""CNN backbones: stacked grouped convolutions, member independence, mirrored decoders, MHRot."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from adcore.backbones import build_backbone
from adcore.backbones import base as base_mod
from adcore.backbones.conv_layers import StackedBatchNorm2d, StackedConv2d, pack, unpack
from adcore.backbones.mhrot import mhrot_labels, mhrot_transform
from adcore.data import load
from adcore.experiment import ExperimentConfig, run_experiment
from adcore.nn import make_generators
from adcore.registry import STRATEGIES
from adcore.trainer import Member, TrainConfig, _apply, train

CNN_BACKBONES = ("deepsvdd_cnn", "ae_cnn", "dae_cnn", "vae_cnn", "mhrot")


@pytest.fixture(scope="module")
def digits():
    ds = load("images:digits")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(ds), 48, replace=False)
    return ds.X[idx], (ds.classes[idx] != 0).astype(int)


def test_stacked_conv_equals_one_conv_per_member():
    gens = make_generators([0, 1, 2])
    x = torch.randn(3, 4, 2, 9, 7)
    for transposed in (False, True):
        conv = StackedConv2d(gens, 2, 5, 3, stride=1, padding=1, transposed=transposed)
        out = unpack(conv(pack(x)), 3)
        op = F.conv_transpose2d if transposed else F.conv2d
        for k in range(3):
            ref = op(x[k], conv.weight[k], conv.bias[k], 1, 1)
            assert torch.allclose(out[k], ref.flatten(1), atol=1e-5)
    # member k's weights depend only on its own seed
    alone = StackedConv2d(make_generators([1]), 2, 5, 3)
    assert torch.equal(alone.weight[0], StackedConv2d(make_generators([0, 1]), 2, 5, 3).weight[1])


def test_stacked_batch_norm_keeps_members_independent():
    bn = StackedBatchNorm2d(2, 3, affine=False)
    h = torch.randn(6, 2, 3, 4, 4)
    h[:, 1] = h[:, 1] * 10 + 5  # member 1 has very different data
    out = bn(h.reshape(6, 6, 4, 4)).reshape(6, 2, 3, 4, 4)
    alone = StackedBatchNorm2d(1, 3, affine=False)
    assert torch.allclose(out[:, 0], alone(h[:, 0]), atol=1e-5)
    assert torch.allclose(bn.running_mean[0], alone.running_mean[0]) and bn.running_mean.shape == (2, 3)
    assert torch.allclose(bn.running_mean[1], 0.1 * h[:, 1].mean(dim=(0, 2, 3)), atol=1e-4)


@pytest.mark.parametrize("name", CNN_BACKBONES)
def test_members_initialise_and_compute_as_if_alone(name):
    shape = (1, 8, 8)
    stacked = build_backbone(name, shape, [0, 1, 2])
    alone = build_backbone(name, shape, [1])
    for key, t in alone.state_dict().items():
        assert t.shape[0] == 1 and torch.equal(t[0], stacked.state_dict()[key][1]), key
    x = torch.rand(3, 5, *shape)
    torch.manual_seed(0)
    stacked.setup(x)
    alone.setup(x[1:2])
    if name in ("dae_cnn", "vae_cnn"):  # random noise / sampling in training mode: compare eval scores
        stacked.eval(), alone.eval()
    with torch.no_grad():
        ln_s, la_s = stacked.losses(x, train=False)
        ln_a, la_a = alone.losses(x[1:2], train=False)
    if name == "vae_cnn":  # CUBO draws samples: compare the deterministic score only
        assert torch.allclose(stacked.score(x)[1], alone.score(x[1:2])[0], rtol=1e-4, atol=1e-4)
    else:
        assert torch.allclose(ln_s[1], ln_a[0], rtol=1e-4, atol=1e-4)
        assert torch.allclose(la_s[1], la_a[0], rtol=1e-4, atol=1e-4)
    assert stacked.embed(x).shape[:2] == (3, 5)


def test_stacked_training_matches_training_alone(digits):
    X, y = digits
    cfg = TrainConfig(epochs=2, batch_size=16, threads=1)
    both = train("deepsvdd_cnn", [Member("loe_hard", 0.1, 0), Member("loe_hard", 0.1, 1)], X, y_train=y, config=cfg)
    one = train("deepsvdd_cnn", [Member("loe_hard", 0.1, 1)], X, y_train=y, config=cfg)
    assert np.allclose(both.score(X)[1], one.score(X)[0], rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("shape, arch", [((1, 13, 11), "mnist"), ((3, 8, 8), "cifar"), ((1, 12, 12), "vae_mnist"),
                                         ((1, 28, 28), "fmnist")])
def test_mirrored_decoder_reproduces_the_input_shape(shape, arch):
    ae = build_backbone("ae_cnn", shape, [0, 1], {"arch": arch} if arch != "cifar" else {"channels": (4, 8)})
    x = torch.rand(2, 3, *shape)
    with torch.no_grad():
        recon = ae.decoder(ae.encoder(x))
    assert recon.shape == (2, 3, math.prod(shape))


def test_lenet_sizes_follow_the_papers():
    svdd = build_backbone("deepsvdd_cnn", (1, 28, 28), [0])
    convs = [m.weight.shape[1:] for m in svdd.modules() if isinstance(m, StackedConv2d)]
    assert convs == [(8, 1, 5, 5), (4, 8, 5, 5)] and svdd.net.dims == (196, 32)  # IAD Sec. V-A, MNIST
    assert not any("bias" in n for n, _ in svdd.named_parameters())  # bias-free, BN without affine (Ruff et al.)
    macs, _ = svdd.profile()
    assert macs == 8 * 25 * 28 * 28 + 4 * 8 * 25 * 14 * 14 + 196 * 32
    fm = build_backbone("ae_cnn", (1, 28, 28), [0], {"arch": "fmnist"})
    assert fm.encoder.dims == (32 * 7 * 7, 128, 64)
    vae = build_backbone("vae_cnn", (1, 28, 28), [0], {"arch": "vae_fmnist"})
    assert vae.encoder.dims == (32 * 7 * 7, 64, 64) and vae.latent == 32  # μ and log σ² of 32 each
    with pytest.raises(ValueError, match="too small"):
        build_backbone("deepsvdd_cnn", (1, 4, 4), [0], {"channels": (4, 4, 4)})
    with pytest.raises(ValueError, match="needs images"):
        build_backbone("deepsvdd_cnn", (20,), [0])


def test_chunked_evaluation_equals_one_pass(monkeypatch):
    m = build_backbone("ae_cnn", (1, 8, 8), [0, 1])
    m.eval()
    x = torch.rand(2, 40, 1, 8, 8)
    with torch.no_grad():
        full = m.losses(x)[0]
        monkeypatch.setattr(base_mod, "EVAL_ELEMENTS", 2 * 8 * 8 * 8 * 3)  # a few samples per piece
        assert m.eval_rows() < 40
        assert torch.allclose(_apply(m.losses, x)[0], full, atol=1e-5)


def test_vae_cubo_updates_only_the_encoder():
    vae = build_backbone("vae_cnn", (1, 8, 8), [0, 1])
    vae.cubo(torch.rand(2, 4, 1, 8, 8), 3, frozen=True).sum().backward()
    assert all(p.grad is None for p in vae.decoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in vae.encoder.parameters())


# -- MHRot -------------------------------------------------------------------------------------
def test_mhrot_transformation_labels():
    labels = mhrot_labels()
    assert labels.shape == (36, 3)
    assert len({tuple(r) for r in labels.tolist()}) == 36  # every (rotation, v-shift, h-shift) exactly once
    assert labels[:, 0].bincount().tolist() == [9] * 4 and labels[:, 1].bincount().tolist() == [12] * 3
    x = torch.arange(36.0).view(1, 1, 6, 6)
    views = mhrot_transform(x, 2)
    assert views.shape == (1, 36, 1, 6, 6)
    for k, (a, b, c) in enumerate(labels.tolist()):
        sv, sh = (0, 2, -2)[b], (0, 2, -2)[c]
        expected = torch.rot90(torch.roll(torch.roll(x, sv, -2), sh, -1), a, dims=(-2, -1))
        assert torch.equal(views[:, k], expected)
    assert torch.equal(views[0, 1, 0, :, 2:], x[0, 0, :, :4])  # label (0, 0, 1): moved 2 px right
    z = mhrot_transform(x, 2, "zeros")
    assert torch.equal(z[0, 1, 0, :, :2], torch.zeros(6, 2)) and torch.equal(z[0, 1, 0, :, 2:], x[0, 0, :, :4])


def test_mhrot_losses_are_cross_entropies():
    m = build_backbone("mhrot", (1, 8, 8), [0, 1])
    x = torch.rand(2, 3, 1, 8, 8)
    with torch.no_grad():
        m.heads.weight.zero_()
        m.heads.bias.zero_()  # uniform predictions: L_n = L_a = 36 (log 4 + 2 log 3)
        ln, la = m.losses(x)
    uniform = 36 * (math.log(4) + 2 * math.log(3))
    assert torch.allclose(ln, torch.full_like(ln, uniform), atol=1e-4) and torch.allclose(la, ln, atol=1e-4)
    with torch.no_grad():
        m.heads.bias[:, 0, 0] = 50.0  # always predicts rotation 0: right for 9 of 36 views, very wrong for 27
        ln2, la2 = m.losses(x)
    assert (ln2 > ln).all() and (la2 > la).all()
    logp = m.log_probs(x)
    assert [t.shape for t in logp] == [(2, 3, 36, 4), (2, 3, 36, 3), (2, 3, 36, 3)]
    with pytest.raises(ValueError, match="square"):
        build_backbone("mhrot", (1, 8, 6), [0])


# -- the engine with CNN backbones --------------------------------------------------------------
def test_every_strategy_trains_with_a_cnn_backbone(digits):
    X, y = digits
    members = [Member(s, 0.1, 0) for s in STRATEGIES.names()]
    res = train("deepsvdd_cnn", members, X, y_train=y, config=TrainConfig(epochs=3, batch_size=24, warmup=1, threads=1))
    scores = res.score(X)
    assert scores.shape == (len(members), len(X)) and np.isfinite(scores).all()


@pytest.mark.parametrize("name", ["ae_cnn", "vae_cnn", "mhrot"])
def test_other_cnn_backbones_train_with_loe(digits, name):
    X, y = digits
    res = train(name, [Member("blind", 0.1, 0), Member("loe_soft", 0.1, 0)], X[:24], y_train=y[:24],
                config=TrainConfig(epochs=2, batch_size=12, warmup=1, threads=1),
                backbone_params={"width": 4} if name == "mhrot" else None)
    assert np.isfinite(res.score(X[:24])).all() and res.embed(X[:24]).shape[:2] == (2, 24)


def test_deepsvdd_cnn_pretraining_and_soft_boundary_run(digits):
    X, y = digits
    res = train("deepsvdd_cnn", [Member("blind", 0.1, 0)], X, config=TrainConfig(epochs=2, batch_size=24, threads=1),
                backbone_params={"pretrain_epochs": 1, "objective": "soft-boundary", "radius_warmup": 1})
    assert np.isfinite(res.score(X)).all() and float(res.backbone.radius[0]) > 0


def test_run_experiment_one_vs_rest_on_digits():
    cfg = ExperimentConfig(data="images:digits", protocol="one_vs_rest", protocol_options={"normal_class": 0},
                           backbone="deepsvdd_cnn", strategies=["blind", "loe_hard"], seeds=[0, 1], epochs=3,
                           batch_size=64, threads=1)
    res = run_experiment(cfg)
    assert {r["strategy"] for r in res.runs} == {"blind", "loe_hard"} and len(res.runs) == 4
    assert all(0.5 < r["auroc"] <= 1.0 for r in res.runs)  # digit 0 is easy
    assert res.splits[0].info["normal_classes"] == ["0"]
