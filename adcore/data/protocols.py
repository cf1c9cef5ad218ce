"""Contamination protocols: how a labelled dataset becomes a contaminated training set and a test set."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from adcore.data.dataset import Dataset, DataError
from adcore.data.image_protocols import CLASS_PROTOCOLS, class_split

PROTOCOLS = ("split", "loe", "transductive", "fresh", "one_vs_rest", "leave_one_class_out", "seen_unseen")
SHORTAGE = ("error", "reduce_normals", "lower_alpha0")


@dataclass
class Split:
    """Training and test sets plus what the protocol did (counts, effective α0, choices)."""

    train: Dataset
    test: Dataset
    info: dict = field(default_factory=dict)
    scaler: tuple | None = None  # (mean, std) of the training features when standardised


def make_split(ds: Dataset, protocol: str = "split", alpha0: float | None = 0.1, seed: int = 0, *,
               train_normal_frac: float = 0.5, shortage: str = "error", n_labeled: int = 0,
               standardize: bool = True, n_test: int = 1000, **protocol_options) -> Split:
    """Build a contaminated training set with true ratio ``alpha0`` and a test set, from ``seed``.

    - ``split``: a share of the normals plus real anomalies until the training
      contamination is α0 (at most half the anomalies, the rest stay for testing);
      the rest is the test set. ``shortage`` says what to do when anomalies run out.
    - ``loe``: LOE Sec. 4.3 — half of the normals for training, contaminated with
      noisy copies of test anomalies (x + N(0, per-feature variance of the anomalies),
      drawn with replacement); test = the other normals plus all anomalies.
    - ``transductive``: train on all data and score the same data (IAD); α0 below the
      natural ratio drops anomalies at random, ``None`` keeps the natural ratio.
    - ``fresh``: for generative data (toy mixtures): a new training draw at α0 and a
      larger, independent test draw (``n_test`` points).

    - ``one_vs_rest``, ``leave_one_class_out``, ``seen_unseen``: tasks built from the
      class labels of multi-class data (``Dataset.classes``), with ``protocol_options``
      such as ``normal_class``; see :mod:`adcore.data.image_protocols`.

    ``n_labeled`` training anomalies are marked as labelled; features are
    standardised with training statistics when ``standardize`` (tabular only).
    """
    if protocol not in PROTOCOLS:
        raise DataError(f"unknown protocol {protocol!r}; choose one of {list(PROTOCOLS)}")
    if alpha0 is not None and not 0 <= alpha0 < 1:
        raise DataError(f"α0 must lie in [0, 1); got {alpha0}")
    rng = np.random.default_rng(seed)
    if protocol_options and protocol not in CLASS_PROTOCOLS:
        raise DataError(f"protocol {protocol!r} takes no options; got {sorted(protocol_options)}")
    if protocol in CLASS_PROTOCOLS:
        split = class_split(ds, protocol, alpha0, rng, train_normal_frac=train_normal_frac, shortage=shortage,
                            **protocol_options)
    elif protocol == "fresh":
        split = _fresh(ds, alpha0, rng, n_test)
    else:
        if ds.y is None and ds.classes is not None:
            raise DataError(f"{ds.name} has class labels but no normal class: choose protocol one_vs_rest, "
                            "leave_one_class_out or seen_unseen, or name the normal class when loading")
        if ds.y is None and protocol != "transductive":
            raise DataError(f"protocol {protocol!r} needs labels to build a contaminated training set and a test "
                            "set; for unlabelled data train on everything (protocol 'transductive')")
        if ds.n_anomalies == 0 and protocol != "transductive":
            raise DataError(f"{ds.name} has no anomalies, so no test set can measure detection; "
                            "check the label column and the anomaly value")
        if ds.n_anomalies == len(ds):
            raise DataError(f"{ds.name} has only anomalies (every label is 1); check the anomaly value")
        split = {"split": _split, "loe": _loe, "transductive": _transductive}[protocol](
            ds, alpha0, rng, train_normal_frac=train_normal_frac, shortage=shortage)
    split.info.update(protocol=protocol, seed=seed, n_train=len(split.train), n_test=len(split.test))
    if split.train.y is not None:
        split.info["alpha0_effective"] = float(split.train.y.mean())
        split.info["n_train_anomalies"] = int(split.train.y.sum())
    _mark_labeled(split.train, n_labeled, rng)
    if standardize and ds.kind == "tabular":
        _standardize(split)
    return split


def _counts(n_normal: int, alpha0: float) -> int:
    """Anomalies that make ``n_normal`` normals a set with contamination α0."""
    return int(round(alpha0 * n_normal / (1 - alpha0)))


def _normals_for(n_anomalies: int, alpha0: float) -> int:
    """Most normals that ``n_anomalies`` anomalies contaminate at ratio α0."""
    return math.floor(n_anomalies * (1 - alpha0) / alpha0 + 1e-9)


def _split(ds, alpha0, rng, train_normal_frac, shortage):
    if shortage not in SHORTAGE:
        raise DataError(f"unknown shortage rule {shortage!r}; choose one of {list(SHORTAGE)}")
    alpha0 = 0.1 if alpha0 is None else alpha0
    normals = rng.permutation(np.flatnonzero(ds.y == 0))
    anomalies = rng.permutation(np.flatnonzero(ds.y == 1))
    n_norm = int(round(train_normal_frac * len(normals)))
    available = len(anomalies) // 2
    need = _counts(n_norm, alpha0)
    info = {"requested_alpha0": alpha0}
    if need > available:
        most = available / (n_norm + available)
        if shortage == "error":
            fewer = _normals_for(available, alpha0) if alpha0 else n_norm
            raise DataError(
                f"{ds.name} has {len(anomalies)} anomalies; α0 = {alpha0:g} with {n_norm} training normals needs "
                f"{need} training anomalies, but at most {available} can be used (half stay for testing). "
                f"The largest α0 possible with {n_norm} normals is {most:.3f}. Lower α0, or train on fewer "
                f"normals ({fewer} normals keep α0 = {alpha0:g}: shortage 'reduce_normals').")
        if shortage == "reduce_normals":
            n_norm = _normals_for(available, alpha0)
            info["shortage"] = f"reduced training normals to {n_norm} to keep α0 = {alpha0:g}"
        else:
            info["shortage"] = f"lowered α0 to {most:.4f}: only {available} anomalies can be used for training"
        need = available
    train = np.concatenate([normals[:n_norm], anomalies[:need]])
    test = np.concatenate([normals[n_norm:], anomalies[need:]])
    return Split(ds.subset(rng.permutation(train), f"{ds.name} train"), ds.subset(test, f"{ds.name} test"), info)


def _loe(ds, alpha0, rng, **_):
    alpha0 = 0.1 if alpha0 is None else alpha0
    normals = rng.permutation(np.flatnonzero(ds.y == 0))
    anomalies = np.flatnonzero(ds.y == 1)
    n_norm = len(normals) // 2
    n_contam = _counts(n_norm, alpha0)
    source = ds.X[anomalies]
    std = source.std(axis=0) if len(anomalies) > 1 else np.ones(source.shape[1:], np.float32)
    picks = rng.integers(0, len(anomalies), n_contam)
    noisy = source[picks] + rng.normal(size=(n_contam, *source.shape[1:])) * std
    X = np.concatenate([ds.X[normals[:n_norm]], noisy.astype(np.float32)])
    y = np.r_[np.zeros(n_norm, int), np.ones(n_contam, int)]
    order = rng.permutation(len(X))
    train = Dataset(X[order], y[order], name=f"{ds.name} train", kind=ds.kind,
                    feature_names=ds.feature_names, meta=dict(ds.meta))
    test = ds.subset(np.concatenate([normals[n_norm:], anomalies]), f"{ds.name} test")
    return Split(train, test, {"requested_alpha0": alpha0,
                               "contamination": "noisy copies of test anomalies (LOE Sec. 4.3)"})


def _transductive(ds, alpha0, rng, **_):
    keep = np.arange(len(ds))
    info = {"requested_alpha0": alpha0}
    if alpha0 is not None and ds.y is not None and alpha0 < ds.contamination:
        normals, anomalies = np.flatnonzero(ds.y == 0), rng.permutation(np.flatnonzero(ds.y == 1))
        keep = np.sort(np.concatenate([normals, anomalies[:_counts(len(normals), alpha0)]]))
        info["dropped_anomalies"] = int(len(ds) - len(keep))
    data = ds.subset(keep, ds.name)
    return Split(data, data, info)


def _fresh(ds, alpha0, rng, n_test):
    if ds.sampler is None:
        raise DataError("protocol 'fresh' needs a generative dataset (a toy mixture)")
    alpha0 = 0.1 if alpha0 is None else alpha0
    n = int(ds.meta.get("n_train", len(ds)))
    n_anom = int(round(n * alpha0))
    X, y = ds.sampler(n - n_anom, n_anom, rng)
    test_ratio = float(ds.meta.get("test_contamination", 0.1))
    n_test_anom = int(round(n_test * test_ratio))
    Xt, yt = ds.sampler(n_test - n_test_anom, n_test_anom, rng)
    order = rng.permutation(len(X))
    mk = lambda X_, y_, nm: Dataset(X_, y_, name=nm, kind=ds.kind, meta=dict(ds.meta), sampler=ds.sampler)  # noqa: E731
    return Split(mk(X[order], y[order], f"{ds.name} train"), mk(Xt, yt, f"{ds.name} test"),
                 {"requested_alpha0": alpha0})


def _mark_labeled(train: Dataset, n_labeled: int, rng):
    if n_labeled <= 0:
        return
    if train.y is None:
        raise DataError("labelled anomalies need labels")
    pool = np.flatnonzero(train.y == 1)
    if n_labeled > len(pool):
        raise DataError(f"asked for {n_labeled} labelled anomalies but the training set has {len(pool)} anomalies")
    train.labeled = np.zeros(len(train), bool)
    train.labeled[rng.choice(pool, n_labeled, replace=False)] = True


def _standardize(split: Split):
    mean = split.train.X.mean(axis=0)
    std = split.train.X.std(axis=0)
    std[std < 1e-8] = 1.0
    same = split.test is split.train
    split.train.X = ((split.train.X - mean) / std).astype(np.float32)
    if not same:
        split.test.X = ((split.test.X - mean) / std).astype(np.float32)
    split.scaler = (mean, std)
