"""Class labels of multi-class image data and the final Dataset: which classes are normal."""
from __future__ import annotations

import numpy as np

from adcore.data.dataset import Dataset, DataError
from adcore.data.image_convert import l1_normalize_images
from adcore.data.limits import MAX_CLASS_LABEL


def resolve_class_list(value, class_names: list[str] | None, present) -> list[int]:
    """Class indices from an index, a name, a comma-separated string or a list of them."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    elif not isinstance(value, (list, tuple, set, np.ndarray)):
        value = [value]
    present = sorted({int(c) for c in present})
    out = []
    for v in value:
        if class_names is not None and str(v) in class_names:
            out.append(class_names.index(str(v)))
            continue
        try:
            c = int(v)
        except (TypeError, ValueError, OverflowError):
            names = class_names if class_names is not None else present
            raise DataError(f"unknown class {v!r}; the classes are {names}") from None
        if c not in present:
            names = f"{class_names} (indices 0–{len(class_names) - 1})" if class_names is not None else present
            raise DataError(f"unknown class {v!r}; the classes are {names}")
        out.append(c)
    return sorted(set(out))


def check_classes(labels, name: str, n: int | None = None) -> np.ndarray:
    """Class labels as int64: whole numbers from 0 to :data:`~adcore.data.limits.MAX_CLASS_LABEL`,
    one per sample (``n``), with a message naming the problem otherwise."""
    labels = np.asarray(labels).reshape(-1)
    if labels.dtype == object or not (np.issubdtype(labels.dtype, np.number) or labels.dtype == bool):
        raise DataError(f"the class labels of {name} must be whole numbers; got values of type {labels.dtype}")
    if np.issubdtype(labels.dtype, np.complexfloating):
        raise DataError(f"the class labels of {name} are complex numbers; they must be whole numbers")
    if n is not None and len(labels) != n:
        raise DataError(f"{name}: {len(labels)} class labels for {n} samples")
    if not len(labels):
        return labels.astype(np.int64)
    if np.issubdtype(labels.dtype, np.floating):
        bad = ~np.isfinite(labels)
        if bad.any():
            raise DataError(f"the class labels of {name} contain {int(bad.sum())} NaN or infinite values "
                            f"(first at sample {int(np.argmax(bad))})")
        if not np.array_equal(labels, np.round(labels)):
            raise DataError(f"the class labels of {name} must be whole numbers (classes); found "
                            f"{labels[labels != np.round(labels)][0]!r}")
    lo, hi = labels.min(), labels.max()
    if lo < 0:
        raise DataError(f"the class labels of {name} must be 0 or more; found {lo:g} (at sample "
                        f"{int(np.argmax(labels < 0))}). Number the classes 0, 1, 2, …")
    if hi > MAX_CLASS_LABEL:
        raise DataError(f"the class labels of {name} go up to {hi:g}; they must be at most {MAX_CLASS_LABEL}. "
                        "Number the classes 0, 1, 2, …")
    return labels.astype(np.int64)


def finish(X, classes, class_names, normal_class, name, meta, l1_normalize) -> Dataset:
    """The image Dataset with its classes, class names and counts, and ``y`` from ``normal_class``."""
    classes = check_classes(classes, name, len(X))
    if len(X) < 2:
        raise DataError(f"{name} holds {len(X)} image(s); at least 2 are needed")
    if l1_normalize:
        X = l1_normalize_images(X)
        meta["conversion"] = meta.get("conversion", "") + "; L1 global contrast normalisation + min-max to [0, 1]"
    meta["l1_normalize"] = bool(l1_normalize)
    if class_names is None:
        class_names = [str(c) for c in range(int(classes.max()) + 1)] if len(classes) else []
    meta["class_names"] = list(class_names)
    meta["class_counts"] = {class_names[c]: int(n) for c, n in zip(*np.unique(classes, return_counts=True))}
    normal = resolve_class_list(normal_class, class_names, np.unique(classes))
    y = None
    if normal:
        meta["normal_classes"] = normal
        y = (~np.isin(classes, normal)).astype(np.int64)
    return Dataset(X, y, name=name, kind="image", meta=meta, classes=classes)


def set_normal_classes(ds: Dataset, normal_class) -> Dataset:
    """A copy of ``ds`` whose ``y`` marks every class except ``normal_class`` (name, index or list)
    as anomalous — for the app, which loads an upload first and asks for the normal class after
    showing the classes. ``normal_class=None`` clears ``y``."""
    if ds.classes is None:
        raise DataError(f"{ds.name} has no class labels")
    meta = dict(ds.meta)
    normal = resolve_class_list(normal_class, meta.get("class_names"), np.unique(ds.classes))
    meta["normal_classes"] = normal or None
    y = (~np.isin(ds.classes, normal)).astype(np.int64) if normal else None
    if y is not None and (y.all() or not y.any()):
        raise DataError("the normal classes must leave at least one normal and one anomalous image")
    return Dataset(ds.X, y, None, ds.name, ds.kind, ds.feature_names, meta, ds.sampler, ds.classes)


