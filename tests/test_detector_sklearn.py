"""scikit-learn's estimator checks on :class:`adcore.detector.Detector` (tiny trainings: 2 epochs).

Checks not run, with the reason:
- ``check_outliers_fit_predict``, ``check_outliers_train``: scikit-learn's outlier convention is
  ``predict`` = -1 for outliers and +1 for inliers; Detector follows PyOD (1 = anomaly, 0 = normal),
  the convention of the whole project (docs/ARCHITECTURE.md, developers' guide).
- ``check_array_api_input``: skipped by scikit-learn itself unless SCIPY_ARRAY_API is set; the
  engine converts to torch tensors and does not take array-API arrays.
"""
import warnings

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from adcore import Detector

PYOD = "predict follows PyOD (1 = anomaly, 0 = normal), not scikit-learn's -1/+1"
EXPECTED = {"check_outliers_fit_predict": PYOD, "check_outliers_train": PYOD}


def _detector():
    return Detector(backbone="deepsvdd", strategy="loe_hard", contamination=0.1, epochs=2, batch_size=32,
                    device="cpu", threads=1)


@parametrize_with_checks([_detector()], expected_failed_checks=lambda est: EXPECTED)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # class labels as y (see _check_y) in many checks
        check(estimator)


def test_the_pyod_convention_is_what_the_skipped_checks_disagree_with():
    X = np.r_[np.random.default_rng(0).normal(size=(60, 2)), [[8.0, 8.0]]]
    det = _detector().set_params(epochs=20, contamination=0.05).fit(X)
    assert det.predict(X[-1:]).tolist() == [1] and set(det.predict(X).tolist()) <= {0, 1}


def test_y_other_than_0_1_is_named_in_a_warning():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.warns(UserWarning, match=r"y holds values \[0, 1, 2\]"):
        _detector().fit(X, np.arange(20) % 3)
    with pytest.raises(ValueError, match="y has 5 entries for 20 samples"):
        _detector().fit(X, np.ones(5))
