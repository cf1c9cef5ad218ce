"""Which rows of a dataset a protocol puts into the training and the test set, without touching the protocols:
``make_split`` is replayed on a copy of the data whose features are the row numbers. The protocols choose rows
from the labels, the classes and the seed only, so the replay picks the same rows as the real split."""
from __future__ import annotations

import numpy as np

from adcore.data import Dataset, make_split

SYNTHETIC = -1  # a training row that is no row of the data (protocol ``loe``: a noisy copy of an anomaly)


def _row_numbers(ds: Dataset, width: int) -> Dataset:
    rows = np.repeat(np.arange(len(ds), dtype=np.float32)[:, None], width, axis=1)
    return Dataset(rows, ds.y, ds.labeled, ds.name, "tabular", None, dict(ds.meta), None, ds.classes)


def _rows_of(part: Dataset, n: int) -> np.ndarray:
    X = part.X
    r = np.rint(X[:, 0]).astype(np.int64)
    real = (np.abs(X - r[:, None]) < 1e-3).all(axis=1) & (r >= 0) & (r < n)
    return np.where(real, r, SYNTHETIC)


def _split(ds: Dataset, cfg, seed: int, alpha0=None, shortage=None, width: int = 1):
    protocol = cfg.protocol or ("fresh" if ds.sampler is not None else "split")
    return make_split(_row_numbers(ds, width), protocol, cfg.alpha0 if alpha0 is None else alpha0, seed,
                      train_normal_frac=cfg.train_normal_frac, shortage=shortage or cfg.shortage,
                      n_labeled=cfg.n_labeled, standardize=False, **cfg.protocol_options)


def split_rows(ds: Dataset, cfg, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, test rows) of ``ds`` under ``cfg``'s protocol with ``seed``, in the order the split
    holds them (``SYNTHETIC`` for generated training rows). Not for generative data (toy mixtures)."""
    if ds.sampler is not None:
        raise ValueError("a toy mixture draws new points: its training and test sets are no rows of a file")
    protocol = cfg.protocol or "split"
    width = int(np.prod(ds.input_shape)) if protocol == "loe" else 1  # loe draws noise of the features' shape
    split = _split(ds, cfg, seed, width=width)
    return _rows_of(split.train, len(ds)), _rows_of(split.test, len(ds))


def largest_alpha0(ds: Dataset, cfg, seed: int = 0, ceiling: float = 0.5) -> float | None:
    """The largest α0 up to ``ceiling`` the protocol can build from ``ds`` without running out of anomalies
    (``split`` and the class protocols keep half the anomalies for testing); None if any α0 works or the
    protocol does not use α0 that way."""
    if ds.sampler is not None or (ds.y is None and ds.classes is None) or \
            (cfg.protocol or "split") in ("loe", "transductive"):
        return None
    split = _split(ds, cfg, seed, alpha0=min(ceiling, 0.99), shortage="lower_alpha0")
    if "shortage" not in split.info:
        return None
    return float(split.info["alpha0_effective"])
