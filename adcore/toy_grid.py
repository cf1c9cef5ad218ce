"""The toy playground's data: its default run, mixture editing and the contour grid."""
from __future__ import annotations

import math

import numpy as np

from adcore.data import LOE_PRESET, Component, DataError, Mixture
from adcore.data.toy import TOY_TRAINING
from adcore.experiment import ExperimentConfig

TOY_STRATEGIES = ["blind", "refine", "loe_soft", "loe_hard", "gtruth"]


def toy_config(**changes) -> ExperimentConfig:
    """The toy playground's default run: the LOE preset with the settings of LOE App. A
    (lr 0.003 instead of 0.01, see ``adcore.data.toy.TOY_TRAINING``)."""
    base = dict(data="toy", protocol="fresh", alpha0=0.1, alpha=None, backbone="deepsvdd_rbf",
                strategies=list(TOY_STRATEGIES), seeds=[0], **TOY_TRAINING, standardize=False, device="cpu")
    base.update(changes)
    return ExperimentConfig(**base)


MIXTURE_COLUMNS = ["mean x", "mean y", "variance", "weight", "anomalous"]


def mixture_rows(components=LOE_PRESET) -> list[dict]:
    """Editable rows (one per 2-D Gaussian with variance·I) of a list of components."""
    rows = []
    for c in components:
        c = c if isinstance(c, Component) else Component(**c)
        cov = np.asarray(c.cov, float)
        var = float(cov) if cov.ndim == 0 else float(np.mean(np.diag(cov) if cov.ndim == 2 else cov))
        rows.append({"mean x": float(c.mean[0]), "mean y": float(c.mean[1]), "variance": var,
                     "weight": float(c.weight), "anomalous": bool(c.anomalous)})
    return rows


NEW_COMPONENT = {"mean x": 0.0, "mean y": 0.0, "variance": 0.05, "weight": 1.0, "anomalous": False}


def _blank(v) -> bool:
    return v is None or isinstance(v, float) and math.isnan(v) or v == ""


def filled_rows(rows) -> list[dict]:
    """The rows with at least one number: a row just added and still empty is not a component yet."""
    return [r for r in rows if not all(_blank(r.get(c)) for c in MIXTURE_COLUMNS[:4])]


def components_from_rows(rows) -> list[dict]:
    """Components (as dicts, JSON-ready) from edited rows (empty rows skipped); ``DataError`` explains
    what is wrong."""
    comps = []
    for i, r in enumerate(filled_rows(rows), 1):
        try:
            vals = [float(r[c]) for c in MIXTURE_COLUMNS[:4]]
        except (KeyError, TypeError, ValueError):
            raise DataError(f"component {i}: fill in mean x, mean y, variance and weight with numbers") from None
        if not all(math.isfinite(v) for v in vals):
            raise DataError(f"component {i}: values must be finite numbers")
        mx, my, var, w = vals
        if var <= 0:
            raise DataError(f"component {i}: the variance must be positive (got {var:g})")
        if w <= 0:
            raise DataError(f"component {i}: the weight must be positive (got {w:g})")
        comps.append({"mean": [mx, my], "cov": var, "weight": w, "anomalous": bool(r.get("anomalous", False))})
    Mixture(comps)  # raises DataError for a mixture without normal or anomalous components
    return comps


def toy_grid(components=LOE_PRESET, resolution: int = 60, margin: float = 3.0):
    """(xs, ys, points) of a square-ish grid covering every component ± ``margin`` standard deviations."""
    comps = [c if isinstance(c, Component) else Component(**c) for c in components]
    lo = np.min([np.asarray(c.mean) - margin * np.sqrt(np.diag(c.covariance()).max()) for c in comps], axis=0)
    hi = np.max([np.asarray(c.mean) + margin * np.sqrt(np.diag(c.covariance()).max()) for c in comps], axis=0)
    xs = np.linspace(lo[0], hi[0], resolution)
    ys = np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def toy_steps(cfg: ExperimentConfig) -> int:
    """Mini-batches per epoch of a toy run."""
    n = int(cfg.data_options.get("n_samples", 100))
    return math.ceil(n / (cfg.batch_size or n))


def toy_seconds(cfg: ExperimentConfig) -> float:
    """About how long a toy run trains on one CPU thread (measured: 5 models, 2,000 points, 50 epochs of
    batch 25 take ~7 s; small models are overhead-bound, so the cost grows with steps, slowly with models)."""
    steps = cfg.epochs * toy_steps(cfg)
    return 0.5 + steps * (0.0008 + 0.00016 * len(cfg.strategies)) * len(cfg.seeds) + 0.004 * cfg.epochs
