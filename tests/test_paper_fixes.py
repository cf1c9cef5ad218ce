"""One test per deviation from the LOE / IAD papers fixed in issue 12."""
import numpy as np
import pytest
import torch

from adcore.strategies.base import top_alpha_mask, top_n_mask
from adcore.trainer import Member
from adcore.weighting import Weighting


def _weights(w, *args):
    """(w_n, w_a, flag) of the trainer's weighting step (``weights`` or the call, depending on its version)."""
    return w.weights(*args) if hasattr(w, "weights") else w(*args)


def weigh(name, ln, la, alpha=0.2, epoch=5, warmup=0, index=None):
    K, B = ln.shape
    w = Weighting([Member(name, alpha, 0)] * 1, B, warmup, torch.device("cpu"))
    return _weights(w, ln, la, torch.arange(B)[None] if index is None else index, epoch, None, None)


# --- Refine (LOE App. B) ---------------------------------------------------------------------------------------

def test_refine_drops_top_alpha_by_normal_loss_not_s_train():
    # sample 0 has the largest L_n but an even larger L_a: S_train = L_n - L_a ranks it last, Refine must drop it
    ln = torch.tensor([[10.0, 1.0, 2.0, 0.5, 0.7, 0.2, 0.1, 0.3, 0.4, 0.6]])
    la = torch.tensor([[20.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]])
    wn, wa, flag = weigh("refine", ln, la, alpha=0.2)
    assert flag[0].nonzero().ravel().tolist() == [0, 2]
    assert torch.all(wa == 0)
    assert wn[0, 0] == 0 and wn[0, 2] == 0


def test_refine_averages_over_the_kept_samples():
    torch.manual_seed(0)
    ln, la = torch.rand(1, 20) * 5, torch.rand(1, 20)
    wn, wa, flag = weigh("refine", ln, la, alpha=0.1)
    kept = ~flag[0]
    assert int(flag.sum()) == 2
    objective = (wn * ln + wa * la).mean()  # what the trainer minimises
    assert objective.item() == pytest.approx(ln[0, kept].mean().item(), rel=1e-6)


def test_refine_warms_up_blind():
    ln, la = torch.rand(1, 10), torch.rand(1, 10)
    wn, wa, flag = weigh("refine", ln, la, epoch=0, warmup=2)
    assert torch.all(wn == 1) and not flag.any()


# --- the top-⌊αB⌋ rule with ties (LOE Eq. 2) -------------------------------------------------------------------

def test_ties_flag_exactly_floor_alpha_b():
    scores = torch.tensor([[1.0, 3.0, 3.0, 3.0, 0.0, 3.0, 2.0, 3.0, 1.0, 0.5]])  # five tied maxima
    mask = top_alpha_mask(scores, torch.tensor([[0.2]]))
    assert int(mask.sum()) == 2
    assert torch.all(scores[mask] == 3.0)
    constant = torch.zeros(3, 25)
    assert top_alpha_mask(constant, torch.tensor([[0.1], [0.2], [0.0]])).sum(1).tolist() == [2, 5, 0]


def test_top_n_mask_rows_have_their_own_counts():
    scores = torch.tensor([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]])
    mask = top_n_mask(scores, torch.tensor([[1], [3]]))
    assert mask.tolist() == [[False, False, False, True], [True, True, True, False]]


def test_loe_hard_with_tied_losses_flags_exactly_floor_alpha_b():
    ln = torch.ones(2, 30)
    w = Weighting([Member("loe_hard", 0.1, 0), Member("loe_hard", 0.2, 1)], 30, 0, torch.device("cpu"))
    wn, wa, flag = _weights(w, ln, torch.zeros_like(ln), torch.arange(30).expand(2, 30), 3, None, None)
    assert flag.sum(1).tolist() == [3, 6] and wa.sum(1).tolist() == [3.0, 6.0]


def test_refine_leaves_labelled_samples_out_of_the_count():
    from adcore.strategies.base import Batch
    from adcore.registry import STRATEGIES
    ln = torch.tensor([[9.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.5, 0.1]])
    out = torch.zeros_like(ln, dtype=torch.bool)
    out[0, 0] = True  # a labelled anomaly the unsupervised objective leaves out
    batch = Batch(ln, ln, torch.zeros_like(ln), torch.tensor([[0.2]]), torch.arange(11)[None], 3, labeled=out)
    wn, wa, flag = STRATEGIES.get("refine")(1, 11).weights(batch)
    assert flag[0].nonzero().ravel().tolist() == [7, 8]  # ⌊0.2 · 10⌋ of the 10 others
    kept = ~(flag | out)
    assert (wn[0] * ln[0])[kept[0]].sum().item() / 10 == pytest.approx(ln[0, kept[0]].mean().item())


# --- ICL: the contrastive denominator is the default -----------------------------------------------------------

def test_icl_default_loss_changes_when_negatives_change():
    from adcore.backbones import build_backbone
    m = build_backbone("icl", (6,), [0], {"window": 2})
    assert m.hp["denominator"] == "windows"
    W = m.n_windows
    rng = np.random.default_rng(0)
    s1 = torch.tensor(rng.normal(size=(1, 3, W, W)), dtype=torch.float32)
    s2 = s1.clone()
    s2[..., 0, 1] += 2.0  # one negative pair h(a_0, b_1) only; every matched pair s_jj is unchanged
    losses = []
    for s in (s1, s2):
        m.similarities = lambda x, s=s: s
        losses.append(m.losses(torch.zeros(1, 3, 6))[0])
    assert torch.all(losses[1] > losses[0] + 1e-3)  # a more similar negative must raise L_n
    # and exactly the InfoNCE value of complement b_j against all windows
    h = np.exp(s2[0, 0].numpy())
    assert losses[1][0, 0].item() == pytest.approx(-np.log(np.diag(h) / h.sum(0)).sum(), rel=1e-5)


# --- AE: IAD Eq. 10 squared error next to the PU paper's norm ---------------------------------------------------

def test_ae_squared_error_is_iad_eq10_and_norm_is_pu_eq1():
    from adcore.backbones import build_backbone
    x = torch.randn(1, 8, 5, generator=torch.Generator().manual_seed(2))
    norm = build_backbone("ae", (5,), [3], {"hidden": (4,), "latent_dim": 2})
    sq = build_backbone("ae", (5,), [3], {"hidden": (4,), "latent_dim": 2, "error": "squared"})
    assert norm.hp["error"] == "norm"
    recon = norm.decoder(norm.encoder(x))
    expected = (x - recon).pow(2).sum(-1)
    ln_sq, la_sq = sq.losses(x)
    ln_norm, la_norm = norm.losses(x)
    torch.testing.assert_close(ln_sq, expected)
    torch.testing.assert_close(ln_norm, expected.sqrt())
    torch.testing.assert_close(sq.score(x), expected)
    # ABC's L_a = -log(1 - exp(-ℓ)) of the chosen ℓ (PU Eq. 3-4)
    torch.testing.assert_close(la_sq, -torch.log(1 - torch.exp(-expected)))
    torch.testing.assert_close(la_norm, -torch.log(1 - torch.exp(-expected.sqrt())))


# --- MAF: batch norm between the MADEs (MAF paper Sec. 3.2), score −p(x) (IAD Eq. 8) -----------------------------

def test_maf_batch_norm_layers_sit_between_the_mades_and_enter_the_log_det():
    from adcore.backbones import build_backbone
    maf = build_backbone("maf", (4,), [3], {"n_layers": 3, "hidden": (16,), "activation": "tanh"})
    assert len(maf.norms) == 2 and maf.hp["batch_norm"]
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in maf.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for bn in maf.norms:  # non-trivial running statistics (evaluation mode uses them)
            bn.running_mean.copy_(torch.randn(bn.running_mean.shape, generator=g))
            bn.running_var.copy_(torch.rand(bn.running_var.shape, generator=g) + 0.5)
    x = torch.randn(4, generator=g)
    jac = torch.autograd.functional.jacobian(lambda v: maf.embed(v.view(1, 1, 4)).view(4), x)
    _, log_det = maf._forward(x.view(1, 1, 4))
    assert torch.allclose(log_det.view(()), torch.linalg.slogdet(jac)[1], atol=1e-4)
    plain = build_backbone("maf", (4,), [3], {"n_layers": 3, "hidden": (16,), "activation": "tanh",
                                              "batch_norm": False})
    plain.made.load_state_dict(maf.made.state_dict())
    assert not torch.allclose(plain.log_prob(x.view(1, 1, 4)), maf.log_prob(x.view(1, 1, 4)))


def test_maf_batch_norm_uses_batch_statistics_in_training_only():
    from adcore.backbones import build_backbone
    maf = build_backbone("maf", (3,), [0, 1], {"n_layers": 2})
    bn = maf.norms[0]
    u = torch.randn(2, 64, 3, generator=torch.Generator().manual_seed(0)) * 3 + 2
    z, ld = bn(u, train=True)
    torch.testing.assert_close(z.mean(1), torch.zeros(2, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.var(1, unbiased=False), torch.ones(2, 3), atol=1e-3, rtol=0)
    assert ld.shape == (2, 64) and not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))
    before = bn.running_mean.clone()
    bn(u, train=False)
    assert torch.equal(bn.running_mean, before)  # evaluation never moves the running averages
    ln_train = maf.losses(u, train=True)[0]
    ln_eval = maf.losses(u, train=False)[0]
    assert not torch.allclose(ln_train, ln_eval)


def test_maf_neg_density_score_is_iad_eq8():
    from adcore.backbones import build_backbone
    maf = build_backbone("maf", (2,), [0], {"score": "neg_density"})
    x = torch.randn(1, 6, 2, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(maf.score(x), -torch.exp(maf.log_prob(x)))


# --- dataset-wise LOE (LOE footnote 2) -------------------------------------------------------------------------

@pytest.mark.parametrize("name, weights", [("loe_hard_dataset", (0.0, 1.0)), ("loe_soft_dataset", (0.5, 0.5))])
def test_dataset_wise_loe_ranks_on_the_whole_training_set(name, weights):
    from adcore.registry import STRATEGIES
    from adcore.strategies.base import Batch
    strat = STRATEGIES.get(name)(1, 20)
    alpha = torch.tensor([[0.1]])
    high = torch.arange(10.0, 20.0)[None]  # samples 0-9 all score above samples 10-19
    low = torch.arange(0.0, 10.0)[None]
    batches = lambda epoch: [  # noqa: E731
        strat.weights(Batch(s, s, torch.zeros_like(s), alpha, idx, epoch))[2]
        for s, idx in ((high, torch.arange(10)[None]), (low, torch.arange(10, 20)[None]))]
    first = batches(2)  # no memory yet: the mini-batch rule, ⌊αB⌋ = 1 per batch
    assert first[0][0].nonzero().ravel().tolist() == [9] and first[1][0].nonzero().ravel().tolist() == [9]
    second = batches(3)  # y from the whole data set: the top ⌊αN⌋ = 2 of 20 are both in the first batch
    assert second[0][0].nonzero().ravel().tolist() == [8, 9] and not second[1].any()
    wn, wa, _ = strat.weights(Batch(high, high, torch.zeros_like(high), alpha, torch.arange(10)[None], 4))
    assert (wn[0, 9].item(), wa[0, 9].item()) == weights and (wn[0, 0].item(), wa[0, 0].item()) == (1.0, 0.0)


def test_dataset_wise_loe_trains_and_warms_up():
    from adcore.trainer import TrainConfig, train
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = (np.arange(60) < 6).astype(np.float32)
    X[y == 1] += 4.0
    res = train("deepsvdd", [Member("loe_hard_dataset", 0.1, 0)], X, y_train=y,
                config=TrainConfig(epochs=6, batch_size=16, warmup=2, record_every=1))
    flags = res.history.flags
    assert not flags[1].any()  # blind warm-up
    assert [int(f.sum()) for f in flags[3:]] == [6, 6, 6]  # then exactly ⌊0.1 · 60⌋ flags per epoch


# --- paper presets -----------------------------------------------------------------------------------------------

def test_every_preset_is_a_valid_config():
    from adcore.experiment import ExperimentConfig
    from adcore.presets import DESCRIPTIONS, PRESETS, preset_fields
    assert set(PRESETS) == set(DESCRIPTIONS)
    for name in PRESETS:
        fields = preset_fields(name)
        fields.setdefault("data", "some.npz")
        ExperimentConfig.from_dict(fields).validate()
    assert PRESETS["loe-table6-ntl"]["warmup"] == 2 and PRESETS["loe-table6-ntl-large"]["warmup"] == 1
    assert PRESETS["loe-table6-icl"]["backbone_params"]["denominator"] == "windows"
    assert PRESETS["loe-table6-ntl"]["standardize"] is False  # the LOE authors' pipeline: raw features
    svdd = PRESETS["iad-table2-deepsvdd-thyroid"]
    assert svdd["backbone_params"]["hidden"] == (32, 16) and svdd["backbone_params"]["rep_dim"] == 4
    assert svdd["epochs"] == 160 and svdd["strategy_params"]["iad"]["epochs_per_round"] == 10
    assert PRESETS["iad-table2-ae-thyroid"]["backbone_params"]["error"] == "squared"
    assert PRESETS["iad-table4-maf-cardio"]["backbone_params"]["score"] == "neg_density"
    assert PRESETS["iad-table4-maf-cardio"]["alpha0"] == 0.001
    preset_fields("loe-table6-ntl")["strategies"].append("x")  # a copy: the preset itself is unchanged
    assert PRESETS["loe-table6-ntl"]["strategies"] == ["blind", "refine", "loe_hard", "loe_soft"]


def test_cli_preset_fills_the_config_and_flags_override_it():
    from adcore.cli import build_parser, config_from_args, main
    args = build_parser().parse_args(["run", "--preset", "iad-table2-ae-thyroid", "--data", "d.npz", "--seeds", "0"])
    cfg = config_from_args(args)
    assert cfg.backbone == "ae" and cfg.protocol == "transductive" and cfg.alpha0 is None
    assert cfg.backbone_params["error"] == "squared" and cfg.epochs == 160 and cfg.seeds == [0]
    assert main(["run", "--preset", "loe-table6-ntl"]) == 2  # needs --data: a message, not a traceback
    assert main(["run", "--preset", "no-such-row", "--data", "d.npz"]) == 2


def test_cli_runs_the_toy_preset(capsys):
    from adcore.cli import main
    assert main(["run", "--preset", "loe-fig1-toy", "--seeds", "0", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    for name in ("blind", "refine", "loe_hard", "loe_soft", "gtruth"):
        assert name in out


# --- Deep SVDD as IAD's base: Ruff et al.'s batch-norm MLP ---------------------------------------------------------

def test_bias_free_mlp_is_homogeneous_and_batch_norm_breaks_it():
    from adcore.backbones import build_backbone
    x = torch.randn(1, 50, 6, generator=torch.Generator().manual_seed(0))
    plain = build_backbone("deepsvdd", (6,), [0], {"hidden": (32, 16), "rep_dim": 4})
    # f(λx) = λ f(x), f(0) = 0: the reason the plain network collapses on data centred at the origin
    torch.testing.assert_close(plain.embed(3 * x), 3 * plain.embed(x), rtol=1e-4, atol=1e-5)
    bn = build_backbone("deepsvdd", (6,), [0], {"hidden": (32, 16), "rep_dim": 4, "batch_norm": True})
    bn.setup(x)
    bn.eval()
    assert not torch.allclose(bn.embed(3 * x), 3 * bn.embed(x), rtol=1e-2, atol=1e-3)


def test_deepsvdd_batch_norm_is_per_member_and_sets_c_in_eval_mode():
    from adcore.backbones import build_backbone
    from adcore.nn import StackedBatchNorm
    hp = {"hidden": (8,), "rep_dim": 3, "batch_norm": True, "pretrain_epochs": 1}
    X = torch.randn(40, 5, generator=torch.Generator().manual_seed(1)) * 2 + 1
    alone = build_backbone("deepsvdd", (5,), [4], hp)
    stacked = build_backbone("deepsvdd", (5,), [7, 4], hp)
    alone.setup(X.expand(1, 40, 5))
    stacked.setup(X.expand(2, 40, 5))
    for n, t in alone.member_state(0).items():
        assert torch.allclose(t, stacked.member_state(1)[n], atol=1e-5), n
    bn = next(m for m in alone.net.modules() if isinstance(m, StackedBatchNorm))
    h = alone.net[0](X.expand(1, 40, 5))
    torch.testing.assert_close(bn.running_mean, h.mean(1, keepdim=True), atol=1e-5, rtol=1e-4)  # training-set stats
    alone.eval()
    c = alone.embed(X.expand(1, 40, 5)).mean(1, keepdim=True)  # c from the evaluation-mode network
    c = torch.where(c.abs() < 0.1, torch.where(c < 0, -0.1, 0.1), c)  # center_eps, as Ruff et al.
    torch.testing.assert_close(alone.center, c, atol=1e-5, rtol=1e-4)
    alone.train()
    z = bn(h)
    torch.testing.assert_close(z.mean(1), torch.zeros(1, 8), atol=1e-5, rtol=0)


THYROID = "/work/shared/datasets/adbench/38_thyroid.npz"


@pytest.mark.skipif(not __import__("os").path.exists(THYROID), reason="thyroid data not available")
def test_iad_deepsvdd_preset_network_ranks_thyroid():
    from sklearn.metrics import roc_auc_score
    from adcore.presets import PRESETS
    from adcore.trainer import TrainConfig, train
    d = np.load(THYROID, allow_pickle=False)
    X, y = d["X"].astype(np.float64), d["y"]
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    params = PRESETS["iad-table2-deepsvdd-thyroid"]["backbone_params"]
    res = train("deepsvdd", [Member("blind", 0.0, s) for s in (0, 1)], X, backbone_params=params,
                config=TrainConfig(epochs=20, batch_size=128, lr=1e-3, threads=1))
    aurocs = [roc_auc_score(y, s) for s in res.score(X)]
    assert min(aurocs) > 0.8  # the bias-free MLP without batch norm: ≈ 0.5 (hypersphere collapse)


def test_data_page_preset_selector_loads_a_paper_setting():
    import os
    os.environ["ADLAB_NO_WARMUP"] = "1"
    from pathlib import Path
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/data.py").run()
    at.selectbox(key="data_preset").set_value("loe-table6-ntl").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="data_protocol").value == "loe" and at.selectbox(key="data_backbone").value == "ntl"
    assert at.number_input(key="data_epochs").value == 300 and at.text_input(key="data_seeds").value == "0,1,2,3,4"
    assert any("LOE Table 6" in c.value for c in at.caption)
    at.selectbox(key="data_preset").set_value("iad-table2-ae-thyroid").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="data_backbone").value == "ae" and at.selectbox(key="data_protocol").value == "transductive"
    assert at.selectbox(key="data_bb_ae_error").value == "squared"
    assert at.multiselect(key="data_strategies").value == ["blind", "iad"]


def _ordered_data(n_norm=40, n_anom=10):
    from adcore.data.dataset import Dataset
    X = np.arange(n_norm + n_anom, dtype=np.float32)[:, None].repeat(3, 1)  # row i holds the value i
    y = np.r_[np.zeros(n_norm, int), np.ones(n_anom, int)]
    return Dataset(X, y, name="ordered")


def test_loe_protocol_file_order_trains_on_the_first_half_of_the_normals():
    from adcore.data.protocols import make_split
    ds = _ordered_data()
    for seed in (0, 1):
        sp = make_split(ds, "loe", 0.1, seed, standardize=False, normal_order="file")
        train_normals = np.sort(sp.train.X[sp.train.y == 0, 0])
        assert train_normals.tolist() == list(range(20))  # the LOE authors' loader: inliers[:n // 2]
        assert np.sort(sp.test.X[sp.test.y == 0, 0]).tolist() == list(range(20, 40))
        assert (sp.test.y == 1).sum() == 10 and (sp.train.y == 1).sum() == 2  # copies of the test anomalies
    random = [np.sort(make_split(ds, "loe", 0.1, s, standardize=False).train.X[:, 0][:20]) for s in (0, 1)]
    assert not np.array_equal(random[0], random[1])  # the default draws a new half per seed


def test_loe_protocol_rejects_unknown_options():
    from adcore.data.dataset import DataError
    from adcore.data.protocols import make_split
    with pytest.raises(DataError, match="takes only normal_order"):
        make_split(_ordered_data(), "loe", 0.1, 0, normal_order="file", shuffle=True)
    with pytest.raises(DataError, match="normal_order must be"):
        make_split(_ordered_data(), "loe", 0.1, 0, normal_order="sorted")


def test_icl_window_norm_normalises_each_unit_across_windows_first():
    from adcore.backbones import build_backbone
    torch.manual_seed(0)
    parts = torch.randn(1, 2, 4, 3)  # (K, B, W, n)
    for on in (False, True):
        m = build_backbone("icl", (5,), [0], {"window_norm": on})
        out = m._encode(lambda z: z, parts)  # identity encoder: out is the normalised input
        ref = parts / parts.norm(dim=-2, keepdim=True) if on else parts
        assert torch.allclose(out, ref / ref.norm(dim=-1, keepdim=True), atol=1e-6)
        scaled = parts.clone()
        scaled[:, :, 0] *= 10.0  # rescale window 0 only
        moved = m._encode(lambda z: z, scaled)
        # with window_norm the other windows' embeddings change too; without, they do not
        assert torch.allclose(moved[:, :, 1:], out[:, :, 1:], atol=1e-6) != on


def test_loe_icl_presets_use_the_authors_normalisation():
    from adcore.presets import preset_fields
    for name in ("loe-table6-icl", "loe-table6-icl-large"):
        assert preset_fields(name)["backbone_params"] == {"denominator": "windows", "window_norm": True}
