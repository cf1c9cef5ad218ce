"""Loaders on good and bad files, and the contamination protocols' counts and ratios."""
import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from adcore.data import DataError, Dataset, load, load_csv, load_npz, make_split, make_toy
from adcore.data.toy import Component, Mixture


def labelled(n_normal=200, n_anomaly=40, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n_normal, d)), rng.normal(3, 1, size=(n_anomaly, d))])
    return Dataset(X, np.r_[np.zeros(n_normal), np.ones(n_anomaly)], name="synthetic")


# --- loaders ---------------------------------------------------------------------------------

def test_npz_roundtrip(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.random.randn(10, 3), y=np.r_[np.zeros(8), np.ones(2)])
    ds = load(path)
    assert ds.X.shape == (10, 3) and ds.X.dtype == np.float32 and ds.n_anomalies == 2 and ds.kind == "tabular"


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, X=np.array([{"a": 1}, {"b": 2}], dtype=object), y=np.zeros(2))
    with pytest.raises(DataError, match="pickled"):
        load_npz(path)


def test_npz_missing_key_names_what_is_there(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, features=np.zeros((3, 2)))
    with pytest.raises(DataError, match=r"no array 'X'.*features"):
        load_npz(path)


def test_not_an_npz(tmp_path):
    path = tmp_path / "d.npz"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(path)


def test_nan_and_inf_are_reported(tmp_path):
    X = np.random.randn(6, 2)
    X[3, 1] = np.nan
    X[4, 0] = np.inf
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=np.zeros(6))
    with pytest.raises(DataError, match=r"2 feature values are NaN or infinite \(in 2 rows, first at row 3\)"):
        load_npz(path)


def test_wrong_label_values_and_lengths():
    with pytest.raises(DataError, match=r"labels must be 0 \(normal\) or 1"):
        Dataset(np.zeros((3, 2)), [0, 2, 1])
    with pytest.raises(DataError, match="2 labels for 3 samples"):
        Dataset(np.zeros((3, 2)), [0, 1])
    with pytest.raises(DataError, match="shape"):
        Dataset(np.zeros(5))


def test_csv_label_column_and_anomaly_value():
    csv = b"a,b,status\n1,2,ok\n3,4,bad\n5,6,ok\n7,8,ok\n"
    ds = load_csv(io.BytesIO(csv), label_col="status", anomaly_value="bad")
    assert ds.y.tolist() == [0, 1, 0, 0] and ds.feature_names == ["a", "b"]


def test_csv_errors_are_specific():
    with pytest.raises(DataError, match="no column 'label'"):
        load_csv(io.BytesIO(b"a,b\n1,2\n"), label_col="label")
    with pytest.raises(DataError, match=r"no row has 'y' = 'weird'"):
        load_csv(io.BytesIO(b"a,y\n1,0\n2,1\n"), label_col="y", anomaly_value="weird")
    with pytest.raises(DataError, match=r"columns \['colour'\] are not numeric"):
        load_csv(io.BytesIO(b"a,colour,y\n1,red,0\n2,blue,1\n"), label_col="y")
    with pytest.raises(DataError, match="missing feature values"):
        load_csv(io.BytesIO(b"a,b,y\n1,,0\n2,3,1\n"), label_col="y")
    with pytest.raises(DataError, match="no rows or no columns|not a readable CSV"):
        load_csv(io.BytesIO(b""))


def test_csv_one_hot_encoding():
    ds = load_csv(io.BytesIO(b"a,colour,y\n1,red,0\n2,blue,1\n"), label_col="y", categorical="onehot")
    assert ds.X.shape == (2, 3)


def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a\n" + b"1\n" * 1000)
    with pytest.raises(DataError, match="limit"):
        load_csv(path, max_bytes=100)


def test_mat_file(tmp_path):
    path = tmp_path / "d.mat"
    savemat(path, {"X": np.random.randn(12, 3), "y": np.r_[np.zeros(10), np.ones(2)][:, None]})
    ds = load(path)
    assert ds.X.shape == (12, 3) and ds.n_anomalies == 2


def test_bad_mat_file(tmp_path):
    path = tmp_path / "d.mat"
    path.write_bytes(b"\x00" * 200)
    with pytest.raises(DataError, match="not a readable .mat"):
        load(path)


def test_unknown_spec():
    with pytest.raises(DataError, match="cannot read 'data.xlsx'"):
        load("data.xlsx")
    with pytest.raises(DataError, match="unknown built-in dataset"):
        load("sklearn:iris")


@pytest.mark.parametrize("spec, n, d", [("sklearn:wine", 178, 13), ("sklearn:breast_cancer", 569, 30),
                                        ("sklearn:digits:3", 1797, 64)])
def test_sklearn_sets(spec, n, d):
    ds = load(spec)
    assert ds.X.shape == (n, d) and 0 < ds.n_anomalies < n


def test_breast_cancer_malignant_is_anomalous():
    assert load("sklearn:breast_cancer").n_anomalies == 212


# --- toy mixtures ----------------------------------------------------------------------------

def test_loe_toy_preset_counts_and_components():
    ds = make_toy(seed=0)
    assert len(ds) == 100 and ds.n_anomalies == 10
    normals = ds.X[ds.y == 0]
    assert np.allclose(normals.mean(0), [1, 1], atol=0.1)
    assert np.allclose(normals.var(0), 0.07, atol=0.03)


def test_custom_mixture_validation():
    with pytest.raises(DataError, match="at least one anomalous"):
        Mixture([Component([0, 0], 0.1, 1, False)])
    with pytest.raises(DataError, match="same dimension"):
        Mixture([Component([0, 0]), Component([0, 0, 0], anomalous=True)])
    with pytest.raises(DataError, match="positive semi-definite"):
        Mixture([Component([0, 0], [[1, 2], [2, 1]]), Component([1, 1], anomalous=True)])


# --- protocols -------------------------------------------------------------------------------

def test_split_reaches_alpha0_and_keeps_test_anomalies():
    ds = labelled(200, 40)
    s = make_split(ds, "split", 0.1, seed=0)
    assert s.info["n_train_anomalies"] == round(0.1 * 100 / 0.9) == 11
    assert len(s.train) == 111 and abs(s.info["alpha0_effective"] - 0.1) < 0.01
    assert len(s.test) == 240 - 111 and s.test.n_anomalies == 29


def test_split_shortage_error_states_counts_and_maximum():
    ds = labelled(1000, 20)
    with pytest.raises(DataError, match=r"has 20 anomalies.*needs 56.*at most 10.*largest α0 possible .* is 0\.020"):
        make_split(ds, "split", 0.1)


def test_split_shortage_policies():
    ds = labelled(1000, 20)
    s = make_split(ds, "split", 0.1, shortage="reduce_normals")
    assert s.info["n_train_anomalies"] == 10 and len(s.train) == 100 and "reduced" in s.info["shortage"]
    s = make_split(ds, "split", 0.1, shortage="lower_alpha0")
    assert s.info["n_train_anomalies"] == 10 and abs(s.info["alpha0_effective"] - 10 / 510) < 1e-9


def test_split_is_reproducible_from_seed():
    ds = labelled()
    a, b, c = (make_split(ds, "split", 0.1, seed=s) for s in (1, 1, 2))
    assert np.array_equal(a.train.X, b.train.X) and not np.array_equal(a.train.X, c.train.X)


def test_loe_protocol_counts_and_noise():
    ds = labelled(200, 40)
    s = make_split(ds, "loe", 0.1, seed=0, standardize=False)
    assert len(s.train) == 100 + 11 and s.train.n_anomalies == 11
    assert len(s.test) == 100 + 40 and s.test.n_anomalies == 40
    contaminants = s.train.X[s.train.y == 1]
    anomalies = ds.X[ds.y == 1]
    # noisy copies: none equals an original anomaly
    assert not any(np.allclose(c, a) for c in contaminants for a in anomalies)


def test_transductive_trains_on_everything():
    ds = labelled(200, 40)
    s = make_split(ds, "transductive", None)
    assert s.train is s.test and len(s.train) == 240
    s = make_split(ds, "transductive", 0.05)
    assert s.train.n_anomalies == round(0.05 * 200 / 0.95)


def test_standardisation_uses_training_statistics_only():
    s = make_split(labelled(), "split", 0.1, seed=0)
    assert np.allclose(s.train.X.mean(0), 0, atol=1e-5) and np.allclose(s.train.X.std(0), 1, atol=1e-4)
    assert not np.allclose(s.test.X.mean(0), 0, atol=1e-2)


def test_labelled_anomalies_come_on_top_of_the_pool_contamination():
    plain = make_split(labelled(), "split", 0.1, seed=0)
    s = make_split(labelled(), "split", 0.1, seed=0, n_labeled=3)
    assert s.train.labeled.sum() == 3 and np.all(s.train.y[s.train.labeled] == 1)
    pool = ~s.train.labeled
    assert s.train.y[pool].sum() == plain.train.y.sum() and s.info["alpha0_effective"] == plain.info["alpha0_effective"]
    assert s.info["n_labeled"] == 3 and len(s.test) == len(plain.test) - 3
    ratio = make_split(labelled(), "split", 0.05, seed=0, labeled_ratio=0.02)
    n_lab, n_pool = ratio.train.labeled.sum(), (~ratio.train.labeled).sum()
    assert n_lab == round(0.02 * n_pool / 0.98)  # γ_l = N_labelled / (N_unlabelled + N_labelled)
    with pytest.raises(DataError, match="at most 20 can be used"):
        make_split(labelled(), "split", 0.1, n_labeled=50)
    with pytest.raises(DataError, match="besides the 15 labelled ones"):
        make_split(labelled(), "split", 0.1, n_labeled=15)


def test_one_class_data_gets_a_clear_message():
    ds = Dataset(np.random.randn(50, 2), np.zeros(50))
    with pytest.raises(DataError, match="no anomalies"):
        make_split(ds, "split", 0.1)
    with pytest.raises(DataError, match="needs labels"):
        make_split(Dataset(np.random.randn(50, 2)), "loe", 0.1)
    unlabelled = make_split(Dataset(np.random.randn(50, 2)), "transductive", None)
    assert len(unlabelled.train) == 50 and unlabelled.train.y is None


def test_fresh_protocol_draws_new_toy_data():
    s = make_split(make_toy(), "fresh", 0.2, seed=3, standardize=False)
    assert len(s.train) == 100 and s.train.n_anomalies == 20
    assert len(s.test) == 1000 and s.test.n_anomalies == 100
