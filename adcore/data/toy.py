"""Gaussian-mixture toy data: the LOE preset (LOE App. A) and user-defined mixtures."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from adcore.data.dataset import Dataset, DataError


@dataclass
class Component:
    """One Gaussian: ``cov`` is a variance (s·I), per-axis variances, or a full matrix.
    ``weight`` is relative to the other components of the same kind (normal or anomalous)."""

    mean: list
    cov: float | list = 0.05
    weight: float = 1.0
    anomalous: bool = False

    def covariance(self) -> np.ndarray:
        d = len(self.mean)
        cov = np.asarray(self.cov, dtype=float)
        if cov.ndim == 0:
            cov = cov * np.eye(d)
        elif cov.ndim == 1:
            cov = np.diag(cov)
        if cov.shape != (d, d):
            raise DataError(f"component at {self.mean}: covariance must be a number, {d} variances or a {d}×{d} matrix")
        if not np.all(np.linalg.eigvalsh((cov + cov.T) / 2) >= -1e-12):
            raise DataError(f"component at {self.mean}: covariance is not positive semi-definite")
        return cov


# LOE App. A: normal N([1,1], 0.07 I); anomalies N([-0.25,2.5], 0.03 I) + N([-1,0.5], 0.03 I); 90 + 10 points.
LOE_PRESET = (
    Component([1.0, 1.0], 0.07, 1.0, False),
    Component([-0.25, 2.5], 0.03, 1.0, True),
    Component([-1.0, 0.5], 0.03, 1.0, True),
)


# Training settings for the toy data: LOE App. A (batch 25, 200 epochs) with lr 0.003 instead of
# 0.01, which was unstable with our RBF initialisation (see adcore/backbones/deepsvdd_rbf.py).
# The toy's history every 2 epochs (100 frames for the playground's epoch slider; it costs little here).
TOY_TRAINING = {"epochs": 200, "batch_size": 25, "lr": 0.003, "record_every": 2}


class Mixture:
    """Samples normal and anomalous points from a list of :class:`Component`."""

    def __init__(self, components):
        self.components = [c if isinstance(c, Component) else Component(**c) for c in components]
        if not self.components:
            raise DataError("a mixture needs at least one component")
        dims = {len(c.mean) for c in self.components}
        if len(dims) != 1:
            raise DataError(f"all components need the same dimension; got {sorted(dims)}")
        for kind in (False, True):
            if not any(c.anomalous == kind for c in self.components):
                raise DataError(f"the mixture needs at least one {'anomalous' if kind else 'normal'} component")
        if any(c.weight <= 0 for c in self.components):
            raise DataError("component weights must be positive")
        for c in self.components:
            c.covariance()

    def __call__(self, n_normal: int, n_anomaly: int, rng: np.random.Generator):
        parts, labels = [], []
        for kind, n in ((False, n_normal), (True, n_anomaly)):
            comps = [c for c in self.components if c.anomalous == kind]
            w = np.array([c.weight for c in comps], dtype=float)
            counts = rng.multinomial(n, w / w.sum())
            for c, m in zip(comps, counts):
                parts.append(rng.multivariate_normal(np.asarray(c.mean, float), c.covariance(), m))
                labels.append(np.full(m, int(kind)))
        return np.vstack(parts).astype(np.float32), np.concatenate(labels)

    def to_list(self) -> list[dict]:
        return [asdict(c) for c in self.components]


def make_toy(components=LOE_PRESET, n_samples: int = 100, contamination: float = 0.1, seed: int = 0,
             name: str = "toy") -> Dataset:
    """A draw of ``n_samples`` points (``contamination`` of them anomalous) that carries its
    sampler, so the ``fresh`` protocol can draw training and larger test sets anew."""
    mix = Mixture(components)
    n_anom = int(round(n_samples * contamination))
    X, y = mix(n_samples - n_anom, n_anom, np.random.default_rng(seed))
    return Dataset(X, y, name=name, meta={"components": mix.to_list(), "n_train": n_samples,
                                           "test_contamination": contamination}, sampler=mix)
