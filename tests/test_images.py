"""Image loading (zip, IDX, npz, digits), class protocols and image views."""
import gzip
import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adcore.data import DataError, Dataset, load, make_split
from adcore.data import images as im
from adcore.experiment import ExperimentConfig
from adcore.image_views import gallery, image_grid, thumbnail_uris

MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"


# -- helpers -----------------------------------------------------------------------------------
def png(h=8, w=8, value=128, mode="L", fmt="PNG") -> bytes:
    arr = np.full((h, w) if mode == "L" else (h, w, 3), value, np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format=fmt)
    return buf.getvalue()


def make_zip(entries: dict, dirs=(), compression=zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for d in dirs:
            zf.writestr(zipfile.ZipInfo(d), b"")
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    buf.seek(0)
    buf.name = "upload.zip"
    return buf


def forbid_unpacking(monkeypatch):
    """From now on, fail the test if any zip entry is opened for reading."""
    def refuse(*a, **k):
        raise AssertionError("an entry was unpacked before the archive was refused")
    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


# -- zip: good archives ------------------------------------------------------------------------
def test_zip_of_class_folders_loads_with_classes_names_and_normal_class():
    entries = {f"data/good/{i}.png": png(value=10 * i) for i in range(6)}
    entries.update({f"data/bad/{i}.jpg": png(value=200, fmt="JPEG") for i in range(3)})
    entries.update({"__MACOSX/data/good/._0.png": b"junk", "data/good/.DS_Store": b"junk", "data/Thumbs.db": b"x"})
    ds = im.load_image_zip(make_zip(entries, dirs=["data/", "data/good/", "data/bad/"]), normal_class="good")
    assert ds.kind == "image" and ds.X.shape == (9, 1, 8, 8) and ds.X.dtype == np.float32
    assert ds.meta["class_names"] == ["bad", "good"] and ds.meta["normal_classes"] == [1]
    assert sorted(ds.classes.tolist()) == [0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert (ds.y == (ds.classes == 0)).all() and ds.n_anomalies == 3
    good = ds.X[ds.classes == 1][:, 0, 0, 0]
    assert np.allclose(sorted(good), np.arange(6) * 10 / 255.0)  # intensities / 255
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    # without a normal class: classes only; the split protocol explains what to do
    ds2 = im.load_image_zip(make_zip(entries))
    assert ds2.y is None and ds2.classes is not None
    with pytest.raises(DataError, match="one_vs_rest"):
        make_split(ds2, "split")
    ds3 = im.set_normal_classes(ds2, ["bad"])  # the app: choose the normal class after loading
    assert ds3.n_anomalies == 6 and ds3.meta["normal_classes"] == [0] and ds2.y is None


def test_zip_mixed_sizes_and_modes_are_converted_to_one_size_and_layout():
    entries = {f"a/{i}.png": png(8, 8) for i in range(3)}
    entries["a/big.png"] = png(20, 12)
    arr = np.zeros((8, 8, 3), np.uint8)
    arr[..., 0] = 255
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="PNG")
    entries["b/colour.png"] = buf.getvalue()
    ds = im.load_image_zip(make_zip(entries))
    assert ds.X.shape == (5, 3, 8, 8) and ds.meta["image_size"] == [8, 8] and ds.meta["channels"] == 3
    assert ds.meta["resized"] == 1 and "resized" in ds.meta["conversion"]
    red = ds.X[ds.classes == 1][0]
    assert np.allclose(red[0], 1.0) and np.allclose(red[1:], 0.0)
    grey = im.load_image_zip(make_zip(entries), size=(6, 4), channels=1)
    assert grey.X.shape == (5, 1, 6, 4) and np.isclose(grey.X[grey.classes == 1][0].mean(), 0.299, atol=0.01)
    # a large common size is shrunk so that its longer side is max_side
    big = im.load_image_zip(make_zip({f"c/{i}.png": png(100, 50) for i in range(2)}))
    assert big.meta["image_size"] == [64, 32]


def test_load_dispatches_zip_paths(tmp_path):
    path = tmp_path / "set.zip"
    path.write_bytes(make_zip({"x/1.png": png(), "x/2.png": png(), "y/1.png": png()}).getvalue())
    ds = load(str(path), normal_class="x")
    assert ds.kind == "image" and ds.n_anomalies == 1 and ds.name == "set"


# -- zip: bad archives -------------------------------------------------------------------------
@pytest.mark.parametrize("entries, dirs, message", [
    ({"a/1.png": png(), "a/notes.txt": b"hello"}, (), r"'a/notes.txt' is not a PNG or JPEG"),
    ({"a/1.png": png(), "a/fake.png": b"not really an image"}, (), r"'a/fake.png' could not be decoded"),
    ({"a/1.png": png(), "b/deep/2.png": png()}, (), r"'b/deep/2.png' is nested too deep"),
    ({"a/1.png": png(), "../x.png": png()}, (), r"'\.\./x\.png' points outside"),
    ({"a/1.png": png(), "a/../../x.png": png()}, (), r"points outside"),
    ({"a/1.png": png(), "/etc/x.png": png()}, (), r"'/etc/x\.png' has an absolute path"),
    ({"a/1.png": png(), "top.png": png()}, (), r"'top\.png' is not inside a class folder"),
    ({"a/1.png": png(), "a/2.png": png()}, ("empty/",), r"class folder 'empty' in upload.zip has no images"),
    ({"a/1.png": png(), "a/2.gif": png()}, (), r"'a/2.gif' is not a PNG or JPEG"),
    ({}, (), r"holds no files"),
])
def test_bad_zips_are_refused_naming_the_entry(entries, dirs, message):
    with pytest.raises(DataError, match=message):
        im.load_image_zip(make_zip(entries, dirs=dirs))


def test_gif_named_png_is_refused():
    buf = io.BytesIO()
    Image.new("L", (4, 4)).save(buf, format="GIF")
    with pytest.raises(DataError, match=r"'a/x.png' is not a PNG or JPEG image \(it is GIF\)"):
        im.load_image_zip(make_zip({"a/x.png": buf.getvalue(), "a/y.png": png()}))


def test_zip_bomb_is_refused_from_the_directory_before_unpacking(monkeypatch):
    bomb = make_zip({"a/1.png": png(), "a/bomb.png": bytes(8 * 2**20)})  # 8 MB of zeros packs to ~8 KB
    forbid_unpacking(monkeypatch)
    with pytest.raises(DataError, match=r"'a/bomb.png' would unpack to 8.0 MB .* zip bomb"):
        im.load_image_zip(bomb)


def test_zip_over_the_unpacked_limit_is_refused_before_unpacking(monkeypatch):
    stored = make_zip({f"a/{i}.png": bytes(300_000) for i in range(4)}, compression=zipfile.ZIP_STORED)
    forbid_unpacking(monkeypatch)
    with pytest.raises(DataError, match=r"would unpack to 1.1 MB; the limit is 1.0 MB"):
        im.load_image_zip(stored, max_unpacked=2**20)


def test_not_a_zip_is_refused():
    junk = io.BytesIO(b"PK\x03\x04 definitely not a zip")
    junk.name = "x.zip"
    with pytest.raises(DataError, match="not a readable zip"):
        im.load_image_zip(junk)


# -- IDX ---------------------------------------------------------------------------------------
def idx_bytes(arr: np.ndarray, code=0x08) -> bytes:
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(">u1").tobytes()


def test_idx_reader_roundtrip_gzip_and_checks(tmp_path):
    X = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    y = np.array([7, 1, 7], np.uint8)
    (tmp_path / "t-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(X)))
    (tmp_path / "t-labels-idx1-ubyte").write_bytes(idx_bytes(y))
    assert np.array_equal(im.read_idx(tmp_path / "t-images-idx3-ubyte.gz"), X)
    ds = load(f"mnist:{tmp_path}", normal_class=7)
    assert ds.X.shape == (3, 1, 4, 5) and np.isclose(ds.X.max(), 59 / 255) and ds.y.tolist() == [0, 1, 0]
    assert ds.meta["class_names"][7] == "7"
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x08\x03\x00\x00" + idx_bytes(X)[4:])
    with pytest.raises(DataError, match="magic number"):
        im.read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(idx_bytes(X)[:-1])
    with pytest.raises(DataError, match=r"holds 59 bytes of data, but its header announces 3 × 4 × 5"):
        im.read_idx(short)
    (tmp_path / "u-images-idx3-ubyte").write_bytes(idx_bytes(X))
    (tmp_path / "u-labels-idx1-ubyte").write_bytes(idx_bytes(y[:2]))
    with pytest.raises(DataError, match="labels file holds"):
        load(f"mnist:{tmp_path}")


@pytest.mark.skipif(not MNIST.is_dir(), reason="shared MNIST test set not present")
def test_mnist_test_set_loads():
    ds = load(f"mnist:{MNIST}")
    assert ds.X.shape == (10000, 1, 28, 28) and ds.classes.tolist().count(1) == 1135
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0 and ds.y is None


# -- npz, digits, L1 -------------------------------------------------------------------------
def test_npz_images_with_class_labels_and_binary_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (12, 6, 6, 3), dtype=np.uint8)  # n × H × W × C
    cls = np.repeat([0, 1, 2], 4)
    p = tmp_path / "imgs.npz"
    np.savez(p, X=X, y=cls)
    ds = load(str(p))
    assert ds.kind == "image" and ds.X.shape == (12, 3, 6, 6) and ds.y is None and ds.classes.tolist() == cls.tolist()
    assert np.allclose(ds.X[0].transpose(1, 2, 0), X[0] / 255.0)
    ds = load(str(p), normal_class=2, size=4)
    assert ds.X.shape == (12, 3, 4, 4) and ds.n_anomalies == 8
    np.savez(p, X=X[..., 0], y=(cls == 2).astype(int))
    ds = load(str(p))
    assert ds.X.shape == (12, 1, 6, 6) and ds.classes is None and ds.n_anomalies == 4
    # feature vectors with class labels: tabular with classes
    np.savez(p, X=rng.normal(size=(12, 5)), y=cls)
    ds = load(str(p), normal_class=0)
    assert ds.kind == "tabular" and ds.n_anomalies == 8 and ds.classes is not None
    # plain tabular npz keeps the old loader
    np.savez(p, X=rng.normal(size=(12, 5)), y=(cls == 1).astype(int))
    assert load(str(p)).classes is None
    np.savez(p, X=np.array([object()] * 3, dtype=object))
    with pytest.raises(DataError):
        load(str(p))


def test_builtin_digits_and_l1_normalisation():
    ds = load("images:digits:3")
    assert ds.X.shape == (1797, 1, 8, 8) and ds.X.max() == 1.0 and ds.meta["normal_classes"] == [3]
    assert ds.n_anomalies == 1797 - (ds.classes == 3).sum()
    l1 = load("images:digits", l1_normalize=True)
    assert np.isclose(l1.X.min(), 0.0) and np.isclose(l1.X.max(), 1.0) and l1.meta["l1_normalize"]
    # per image: (x - mean) / mean|x - mean|, then one global affine map to [0, 1]
    g = ds.X.reshape(len(ds.X), -1).astype(np.float64)
    g = (g - g.mean(1, keepdims=True)) / np.abs(g - g.mean(1, keepdims=True)).mean(1, keepdims=True)
    g = (g - g.min()) / (g.max() - g.min())
    assert np.allclose(l1.X.reshape(len(g), -1), g, atol=1e-5)


# -- protocols ---------------------------------------------------------------------------------
def class_data(counts=(100, 80, 60, 40), shape=(1, 2, 2)) -> Dataset:
    classes = np.repeat(np.arange(len(counts)), counts)
    X = np.arange(len(classes), dtype=np.float32)[:, None, None, None] * np.ones(shape, np.float32)
    return Dataset(X, None, kind="image", classes=classes, meta={"class_names": ["a", "b", "c", "d"]})


def ids(ds):
    return ds.X[:, 0, 0, 0].astype(int)


@pytest.mark.parametrize("alpha0", [0.05, 0.1, 0.2])
def test_one_vs_rest_counts_and_ratio(alpha0):
    ds = class_data()
    sp = make_split(ds, "one_vs_rest", alpha0, 0, normal_class="b")
    tr, te = sp.train, sp.test
    n_norm = 40  # half of class b's 80
    n_anom = int(round(alpha0 * n_norm / (1 - alpha0)))
    assert (tr.y == 0).sum() == n_norm and (tr.y == 1).sum() == n_anom
    assert abs(sp.info["alpha0_effective"] - alpha0) < 0.02
    assert (tr.classes[tr.y == 0] == 1).all() and (tr.classes[tr.y == 1] != 1).all()
    assert (te.y == (te.classes != 1)).all()
    assert len(tr) + len(te) == len(ds)  # every image used once
    assert not set(ids(tr)) & set(ids(te))
    assert sp.info["normal_classes"] == ["b"] and sp.info["anomaly_classes"] == ["a", "c", "d"]
    assert sum(sp.info["train_class_counts"].values()) == len(tr)
    # different seeds draw different anomalies, same counts
    sp2 = make_split(ds, "one_vs_rest", alpha0, 1, normal_class="b")
    assert len(sp2.train) == len(tr) and set(ids(sp2.train)) != set(ids(tr))


def test_one_vs_rest_several_normal_classes_and_shortage():
    ds = class_data()
    sp = make_split(ds, "one_vs_rest", 0.1, 0, normal_class=[0, 1], train_normal_frac=0.5)
    assert (sp.train.y == 0).sum() == 90 and set(sp.train.classes[sp.train.y == 0]) == {0, 1}
    with pytest.raises(DataError, match="largest α0 possible"):
        make_split(class_data((100, 10)), "one_vs_rest", 0.3, 0, normal_class=0)


def test_leave_one_class_out_and_seen_unseen():
    ds = class_data()
    sp = make_split(ds, "leave_one_class_out", 0.1, 0, anomaly_class="d")
    assert set(sp.train.classes[sp.train.y == 0]) == {0, 1, 2} and (sp.train.y == 1).sum() == 13
    assert (sp.train.classes[sp.train.y == 1] == 3).all()
    sp = make_split(ds, "seen_unseen", 0.1, 0, normal_class="b", unseen_class="a", n_labeled=3)
    tr, te = sp.train, sp.test
    assert 0 not in set(tr.classes) and (te.classes == 0).sum() == 100  # unseen only in the test set, all of it
    assert set(tr.classes[tr.y == 1]) <= {2, 3} and tr.labeled.sum() == 3 and (tr.y[tr.labeled] == 1).all()
    assert (te.y == (te.classes != 1)).all() and sp.info["unseen_classes"] == ["a"]
    # default unseen class: the first class that is not normal (PU Sec. 5.1 uses class 0)
    assert make_split(ds, "seen_unseen", 0.1, 0, normal_class=0).info["unseen_classes"] == ["b"]


def test_class_protocol_errors():
    ds = class_data()
    with pytest.raises(DataError, match="needs normal_class"):
        make_split(ds, "one_vs_rest", 0.1, 0)
    with pytest.raises(DataError, match="unknown class 'z'"):
        make_split(ds, "one_vs_rest", 0.1, 0, normal_class="z")
    with pytest.raises(DataError, match="no option"):
        make_split(ds, "one_vs_rest", 0.1, 0, normal_class=0, unseen_class=1)
    with pytest.raises(DataError, match="takes no options"):
        make_split(Dataset(np.zeros((4, 2)), [0, 0, 1, 1]), "split", 0.1, 0, normal_class=0)
    with pytest.raises(DataError, match="needs class labels"):
        make_split(Dataset(np.zeros((4, 2)), [0, 0, 1, 1]), "one_vs_rest", 0.1, 0, normal_class=0)
    with pytest.raises(DataError, match="both normal and anomalous"):
        make_split(ds, "one_vs_rest", 0.1, 0, normal_class=0, anomaly_classes=[0, 1])


def test_experiment_config_carries_protocol_options():
    cfg = ExperimentConfig(data="images:digits", protocol="one_vs_rest", protocol_options={"normal_class": 3})
    assert ExperimentConfig.from_dict(cfg.to_dict()).protocol_options == {"normal_class": 3}


# -- image views -------------------------------------------------------------------------------
def test_gallery_and_thumbnails():
    X = np.random.default_rng(0).random((10, 1, 8, 8)).astype(np.float32)
    scores = np.arange(10.0)
    scores[4] = np.nan
    flags = scores > 6
    g = gallery(X, scores, flags=flags, truth=(scores > 7).astype(int), k=3, classes=np.arange(10) % 2,
                class_names=["cat", "dog"])
    assert [it["index"] for it in g["most"]] == [9, 8, 7] and [it["index"] for it in g["least"]] == [0, 1, 2]
    top = g["most"][0]
    assert top["rank"] == 1 and top["flag"] is True and top["truth"] == 1 and top["class"] == "dog"
    assert "latent: anomaly" in top["caption"] and "score 9" in top["caption"]
    assert top["image"].size == (64, 64) and top["uri"].startswith("data:image/png;base64,")
    uris = thumbnail_uris(np.random.default_rng(1).random((3, 3, 5, 5)), size=20)
    assert len(uris) == 3 and all(u.startswith("data:image/png;base64,") for u in uris)
    assert image_grid(X[:5], n_cols=2, size=16).size == (2 * 18 + 2, 3 * 18 + 2)


def test_feature_extractor_only_with_local_weights():
    found = im.local_feature_extractors()  # torchvision is not a dependency; nothing is ever downloaded
    assert isinstance(found, dict)
    if "resnet18" not in found:
        with pytest.raises(DataError, match="nothing is downloaded"):
            im.extract_features(np.zeros((1, 3, 8, 8), np.float32), "resnet18")


# -- uploads (the app's data page) ----------------------------------------------------------------
def test_load_upload_dispatches_by_file_type():
    from adcore.data import load_upload, upload_kind

    zipped = make_zip({"cat/1.png": png(value=10), "cat/2.png": png(value=20), "dog/1.png": png(value=200)})
    ds = load_upload(zipped.getvalue(), "pets.zip", size=4)
    assert ds.kind == "image" and ds.X.shape == (3, 1, 4, 4) and ds.meta["class_names"] == ["cat", "dog"]
    arr = np.arange(3 * 5 * 5, dtype=np.uint8).reshape(3, 5, 5)
    ds = load_upload(gzip.compress(idx_bytes(arr)), "t10k-images-idx3-ubyte.gz",
                     labels=idx_bytes(np.array([0, 1, 1], np.uint8)))
    assert ds.X.shape == (3, 1, 5, 5) and ds.classes.tolist() == [0, 1, 1]
    assert load_upload(idx_bytes(arr), "x-images-idx3-ubyte").classes is None
    buf = io.BytesIO()
    np.savez(buf, X=np.zeros((6, 4)), y=np.array([0, 0, 0, 0, 1, 1]))
    tab = load_upload(buf.getvalue(), "t.npz")
    assert tab.kind == "tabular" and tab.n_anomalies == 2 and tab.classes is None
    buf = io.BytesIO()
    np.savez(buf, X=np.zeros((6, 7, 7)), y=np.array([0, 1, 2, 0, 1, 2]))
    assert load_upload(buf.getvalue(), "i.npz").classes.tolist() == [0, 1, 2, 0, 1, 2]
    assert load_upload(b"a,y\n1,0\n2,1\n", "t.csv", label_col="y").y.tolist() == [0, 1]
    assert upload_kind("train-labels-idx1-ubyte") == "idx" and upload_kind("A.MAT") == "mat"
    with pytest.raises(DataError, match="unknown file type"):
        load_upload(b"hello", "notes.txt")


def test_run_images_latent_labels_scores_and_gallery_order():
    from adcore.experiment import run_experiment
    from adcore.image_views import image_items, run_images

    cfg = ExperimentConfig(data="images:digits", protocol="one_vs_rest", protocol_options={"normal_class": 1},
                           alpha0=0.1, backbone="deepsvdd_cnn", strategies=["blind", "loe_hard"], epochs=4,
                           batch_size=64, device="cpu")
    result = run_experiment(cfg)
    n_train = len(result.splits[0].train)
    assert run_images(result, 0, "train")["flags"] is None  # Blind has no latent labels
    ctx = run_images(result, 1, "train")
    assert len(ctx["flags"]) == len(ctx["scores"]) == len(ctx["images"]) == n_train
    flagged = sum(bool(f) for f in ctx["flags"])
    assert 0 < flagged <= n_train * 0.1 + 1  # LOE flags ⌊αB⌋ per batch: about α of the training set
    g = gallery(**ctx, k=5)
    assert [it["rank"] for it in g["most"]] == [1, 2, 3, 4, 5]
    assert min(it["score"] for it in g["most"]) >= max(it["score"] for it in g["least"])
    assert {it["class"] for it in g["most"] + g["least"]} <= {str(c) for c in range(10)}
    test = run_images(result, 1, "test")
    assert test["flags"] is None and len(test["scores"]) == len(result.splits[0].test)
    picked = image_items(**ctx, rows=[4, 0])
    assert [it["index"] for it in picked] == [4, 0] and picked[0]["flag"] == bool(ctx["flags"][4])
    with pytest.raises(ValueError, match="part"):
        run_images(result, 0, "validation")


def test_pretrained_features_replace_pixels_keeping_classes(monkeypatch):
    from adcore.data import load_upload

    monkeypatch.setattr(im, "extract_features", lambda X, arch: X.reshape(len(X), -1)[:, :5] * 2.0)
    zipped = make_zip({"cat/1.png": png(value=10), "cat/2.png": png(value=20), "dog/1.png": png(value=200)})
    ds = load_upload(zipped.getvalue(), "pets.zip", features="resnet18")
    assert ds.kind == "tabular" and ds.X.shape == (3, 5) and ds.classes.tolist() == [0, 0, 1]
    assert ds.meta["features"] == "resnet18" and "frozen resnet18 features" in ds.meta["conversion"]
    digits = load("images:digits", features="resnet18", normal_class=0)
    assert digits.kind == "tabular" and digits.n_anomalies == 1797 - 178
    with pytest.raises(DataError, match="need images"):
        im.as_features(Dataset(np.zeros((3, 2))), "resnet18")


def test_auroc_by_class_scores_each_anomaly_class_against_the_normals():
    from adcore.metrics import auroc_by_class

    y = np.array([0, 0, 0, 1, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.25, 0.05])
    classes = np.array([0, 0, 0, 1, 1, 2, 2])
    assert auroc_by_class(y, scores, classes, ["a", "b", "c"]) == {"b": 1.0, "c": pytest.approx(1 / 3)}
