"""Class protocols: anomaly-detection tasks built from a multi-class dataset (``Dataset.classes``).

- ``one_vs_rest`` (LOE Sec. 4.2, IAD Sec. V-A, Ruff et al. 2018): the normal
  class (or classes) against all the others.
- ``leave_one_class_out``: the reverse — every class is normal except the
  anomaly class (or classes).
- ``seen_unseen`` (PU paper Sec. 5.1): one normal class, one *unseen* anomaly
  class that appears only in the test set, and the remaining *seen* anomaly
  classes, which contaminate the training set and provide the labelled
  anomalies (``n_labeled`` or ``labeled_ratio``, on top of the unlabelled pool).

In every case the training set is a share (``train_normal_frac``) of the normal
images plus anomalies drawn at random from the pooled training anomaly classes
(their natural class proportions) until the training contamination is α0; at
most half of those anomalies are used, the rest stay for the test set, exactly
as the ``split`` protocol does (which does the drawing, with the same
``shortage`` rule when anomalies run short). The test set is the remaining
normals and the remaining anomalies (plus, for ``seen_unseen``, every image of
the unseen class). Classes not named anywhere are dropped.

``Split.info`` records the classes of each role and the per-class counts of
the training and test sets; ``Dataset.classes`` of both sets keep each image's
class, so test AUROC can be broken down by class (e.g. seen vs unseen).
"""
from __future__ import annotations

import numpy as np

from adcore.data.dataset import Dataset, DataError

CLASS_PROTOCOLS = ("one_vs_rest", "leave_one_class_out", "seen_unseen")
OPTIONS = {
    "one_vs_rest": ("normal_class", "anomaly_classes"),
    "leave_one_class_out": ("anomaly_class", "normal_classes"),
    "seen_unseen": ("normal_class", "unseen_class", "seen_classes"),
}


def class_roles(ds: Dataset, protocol: str, **options) -> tuple[list[int], list[int], list[int]]:
    """(normal, training-anomaly, test-only-anomaly) class indices for ``protocol``."""
    from adcore.data.images import resolve_class_list

    if ds.classes is None:
        raise DataError(f"protocol {protocol!r} needs class labels (image folders, MNIST, images:digits, or an .npz "
                        "with class labels); this dataset has only normal/anomaly labels — use protocol 'split'")
    unknown = set(options) - set(OPTIONS[protocol])
    if unknown:
        raise DataError(f"protocol {protocol!r} has no option(s) {sorted(unknown)}; it takes {list(OPTIONS[protocol])}")
    names = ds.meta.get("class_names")
    present = sorted(np.unique(ds.classes).tolist())
    pick = lambda v: resolve_class_list(v, names, present)  # noqa: E731

    def one(key, default=None):
        value = options.get(key)
        if value is None:
            value = default
        if value is None:
            label = f"{names}" if names else f"{present}"
            raise DataError(f"protocol {protocol!r} needs {key} (one of the classes {label})")
        return pick(value)

    if protocol == "one_vs_rest":
        normal = one("normal_class", ds.meta.get("normal_classes"))
        anomal = pick(options["anomaly_classes"]) if options.get("anomaly_classes") is not None else \
            [c for c in present if c not in normal]
        unseen = []
    elif protocol == "leave_one_class_out":
        anomal = one("anomaly_class")
        normal = pick(options["normal_classes"]) if options.get("normal_classes") is not None else \
            [c for c in present if c not in anomal]
        unseen = []
    else:
        normal = one("normal_class", ds.meta.get("normal_classes"))
        default_unseen = next((c for c in present if c not in normal), None)  # PU Sec. 5.1: class 0 unseen
        unseen = one("unseen_class", default_unseen)
        anomal = pick(options["seen_classes"]) if options.get("seen_classes") is not None else \
            [c for c in present if c not in normal and c not in unseen]
    if set(normal) & set(anomal) or set(normal) & set(unseen) or set(anomal) & set(unseen):
        raise DataError("a class cannot be both normal and anomalous (or both seen and unseen)")
    if not normal:
        raise DataError(f"protocol {protocol!r} leaves no normal class")
    if not anomal:
        raise DataError(f"protocol {protocol!r} leaves no anomaly class for training and testing")
    return normal, anomal, unseen


def class_split(ds: Dataset, protocol: str, alpha0, rng, *, train_normal_frac: float = 0.5,
                shortage: str = "error", labels=None, **options):
    """The :class:`~adcore.data.protocols.Split` of a class protocol (called by ``make_split``)."""
    from adcore.data.protocols import _split

    if protocol not in CLASS_PROTOCOLS:
        raise DataError(f"unknown class protocol {protocol!r}; choose one of {list(CLASS_PROTOCOLS)}")
    normal, anomal, unseen = class_roles(ds, protocol, **options)
    known = np.isin(ds.classes, normal + anomal)
    task = ds.subset(np.flatnonzero(known), ds.name)
    task.y = (~np.isin(task.classes, normal)).astype(np.int64)
    task.labeled = None
    if task.n_anomalies == 0 or task.n_anomalies == len(task):
        raise DataError(f"protocol {protocol!r}: the chosen classes give no normal or no anomalous images")
    split = _split(task, alpha0, rng, train_normal_frac=train_normal_frac, shortage=shortage,
                   **({} if labels is None else {"labels": labels}))
    if unseen:
        extra = ds.subset(np.flatnonzero(np.isin(ds.classes, unseen)), ds.name)
        extra.y = np.ones(len(extra), np.int64)
        extra.labeled = None
        test = split.test
        split.test = Dataset(np.concatenate([test.X, extra.X]), np.concatenate([test.y, extra.y]), None,
                             test.name, ds.kind, ds.feature_names, dict(ds.meta), None,
                             np.concatenate([test.classes, extra.classes]))
    split.info.update(
        normal_classes=class_labels(ds, normal), anomaly_classes=class_labels(ds, anomal),
        unseen_classes=class_labels(ds, unseen), train_class_counts=_counts(ds, split.train.classes),
        test_class_counts=_counts(ds, split.test.classes))
    return split


def class_labels(ds: Dataset, classes=None) -> list[str]:
    """Names of ``classes`` (default: every class present in ``ds``, in order): ``meta["class_names"]``,
    else the class index as text."""
    names = ds.meta.get("class_names") or []
    classes = np.unique(ds.classes).tolist() if classes is None else classes
    return [names[c] if c < len(names) else str(c) for c in classes]


def _counts(ds: Dataset, classes: np.ndarray) -> dict:
    vals, counts = np.unique(classes, return_counts=True)
    return dict(zip(class_labels(ds, vals.tolist()), counts.tolist()))
