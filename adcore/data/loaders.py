"""Loaders for user files (npz, csv, ODDS mat) and built-in datasets; ``load(spec)`` dispatches."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from adcore.data.dataset import Dataset, DataError
from adcore.data.toy import make_toy

MAX_FILE_BYTES = 500 * 2**20
SKLEARN_SETS = ("wine", "breast_cancer", "digits")


def _read_bytes(source, max_bytes: int) -> tuple[bytes, str]:
    """Bytes and display name of a path or a file-like upload, refusing files above ``max_bytes``."""
    if hasattr(source, "read"):
        name = getattr(source, "name", "upload")
        size = getattr(source, "size", None)
        if size is not None and size > max_bytes:
            raise DataError(f"{name} is {size / 2**20:.0f} MB; the limit is {max_bytes / 2**20:.0f} MB")
        data = source.read(max_bytes + 1)
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"file not found: {path}")
        name = path.name
        if path.stat().st_size > max_bytes:
            raise DataError(f"{name} is {path.stat().st_size / 2**20:.0f} MB; the limit is {max_bytes / 2**20:.0f} MB")
        data = path.read_bytes()
    if len(data) > max_bytes:
        raise DataError(f"{name} is larger than the limit of {max_bytes / 2**20:.0f} MB")
    return data, name


def _image_or_table(X) -> tuple[np.ndarray, str]:
    X = np.asarray(X)
    if X.ndim == 3:  # n × H × W grey images
        return X[:, None], "image"
    if X.ndim == 4:
        if X.shape[-1] in (1, 3) and X.shape[1] not in (1, 3):  # n × H × W × C
            X = X.transpose(0, 3, 1, 2)
        return X, "image"
    return X, "tabular"


def load_npz(source, x_key: str = "X", y_key: str | None = "y", max_bytes: int = MAX_FILE_BYTES) -> Dataset:
    """``.npz`` with features under ``x_key`` and optional 0/1 labels under ``y_key``; never unpickles."""
    data, name = _read_bytes(source, max_bytes)
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        raise DataError(f"{name} is not a readable .npz file (not a numpy archive); save it with numpy.savez")
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise DataError(f"{name} holds Python objects (pickled data), which are not loaded for safety; "
                            "save plain numeric arrays") from None
        raise DataError(f"{name} is not a readable .npz file: {err}") from None
    except Exception as err:  # noqa: BLE001 - zip/format errors of many kinds
        raise DataError(f"{name} is not a readable .npz file ({type(err).__name__})") from None
    if not hasattr(archive, "files"):
        raise DataError(f"{name} holds a single array; save features and labels with numpy.savez(X=..., y=...)")
    if x_key not in archive.files:
        raise DataError(f"{name} has no array {x_key!r}; it holds {archive.files}")
    try:
        X, kind = _image_or_table(archive[x_key])
        y = archive[y_key] if y_key and y_key in archive.files else None
    except ValueError:
        raise DataError(f"{name} holds Python objects (pickled data), which are not loaded for safety") from None
    return Dataset(X, y, name=Path(name).stem, kind=kind)


def load_csv(source, label_col: str | None = None, anomaly_value=None, categorical: str = "error",
             max_bytes: int = MAX_FILE_BYTES) -> Dataset:
    """CSV via pandas. ``label_col`` names the label column and ``anomaly_value`` the value
    meaning "anomaly" (default 1); other columns are features. Non-numeric feature columns
    raise an error unless ``categorical="onehot"`` encodes them."""
    data, name = _read_bytes(source, max_bytes)
    try:
        df = pd.read_csv(io.BytesIO(data))
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{name} is not a readable CSV file: {str(err).splitlines()[0]}") from None
    if df.empty or df.shape[1] == 0:
        raise DataError(f"{name} has no rows or no columns")
    y = None
    if label_col is not None:
        if label_col not in df.columns:
            raise DataError(f"{name} has no column {label_col!r}; its columns are {list(df.columns)[:20]}")
        labels = df.pop(label_col)
        if labels.isna().any():
            raise DataError(f"label column {label_col!r} has {int(labels.isna().sum())} empty values")
        target = 1 if anomaly_value is None else anomaly_value
        y = _match_value(labels, target, label_col)
    non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        if categorical != "onehot":
            raise DataError(f"{name}: columns {non_numeric[:10]} are not numeric; drop them, encode them, "
                            "or choose one-hot encoding of categorical columns")
        df = pd.get_dummies(df, columns=non_numeric, dtype=float)
    missing = int(df.isna().sum().sum())
    if missing:
        rows = df.index[df.isna().any(axis=1)].tolist()
        raise DataError(f"{name} has {missing} missing feature values (first in data row {rows[0] + 1}); "
                        "remove or impute them first")
    return Dataset(df.to_numpy(dtype=np.float64), y, name=Path(name).stem, feature_names=[str(c) for c in df.columns])


def _match_value(labels: pd.Series, target, label_col: str) -> np.ndarray:
    """1 where the label equals ``target`` (compared as text when types differ), else 0."""
    hit = labels == target
    if not hit.any():
        hit = labels.astype(str).str.strip() == str(target).strip()
    if not hit.any():
        values = labels.astype(str).unique()[:10].tolist()
        raise DataError(f"no row has {label_col!r} = {target!r}; its values include {values}")
    return hit.to_numpy().astype(np.int64)


def load_mat(source, max_bytes: int = MAX_FILE_BYTES) -> Dataset:
    """ODDS ``.mat`` file with arrays ``X`` and ``y`` (scipy; MATLAB v7.3 files are refused clearly)."""
    from scipy.io import loadmat

    data, name = _read_bytes(source, max_bytes)
    if data[:8] == b"\x89HDF\r\n\x1a\n" or b"MATLAB 7.3" in data[:128]:
        raise DataError(f"{name} is a MATLAB v7.3 (HDF5) file; save it with -v7 or export X and y to .npz")
    try:
        mat = loadmat(io.BytesIO(data))
    except Exception as err:  # noqa: BLE001 - scipy raises many types for bad files
        raise DataError(f"{name} is not a readable .mat file ({type(err).__name__})") from None
    if "X" not in mat:
        raise DataError(f"{name} has no variable 'X'; it holds {[k for k in mat if not k.startswith('__')]}")
    y = mat.get("y")
    return Dataset(np.asarray(mat["X"], dtype=np.float64), None if y is None else np.ravel(y),
                   name=Path(name).stem)


def load_sklearn(name: str, normal_class: int | None = None) -> Dataset:
    """scikit-learn's bundled sets as anomaly detection: one class normal, the others anomalous.

    ``breast_cancer``: benign normal, malignant anomalous. ``wine`` and ``digits``:
    ``normal_class`` (default 0) normal, every other class anomalous (one-vs-rest).
    """
    from sklearn import datasets

    if name not in SKLEARN_SETS:
        raise DataError(f"unknown built-in dataset {name!r}; choose one of {list(SKLEARN_SETS)}")
    bunch = getattr(datasets, f"load_{name}")()
    target = bunch.target
    if name == "breast_cancer":
        y = (target == list(bunch.target_names).index("malignant")).astype(int)
        meta = {"normal": "benign"}
    else:
        normal_class = 0 if normal_class is None else int(normal_class)
        if normal_class not in set(target.tolist()):
            raise DataError(f"{name} has classes {sorted(set(target.tolist()))}; got normal_class={normal_class}")
        y = (target != normal_class).astype(int)
        meta = {"normal_class": normal_class}
    names = [str(n) for n in getattr(bunch, "feature_names", [])] or None
    return Dataset(bunch.data, y, name=name, feature_names=names, meta=meta)


UPLOAD_TYPES = "CSV, NPZ, ODDS .mat, a .zip of class folders of PNG/JPEG images, or MNIST-format IDX files"


def upload_kind(filename: str) -> str:
    """``csv``, ``npz``, ``mat``, ``zip`` or ``idx`` (``*-ubyte``, ``*.idx``, optionally ``.gz``) by file name."""
    low = filename.lower()
    if re.search(r"(ubyte|\.idx\d?)(\.gz)?$", low):
        return "idx"
    suffix = Path(low).suffix.lstrip(".")
    if suffix in ("csv", "npz", "mat", "zip"):
        return suffix
    raise DataError(f"{filename}: unknown file type; upload {UPLOAD_TYPES} (*-ubyte or *-ubyte.gz)")


def _named(raw: bytes, name: str) -> io.BytesIO:
    buf = io.BytesIO(raw)
    buf.name, buf.size = name, len(raw)
    return buf


def load_upload(raw: bytes, filename: str, labels: bytes | None = None, **options) -> Dataset:
    """The dataset of uploaded bytes, by file type (:func:`upload_kind`).

    ``options``: ``label_col``/``anomaly_value``/``categorical`` for CSV; ``size``,
    ``channels``, ``l1_normalize``, ``normal_class`` for images (zip, IDX, image
    ``.npz``), ``features`` (e.g. ``"resnet18"``) for frozen pre-trained features of the
    images; ``labels``: the bytes of an IDX labels file to go with IDX images.
    """
    from adcore.data import images

    if options.get("features"):
        features = options.pop("features")
        return images.as_features(load_upload(raw, filename, labels, **options), features)
    kind = upload_kind(filename)
    src = _named(raw, filename)
    pick = lambda keys: {k: v for k, v in options.items() if k in keys and v is not None}  # noqa: E731
    image_options = pick(("normal_class", "size", "channels", "l1_normalize"))
    if kind == "csv":
        return load_csv(src, **pick(("label_col", "anomaly_value", "categorical")))
    if kind == "mat":
        return load_mat(src)
    if kind == "zip":
        return images.load_image_zip(src, **image_options)
    if kind == "idx":
        return images.load_idx(src, None if labels is None else _named(labels, "labels"), **image_options)
    if images.npz_holds_images(io.BytesIO(raw)):
        return images.load_npz_images(src, **image_options)
    return load_npz(src)


def load(spec: str | os.PathLike, **options) -> Dataset:
    """A dataset from a spec: ``toy``, ``sklearn:wine|breast_cancer|digits[:normal_class]``,
    or a path to ``.npz``/``.csv``/``.mat``. ``options`` go to the loader (e.g. ``label_col``).
    Images (adcore.data.images): ``images:digits[:normal_class]``, ``mnist:PATH``, a ``.zip`` of
    class folders, or an ``.npz`` holding images or class labels."""
    from adcore.data import images

    spec = str(spec)
    if images.handles(spec, options):
        return images.load_image_spec(spec, **options)
    if spec == "toy":
        return make_toy(**options)
    if spec.startswith("sklearn:"):
        parts = spec.split(":")
        return load_sklearn(parts[1], normal_class=int(parts[2]) if len(parts) > 2 else options.get("normal_class"))
    suffix = Path(spec).suffix.lower()
    loaders = {".npz": load_npz, ".csv": load_csv, ".mat": load_mat}
    if suffix not in loaders:
        raise DataError(f"cannot read {spec!r}: use toy, sklearn:NAME, images:digits, mnist:PATH, "
                        "or a .npz, .csv, .mat or .zip file")
    accepted = {".npz": {"x_key", "y_key"}, ".csv": {"label_col", "anomaly_value", "categorical"}, ".mat": set()}
    return loaders[suffix](spec, **{k: v for k, v in options.items() if k in accepted[suffix] and v is not None})
