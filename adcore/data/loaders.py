"""Loaders for user files (npz, csv, ODDS mat) and built-in datasets; ``load(spec)`` dispatches."""
from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from adcore.data import npz
from adcore.data.dataset import Dataset, DataError
from adcore.data.limits import MAX_FILE_BYTES, check_decoded, check_values, read_bytes
from adcore.data.toy import make_toy

SKLEARN_SETS = ("wine", "breast_cancer", "digits")
MAT_SIZES = {"double": 8, "single": 4, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
             "int64": 8, "uint64": 8, "logical": 1, "sparse": 8}
MAT_REFUSED = {"struct": "a MATLAB struct", "cell": "a MATLAB cell array", "char": "text (a MATLAB char array)",
               "object": "a MATLAB object", "function_handle": "a MATLAB function handle", "opaque": "a MATLAB object"}


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
    """``.npz`` with features under ``x_key`` and optional 0/1 labels under ``y_key``; never unpickles,
    and every array's declared size is checked before it is read (:mod:`adcore.data.npz`)."""
    data, name = read_bytes(source, max_bytes)
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        raise DataError(f"{name} is not a readable .npz file (not a numpy archive); save it with numpy.savez")
    with npz.open_npz(data, name) as zf:
        heads = npz.headers(zf, name)
        if x_key not in heads:
            raise DataError(f"{name} has no array {x_key!r}; it holds {list(heads)}. Save the features as "
                            f"numpy.savez(path, {x_key}=features, y=labels)")
        check_values(heads[x_key].shape, f"array {x_key!r} of {name}")
        arrays = npz.read_arrays(zf, name, heads, [x_key, y_key])
    X, kind = _image_or_table(arrays[x_key])
    return Dataset(X, arrays.get(y_key), name=Path(name).stem, kind=kind)


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding) of a CSV file: UTF-8 (with or without BOM), UTF-16 (BOM or NUL pattern),
    else Windows-1252 / Latin-1. Binary files are refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    elif data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    else:
        head = data[:4096]
        nul_even, nul_odd = head[0::2].count(0), head[1::2].count(0)
        if nul_odd > len(head) // 4 and nul_even == 0:
            candidates = ["utf-16-le"]
        elif nul_even > len(head) // 4 and nul_odd == 0:
            candidates = ["utf-16-be"]
        else:
            candidates = ["utf-8", "cp1252", "latin-1"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text, enc
    raise DataError(f"{name} is not a text CSV file (it holds binary data or an unknown encoding); "
                    "save it as CSV with UTF-8 encoding")


def _header(text: str) -> list[str]:
    line = text.split("\n", 1)[0].rstrip("\r")
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


def read_csv_text(data: bytes, name: str, nrows: int | None = None) -> tuple[pd.DataFrame, str, list[str]]:
    """(table, encoding, header names as written) of CSV bytes, with the encoding detected
    (:func:`decode_text`), the number of values checked against the limit before parsing, and
    every parser failure as a :class:`DataError`."""
    text, enc = decode_text(data, name)
    header = _header(text)
    if nrows is None:
        check_values((text.count("\n") + 1, max(len(header), 1)), name)
    try:
        df = pd.read_csv(io.StringIO(text), nrows=nrows)
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} has no rows or no columns") from None
    except Exception as err:  # noqa: BLE001 - the parser raises several types for malformed text
        hint = "" if enc.startswith("utf-8") else f" (read as {enc}; re-save it as UTF-8 CSV if the text looks wrong)"
        raise DataError(f"{name} is not a readable CSV file: {str(err).splitlines()[0]}{hint}") from None
    if not isinstance(df.index, pd.RangeIndex):  # pandas turned the extra leading fields into an index
        raise DataError(f"{name}: the data rows have more fields than the header's {len(header)} column names; "
                        "check the delimiter (a comma) or name every column")
    return df, enc, header


def load_csv(source, label_col: str | None = None, anomaly_value=None, categorical: str = "error",
             max_bytes: int = MAX_FILE_BYTES, known_value=None) -> Dataset:
    """CSV via pandas. ``label_col`` names the label column and ``anomaly_value`` the value
    meaning "anomaly" (default 1); ``known_value`` a value meaning "known (labelled) anomaly":
    those rows are anomalies whose label the semi-supervised methods may use
    (``Dataset.labeled``); other columns are features. Non-numeric feature columns
    raise an error unless ``categorical="onehot"`` encodes them. The text encoding is detected
    (UTF-8, UTF-16, Windows-1252/Latin-1) and said in ``meta["encoding"]``."""
    data, name = read_bytes(source, max_bytes)
    df, enc, header = read_csv_text(data, name)
    if df.empty or df.shape[1] == 0:
        raise DataError(f"{name} has no rows or no columns")
    y = None
    if label_col is not None:
        label_col = str(label_col)
        base = re.sub(r"\.\d+$", "", label_col)
        if header.count(label_col) > 1 or (label_col not in header and header.count(base) > 1):
            where = [i + 1 for i, c in enumerate(header) if c in (label_col, base)]
            raise DataError(f"{name} has {len(where)} columns named {base!r} (columns {where}); rename or "
                            "remove the extra ones so that the label column is unambiguous")
        if label_col not in df.columns:
            raise DataError(f"{name} has no column {label_col!r}; its columns are {list(df.columns)[:20]}")
        labels = df.pop(label_col)
        if labels.isna().any():
            raise DataError(f"label column {label_col!r} has {int(labels.isna().sum())} empty values "
                            f"(first in data row {int(np.argmax(labels.isna().to_numpy())) + 1})")
        target = 1 if anomaly_value is None else anomaly_value
        y = _match_value(labels, target, label_col)
        if known_value is not None:
            labeled = _match_value(labels, known_value, label_col).astype(bool)
            if (labeled & (y == 1)).any():
                raise DataError(f"the value meaning a known anomaly ({known_value!r}) must differ from the one "
                                f"meaning anomaly ({target!r})")
            y = y | labeled
    if df.shape[1] == 0:
        raise DataError(f"{name} has no feature columns besides the label column {label_col!r}")
    non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        if categorical != "onehot":
            raise DataError(f"{name}: columns {non_numeric[:10]} are not numeric; drop them, encode them, "
                            "or choose one-hot encoding of categorical columns")
        n_new = sum(int(df[c].nunique()) for c in non_numeric)
        check_values((len(df), df.shape[1] - len(non_numeric) + n_new), f"{name} after one-hot encoding")
        df = pd.get_dummies(df, columns=non_numeric, dtype=float)
    missing = int(df.isna().sum().sum())
    if missing:
        first = int(np.argmax(df.isna().any(axis=1).to_numpy()))
        raise DataError(f"{name} has {missing} missing feature values (first in data row {first + 1}); "
                        "remove or impute them first")
    meta = {} if enc in ("utf-8", "utf-8-sig") else {"encoding": enc}
    return Dataset(df.to_numpy(dtype=np.float64), y, labeled if known_value is not None and y is not None else None,
                   name=Path(name).stem, feature_names=[str(c) for c in df.columns], meta=meta)


def _match_value(labels: pd.Series, target, label_col: str) -> np.ndarray:
    """1 where the label equals ``target`` (compared as text when types differ), else 0."""
    hit = labels == target
    if not hit.any():
        hit = labels.astype(str).str.strip() == str(target).strip()
    if not hit.any():
        values = labels.astype(str).unique()[:10].tolist()
        raise DataError(f"no row has {label_col!r} = {target!r}; its values include {values}")
    return hit.to_numpy().astype(np.int64)


def _mat_variables(data: bytes, name: str) -> dict[str, tuple[tuple, str]]:
    """{variable: (shape, MATLAB class)} from the file's headers, without reading any data."""
    from scipy.io import whosmat

    try:
        return {v: (tuple(int(s) for s in shape), cls) for v, shape, cls in whosmat(io.BytesIO(data))}
    except Exception as err:  # noqa: BLE001 - scipy raises many types for bad files
        raise DataError(f"{name} is not a readable .mat file ({type(err).__name__}); save it from MATLAB "
                        "with save(..., '-v7') or export X and y to .npz") from None


def _mat_array(value, var: str, name: str) -> np.ndarray:
    """A loaded MATLAB variable as a real numeric array (sparse matrices are densified)."""
    if hasattr(value, "toarray"):  # scipy.sparse, e.g. ODDS-style sparse X
        value = value.toarray()
    value = np.asarray(value)
    if value.dtype.fields is not None or value.dtype == object or value.dtype.kind in "USV":
        raise DataError(f"{name}: variable {var!r} is not a numeric matrix ({value.dtype}); save a numeric "
                        f"matrix {var}")
    if value.dtype.kind == "c":
        raise DataError(f"{name}: variable {var!r} holds complex numbers; save real-valued features (e.g. the "
                        "real and imaginary parts as separate columns)")
    return value


def load_mat(source, max_bytes: int = MAX_FILE_BYTES) -> Dataset:
    """ODDS ``.mat`` file with arrays ``X`` and ``y`` (scipy; MATLAB v7.3 files are refused clearly).

    ``X`` may be dense or sparse (densified); structs, cell arrays, text and complex
    numbers are refused, and the declared sizes are checked before anything is read."""
    from scipy.io import loadmat

    data, name = read_bytes(source, max_bytes)
    if data[:8] == b"\x89HDF\r\n\x1a\n" or b"MATLAB 7.3" in data[:128]:
        raise DataError(f"{name} is a MATLAB v7.3 (HDF5) file; save it with -v7 or export X and y to .npz")
    variables = _mat_variables(data, name)
    if "X" not in variables:
        raise DataError(f"{name} has no variable 'X'; it holds {list(variables)}. ODDS files hold X (features) "
                        "and y (0/1 labels)")
    wanted = [v for v in ("X", "y") if v in variables]
    for var in wanted:
        shape, cls = variables[var]
        if cls in MAT_REFUSED:
            raise DataError(f"{name}: variable {var!r} is {MAT_REFUSED[cls]}, not a numeric matrix; save {var} "
                            "as a numeric (or sparse) matrix")
        check_values(shape, f"variable {var!r} of {name}")
    check_decoded(sum(math.prod(variables[v][0]) * MAT_SIZES.get(variables[v][1], 16) for v in wanted), name)
    try:
        mat = loadmat(io.BytesIO(data), variable_names=wanted)
    except Exception as err:  # noqa: BLE001 - scipy raises many types for bad files
        raise DataError(f"{name} is not a readable .mat file ({type(err).__name__}); it may be damaged or "
                        "truncated") from None
    if "X" not in mat:
        raise DataError(f"{name}: variable 'X' could not be read")
    y = _mat_array(mat["y"], "y", name).ravel() if "y" in mat else None
    return Dataset(_mat_array(mat["X"], "X", name), y, name=Path(name).stem)


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
        return load_csv(src, **pick(("label_col", "anomaly_value", "categorical", "known_value")))
    if kind == "mat":
        return load_mat(src)
    if kind == "zip":
        return images.load_image_zip(src, **image_options)
    if kind == "idx":
        return images.load_idx(src, None if labels is None else _named(labels, "labels"), **image_options)
    if images.npz_holds_images(io.BytesIO(raw)):
        return images.load_npz_images(src, **image_options)
    return load_npz(src)


def _class_of(text: str, spec: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise DataError(f"{spec!r}: the normal class after the second ':' must be a whole number; got {text!r}") from None


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
        return load_sklearn(parts[1], normal_class=_class_of(parts[2], spec) if len(parts) > 2 else
                            options.get("normal_class"))
    suffix = Path(spec).suffix.lower()
    loaders = {".npz": load_npz, ".csv": load_csv, ".mat": load_mat}
    if suffix not in loaders:
        raise DataError(f"cannot read {spec!r}: use toy, sklearn:NAME, images:digits, mnist:PATH, "
                        "or a .npz, .csv, .mat or .zip file")
    accepted = {".npz": {"x_key", "y_key"}, ".csv": {"label_col", "anomaly_value", "categorical", "known_value"}, ".mat": set()}
    return loaders[suffix](spec, **{k: v for k, v in options.items() if k in accepted[suffix] and v is not None})
