"""``Detector``: a scikit-learn compatible estimator over the engine (one model)."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from adcore.experiment import ExperimentConfig, train_config
from adcore.methods import method_config
from adcore.registry import BACKBONES, STRATEGIES
from adcore.trainer import Member, train


def _check_y(y, n: int) -> np.ndarray:
    """``y`` as int 0/1 of length ``n`` (1 = labelled anomaly), with scikit-learn's messages otherwise."""
    y = column_or_1d(y)
    type_of_target(y, raise_unknown=True)
    if len(y) != n:
        raise ValueError(f"y has {len(y)} entries for {n} samples")
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:  # e.g. class labels (scikit-learn's checks pass them): only 1 marks a known anomaly
        warnings.warn(f"y holds values {sorted(values)[:10]}; only y == 1 marks a labelled anomaly, every other "
                      "value counts as unlabelled", UserWarning, stacklevel=3)
    return (y == 1).astype(np.int64)


class Detector(OutlierMixin, BaseEstimator):
    """Anomaly detector trained on possibly contaminated data.

    ``contamination`` is the assumed ratio α the strategy uses (as in PyOD); the
    threshold of :meth:`predict` is the (1 − α)-quantile of the training scores.
    Scores follow PyOD: higher means more anomalous; ``predict`` gives 1 for anomalies.
    Extra keyword arguments are backbone parameters (see ``python -m adcore list``).
    ``method`` names a preset of :mod:`adcore.methods` (e.g. ``"PUSVDD"``) instead of
    ``backbone`` + ``strategy``. ``fit(X, y)``: y = 1 marks labelled anomalies, 0
    unlabelled samples; methods without labels leave the labelled ones out.

    >>> det = Detector(backbone="deepsvdd", strategy="loe_soft", contamination=0.1).fit(X)
    >>> Detector(method="PUSVDD", contamination=0.05).fit(X, y_known)
    >>> det.decision_function(X_new)
    """

    def __init__(self, backbone: str = "deepsvdd", strategy: str = "loe_soft", contamination: float = 0.1,
                 epochs: int = 50, batch_size: int | None = 128, lr: float = 1e-3, weight_decay: float = 0.0,
                 warmup: int = 2, seed: int = 0, device: str = "auto", threads: int | str = "auto",
                 method: str | None = None, labeled_batch: int | None = None, **backbone_params):
        self.method = method
        self.labeled_batch = labeled_batch
        self.backbone = backbone
        self.strategy = strategy
        self.contamination = contamination
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.seed = seed
        self.device = device
        self.threads = threads
        self._backbone_param_names = sorted(backbone_params)
        for key, value in backbone_params.items():
            setattr(self, key, value)

    def get_params(self, deep: bool = True) -> dict:
        params = super().get_params(deep)
        params.update({k: getattr(self, k) for k in self._backbone_param_names})
        return params

    def set_params(self, **params):
        base = set(super().get_params(deep=False))
        for key, value in params.items():
            if key not in base and key not in self._backbone_param_names:
                self._backbone_param_names = sorted({*self._backbone_param_names, key})
            setattr(self, key, value)
        return self

    def fit(self, X, y=None):
        """Train on ``X``; ``y`` (1 = labelled anomaly, 0 = unlabelled) trains the strategies that use
        labels (sad, pu, soel; ``gtruth`` treats it as the truth); the others leave the y = 1 rows out."""
        X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)  # 2-D, finite, dense, real numbers
        if not 0 <= self.contamination < 1:
            raise ValueError(f"contamination must lie in [0, 1); got {self.contamination}")
        recipe = self._recipe(X)
        strategy = recipe.strategies[0]
        BACKBONES.resolve_params(recipe.backbone, recipe.backbone_params)
        if STRATEGIES.get(strategy).needs_labels and y is None:
            raise ValueError(f"strategy {strategy!r} needs labels y")
        y = None if y is None else _check_y(y, len(X))
        config = train_config(recipe, device=self.device, threads=self.threads)
        member = Member(strategy, float(self.contamination), int(self.seed),
                        tuple(sorted(recipe.strategy_params.get(strategy, {}).items())))
        result = train(recipe.backbone, [member], X, y_train=y, labeled=None if y is None else y == 1,
                       backbone_params=recipe.backbone_params, config=config)
        self.result_ = result
        self.history_ = result.history
        self.decision_scores_ = result.score(X)[0]
        self.threshold_ = float(np.quantile(self.decision_scores_, 1 - self.contamination))
        return self

    def _recipe(self, X) -> ExperimentConfig:
        """This estimator's settings as an ExperimentConfig; for a named ``method``, its preset (backbone,
        strategy, parameters and the training settings it prescribes where this estimator keeps the defaults,
        :func:`adcore.methods.method_config`), with this estimator's own backbone parameters on top."""
        cfg = ExperimentConfig(backbone=self.backbone, strategies=[self.strategy], epochs=self.epochs,
                               batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                               warmup=self.warmup, labeled_batch=self.labeled_batch,
                               backbone_params={k: getattr(self, k) for k in self._backbone_param_names})
        return cfg if self.method is None else method_config(cfg, self.method, "image" if X.ndim == 4 else "tabular")

    def _check(self, X) -> np.ndarray:
        check_is_fitted(self, "result_")
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) == 2 and shape[1] != self.n_features_in_:
            raise ValueError(f"X has {shape[1]} features, but Detector is expecting {self.n_features_in_} features "
                             f"as input: X must have shape (n, {self.n_features_in_}); got {tuple(shape)}")
        return validate_data(self, X, dtype=np.float32, reset=False)

    def decision_function(self, X) -> np.ndarray:
        """Anomaly scores: higher = more anomalous (the backbone's test score, e.g. L_n)."""
        X = self._check(X)
        return self.result_.score(X)[0]

    def score_samples(self, X) -> np.ndarray:
        """scikit-learn convention: higher = more normal (the negated decision function)."""
        return -self.decision_function(X)

    def predict(self, X) -> np.ndarray:
        """1 for anomalies (score above the training α-quantile threshold), 0 for normals."""
        return (self.decision_function(X) > self.threshold_).astype(int)

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X, y).predict(X)

    def embed(self, X) -> np.ndarray:
        """Latent representation of ``X`` from the backbone."""
        X = self._check(X)
        return self.result_.embed(X)[0]
