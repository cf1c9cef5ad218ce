"""The app's settings as data: configurations ↔ query parameters (shareable links) and ↔ JSON
(downloads that load again), stable run keys and data fingerprints. No streamlit."""
from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from typing import Mapping

from adcore.experiment import ExperimentConfig


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


def data_fingerprint_of(data: bytes | str) -> str | None:
    """The fingerprint of the uploaded file a results JSON was trained on (``{"data": {"fingerprint"}}``)."""
    try:
        d = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return (d.get("data") or {}).get("fingerprint") if isinstance(d, dict) else None


def config_key(cfg: ExperimentConfig, data_fingerprint: str = "", extra: str = "") -> str:
    """A stable key of a run: the configuration JSON plus a fingerprint of uploaded data."""
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=str) + "|" + data_fingerprint + "|" + extra
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


SETTING_NAMES = {"data": "data", "data_options": "data options", "protocol": "protocol",
                 "protocol_options": "classes' roles", "alpha0": "α0", "alpha": "α", "backbone": "backbone",
                 "backbone_params": "backbone parameters", "strategies": "strategies",
                 "strategy_params": "strategy parameters", "seeds": "seeds", "epochs": "epochs",
                 "batch_size": "batch size", "lr": "learning rate", "device": "device",
                 "shortage": "if anomalies run out", "n_labeled": "labelled anomalies",
                 "labeled_ratio": "labelled ratio γ_l", "labeled_batch": "labelled anomalies per batch",
                 "oe": "outlier-exposure set", "oe_n": "outlier-exposure samples", "method": "method"}


def changed_settings(cfg: ExperimentConfig, other: ExperimentConfig, skip=()) -> list[str]:
    """Names of the settings in which two configurations differ (every field; new fields by their name)."""
    return [SETTING_NAMES.get(f.name, f.name.replace("_", " ")) for f in fields(ExperimentConfig)
            if f.name not in skip and getattr(cfg, f.name) != getattr(other, f.name)]


def settings_text(cfg: ExperimentConfig, names) -> str:
    """``α0 0.09 · backbone deepsvdd · …`` for the fields ``names``."""
    def show(v):
        return f"{v:g}" if isinstance(v, float) else "none" if v is None else str(v)
    return " · ".join(f"{SETTING_NAMES.get(n, n)} {show(getattr(cfg, n))}" for n in names)


def parse_seeds(text: str) -> list[int]:
    """The seeds of a comma-separated text box, with a message for anything else."""
    try:
        seeds = [int(s) for s in str(text).replace(" ", "").split(",") if s]
    except ValueError:
        raise ValueError(f"seeds must be whole numbers separated by commas, got {text!r}") from None
    if not seeds:
        raise ValueError("give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError("seeds must differ from each other")
    return seeds


def eta_text(done: int, total: int, seconds: float) -> str:
    """' · about N s left' from the pace so far (nothing before the first epoch or at the end)."""
    if done <= 0 or done >= total:
        return ""
    left = seconds / done * (total - done)
    return f" · about {left:.0f} s left" if left < 120 else f" · about {left / 60:.0f} min left"
