"""Property-based tests (hypothesis): any bytes, table, array or configuration gives a clean error
(``DataError`` / ``ValueError`` with a message) or a valid result — never another exception.
Small ``max_examples`` and tiny trainings keep them at a few seconds each; ADLAB_HYPOTHESIS_SCALE=20
searches 20× longer."""
import io
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from make_corpus import class_zip, csv_text, idx, mat_bytes, npz_bytes, table, zip_of

from adcore.data import DataError, Dataset, load_csv, load_upload, make_split
from adcore.experiment import ExperimentConfig, run_experiment

SCALE = int(os.environ.get("ADLAB_HYPOTHESIS_SCALE", "1"))  # e.g. 20 for a deeper search than the suite's
FAST = settings(max_examples=60 * SCALE, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = ["f.csv", "f.npz", "f.mat", "f.zip", "f-images-idx3-ubyte", "f-images-idx3-ubyte.gz", "f.txt"]


def _valid_files() -> dict[str, bytes]:
    X, y = table()
    images = np.random.default_rng(0).integers(0, 255, (6, 4, 4), dtype=np.uint8)
    return {"f.csv": csv_text(12).encode(), "f.npz": npz_bytes(X=X, y=y), "f.mat": mat_bytes(X=X, y=y[:, None]),
            "f.zip": zip_of(class_zip(2, 4)), "f-images-idx3-ubyte": idx(images),
            "g.npz": npz_bytes(X=images, y=np.arange(6) % 2 + 3)}


VALID = _valid_files()


def loads_cleanly(raw: bytes, name: str, **options):
    """The upload as a valid Dataset, or None after a clean DataError; anything else fails the test."""
    try:
        ds = load_upload(raw, name, **options)
    except DataError as err:
        assert str(err), "an empty message"
        return None
    assert isinstance(ds, Dataset) and len(ds) >= 2
    assert ds.X.dtype == np.float32 and np.isfinite(ds.X).all()
    if ds.y is not None:
        assert set(np.unique(ds.y).tolist()) <= {0, 1} and len(ds.y) == len(ds)
    if ds.classes is not None:
        assert ds.classes.min() >= 0 and len(ds.classes) == len(ds)
    return ds


@FAST
@given(raw=st.binary(max_size=3000), name=st.sampled_from(NAMES))
def test_any_bytes_load_or_fail_cleanly(raw, name):
    loads_cleanly(raw, name)


@settings(max_examples=150 * SCALE, deadline=None, database=None)
@given(which=st.sampled_from(sorted(VALID)), edits=st.lists(
    st.tuples(st.sampled_from(["flip", "cut", "insert"]), st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=4))
def test_damaged_valid_files_load_or_fail_cleanly(which, edits):
    """Valid files with bytes flipped, cut or inserted (headers, directories, data)."""
    raw = bytearray(VALID[which])
    for op, where, value in edits:
        i = min(int(where * len(raw)), max(len(raw) - 1, 0))
        if op == "flip" and raw:
            raw[i] = value
        elif op == "cut":
            del raw[i:]
        else:
            raw[i:i] = bytes([value]) * (1 + value % 7)
    name = which if which != "g.npz" else "f.npz"
    loads_cleanly(bytes(raw), name)


CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
                 st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=6), st.just(""))


@FAST
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=0, max_size=12),
       header=st.lists(st.sampled_from(["a", "b", "label", "y", "", "a"]), min_size=1, max_size=4),
       label=st.sampled_from([None, "label", "y", "zz"]), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_any_table_loads_or_fails_cleanly(rows, header, label, encoding):
    text = ",".join(header) + "\n" + "\n".join(",".join(str(c) for c in r) for r in rows)
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        raw = text.encode("utf-8")
    try:
        ds = load_csv(_named(raw), label_col=label)
    except DataError:
        return
    assert np.isfinite(ds.X).all() and len(ds) >= 2


def _named(raw: bytes):
    buf = io.BytesIO(raw)
    buf.name, buf.size = "t.csv", len(raw)
    return buf


ARRAY = hnp.arrays(dtype=st.one_of(hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.boolean_dtypes(),
                                   hnp.complex_number_dtypes(), hnp.unicode_string_dtypes(max_len=3)),
                   shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))


@FAST
@given(X=ARRAY, y=st.one_of(st.none(), ARRAY))
def test_any_npz_arrays_load_or_fail_cleanly(X, y):
    arrays = {"X": X} if y is None else {"X": X, "y": y}
    loads_cleanly(npz_bytes(**arrays), "a.npz")


@settings(max_examples=40 * SCALE, deadline=None, database=None)
@given(n=st.integers(2, 60), n_anom=st.integers(0, 30), alpha0=st.one_of(st.none(), st.floats(0, 0.99)),
       protocol=st.sampled_from(["split", "loe", "transductive", "one_vs_rest", "fresh"]),
       shortage=st.sampled_from(["error", "reduce_normals", "lower_alpha0"]), seed=st.integers(0, 2**31 - 1),
       frac=st.floats(0.05, 0.95))
def test_protocols_split_or_refuse_cleanly(n, n_anom, alpha0, protocol, shortage, seed, frac):
    n_anom = min(n_anom, n)
    X = np.random.default_rng(seed).normal(size=(n, 3))
    y = np.r_[np.zeros(n - n_anom), np.ones(n_anom)]
    ds = Dataset(X, y, classes=(np.arange(n) % 3) if protocol == "one_vs_rest" else None)
    options = {"normal_class": 0} if protocol == "one_vs_rest" else {}
    try:
        split = make_split(ds, protocol, alpha0, seed, train_normal_frac=frac, shortage=shortage, **options)
    except DataError as err:
        assert str(err)
        return
    assert len(split.train) >= 1 and len(split.test) >= 1
    assert np.isfinite(split.train.X).all() and np.isfinite(split.test.X).all()
    if protocol in ("split", "one_vs_rest") and alpha0 is not None and shortage != "lower_alpha0":
        assert split.train.y.mean() <= alpha0 + 1 / len(split.train)


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=True),
                 st.text(max_size=5), st.lists(st.integers(-2, 3), max_size=3), st.dictionaries(st.text(max_size=3),
                                                                                                st.integers(), max_size=2))
VALUES = {
    "data": st.one_of(st.sampled_from(["toy", "sklearn:wine", "sklearn:nope", "nothing.csv", "images:x"]), JUNK),
    "protocol": st.one_of(st.sampled_from([None, "split", "transductive", "fresh", "bogus"]), JUNK),
    "alpha0": st.one_of(st.sampled_from([None, 0.0, 0.05, 0.1, 0.3, 1.0, -0.1]), JUNK),
    "alpha": st.one_of(st.sampled_from([None, 0.0, 0.1, 0.5, 1.5]), JUNK),
    "backbone": st.one_of(st.sampled_from(["deepsvdd", "ae", "deepsvdd_rbf", "nope"]), JUNK),
    "backbone_params": st.one_of(st.sampled_from([{}, {"hidden": [4]}, {"hidden": "x"}, {"zzz": 1}]), JUNK),
    "strategies": st.one_of(st.lists(st.sampled_from(["blind", "loe_hard", "loe_soft", "refine", "magic"]),
                                     max_size=3), JUNK),
    "strategy_params": st.one_of(st.sampled_from([{}, {"loe_soft": {}}, {"loe_soft": 3}]), JUNK),
    "seeds": st.one_of(st.lists(st.integers(-1, 5), max_size=3), JUNK),
    "epochs": st.one_of(st.integers(0, 2), st.sampled_from([1.0, 2.5, "2"]), JUNK),
    "batch_size": st.one_of(st.sampled_from([None, 1, 2, 16, 32.0, 2.5]), JUNK),
    "lr": st.one_of(st.sampled_from([1e-3, 0.01, 0.0, -1.0, math.inf, math.nan, 1e39, "abc"]), JUNK),
    "warmup": st.one_of(st.integers(-3, 3), JUNK),
    "device": st.one_of(st.sampled_from(["auto", "cpu", "tpu", "cuda:x", ""]), JUNK),
    "threads": st.one_of(st.sampled_from(["auto", 1, 0, "many"]), JUNK),
    "shortage": st.one_of(st.sampled_from(["error", "lower_alpha0", "whatever"]), JUNK),
    "train_normal_frac": st.one_of(st.sampled_from([0.5, 0.0, 1.0, 0.3]), JUNK),
    "standardize": st.one_of(st.sampled_from([None, True, False]), JUNK),
}


@settings(max_examples=40 * SCALE, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=st.one_of(st.fixed_dictionaries({}, optional=VALUES), JUNK))
def test_any_config_dict_runs_or_fails_cleanly(cfg):
    """From JSON to a trained run: a clean ``ValueError`` (ConfigError, DataError) naming the problem, or
    a run with metrics. Valid configs train for at most 2 epochs on small data."""
    try:
        config = ExperimentConfig.from_dict(cfg)
        config.validate()
    except ValueError as err:
        assert str(err)
        return
    if config.data == "toy":
        config.data_options = {"n_samples": 60}
    try:
        result = run_experiment(config)
    except ValueError as err:  # e.g. too few anomalies for α0, a strategy that needs labels
        assert str(err)
        return
    assert len(result.runs) == len(config.seeds) * len(config.strategies)
    assert all(np.isfinite(s).all() for s in result.test_scores)


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "gpu0", ""])
def test_unknown_devices_are_refused_by_name(device):
    with pytest.raises(ValueError, match="device"):
        ExperimentConfig(device=device).validate()
