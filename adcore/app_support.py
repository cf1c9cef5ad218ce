"""Page-agnostic helpers of the app; pure Python + torch, no streamlit.

- configuration ↔ query parameters (shareable links) and ↔ JSON (reproducible downloads)
- the process-wide run store: results cached per configuration, one computation per key
- exports: scores CSV, metrics + config JSON, the trained model (state_dict + config)
- the leaderboard and the paired test against Blind
- toy-mixture editing and the contour grid
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Callable, Mapping

import numpy as np
import torch

from adcore.data import LOE_PRESET, Component, DataError, Mixture
from adcore.data.toy import TOY_TRAINING
from adcore.experiment import ExperimentConfig, ExperimentResult
from adcore.metrics import auroc_by_class
from adcore.registry import BACKBONES, STRATEGIES

# Fig. 1 of LOE shows (a) Blind (b) Refine (c) LOE_S (d) LOE_H (e) G-truth; other strategies follow.
STRATEGY_ORDER = ("blind", "refine", "loe_soft", "loe_hard", "gtruth", "iad")
TOY_STRATEGIES = ["blind", "refine", "loe_soft", "loe_hard", "gtruth"]


def toy_config(**changes) -> ExperimentConfig:
    """The toy playground's default run: the LOE preset with the settings of LOE App. A
    (lr 0.003 instead of 0.01, see ``adcore.data.toy.TOY_TRAINING``)."""
    base = dict(data="toy", protocol="fresh", alpha0=0.1, alpha=None, backbone="deepsvdd_rbf",
                strategies=list(TOY_STRATEGIES), seeds=[0], **TOY_TRAINING, standardize=False, device="cpu")
    base.update(changes)
    return ExperimentConfig(**base)


def order_strategies(names) -> list[str]:
    rank = {s: i for i, s in enumerate(STRATEGY_ORDER)}
    return sorted(dict.fromkeys(names), key=lambda s: (rank.get(s, len(rank)), s))


# ---------------------------------------------------------------- configuration ↔ query parameters

def _opt(conv):
    return lambda v: None if str(v).lower() in ("none", "") else conv(v)


def _bool(v) -> bool:
    if str(v).lower() in ("1", "true", "yes", "on"):
        return True
    if str(v).lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a yes/no value, got {v!r}")


def _list(conv):
    return lambda v: [conv(p.strip()) for p in str(v).split(",") if p.strip()]


def _threads(v):
    return "auto" if str(v) == "auto" else int(v)


_QUERY_TYPES = {
    "data": str, "protocol": _opt(str), "alpha0": _opt(float), "alpha": _opt(float), "backbone": str,
    "strategies": _list(str), "seeds": _list(int), "epochs": int, "batch_size": _opt(int), "lr": float,
    "weight_decay": float, "warmup": int, "device": str, "threads": _threads, "shortage": str,
    "train_normal_frac": float, "n_labeled": int, "standardize": _opt(_bool), "test_every": int,
}
_QUERY_JSON = tuple(f.name for f in fields(ExperimentConfig) if f.name not in _QUERY_TYPES)  # dicts and new fields


def _encode(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(round(value, 10))
    if isinstance(value, (list, tuple)):
        return ",".join(_encode(v) for v in value)
    return str(value)


def config_to_query(cfg: ExperimentConfig, defaults: ExperimentConfig | None = None) -> dict[str, str]:
    """Query parameters that reproduce ``cfg`` on a page whose defaults are ``defaults``
    (only the fields that differ are written, so links stay short)."""
    defaults = defaults or ExperimentConfig()
    out = {}
    for f in fields(ExperimentConfig):
        value, default = getattr(cfg, f.name), getattr(defaults, f.name)
        if value == default:
            continue
        if f.name in _QUERY_JSON:
            out[f.name] = json.dumps(value, separators=(",", ":"), sort_keys=True)
        else:
            out[f.name] = _encode(value)
    return out


def config_from_query(query: Mapping, defaults: ExperimentConfig | None = None) -> ExperimentConfig:
    """The configuration a page's query parameters describe (unknown keys are ignored, so
    view settings can share the URL). Bad values raise ``ValueError`` naming the parameter."""
    values = (defaults or ExperimentConfig()).to_dict()
    for key, raw in query.items():
        raw = raw[-1] if isinstance(raw, (list, tuple)) else raw
        try:
            if key in _QUERY_TYPES:
                values[key] = _QUERY_TYPES[key](raw)
            elif key in _QUERY_JSON:
                parsed = json.loads(raw)
                if isinstance(values[key], dict) and not isinstance(parsed, dict):
                    raise ValueError("expected a JSON object")
                values[key] = parsed
        except (TypeError, ValueError, json.JSONDecodeError) as err:
            raise ValueError(f"link parameter {key}={raw!r} is not valid: {err}") from None
    return ExperimentConfig.from_dict(values)


def config_from_json(data: bytes | str | dict) -> ExperimentConfig:
    """A configuration from a downloaded results/config JSON (``{"config": …}``) or a bare config."""
    try:
        d = json.loads(data) if isinstance(data, (bytes, str)) else dict(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"not a JSON file: {err}") from None
    if not isinstance(d, dict):
        raise ValueError("the JSON file must hold an object with the run's configuration")
    d = d.get("config", d)
    return ExperimentConfig.from_dict(d)


def config_key(cfg: ExperimentConfig, data_fingerprint: str = "", extra: str = "") -> str:
    """A stable key of a run: the configuration JSON plus a fingerprint of uploaded data."""
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=str) + "|" + data_fingerprint + "|" + extra
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


# ---------------------------------------------------------------- the run store

class Cancelled(Exception):
    """Raised when a run was stopped by ``should_stop``; holds the partial result."""

    def __init__(self, partial=None):
        super().__init__("the run was cancelled")
        self.partial = partial


@dataclass
class _Job:
    event: threading.Event
    done: int = 0
    total: int = 0


class RunStore:
    """Results cached per key (LRU), shared by every session of the server process.

    ``get_or_run`` computes a missing key once: a second caller of the same key
    waits for the first. A computation that raises (an error, a cancel, or the
    app's rerun interrupting the script) stores nothing.
    """

    def __init__(self, max_items: int = 24):
        self.max_items = max_items
        self._items: OrderedDict[str, object] = OrderedDict()
        self._jobs: dict[str, _Job] = {}
        self._memo: dict[tuple, object] = {}
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: str, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                old, _ = self._items.popitem(last=False)
                self._memo = {k: v for k, v in self._memo.items() if k[0] != old}

    def running(self, key: str) -> tuple[int, int] | None:
        """(done, total) of a computation of ``key`` in progress, else None."""
        with self._lock:
            job = self._jobs.get(key)
            return None if job is None else (job.done, job.total)

    def get_or_run(self, key: str, fn: Callable[[Callable], object], progress: Callable | None = None,
                   poll: float = 0.1):
        """The value of ``key``, computing it with ``fn(report)`` if missing.

        ``report(done, total)`` is what ``fn`` passes on as progress; ``progress``
        (if given) sees it, also while waiting for another caller's computation.
        """
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                job = self._jobs.get(key)
                mine = job is None
                if mine:
                    job = self._jobs[key] = _Job(threading.Event())
            if not mine:
                while not job.event.wait(poll):
                    if progress is not None:
                        progress(job.done, job.total)
                continue
            try:
                def report(done, total, job=job):
                    job.done, job.total = done, total
                    if progress is not None:
                        progress(done, total)
                value = fn(report)
                self.put(key, value)
                return value
            finally:
                with self._lock:
                    self._jobs.pop(key, None)
                job.event.set()

    def memo(self, key: tuple, fn: Callable[[], object]):
        """A value derived from a stored run (e.g. an embedding), computed once; ``key[0]`` is the run key."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = fn()
        with self._lock:
            self._memo[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._memo.clear()


STORE = RunStore()
DATASETS = RunStore(max_items=4)  # decoded uploads and built-in sets (cached_data)


def run_key(cfg: ExperimentConfig, data_fingerprint: str = "", eval_sets: dict | None = None) -> str:
    """The store key of a run: configuration, data fingerprint and the arrays scored during training."""
    extra = "" if not eval_sets else ",".join(f"{n}:{fingerprint(np.ascontiguousarray(v).tobytes())}"
                                               for n, v in sorted(eval_sets.items()))
    return config_key(cfg, data_fingerprint, extra)


def run_cached(cfg: ExperimentConfig, *, dataset=None, data_fingerprint: str = "", eval_sets: dict | None = None,
               progress: Callable | None = None, should_stop: Callable | None = None,
               store: RunStore | None = None) -> tuple[str, ExperimentResult]:
    """``run_experiment`` through the store: (key, result). A cancelled run raises :class:`Cancelled`."""
    from adcore.experiment import run_experiment

    store = store or STORE
    key = run_key(cfg, data_fingerprint, eval_sets)

    def fn(report):
        result = run_experiment(cfg, dataset, eval_sets=eval_sets, progress=report, should_stop=should_stop)
        if result.train_results and result.train_results[-1][0].stopped:
            raise Cancelled(result)
        return result

    return key, store.get_or_run(key, fn, progress)


def cached_data(key: list, load: Callable[[], object]):
    """``load()`` once per ``key`` (JSON-able) for the whole server, keeping the last 4 datasets,
    so that reruns of a page do not decode an upload again. Errors are raised, not stored."""
    return DATASETS.get_or_run(json.dumps(key, sort_keys=True, default=str), lambda report: load())


def load_upload_cached(raw: bytes, filename: str, labels: bytes | None = None, **options):
    """(dataset, fingerprint) of an upload (:func:`adcore.data.load_upload`), through :func:`cached_data`."""
    from adcore.data import load_upload

    fp = fingerprint(raw + (labels or b""))
    return cached_data([fp, filename, options], lambda: load_upload(raw, filename, labels, **options)), fp


# ---------------------------------------------------------------- per-run quantities

def _memo(result, name, fn):
    cache = result.__dict__.setdefault("_app_memo", {})
    if name not in cache:
        cache[name] = fn()
    return cache[name]


def train_scores(result: ExperimentResult, k: int) -> np.ndarray:
    """Scores of member ``k``'s training set under the final model."""
    return _memo(result, ("train_scores", k), lambda: result.score(k, result.split_of(k).train.X))


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
    return _memo(result, ("class_auroc",), lambda: _class_auroc_rows(result))


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


# ---------------------------------------------------------------- exports

def scores_frame(result: ExperimentResult):
    """Tidy test scores: one row per (member, test sample) with the true label and the decision."""
    import pandas as pd

    parts = []
    for k, m in enumerate(result.members):
        if result.test_scores[k] is None:
            continue
        y = result.split_of(k).test.y
        s = result.test_scores[k]
        t = member_threshold(result, k)
        parts.append(pd.DataFrame({
            "strategy": m.strategy, "seed": m.seed, "alpha": m.alpha, "sample": np.arange(len(s)),
            "y_true": y if y is not None else np.full(len(s), -1), "score": s,
            "threshold": t, "predicted_anomaly": (s > t).astype(int)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def scores_csv(result: ExperimentResult) -> bytes:
    return scores_frame(result).to_csv(index=False).encode()


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def result_json(result: ExperimentResult) -> bytes:
    """Metrics, configuration (loadable with :func:`config_from_json`), splits and environment."""
    d = result.to_json()
    d["thresholds"] = [member_threshold(result, k) for k in range(len(result.members))]
    d["leaderboard"] = leaderboard(result)
    return json.dumps(_jsonable(d), indent=2).encode()


def runs_csv(rows: list[dict]) -> bytes:
    import pandas as pd

    return pd.DataFrame(rows).to_csv(index=False).encode()


MODEL_FORMAT = "adlab-model/1"


def model_bytes(result: ExperimentResult) -> bytes:
    """Every member's weights (a state_dict each, the model dimension removed) plus the config
    as JSON text and the training standardisation; readable with ``torch.load(weights_only=True)``."""
    states, members = [], []
    for k, m in enumerate(result.members):
        res, j = result.fit_of(k)
        states.append({n: t.detach().cpu().clone() for n, t in res.backbone.member_state(j).items()})
        members.append({"strategy": m.strategy, "seed": m.seed, "alpha": m.alpha,
                        "threshold": member_threshold(result, k)})
    split = result.splits[0]
    payload = {
        "format": MODEL_FORMAT,
        "config": json.dumps(result.config.to_dict(), default=str),
        "backbone": result.config.backbone,
        "backbone_params": json.dumps(result.config.backbone_params),
        "input_shape": [int(s) for s in split.train.input_shape],
        "members": json.dumps(members),
        "states": states,
        "scaler": None if split.scaler is None else
        [torch.as_tensor(np.asarray(a, dtype=np.float32)) for a in split.scaler],
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


class LoadedModel:
    """A model file read back: ``score(X, k)`` and ``predict(X, k)`` for member ``k``."""

    def __init__(self, payload: dict):
        if payload.get("format") != MODEL_FORMAT:
            raise ValueError("not an AD Lab model file")
        self.config = ExperimentConfig.from_dict(json.loads(payload["config"]))
        self.members = json.loads(payload["members"])
        self.input_shape = tuple(payload["input_shape"])
        self.scaler = payload["scaler"]
        from adcore.backbones import build_backbone

        params = json.loads(payload["backbone_params"])
        self.models = []
        for m, state in zip(self.members, payload["states"]):
            model = build_backbone(payload["backbone"], self.input_shape, [m["seed"]], params)
            model.load_state_dict({n: t.unsqueeze(0) for n, t in state.items()}, strict=False)
            model.eval()
            self.models.append(model)

    @torch.no_grad()
    def score(self, X, k: int = 0) -> np.ndarray:
        x = torch.as_tensor(np.asarray(X, dtype=np.float32))
        if self.scaler is not None:
            x = (x - self.scaler[0]) / self.scaler[1]
        return self.models[k].score(x.unsqueeze(0))[0].numpy()

    def predict(self, X, k: int = 0) -> np.ndarray:
        return (self.score(X, k) > self.members[k]["threshold"]).astype(int)


def load_model(source) -> LoadedModel:
    """Read a file written by :func:`model_bytes` (path, bytes or file) with ``weights_only=True``."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        payload = torch.load(source, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - torch raises many types for foreign files
        raise ValueError(f"not a readable model file ({type(err).__name__})") from None
    if not isinstance(payload, dict):
        raise ValueError("not an AD Lab model file")
    return LoadedModel(payload)


# ---------------------------------------------------------------- leaderboard and the paired test

def paired_test(a, b) -> float:
    """Two-sided paired t-test p-value of ``a`` vs ``b`` (matched by seed); NaN below 2 pairs.

    A t-test rather than Wilcoxon: with the 3-5 seeds the app runs, the exact
    Wilcoxon signed-rank test cannot go below p = 0.0625 (n = 5) or 0.25 (n = 3).
    """
    from scipy.stats import ttest_rel

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2:
        return float("nan")
    d = a - b
    if np.allclose(d, d[0]):
        return 1.0 if abs(d[0]) < 1e-12 else 0.0  # identical differences: no variance to test against
    return float(ttest_rel(a, b).pvalue)


def significance_marker(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    return "**" if p < 0.01 else "*" if p < 0.05 else "n.s."


def leaderboard(result_or_runs, baseline: str = "blind", metric: str = "auroc") -> list[dict]:
    """One row per strategy: mean ± std over seeds of AUROC, AUPRC, F1 and fit time, and the
    paired t-test of ``metric`` against ``baseline`` over the seeds both ran."""
    runs = result_or_runs.runs if hasattr(result_or_runs, "runs") else result_or_runs
    base = {r["seed"]: r.get(metric) for r in runs if r["strategy"] == baseline}
    rows = []
    for strategy in order_strategies(r["strategy"] for r in runs):
        rs = [r for r in runs if r["strategy"] == strategy]
        row = {"strategy": strategy, "seeds": len(rs)}
        for key, name in (("auroc", "AUROC"), ("ap", "AUPRC"), ("f1", "F1"), ("fit_seconds", "fit s")):
            vals = [r[key] for r in rs if r.get(key) is not None]
            row[f"{name} mean"] = float(np.mean(vals)) if vals else None
            row[f"{name} std"] = float(np.std(vals)) if vals else None
        if strategy != baseline and base and all(r.get(metric) is not None for r in rs):
            pairs = [(r[metric], base[r["seed"]]) for r in rs if base.get(r["seed"]) is not None]
            p = paired_test([a for a, _ in pairs], [b for _, b in pairs]) if pairs else float("nan")
            row["Δ vs blind"] = float(np.mean([a - b for a, b in pairs])) if pairs else None
            row["p vs blind"] = None if not math.isfinite(p) else p
            row["sig."] = significance_marker(p)
        else:
            row["Δ vs blind"], row["p vs blind"], row["sig."] = None, None, "baseline" if strategy == baseline else "–"
        rows.append(row)
    return rows


# ---------------------------------------------------------------- toy mixtures

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


def components_from_rows(rows) -> list[dict]:
    """Components (as dicts, JSON-ready) from edited rows; ``DataError`` explains what is wrong."""
    comps = []
    for i, r in enumerate(rows, 1):
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


# ---------------------------------------------------------------- registry help text

def method_help(kind: str, name: str) -> str:
    """Markdown help for a backbone or strategy from the registry: what it does and the paper."""
    reg = BACKBONES if kind == "backbone" else STRATEGIES
    cls = reg.get(name)
    text = f"**{name}** — {cls.description}  \n*Paper:* {cls.paper}"
    if cls.params:
        text += "  \n" + "  \n".join(f"`{p.name}` (default {p.default!r}): {p.help}" for p in cls.params if p.help)
    return text


def param_help(p) -> str:
    rng = ""
    if p.low is not None or p.high is not None:
        rng = f" Range [{p.low}, {p.high}]."
    return f"{p.help or p.name}. Default {p.default!r}.{rng}"


def elapsed(start: float) -> float:
    return time.perf_counter() - start
