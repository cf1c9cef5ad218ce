"""Named methods, the OE classifiers, shallow baselines and outlier-exposure sets, end to end."""
import json

import numpy as np
import pytest
import torch

from adcore.backbones.classifiers import bce_losses, hsc_losses
from adcore.cli import main
from adcore.data import Dataset, DataError, make_split
from adcore.detector import Detector
from adcore.experiment import ExperimentConfig, run_experiment
from adcore.methods import METHODS, compare_methods, get_method
from adcore.registry import BACKBONES, STRATEGIES


def test_every_method_names_a_registered_pair():
    for m in METHODS.values():
        assert m.backbone in BACKBONES.names() and m.strategy in STRATEGIES.names()
        assert m.backbone_for("image") in BACKBONES.names()
        assert "image" in BACKBONES.get(m.backbone_for("image")).data_kinds
    assert get_method("pusvdd").name == "PUSVDD"
    with pytest.raises(ValueError, match="unknown method"):
        get_method("nope")


def test_oe_classifier_losses_point_the_right_way():
    h = torch.linspace(0.01, 5.0, 50)
    ln, la = hsc_losses(h)
    assert (ln.diff() > 0).all() and (la.diff() < 0).all()  # normals pulled in, anomalies pushed out
    f = torch.linspace(-4, 4, 50)
    for gamma in (0.0, 2.0):
        ln, la = bce_losses(f, gamma, 0.5 if gamma else None)
        assert (ln.diff() > 0).all() and (la.diff() < 0).all()  # a high anomaly logit costs normals, helps anomalies
    fl_n, _ = bce_losses(torch.tensor([-3.0]), 2.0, 0.5)
    bce_n, _ = bce_losses(torch.tensor([-3.0]))
    assert fl_n < 0.01 * bce_n  # focal loss down-weights the easy, well-classified samples


def _pool_with_labels():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(400, 5)), rng.normal(2.5, 1, size=(80, 5))])
    return Dataset(X, np.r_[np.zeros(400), np.ones(80)], name="blobs")


def test_pu_beats_deep_svdd_and_deep_sad_on_a_contaminated_pool():
    """The PU paper's claim (Sec. 5.4) on a small contaminated pool with labelled anomalies."""
    cfg = ExperimentConfig(data="blobs", alpha0=0.1, n_labeled=15, epochs=30, seeds=[0, 1, 2], batch_size=64)
    results = compare_methods(cfg, ["DeepSVDD", "DeepSAD", "PUSVDD"], _pool_with_labels())
    auroc = {name: row["auroc"]["mean"] for r in results for name, row in r.summary.items()}
    assert auroc["PUSVDD"] > auroc["DeepSVDD"] and auroc["PUSVDD"] > auroc["DeepSAD"]


def test_shallow_baselines_run_as_methods_and_leave_labelled_out():
    cfg = ExperimentConfig(data="blobs", alpha0=0.05, n_labeled=10, seeds=[0, 1])
    res = compare_methods(cfg, ["IsolationForest", "OCSVM", "LOF"], _pool_with_labels())
    for r in res:
        row = next(iter(r.summary.values()))
        assert row["auroc"]["mean"] > 0.8 and row["n_seeds"] == 2
    with pytest.raises(ValueError, match="shallow baseline"):
        run_experiment(ExperimentConfig(data="blobs", backbone="iforest", strategies=["loe_hard"]),
                       _pool_with_labels())


def test_outlier_exposure_set_joins_training_as_labelled_only():
    ds = _pool_with_labels()
    oe = Dataset(np.random.default_rng(1).normal(-3, 1, size=(30, 5)), np.ones(30), name="oe")
    s = make_split(ds, "split", 0.05, 0, oe=oe, oe_n=4, standardize=False)
    assert s.info["n_oe"] == 4 and s.train.labeled.sum() == 4
    assert (s.train.X[s.train.labeled] < -0.5).mean() > 0.8  # the OE rows, not the data's anomalies
    assert s.info["alpha0_effective"] == pytest.approx(0.05, abs=0.01)
    assert make_split(ds, "split", 0.05, 0, oe=oe, oe_n=0).train.labeled is None
    with pytest.raises(DataError, match="at most 30"):
        make_split(ds, "split", 0.05, 0, oe=oe, oe_n=31)
    with pytest.raises(DataError, match="same kind and size"):
        make_split(ds, "split", 0.05, 0, oe=Dataset(np.zeros((5, 3)), name="narrow"))


def test_oe_from_another_class_leaves_the_task():
    cfg = ExperimentConfig(data="images:digits", protocol="one_vs_rest", protocol_options={"normal_class": 0},
                           oe="class:9", oe_n=5, method="HSC", backbone="hsc_cnn", strategies=["sad"],
                           epochs=1, seeds=[0], labeled_batch=16)
    res = run_experiment(cfg)
    split = res.splits[0]
    assert split.info["n_oe"] == 5 and 9 not in set(split.test.classes.tolist())


def test_cli_runs_named_methods_side_by_side(tmp_path, capsys):
    out = tmp_path / "m.json"
    code = main(["run", "--data", "sklearn:breast_cancer", "--alpha0", "0.05", "--n-labeled", "8", "--epochs", "3",
                 "--method", "PUAE,ABC,IsolationForest", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "PUAE" in text and "ABC" in text and "IsolationForest" in text
    payload = json.loads(out.read_text())
    assert [m["config"]["method"] for m in payload["methods"]] == ["PUAE", "ABC", "IsolationForest"]
    assert payload["methods"][0]["runs"][0]["n_labeled"] == 8
    assert main(["run", "--data", "sklearn:breast_cancer", "--n-labeled", "500", "--method", "DeepSAD"]) == 2
    assert "at most 106" in capsys.readouterr().err
    assert main(["list"]) == 0 and "PUSVDD" in capsys.readouterr().out


def test_detector_takes_labels_and_methods():
    ds = _pool_with_labels()
    y = np.r_[np.zeros(440), np.ones(40)]  # the last 40 anomalies labelled, 40 more hidden in the unlabelled rows
    plain = Detector(method="DeepSVDD", epochs=15, contamination=0.1).fit(ds.X, y)
    pu = Detector(method="PUSVDD", epochs=15, contamination=0.1).fit(ds.X, y)
    hidden = slice(400, 440)
    gap = lambda d: d.decision_function(ds.X[hidden]).mean() / d.decision_function(ds.X[:400]).mean()  # noqa: E731
    assert gap(pu) > gap(plain)
    assert pu.get_params()["method"] == "PUSVDD"


def test_a_method_prescribes_settings_only_where_the_user_kept_the_defaults():
    from adcore.methods import method_config

    preset = method_config(ExperimentConfig(data="38_thyroid.npz"), "MML-VAE")
    assert preset.epochs == 150 and preset.labeled_batch == 32 and preset.strategies == ["sad"]
    mine = method_config(ExperimentConfig(data="38_thyroid.npz", epochs=5, labeled_batch=8), "MML-VAE")
    assert mine.epochs == 5 and mine.labeled_batch == 8 and mine.lr_milestones == preset.lr_milestones
    det = Detector(method="MML-VAE")
    assert det._recipe(np.zeros((4, 3), np.float32)).epochs == 150  # the Detector gets the method's schedule too
    assert Detector(method="HSC", labeled_batch=4)._recipe(np.zeros((4, 3), np.float32)).labeled_batch == 4


def test_cli_scores_an_ensemble_as_its_own_row(capsys):
    assert main(["run", "--data", "sklearn:breast_cancer", "--strategy", "blind", "--ensemble", "2",
                 "--epochs", "2"]) == 0
    assert "blind (ensemble of 2)" in capsys.readouterr().out


def test_tabular_only_parameters_stay_off_the_image_backbones():
    from adcore.methods import method_config

    tab = method_config(ExperimentConfig(data="x.npz"), "DeepSAD", "tabular")
    img = method_config(ExperimentConfig(data="images:digits"), "DeepSAD", "image")
    assert tab.backbone_params == {"pretrain_epochs": 10, "batch_norm": True}
    assert img.backbone == "deepsvdd_cnn" and img.backbone_params == {"pretrain_epochs": 10}
    img.validate()  # deepsvdd_cnn's batch_norm takes auto/on/off: the MLP's True must not reach it
