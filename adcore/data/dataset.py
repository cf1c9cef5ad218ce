"""The dataset object and the checks every loader applies."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


class DataError(ValueError):
    """Bad input data; the message is written for the user and says what to change."""


@dataclass
class Dataset:
    """Features ``X`` (tabular ``n×d`` or images ``n×C×H×W``), labels ``y`` (0 normal,
    1 anomaly, or None when unknown) and a mask of labelled anomalies.

    ``sampler(n_normal, n_anomaly, rng) -> (X, y)`` is set for generative data
    (the toy mixtures): protocols then draw fresh test data from it.

    ``classes`` (optional, int per sample) are the original class labels of
    multi-class data (image folders, MNIST, digits); the class protocols
    (one-vs-rest, leave-one-class-out, seen/unseen) derive ``y`` from them, and
    ``subset`` keeps them aligned. Class names are in ``meta["class_names"]``.
    """

    X: np.ndarray
    y: np.ndarray | None = None
    labeled: np.ndarray | None = None
    name: str = "data"
    kind: str = "tabular"
    feature_names: list[str] | None = None
    meta: dict = field(default_factory=dict)
    sampler: Callable | None = None
    classes: np.ndarray | None = None

    def __post_init__(self):
        self.X = check_features(self.X, self.kind)
        if self.y is not None:
            self.y = check_labels(self.y, len(self.X))
        if self.labeled is not None:
            self.labeled = np.asarray(self.labeled, dtype=bool).reshape(-1)
            if len(self.labeled) != len(self.X):
                raise DataError(f"the labelled-anomaly mask has {len(self.labeled)} entries for {len(self.X)} samples")
        if self.classes is not None:
            self.classes = np.asarray(self.classes).reshape(-1).astype(np.int64)
            if len(self.classes) != len(self.X):
                raise DataError(f"{len(self.classes)} class labels for {len(self.X)} samples")

    def __len__(self) -> int:
        return len(self.X)

    @property
    def input_shape(self) -> tuple:
        return self.X.shape[1:]

    @property
    def n_anomalies(self) -> int:
        return 0 if self.y is None else int(self.y.sum())

    @property
    def contamination(self) -> float | None:
        return None if self.y is None else float(self.y.mean())

    def subset(self, idx, name: str | None = None) -> "Dataset":
        """The samples at ``idx`` (labels and mask follow)."""
        return Dataset(self.X[idx], None if self.y is None else self.y[idx],
                       None if self.labeled is None else self.labeled[idx], name or self.name, self.kind,
                       self.feature_names, dict(self.meta), self.sampler,
                       None if self.classes is None else self.classes[idx])

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n_samples": len(self), "input_shape": list(self.input_shape),
                "n_anomalies": self.n_anomalies if self.y is not None else None,
                "contamination": self.contamination}


def check_features(X, kind: str = "tabular") -> np.ndarray:
    """``X`` as float32, with a clear error for wrong shapes, non-numbers, NaN or inf."""
    X = np.asarray(X)
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DataError(f"features must be numbers, got values of type {X.dtype}")
    want = {"tabular": 2, "image": 4}[kind]
    if X.ndim != want:
        shape = "n_samples × n_features" if kind == "tabular" else "n_samples × channels × height × width"
        raise DataError(f"{kind} features must have shape {shape}; got an array of shape {X.shape}")
    if X.shape[0] < 2 or min(X.shape[1:]) < 1:
        raise DataError(f"need at least 2 samples and 1 feature; got shape {X.shape}")
    if np.issubdtype(X.dtype, np.complexfloating):
        raise DataError("features are complex numbers; use real values (e.g. real and imaginary parts as columns)")
    if np.issubdtype(X.dtype, np.floating):
        bad = ~np.isfinite(X)
        if bad.any():
            rows = np.unique(np.nonzero(bad.reshape(len(X), -1))[0])
            raise DataError(f"{int(bad.sum())} feature values are NaN or infinite (in {len(rows)} rows, "
                            f"first at row {rows[0]}); remove or impute them first")
        big = np.abs(X.reshape(len(X), -1)).max(axis=1) > np.finfo(np.float32).max
        if big.any():
            rows = np.nonzero(big)[0]
            raise DataError(f"feature values in {len(rows)} rows (first at row {rows[0]}) exceed the float32 range "
                            f"(±3.4e38, largest {float(np.abs(X).max()):.3g}); rescale them first")
    return X.astype(np.float32)


def check_labels(y, n: int) -> np.ndarray:
    """Labels as int 0/1 of length ``n``."""
    y = np.asarray(y).reshape(-1)
    if len(y) != n:
        raise DataError(f"{len(y)} labels for {n} samples")
    if y.dtype == object or not np.issubdtype(y.dtype, np.number) and y.dtype != bool or \
            np.issubdtype(y.dtype, np.complexfloating):
        raise DataError(f"labels must be 0 (normal) or 1 (anomaly); got values of type {y.dtype}")
    if not np.isfinite(y.astype(float)).all():
        raise DataError("labels contain NaN or infinite values")
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise DataError(f"labels must be 0 (normal) or 1 (anomaly); found values {sorted(values)[:10]}")
    return y.astype(np.int64)
