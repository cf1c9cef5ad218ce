"""Quantities of a trained run the app shows: training scores, thresholds, per-class AUROC, labels."""
from __future__ import annotations

import numpy as np

from adcore.experiment import ExperimentResult
from adcore.metrics import auroc_by_class


def run_memo(result, name, fn):
    """``fn()`` once per run and ``name`` (kept on the result)."""
    cache = result.__dict__.setdefault("_app_memo", {})
    if name not in cache:
        cache[name] = fn()
    return cache[name]


def train_scores(result: ExperimentResult, k: int) -> np.ndarray:
    """Scores of member ``k``'s training set under the final model."""
    return run_memo(result, ("train_scores", k), lambda: result.score(k, result.split_of(k).train.X))


def threshold(scores: np.ndarray, alpha: float) -> float:
    """The decision threshold: the (1 − α)-quantile of training scores (LOE Fig. 1 draws the 90% level)."""
    alpha = min(max(float(alpha), 0.0), 1.0)
    return float(np.quantile(np.asarray(scores), 1.0 - alpha)) if alpha > 0 else float(np.max(scores))


def member_threshold(result: ExperimentResult, k: int) -> float:
    return threshold(train_scores(result, k), result.members[k].alpha)


def class_auroc_table(result: ExperimentResult) -> list[dict] | None:
    """Per model, the test AUROC of each anomaly class against the normals (``metrics.auroc_by_class``),
    for runs whose test set keeps classes; the unseen classes of ``seen_unseen`` are marked. None otherwise."""
    if not has_test_labels(result) or result.split_of(0).test.classes is None:
        return None
    return run_memo(result, ("class_auroc",), lambda: _class_auroc_rows(result))


def _class_auroc_rows(result: ExperimentResult) -> list[dict]:
    rows = []
    for k in range(len(result.members)):
        split = result.split_of(k)
        unseen = set(split.info.get("unseen_classes") or [])
        per_class = auroc_by_class(split.test.y, result.test_scores[k], split.test.classes,
                                   split.test.meta.get("class_names"))
        row = {"model": member_label(result, k)}
        row.update({f"{c} (unseen)" if c in unseen else c: v for c, v in per_class.items()})
        rows.append(row)
    return rows


def member_label(result: ExperimentResult, k: int, with_seed: bool | None = None) -> str:
    m = result.members[k]
    with_seed = len(result.config.seeds) > 1 if with_seed is None else with_seed
    return f"{m.strategy} (seed {m.seed})" if with_seed else m.strategy


def has_test_labels(result: ExperimentResult, k: int = 0) -> bool:
    y = result.split_of(k).test.y
    return y is not None and 0 < int(y.sum()) < len(y)


def has_train_labels(result: ExperimentResult, k: int = 0) -> bool:
    return result.split_of(k).train.y is not None


def device_text(result: ExperimentResult) -> str:
    res = result.train_results[0][0]
    return f"{res.device} ({res.threads} thread{'s' if res.threads != 1 else ''})"


def run_caption(result: ExperimentResult) -> str:
    """Where and how long a run trained, and what its protocol made of the data (the run's caption)."""
    info = result.splits[0].info
    labelled = ""
    if info.get("n_labeled"):
        labelled = f", {info['n_labeled']} labelled anomalies" + (f" from {info['oe']}" if info.get("oe") else "")
    return (f"Trained on {device_text(result)} in {result.seconds:.1f} s"
            + (f" ({result.config.precision} steps)" if result.config.precision != "float32" else "")
            + f" · protocol {info['protocol']} · {info['n_train']} training samples "
            f"({info.get('n_train_anomalies', 'unknown')} unlabelled anomalies{labelled}), {info['n_test']} test samples"
            + (f" · {info['shortage']}" if "shortage" in info else "")
            + (f" · normal classes {', '.join(info['normal_classes'])}" if info.get("normal_classes") else ""))
