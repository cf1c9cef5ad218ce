"""Sweeps on the local pool and on an embedded Ray: resumable, no duplicates, the same numbers on both."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from adcore import engines
from adcore.engines import run_sweep
from adcore.store import ResultStore
from adcore.sweep_spec import expand

ray = pytest.importorskip("ray")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 2 data sets × 2 α0 = 4 cells, each 2 strategies × 2 seeds stacked: 16 member results
SPEC = {"data": ["toy", "sklearn:wine"], "backbone": ["deepsvdd"], "strategies": ["blind", "loe_hard"],
        "alpha0": [0.05, 0.1], "seeds": [0, 1], "epochs": 3, "batch_size": 64, "warmup": 1}
KEY = ["cell", "strategy", "seed"]


@pytest.fixture(scope="module")
def ray_address():
    """One embedded Ray for the module (its start-up is the slow part)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def ray_store(ray_address, tmp_path_factory):
    path = tmp_path_factory.mktemp("ray") / "runs.sqlite"
    lines = []
    report = run_sweep(expand(SPEC), ResultStore(path), engine="ray", progress=lines.append)
    return path, report, lines


def cli(*args, **kw):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "adcore", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def test_ray_sweep_stores_one_row_per_member(ray_store):
    path, report, lines = ray_store
    assert (report.total, report.skipped, report.ran, report.failed) == (4, 0, 4, [])
    assert lines[0] == "4 cells to run, 0 already done" and len(lines) == 5
    df = ResultStore(path).frame()
    assert len(df) == 16 and not df.duplicated(KEY).any()
    assert set(df["data"]) == {"toy", "sklearn:wine"} and set(df["protocol"]) == {"fresh", "split"}
    assert df["auroc"].between(0, 1).all() and (df["fit_seconds"] >= 0).all()


def test_finished_sweep_trains_nothing(ray_store, ray_address, monkeypatch, tmp_path):
    path, _, _ = ray_store
    before = ResultStore(path).frame()

    def no_training(*a, **k):
        raise AssertionError("a stored cell was trained again")

    monkeypatch.setattr(engines, "run_cell", no_training)
    report = run_sweep(expand(SPEC), ResultStore(path), engine="ray")
    assert (report.skipped, report.ran) == (4, 0)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    proc = cli("sweep", "--spec", str(spec), "--store", str(path), "--engine", "ray", "--address", ray_address)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "0 cells to run, 4 already done" in out and "0 cells run, 4 already done" in out
    after = ResultStore(path).frame()
    assert after.equals(before)  # same rows, same creation times


def test_local_pool_gives_the_same_numbers_as_ray(ray_store, tmp_path):
    path, _, _ = ray_store
    report = run_sweep(expand(SPEC), ResultStore(tmp_path / "local.sqlite"), engine="local", workers=2)
    assert report.ran == 4
    on_ray = ResultStore(path).frame().sort_values(KEY).reset_index(drop=True)
    local = ResultStore(tmp_path / "local.sqlite").frame().sort_values(KEY).reset_index(drop=True)
    assert local[KEY].equals(on_ray[KEY])
    for metric in ("auroc", "ap", "f1"):
        assert local[metric].tolist() == on_ray[metric].tolist()


def test_killed_sweep_resumes_without_duplicates(ray_address, tmp_path):
    spec = {**SPEC, "epochs": 150}  # cells long enough that the kill lands while the next one trains
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    path = tmp_path / "runs.sqlite"
    proc = cli("sweep", "--spec", str(tmp_path / "spec.json"), "--store", str(path), "--engine", "ray",
               "--address", ray_address, "--workers", "1", start_new_session=True)
    seen, deadline = [], time.monotonic() + 120
    for line in proc.stdout:  # kill the sweep right after its first cell is stored
        seen.append(line)
        if line.startswith("[1/4]") or time.monotonic() > deadline:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert any(s.startswith("[1/4]") for s in seen), "".join(seen)
    store = ResultStore(path)
    stored = len(store.done_keys())
    assert 1 <= stored < 4 and len(store.rows()) == 4 * stored  # whole cells only

    lines = []
    report = run_sweep(expand(spec), store, engine="ray", progress=lines.append)
    assert lines[0] == f"{4 - stored} cells to run, {stored} already done"
    assert (report.skipped, report.ran) == (stored, 4 - stored)
    df = store.frame()
    assert len(df) == 16 and not df.duplicated(KEY).any()


def test_timeout_stops_part_way_and_failures_are_reported(tmp_path):
    store = ResultStore(tmp_path / "runs.sqlite")
    report = run_sweep(expand({**SPEC, "data": ["toy"]}), store, workers=1, timeout=0)
    assert report.stopped and report.ran == 0 and not store.rows()
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not an npz file")
    lines = []
    report = run_sweep(expand({**SPEC, "data": [str(bad), "toy"], "alpha0": [0.1]}), store, workers=1,
                       progress=lines.append)
    assert report.ran == 1 and [label for label, _ in report.failed] == [f"{bad} · deepsvdd · α0=0.1"]
    assert any("failed" in line for line in lines)
    with pytest.raises(ValueError, match="unknown engine"):
        run_sweep([], store, engine="dask")
