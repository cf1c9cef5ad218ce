""".npz files holding images or class labels (read with the checks of :mod:`adcore.data.npz`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from adcore.data import npz
from adcore.data.dataset import Dataset, DataError
from adcore.data.image_classes import check_classes, finish, resolve_class_list
from adcore.data.image_convert import convert_array, l1_normalize_images
from adcore.data.limits import MAX_FILE_BYTES, check_values, read_bytes


def npz_holds_images(source, x_key: str = "X", y_key: str | None = "y") -> bool:
    """Peek at an .npz (bytes, path or file object): True if ``x_key`` is ≥ 3-d or ``y_key`` holds labels
    other than 0/1 (class labels), i.e. whether the image loader should read it. Reads headers and,
    within the limits, the labels only."""
    try:
        with npz.open_npz(source, "the file") as zf:
            heads = npz.headers(zf, "the file")
            if x_key not in heads:
                return False
            if len(heads[x_key].shape) >= 3:
                return True
            if not y_key or y_key not in heads:
                return False
            labels = npz.read_arrays(zf, "the file", heads, [y_key])[y_key]
    except DataError:  # unreadable files get the tabular loader's clear error
        return False
    return np.issubdtype(labels.dtype, np.number) and not np.issubdtype(labels.dtype, np.complexfloating) and \
        bool(np.isfinite(labels).all()) and not set(np.unique(labels).tolist()) <= {0, 1}


def load_npz_images(source, x_key: str = "X", y_key: str | None = "y", classes_key: str | None = None,
                    normal_class=None, size=None, channels="auto", l1_normalize: bool = False,
                    max_bytes: int = MAX_FILE_BYTES) -> Dataset:
    """``.npz`` with an image array under ``x_key`` and labels under ``y_key`` (or ``classes_key``).

    Labels other than 0/1 (or any labels when ``normal_class`` is given) are
    class labels: ``normal_class`` picks the normal one(s). 0/1 labels without
    ``normal_class`` are anomaly labels, as for tabular files. Feature vectors
    (2-d ``X``) with class labels load as a tabular dataset with classes.
    Never unpickles.
    """
    data, name = read_bytes(source, max_bytes)
    key = classes_key or y_key
    with npz.open_npz(data, name) as zf:
        heads = npz.headers(zf, name)
        if x_key not in heads:
            raise DataError(f"{name} has no array {x_key!r}; it holds {list(heads)}")
        check_values(heads[x_key].shape, f"array {x_key!r} of {name}")
        arrays = npz.read_arrays(zf, name, heads, [x_key, key])
    X, labels = arrays[x_key], arrays.get(key)
    stem = Path(name).stem
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if labels.dtype == object or not np.issubdtype(labels.dtype, np.number) and labels.dtype != bool:
            raise DataError(f"labels {key!r} in {name} must be numbers; got {labels.dtype}")
        if X.ndim == 0 or len(labels) != len(X):
            raise DataError(f"{name}: {len(labels)} labels for {len(X) if X.ndim else 0} samples")
    binary = labels is not None and np.isfinite(labels).all() and set(np.unique(labels).tolist()) <= {0, 1}
    as_classes = labels is not None and (classes_key is not None or normal_class is not None or not binary)
    if as_classes:
        labels = check_classes(labels, f"{name} (array {key!r})", len(X))
    if X.ndim == 2:  # feature vectors
        if not as_classes:
            return Dataset(X, labels, name=stem)
        normal = resolve_class_list(normal_class, None, np.unique(labels))
        y = (~np.isin(labels, normal)).astype(np.int64) if normal else None
        meta = {"class_names": [str(c) for c in range(int(labels.max()) + 1)], "normal_classes": normal or None}
        return Dataset(X, y, name=stem, classes=labels, meta=meta)
    Xf, meta = convert_array(X, size, channels)
    if not as_classes:
        if l1_normalize:
            Xf = l1_normalize_images(Xf)
            meta["conversion"] += "; L1 global contrast normalisation + min-max to [0, 1]"
        return Dataset(Xf, labels, name=stem, kind="image", meta=meta)
    return finish(Xf, labels, None, normal_class, stem, meta, l1_normalize)
