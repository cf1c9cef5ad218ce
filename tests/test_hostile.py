"""Hostile and malformed input (tests/make_corpus.py) through the library, the CLI and the app's upload:
a clean refusal with a specific message or a valid dataset, never a raw exception, with bounded memory.
Also: configuration abuse, NaN/divergence during training, and stacked-vs-alone determinism."""
import re
import resource
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from make_corpus import Case, cli_cases, file_cases, npz_bytes, write_configs

from adcore.cli import main
from adcore.data import DataError, Dataset, load_upload

CASES = file_cases()
PEAK_BYTES = 400 * 2**20  # numpy/Python allocations of one load (the limits allow ~100 MB files through)


def _peak_of(fn):
    tracemalloc.start()
    try:
        out = fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out, peak


def test_the_corpus_is_broad():
    kinds = {c.name.split("-")[0] for c in CASES}
    assert len(CASES) >= 60 and kinds == {"csv", "npz", "mat", "zip", "idx", "name"}
    assert sum(c.expect == "refuse" for c in CASES) >= 50 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_load_upload_refuses_clearly_or_loads_within_memory(case: Case):
    def load():
        try:
            return load_upload(case.data, case.filename, case.labels, **case.options)
        except DataError as err:
            return err

    out, peak = _peak_of(load)
    assert peak < PEAK_BYTES, f"{case.name}: {peak / 2**20:.0f} MB"
    if case.expect == "refuse":
        assert isinstance(out, DataError), f"{case.name} was accepted"
        assert re.search(case.match, str(out)), str(out)
    else:
        assert isinstance(out, Dataset), f"{case.name}: {out}"
        assert np.isfinite(out.X).all() and len(out) >= 2


def _cli_path(case: Case, folder: Path) -> str:
    """The file written where the CLI reads it; IDX files as ``mnist:PATH`` with the labels beside."""
    name = Path(case.filename).name
    path = folder / name
    path.write_bytes(case.data)
    if case.labels is not None:
        (folder / name.replace("images-idx3", "labels-idx1")).write_bytes(case.labels)
    return f"mnist:{path}" if "ubyte" in name else str(path)


def test_cli_gives_each_corpus_file_a_message_or_a_result(tmp_path, capsys):
    """Every file through ``python -m adcore run --data FILE`` (in-process, 1 epoch): exit 0 or 2 with a
    message, never a traceback (exit 3 is the last-resort handler)."""
    for i, case in enumerate(CASES):
        folder = tmp_path / str(i)
        folder.mkdir()
        argv = ["run", "--data", _cli_path(case, folder), "--epochs", "1", "--strategy", "blind", "--device", "cpu"]
        if "label_col" in case.options:
            argv += ["--label-col", case.options["label_col"]]
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc in (0, 2), f"{case.name}: exit {rc}: {err}"
        assert "Traceback" not in err
        if case.expect == "refuse" and not case.name.startswith("name-"):  # the CLI reads by suffix
            assert rc == 2 and re.search(case.match, err), f"{case.name}: {err}"


CLI = cli_cases()


@pytest.mark.parametrize("case_id,argv,match", CLI, ids=[c[0] for c in CLI])
def test_cli_names_the_flag_or_field_of_a_bad_value(case_id, argv, match, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_configs(tmp_path)
    rc = main(["run", *[a.replace("{tmp}", str(tmp_path)) for a in argv]])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert re.search(match, err), err
    assert "Traceback" not in err


def test_out_is_checked_before_training(tmp_path, capsys, monkeypatch):
    import adcore.cli as cli

    monkeypatch.setattr(cli, "run_experiment", lambda cfg: pytest.fail("trained before checking --out"))
    assert main(["run", "--epochs", "1", "--out", str(tmp_path / "missing" / "r.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_last_resort_handler_turns_a_bug_into_a_message(capsys, monkeypatch):
    import adcore.cli as cli

    def boom(cfg):
        raise KeyError("internal")

    monkeypatch.setattr(cli, "run_experiment", boom)
    assert main(["run", "--epochs", "1"]) == 3
    err = capsys.readouterr().err
    assert "unexpected KeyError" in err and "ADLAB_DEBUG" in err and "Traceback" not in err


# ---------------------------------------------------------------- divergence

def test_divergence_stops_with_a_learning_rate_hint_and_keeps_the_finite_epochs():
    from adcore.trainer import Member, TrainConfig, train
    from adcore.validation import TrainingDiverged

    X = np.random.default_rng(0).normal(size=(200, 5)).astype(np.float32) * 100
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch \d+ of 30.*learning rate 10 .*try 1 or lower") as info:
        train("maf", [Member("blind", 0.1, 0)], X, config=TrainConfig(epochs=30, lr=10.0, batch_size=50, device="cpu"))
    result = info.value.result
    n = result.history.n_epochs
    assert 1 <= n < 30 and np.isfinite(result.history.loss_total).all()
    assert all(bool(p.isfinite().all()) for p in result.backbone.parameters())  # the last finite epoch's weights
    assert np.isfinite(result.score(X[:20])).all()


def _nan_backbone():
    """A test backbone whose training loss becomes NaN for members 1, 2, … from epoch 4 on."""
    import torch

    from adcore.backbones import Backbone

    class NanAfter(Backbone):
        name = "test_nan_after"
        description = "test only"

        def __init__(self, input_shape, seeds, **hp):
            super().__init__(input_shape, seeds, **hp)
            self.w = torch.nn.Parameter(torch.ones(self.n_models, 1))
            self.epoch = 0

        def start_epoch(self, epoch):
            self.epoch = epoch

        def losses(self, x, train=False):
            ln = x.pow(2).mean(-1) * self.w
            if train and self.epoch >= 3:
                ln = torch.cat([ln[:1], ln[1:] * float("nan")])
            return ln, -ln

        def embed(self, x):
            return x

    return NanAfter


def test_divergence_keeps_the_last_finite_epoch_of_every_member(monkeypatch, capsys):
    from adcore.registry import BACKBONES
    from adcore.trainer import Member, TrainConfig, train
    from adcore.validation import TrainingDiverged

    monkeypatch.setitem(BACKBONES.entries, "test_nan_after", _nan_backbone())
    X = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    members = [Member("blind", 0.1, 0), Member("loe_hard", 0.1, 1)]
    with pytest.raises(TrainingDiverged, match=r"epoch 4 of 10: the loss of loe_hard \(seed 1\) became NaN.*"
                                               r"the 3 finite epoch\(s\) before are kept") as info:
        train("test_nan_after", members, X, config=TrainConfig(epochs=10, lr=0.01, batch_size=25, device="cpu"))
    result = info.value.result
    assert result.history.n_epochs == 3 and np.isfinite(result.history.loss_total).all()
    assert bool(result.backbone.w.isfinite().all()) and result.stopped
    rc = main(["run", "--data", "sklearn:wine", "--backbone", "test_nan_after", "--strategy", "blind,loe_hard",
               "--seeds", "0,1", "--epochs", "10", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "error: training diverged at epoch 4 of 10" in err and "learning rate" in err


def test_divergence_reaches_cli_and_app_as_a_message(capsys):
    from adcore.validation import TrainingDiverged, error_text

    assert "learning rate" in error_text(TrainingDiverged("training diverged …; the learning rate 10 is too high"))
    assert error_text(MemoryError()).startswith("ran out of memory")
    assert error_text(RuntimeError("boom\nline 2")) == "unexpected RuntimeError: boom (the details are in the server log)"


# ---------------------------------------------------------------- determinism

def test_members_train_bit_identically_stacked_or_alone():
    """Same config and seed → the same scores on CPU whether a member trains alone or stacked with others
    (the fused CPU Adam kernel used to differ in the last bits, which grew to ~5e-4 AUROC)."""
    from adcore.experiment import ExperimentConfig, run_experiment

    base = dict(data="sklearn:breast_cancer", backbone="ae", epochs=8, seeds=[0, 1], device="cpu", threads=1,
                strategies=["blind", "loe_hard"], batch_size=64)
    stacked = run_experiment(ExperimentConfig(**base))
    for k, m in enumerate(stacked.members):
        alone = run_experiment(ExperimentConfig(**{**base, "seeds": [m.seed], "strategies": [m.strategy]}))
        assert np.array_equal(alone.test_scores[0], stacked.test_scores[k]), m
        assert alone.runs[0]["auroc"] == stacked.runs[k]["auroc"]


def test_memory_stays_bounded_over_the_whole_corpus():
    """Peak resident memory of this process after the corpus (all loads above): bounded, not the GBs
    the hostile files declare."""
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < 3 * 2**30


# ---------------------------------------------------------------- the app's upload widget

def test_app_upload_turns_every_corpus_file_into_a_message_or_a_preview():
    """Each corpus file uploaded on *Your data* (AppTest, one session): no exception reaches the page,
    each refusal is shown as a specific message, and the process's peak memory stays bounded."""
    import os

    os.environ["ADLAB_NO_WARMUP"] = "1"
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Upload").run()
    assert any(c.value.startswith("Limits: files up to 500 MB") for c in at.caption)  # stated in the UI
    for case in CASES:
        at.file_uploader(key="data_upload").set_value((Path(case.filename).name, case.data, "")).run()
        if case.labels is not None and not at.exception:
            at.file_uploader(key="data_upload_labels").set_value(("labels-idx1-ubyte", case.labels, "")).run()
        assert not at.exception, (case.name, [e.value for e in at.exception])
        errors = " ".join(e.value for e in at.error)
        if case.expect == "refuse" and "label_col" not in case.options:  # the page picks the label column
            assert re.search(case.match, errors), (case.name, errors)
        if case.labels is not None:
            at.file_uploader(key="data_upload_labels").set_value(None).run()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < 3 * 2**30


# ---------------------------------------------------------------- saved models

def test_saved_model_round_trips_exactly_and_hostile_model_files_are_refused(tmp_path):
    import io
    import pickle

    import torch

    from adcore.exports import load_model, model_bytes
    from adcore.experiment import ExperimentConfig, run_experiment

    result = run_experiment(ExperimentConfig(data="sklearn:wine", backbone="ae", strategies=["blind", "loe_soft"],
                                             seeds=[0, 1], epochs=3, device="cpu"))
    blob = model_bytes(result)
    model = load_model(blob)
    for k in range(len(result.members)):  # the same scores for every stacked member (up to float rounding)
        X = result.split_of(k).test.X
        raw = X * result.splits[0].scaler[1] + result.splits[0].scaler[0]  # the model standardises itself
        np.testing.assert_allclose(model.score(raw, k), result.test_scores[k], rtol=1e-5, atol=1e-6)
    (tmp_path / "m.pt").write_bytes(blob)
    assert load_model(tmp_path / "m.pt").config == result.config

    ran = []

    class Evil:
        def __reduce__(self):
            return ran.append, ("code ran",)

    buf = io.BytesIO()
    torch.save({"format": "adlab-model/1", "x": Evil()}, buf, pickle_module=pickle)
    with pytest.raises(ValueError, match="not a readable model file"):
        load_model(buf.getvalue())
    assert ran == []  # weights_only: nothing was unpickled
    payload = torch.load(io.BytesIO(blob), weights_only=True)
    for damage in ({"config": "{"}, {"states": [{"nope": torch.zeros(3)}] * 4}, {"backbone": None},
                   {"states": [{n: torch.zeros(7) for n in payload["states"][0]}] * 4}, {"members": "[]x"}):
        buf = io.BytesIO()
        torch.save({k: v for k, v in {**payload, **damage}.items() if v is not None}, buf)
        with pytest.raises(ValueError):
            load_model(buf.getvalue())
    for junk in (blob[: len(blob) // 2], b"", b"PK\x03\x04junk"):
        with pytest.raises(ValueError):
            load_model(junk)


def test_memory_estimate_refuses_a_run_before_training():
    from adcore.data.limits import check_training, training_bytes
    from adcore.experiment import ExperimentConfig

    assert training_bytes(1000, 10, 3, 1, 50) < 20 * 2**20
    ds = type("Big", (), {"input_shape": (100,), "__len__": lambda self: 200_000})()  # only its size is read
    cfg = ExperimentConfig(strategies=["blind", "refine", "loe_hard", "loe_soft"], seeds=list(range(20)), epochs=200)
    with pytest.raises(DataError, match=r"would need about \d+\.\d GB .*4 strategies × 20 seeds on 200,000 samples"):
        check_training(cfg, ds)
    check_training(ExperimentConfig(seeds=[0], epochs=200), ds)  # one seed of the same data fits


def test_app_turns_unexpected_errors_into_messages_and_logs_the_traceback(monkeypatch, caplog):
    """Not only DataError: any exception while loading or training becomes a specific message on the
    page, and its traceback goes to the server log."""
    import logging
    import os

    os.environ["ADLAB_NO_WARMUP"] = "1"
    from streamlit.testing.v1 import AppTest

    from adcore import app_support as sup

    def broken_load(*args, **kwargs):
        raise RuntimeError("decoder exploded")

    def broken_train(*args, **kwargs):
        raise KeyError("lost member")

    monkeypatch.setattr(sup, "load_upload_cached", broken_load)
    monkeypatch.setattr(sup, "run_cached", broken_train)
    caplog.set_level(logging.INFO, logger="adlab.app")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/data.py").run()
    at.button(key="data_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Training failed: unexpected KeyError: 'lost member'" in e.value for e in at.error), at.error
    at.radio(key="data_source").set_value("Upload").run()
    at.file_uploader(key="data_upload").set_value(("x.npz", npz_bytes(X=np.zeros((4, 2))), "")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Cannot use this data: unexpected RuntimeError: decoder exploded (the details are in the server log)"
               in e.value for e in at.error), at.error
    logged = [r for r in caplog.records if r.name == "adlab.app" and r.exc_info]
    assert {type(r.exc_info[1]) for r in logged} == {KeyError, RuntimeError}
    assert all("Traceback" not in e.value for e in at.error)
