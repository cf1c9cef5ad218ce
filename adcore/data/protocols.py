"""Contamination protocols: how a labelled dataset becomes a contaminated training set and a test set."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from adcore.data.dataset import Dataset, DataError
from adcore.data.image_protocols import CLASS_PROTOCOLS, class_split

PROTOCOLS = ("split", "loe", "transductive", "fresh", "one_vs_rest", "leave_one_class_out", "seen_unseen")
SHORTAGE = ("error", "reduce_normals", "lower_alpha0")
LOE_OPTIONS = ("normal_order",)  # protocol_options the loe protocol takes


@dataclass
class Split:
    """Training and test sets plus what the protocol did (counts, effective α0, choices)."""

    train: Dataset
    test: Dataset
    info: dict = field(default_factory=dict)
    scaler: tuple | None = None  # (mean, std) of the training features when standardised


def make_split(ds: Dataset, protocol: str = "split", alpha0: float | None = 0.1, seed: int = 0, *,
               train_normal_frac: float = 0.5, shortage: str = "error", n_labeled: int = 0,
               labeled_ratio: float | None = None, oe: Dataset | None = None, oe_n: int | None = None,
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

    Labelled anomalies come on top of the unlabelled pool, whose contamination
    stays α0 (γ_p): ``n_labeled`` of them, or ``labeled_ratio`` γ_l =
    N_labelled / (N_unlabelled + N_labelled) as in the DP-VAE paper (Sec. 4.1)
    and Deep SAD. They are drawn from the training share of the anomalies (for
    ``split`` and the class protocols, with the pool's anomalies; an error names
    the most that fit), generated (``fresh``, ``loe``) or marked among the
    anomalies (``transductive``). ``oe`` is an auxiliary outlier-exposure set:
    ``oe_n`` of its samples (all when None) join the training set as labelled
    anomalies only (EOE Sec. 5.2's few-OE regime goes down to 1 and 0).
    ``info["alpha0_effective"]`` is the contamination of the unlabelled pool.
    Features are standardised with the unlabelled training statistics when
    ``standardize`` (tabular only).
    """
    if protocol not in PROTOCOLS:
        raise DataError(f"unknown protocol {protocol!r}; choose one of {list(PROTOCOLS)}")
    if alpha0 is not None and not 0 <= alpha0 < 1:
        raise DataError(f"α0 must lie in [0, 1); got {alpha0}")
    rng = np.random.default_rng(seed)
    takes = LOE_OPTIONS if protocol == "loe" else ()
    unknown = sorted(set(protocol_options) - set(takes))
    if unknown and protocol not in CLASS_PROTOCOLS:
        raise DataError(f"protocol {protocol!r} takes " + (f"only {', '.join(takes)}" if takes else "no options")
                        + f"; got {unknown}")
    labels = LabelRequest(n_labeled, labeled_ratio)
    if protocol in CLASS_PROTOCOLS:
        split = class_split(ds, protocol, alpha0, rng, train_normal_frac=train_normal_frac, shortage=shortage,
                            labels=labels, **protocol_options)
    elif protocol == "fresh":
        split = _fresh(ds, alpha0, rng, n_test, labels)
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
            ds, alpha0, rng, train_normal_frac=train_normal_frac, shortage=shortage, labels=labels,
            **protocol_options)
    if oe is not None:
        _add_outlier_exposure(split, oe, oe_n, rng)
    split.info.update(protocol=protocol, seed=seed, n_train=len(split.train), n_test=len(split.test))
    if split.train.y is not None:
        pool = np.ones(len(split.train), bool) if split.train.labeled is None else ~split.train.labeled
        split.info["alpha0_effective"] = float(split.train.y[pool].mean())
        split.info["n_train_anomalies"] = int(split.train.y[pool].sum())
    split.info["n_labeled"] = 0 if split.train.labeled is None else int(split.train.labeled.sum())
    if standardize and ds.kind == "tabular":
        _standardize(split)
    return split


def _counts(n_normal: int, alpha0: float) -> int:
    """Anomalies that make ``n_normal`` normals a set with contamination α0."""
    return int(round(alpha0 * n_normal / (1 - alpha0)))


def _normals_for(n_anomalies: int, alpha0: float) -> int:
    """Most normals that ``n_anomalies`` anomalies contaminate at ratio α0."""
    return math.floor(n_anomalies * (1 - alpha0) / alpha0 + 1e-9)


@dataclass(frozen=True)
class LabelRequest:
    """How many labelled anomalies the training set gets: a count, or the ratio γ_l of the training set."""

    n_labeled: int = 0
    labeled_ratio: float | None = None

    def __post_init__(self):
        if self.n_labeled < 0:
            raise DataError(f"the number of labelled anomalies must be 0 or more; got {self.n_labeled}")
        if self.labeled_ratio is not None:
            if not 0 <= self.labeled_ratio < 1:
                raise DataError(f"the labelled ratio γ_l must lie in [0, 1); got {self.labeled_ratio}")
            if self.n_labeled:
                raise DataError("give the number of labelled anomalies or their ratio γ_l, not both")

    def count(self, n_pool: int) -> int:
        """Labelled anomalies for an unlabelled pool of ``n_pool`` samples."""
        if self.labeled_ratio is None:
            return self.n_labeled
        return _counts(n_pool, self.labeled_ratio)

    def describe(self, n: int) -> str:
        return f"{n} labelled anomalies" + (f" (γ_l = {self.labeled_ratio:g})" if self.labeled_ratio is not None else "")


def _split(ds, alpha0, rng, train_normal_frac, shortage, labels=LabelRequest()):
    if shortage not in SHORTAGE:
        raise DataError(f"unknown shortage rule {shortage!r}; choose one of {list(SHORTAGE)}")
    alpha0 = 0.1 if alpha0 is None else alpha0
    given = np.zeros(len(ds), bool) if ds.labeled is None else ds.labeled  # known anomalies of the file
    normals = rng.permutation(np.flatnonzero(ds.y == 0))
    anomalies = rng.permutation(np.flatnonzero((ds.y == 1) & ~given))
    known = np.flatnonzero(given)
    n_norm = int(round(train_normal_frac * len(normals)))
    need = _counts(n_norm, alpha0)
    n_lab = labels.count(n_norm + need) - len(known) if labels.labeled_ratio is not None else labels.n_labeled
    n_lab = max(0, n_lab)
    available = len(anomalies) // 2 - n_lab
    if available < 0:
        raise DataError(
            f"{ds.name} has {len(anomalies)} anomalies; {labels.describe(n_lab)} need {n_lab}, but at most "
            f"{len(anomalies) // 2} can be used for training (half stay for testing). Ask for at most "
            f"{len(anomalies) // 2} labelled anomalies (and α0 = 0), or fewer.")
    info = {"requested_alpha0": alpha0}
    if need > available:
        most = available / (n_norm + available)
        if shortage == "error":
            fewer = _normals_for(available, alpha0) if alpha0 else n_norm
            labelled = f" besides the {n_lab} labelled ones" if n_lab else ""
            raise DataError(
                f"{ds.name} has {len(anomalies)} anomalies; α0 = {alpha0:g} with {n_norm} training normals needs "
                f"{need} unlabelled training anomalies, but at most {available} can be used{labelled} (half stay "
                f"for testing). "
                f"The largest α0 possible with {n_norm} normals is {most:.3f}. Lower α0, or train on fewer "
                f"normals ({fewer} normals keep α0 = {alpha0:g}: shortage 'reduce_normals').")
        if shortage == "reduce_normals":
            n_norm = _normals_for(available, alpha0)
            info["shortage"] = f"reduced training normals to {n_norm} to keep α0 = {alpha0:g}"
        else:
            info["shortage"] = f"lowered α0 to {most:.4f}: only {available} anomalies can be used for training"
        need = available
    pool = np.concatenate([normals[:n_norm], anomalies[:need]])
    labelled = np.concatenate([anomalies[need:need + n_lab], known]).astype(int)
    test = np.concatenate([normals[n_norm:], anomalies[need + n_lab:]])
    split = Split(ds.subset(np.concatenate([pool[rng.permutation(len(pool))], labelled]), f"{ds.name} train"),
                  ds.subset(test, f"{ds.name} test"), info)
    split.test.labeled = None
    split.train.labeled = _last(len(pool), len(labelled))
    return split


def _last(n_pool: int, n_labelled: int) -> np.ndarray | None:
    """The labelled-anomaly mask of a training set whose labelled samples follow its ``n_pool`` unlabelled ones.

    Labelled samples go last, so the unlabelled part (and its order) is the same with or without them: a method
    that leaves them out trains exactly as it would on data without labels."""
    return np.r_[np.zeros(n_pool, bool), np.ones(n_labelled, bool)] if n_labelled else None


def _loe(ds, alpha0, rng, labels=LabelRequest(), normal_order="random", **_):
    """LOE Sec. 4.3. ``normal_order``: ``"random"`` — a random half of the normals trains (a new split per
    seed); ``"file"`` — the first half of the normals in file order trains, as in the LOE authors' released
    loader (the same split for every seed; the seed only draws the noisy copies). Copies are drawn without
    replacement while there are enough anomalies, as there."""
    if normal_order not in ("random", "file"):
        raise DataError(f"normal_order must be 'random' or 'file'; got {normal_order!r}")
    alpha0 = 0.1 if alpha0 is None else alpha0
    normals = np.flatnonzero(ds.y == 0)
    n_norm = len(normals) // 2
    if normal_order == "random":
        normals = rng.permutation(normals)
    anomalies = np.flatnonzero(ds.y == 1)
    n_contam = _counts(n_norm, alpha0)
    n_lab = labels.count(n_norm + n_contam)  # labelled anomalies: further noisy copies
    source = ds.X[anomalies]
    std = source.std(axis=0) if len(anomalies) > 1 else np.ones(source.shape[1:], np.float32)

    def noisy_copies(n):
        picks = rng.integers(0, len(anomalies), n) if normal_order == "random" or n > len(anomalies) else \
            rng.choice(len(anomalies), n, replace=False)
        return (source[picks] + rng.normal(size=(n, *source.shape[1:])) * std).astype(np.float32)

    X = np.concatenate([ds.X[normals[:n_norm]], noisy_copies(n_contam)])
    y = np.r_[np.zeros(n_norm, int), np.ones(n_contam, int)]
    order = rng.permutation(len(X))
    X, y = np.concatenate([X[order], noisy_copies(n_lab)]), np.r_[y[order], np.ones(n_lab, int)]
    train = Dataset(X, y, _last(len(order), n_lab), name=f"{ds.name} train", kind=ds.kind,
                    feature_names=ds.feature_names, meta=dict(ds.meta))
    test = ds.subset(np.concatenate([normals[n_norm:], anomalies]), f"{ds.name} test")
    return Split(train, test, {"requested_alpha0": alpha0,
                               "contamination": "noisy copies of test anomalies (LOE Sec. 4.3)"})


def _transductive(ds, alpha0, rng, labels=LabelRequest(), **_):
    keep = np.arange(len(ds))
    info = {"requested_alpha0": alpha0}
    if alpha0 is not None and ds.y is not None and alpha0 < ds.contamination:
        normals, anomalies = np.flatnonzero(ds.y == 0), rng.permutation(np.flatnonzero(ds.y == 1))
        keep = np.sort(np.concatenate([normals, anomalies[:_counts(len(normals), alpha0)]]))
        info["dropped_anomalies"] = int(len(ds) - len(keep))
    data = ds.subset(keep, ds.name)
    _mark_labeled(data, labels, rng)
    return Split(data, data, info)


def _fresh(ds, alpha0, rng, n_test, labels=LabelRequest()):
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
    X, y = X[order], y[order]
    n_lab = labels.count(n)
    if n_lab:  # drawn last: the unlabelled training set and the test set are the same with or without them
        X, y = np.concatenate([X, ds.sampler(0, n_lab, rng)[0]]), np.r_[y, np.ones(n_lab, y.dtype)]
    mk = lambda X_, y_, nm: Dataset(X_, y_, name=nm, kind=ds.kind, meta=dict(ds.meta), sampler=ds.sampler)  # noqa: E731
    split = Split(mk(X, y, f"{ds.name} train"), mk(Xt, yt, f"{ds.name} test"), {"requested_alpha0": alpha0})
    split.train.labeled = _last(len(order), n_lab)
    return split


def _mark_labeled(train: Dataset, labels: LabelRequest, rng):
    """Mark some of ``train``'s anomalies as labelled (transductive: the pool is the data itself)."""
    if not labels.n_labeled and not labels.labeled_ratio:
        return
    if train.y is None:
        raise DataError("labelled anomalies need labels")
    known = np.zeros(len(train), bool) if train.labeled is None else train.labeled.copy()  # the file's own
    pool = np.flatnonzero((train.y == 1) & ~known)
    n_lab = labels.count(len(train) - len(pool))
    if n_lab > len(pool):
        raise DataError(f"asked for {labels.describe(n_lab)} but the data has only {len(pool)} anomalies")
    known[rng.choice(pool, n_lab, replace=False)] = True
    train.labeled = known


def _add_outlier_exposure(split: Split, oe: Dataset, oe_n: int | None, rng):
    """Append ``oe_n`` samples of the auxiliary set ``oe`` to the training set as labelled anomalies."""
    train = split.train
    if oe.X.shape[1:] != train.X.shape[1:]:
        raise DataError(f"the outlier-exposure set {oe.name!r} has samples of shape {oe.X.shape[1:]}, the data "
                        f"{train.X.shape[1:]}; use data of the same kind and size")
    n = len(oe) if oe_n is None else int(oe_n)
    if not 0 <= n <= len(oe):
        raise DataError(f"asked for {n} outlier-exposure samples; {oe.name!r} has {len(oe)} (at most {len(oe)})")
    if n == 0:
        return
    pick = rng.choice(len(oe), n, replace=False)
    labeled = np.zeros(len(train), bool) if train.labeled is None else train.labeled
    split.train = Dataset(np.concatenate([train.X, oe.X[pick]]), None if train.y is None else
                          np.r_[train.y, np.ones(n, train.y.dtype)], np.r_[labeled, np.ones(n, bool)], train.name,
                          train.kind, train.feature_names, dict(train.meta), train.sampler,
                          None if train.classes is None else np.r_[train.classes, np.full(n, -1)])
    split.info["n_oe"] = n
    split.info["oe"] = oe.name


def _standardize(split: Split):
    ref = split.train.X if split.train.labeled is None else split.train.X[~split.train.labeled]
    mean = ref.mean(axis=0)
    std = ref.std(axis=0)
    std[std < 1e-8] = 1.0
    same = split.test is split.train
    split.train.X = ((split.train.X - mean) / std).astype(np.float32)
    if not same:
        split.test.X = ((split.test.X - mean) / std).astype(np.float32)
    split.scaler = (mean, std)
