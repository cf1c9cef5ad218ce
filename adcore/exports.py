"""What a user takes away from a run: scores CSV, metrics + config JSON, the trained model file."""
from __future__ import annotations

import io
import json
import math

import numpy as np
import torch

from adcore.experiment import ExperimentConfig, ExperimentResult
from adcore.leaderboard import leaderboard
from adcore.data.image_protocols import class_labels
from adcore.run_info import member_threshold, run_memo
from adcore.split_rows import split_rows


def scores_frame(result: ExperimentResult):
    """Tidy scores, one row per (model, row of the data): the data's own row number (``row``, 0 = the first data
    row of the file), which set the protocol put it in (``split``: train, test, train+test, unused), its label
    under the protocol, the score, the threshold and the decision — so it joins back to the user's rows.
    Toy mixtures draw their points, so there ``sample`` numbers the test draw."""
    import pandas as pd

    ds = data_of(result)
    parts = []
    for k, m in enumerate(result.members):
        if result.test_scores[k] is None:
            continue
        t = member_threshold(result, k)
        if ds.sampler is not None:
            s, y = result.test_scores[k], result.split_of(k).test.y
            frame = {"sample": np.arange(len(s)), "split": "test", "y_true": y if y is not None else -1}
        else:
            rows = _row_table(result, ds, m.seed)
            s = _all_row_scores(result, ds, m.seed)[k]
            frame = {"row": np.arange(len(ds)), "split": rows["split"], "y_true": rows["y_true"]}
            if ds.classes is not None:
                frame["class"] = class_labels(ds, ds.classes.tolist())
        parts.append(pd.DataFrame({"strategy": m.strategy, "seed": m.seed, "alpha": m.alpha, **frame, "score": s,
                                   "threshold": t, "predicted_anomaly": (s > t).astype(int)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def data_of(result: ExperimentResult):
    """The dataset a run was trained on (kept by the run store; else loaded again from the config)."""
    from adcore.data import load

    ds = getattr(result, "dataset", None)
    return ds if ds is not None else load(result.config.data, **result.config.data_options)


def _row_table(result, ds, seed: int) -> dict:
    """Per data row: the set it is in under ``seed``'s split and its label there (else the data's; -1 unknown)."""
    train, test = split_rows(ds, result.config, seed)
    split = result.splits[result.config.seeds.index(seed)]
    where = np.full(len(ds), "unused", dtype=object)
    y = np.full(len(ds), -1) if ds.y is None else ds.y.copy()
    for rows, part, name in ((train, split.train, "train"), (test, split.test, "test")):
        real = rows >= 0
        where[rows[real]] = np.where(where[rows[real]] == "unused", name, where[rows[real]] + "+" + name)
        if part.y is not None:
            y[rows[real]] = part.y[real]
    return {"split": where, "y_true": y}


def _all_row_scores(result, ds, seed: int) -> dict:
    """{member: scores of every row of ``ds``} for the members trained with ``seed`` (its split's scaling)."""
    def compute():
        split = result.splits[result.config.seeds.index(seed)]
        X = ds.X if split.scaler is None else ((ds.X - split.scaler[0]) / split.scaler[1]).astype(np.float32)
        out = {}
        for res, idx in result.train_results:
            mine = [(j, k) for j, k in enumerate(idx) if result.members[k].seed == seed]
            if mine:
                scores = res.score(X)
                out.update({k: scores[j] for j, k in mine})
        return out

    return run_memo(result, ("row_scores", seed), compute)


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
    fp = getattr(result, "data_fingerprint", "")
    if fp:  # an upload: the file's name alone does not say which file (or where it is)
        ds = data_of(result)
        d["data"] = {"file": result.config.data, "fingerprint": fp, "rows": len(ds),
                     "how to rerun": f"python -m adcore run --config THIS.json --data path/to/{result.config.data}"}
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
            keys = model.load_state_dict({n: t.unsqueeze(0) for n, t in state.items()}, strict=False)
            if keys.missing_keys or keys.unexpected_keys:  # an edited or foreign file: never an untrained model
                raise ValueError(f"the model file does not match backbone {payload['backbone']!r}: missing "
                                 f"{keys.missing_keys[:3]}, unexpected {keys.unexpected_keys[:3]}")
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
    try:
        return LoadedModel(payload)
    except (KeyError, TypeError, AttributeError, RuntimeError, IndexError) as err:  # a damaged or edited file
        raise ValueError(f"a damaged AD Lab model file ({type(err).__name__}: {str(err).splitlines()[0][:200]})") from None


def report_html(title: str, table, figures) -> bytes:
    """A self-contained HTML page: a title, a table (a DataFrame, every row) and plotly figures."""
    from html import escape

    body = "".join(f.to_html(include_plotlyjs=i == 0, full_html=False) for i, f in enumerate(figures))
    style = ("body{font-family:Helvetica,Arial,sans-serif;margin:24px}table{border-collapse:collapse}"
             "th,td{border:1px solid #ccd;padding:4px 10px;text-align:left}th{background:#eef2f7}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>{style}</style>"
            f"</head><body><h2>{escape(title)}</h2>{table.to_html(index=False, border=0)}{body}</body></html>").encode()
