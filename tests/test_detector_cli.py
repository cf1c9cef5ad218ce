"""The scikit-learn compatible Detector and the command line."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from adcore import Detector
from adcore.cli import main

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(1)
X = np.vstack([RNG.normal(size=(180, 3)), RNG.normal(5, 0.3, size=(20, 3))]).astype(np.float32)


def test_detector_is_sklearn_compatible():
    det = Detector(backbone="ae", strategy="loe_hard", contamination=0.1, epochs=2, latent_dim=2)
    params = det.get_params()
    assert params["latent_dim"] == 2 and params["strategy"] == "loe_hard"
    twin = clone(det)
    assert twin.get_params() == params
    twin.set_params(lr=0.01, latent_dim=3)
    assert twin.lr == 0.01 and twin.get_params()["latent_dim"] == 3


def test_detector_scores_follow_pyod_convention():
    det = Detector(backbone="deepsvdd", strategy="loe_soft", contamination=0.1, epochs=30, batch_size=50).fit(X)
    scores = det.decision_function(X)
    assert scores[180:].mean() > scores[:180].mean()  # higher = more anomalous
    assert np.array_equal(det.score_samples(X), -scores)
    pred = det.predict(X)
    assert set(np.unique(pred)) <= {0, 1} and abs(pred.mean() - 0.1) < 0.02
    assert det.embed(X).shape == (200, 32)
    assert det.history_.n_epochs == 30


def test_detector_errors_are_clear():
    with pytest.raises(ValueError, match="not fitted"):
        Detector().decision_function(X)
    with pytest.raises(ValueError, match="NaN"):
        Detector(epochs=1).fit(np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match="needs labels"):
        Detector(strategy="gtruth", epochs=1).fit(X)
    det = Detector(epochs=1).fit(X)
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        det.predict(np.zeros((4, 5)))


def test_cli_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("deepsvdd", "deepsvdd_rbf", "ae", "dae", "blind", "refine", "loe_hard", "loe_soft", "gtruth"):
        assert name in out


def test_cli_run_writes_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", "--data", "toy", "--backbone", "deepsvdd_rbf", "--strategy", "loe_hard,blind",
                 "--seeds", "0,1", "--epochs", "5", "--out", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert payload["config"]["epochs"] == 5 and payload["config"]["batch_size"] == 25
    assert len(payload["runs"]) == 4 and {"auroc", "ap", "f1", "fit_seconds"} <= set(payload["runs"][0])
    assert payload["summary"]["loe_hard"]["auroc"]["std"] >= 0
    assert "loe_hard" in capsys.readouterr().out
    # the written config reproduces the run
    again = tmp_path / "again.json"
    assert main(["run", "--config", str(out), "--out", str(again)]) == 0
    assert json.loads(again.read_text())["runs"] == payload["runs"] or all(
        abs(a["auroc"] - b["auroc"]) < 1e-9 for a, b in zip(json.loads(again.read_text())["runs"], payload["runs"]))


def test_cli_csv_with_label_column(tmp_path):
    rows = ["f1,f2,kind"] + [f"{a:.3f},{b:.3f},{'odd' if i % 10 == 0 else 'fine'}"
                             for i, (a, b) in enumerate(RNG.normal(size=(200, 2)))]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(rows))
    assert main(["run", "--data", str(path), "--label-col", "kind", "--anomaly-value", "odd", "--backbone", "ae",
                 "--strategy", "blind", "--epochs", "2", "--alpha0", "0.05"]) == 0


def test_cli_bad_input_gets_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    proc = subprocess.run([sys.executable, "-m", "adcore", "run", "--data", str(bad)], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "not a readable .npz" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "adcore", "run", "--data", "sklearn:wine", "--alpha0", "0.9"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "anomalies" in proc.stderr and "Traceback" not in proc.stderr
