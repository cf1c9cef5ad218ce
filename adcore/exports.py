"""What a user takes away from a run: scores CSV, metrics + config JSON, the trained model file."""
from __future__ import annotations

import io
import json
import math

import numpy as np
import torch

from adcore.experiment import ExperimentConfig, ExperimentResult
from adcore.leaderboard import leaderboard
from adcore.run_info import member_threshold


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
