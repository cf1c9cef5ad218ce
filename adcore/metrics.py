"""Detection metrics (scikit-learn): AUROC, AUPRC, F1 and ROC points."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score, roc_curve


def f1_at_ratio(y: np.ndarray, scores: np.ndarray, ratio: float) -> float:
    """F1 when the ``ratio`` highest-scored samples are called anomalies.

    With ``ratio`` = the test set's anomaly fraction this is the F1 of the LOE
    tables (Tables 3, 5), which follow the tabular protocol of Shenkar & Wolf.
    """
    threshold = np.quantile(scores, 1 - ratio)
    return float(f1_score(y, (scores > threshold).astype(int), zero_division=0))


def evaluate(y: np.ndarray, scores: np.ndarray) -> dict:
    """AUROC, average precision (AUPRC) and F1 at the true anomaly ratio of ``y``."""
    y = np.asarray(y)
    if y.min() == y.max():
        raise ValueError("the evaluation set holds one class only; AUROC needs normals and anomalies")
    return {"auroc": float(roc_auc_score(y, scores)), "ap": float(average_precision_score(y, scores)),
            "f1": f1_at_ratio(y, scores, float(y.mean()))}


def roc_points(y: np.ndarray, scores: np.ndarray, max_points: int = 400) -> dict:
    """False- and true-positive rates of the ROC curve, thinned to about ``max_points``."""
    fpr, tpr, _ = roc_curve(y, scores)
    if len(fpr) > max_points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist()}


def auroc_by_class(y: np.ndarray, scores: np.ndarray, classes: np.ndarray, names=None) -> dict[str, float]:
    """AUROC of each anomaly class against all normals (e.g. seen vs unseen anomaly classes, PU paper
    Sec. 5.1): for class c, the test samples that are normal or of class c. Keys are class names."""
    y, scores, classes = np.asarray(y), np.asarray(scores), np.asarray(classes)
    normal = y == 0
    out = {}
    for c in np.unique(classes[y == 1]):
        keep = normal | (classes == c)
        if normal.any():
            name = names[c] if names is not None and c < len(names) else str(c)
            out[name] = float(roc_auc_score(y[keep], scores[keep]))
    return out
