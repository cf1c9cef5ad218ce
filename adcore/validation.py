"""Validation at the edge: configuration values, devices, and the text users see for any failure.

Every bad setting raises :class:`ConfigError` (a ``ValueError``) naming the
field, so that the CLI can name the flag and the app the widget; a training
run that diverges raises :class:`TrainingDiverged` carrying what was trained.
"""
from __future__ import annotations

import math

MAX_SEED = 2**31 - 1
MAX_EPOCHS = 100_000
MAX_BATCH = 10_000_000
MAX_LR = 10.0
SHORTAGE = ("error", "reduce_normals", "lower_alpha0")
DEVICE_TYPES = ("cpu", "cuda", "mps")


class ConfigError(ValueError):
    """A configuration value is impossible; ``field`` names the setting (e.g. ``"lr"``)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


class TrainingDiverged(ValueError):
    """The training loss became NaN or infinite. ``result`` holds the weights of the last
    finite epoch and the history up to it (a :class:`~adcore.trainer.TrainResult`)."""

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _coerce(value, kind: str):
    """``value`` as ``kind`` (an annotation name), or raise ``TypeError``."""
    if kind == "None" and value is None:
        return None
    if kind == "int":
        if _is_int(value):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind == "float" and _is_number(value):
        return float(value)
    elif kind == "str" and isinstance(value, str):
        return value
    elif kind == "bool" and isinstance(value, bool):
        return value
    elif kind == "dict" and isinstance(value, dict):
        return value
    elif kind == "list" and isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError(kind)


WORDS = {"int": "a whole number", "float": "a number", "str": "text", "bool": "true or false",
         "dict": "an object of settings ({...})", "list": "a list ([...])", "None": "null"}


def check_fields(cls, d) -> dict:
    """``d`` with each value checked against (and, for whole floats, coerced to) the type that
    the dataclass ``cls`` declares for it; a :class:`ConfigError` naming the field otherwise."""
    if not isinstance(d, dict):
        raise ConfigError("config", f"a configuration must be a JSON object of settings; got {type(d).__name__}")
    fields = cls.__dataclass_fields__
    unknown = sorted(set(d) - set(fields), key=str)
    if unknown:
        raise ValueError(f"unknown configuration keys {unknown}")
    out = {}
    for name, value in d.items():
        ann = fields[name].type if isinstance(fields[name].type, str) else getattr(fields[name].type, "__name__", "")
        kinds = [k.strip() for k in ann.split("|")]
        if not set(kinds) <= set(WORDS):  # a type this check does not know: left to validate()
            out[name] = value
            continue
        for kind in kinds:
            try:
                out[name] = _coerce(value, kind)
                break
            except TypeError:
                continue
        else:
            want = " or ".join(WORDS[k] for k in kinds)
            raise ConfigError(name, f"must be {want}; got {value!r}")
    for name, kind in (("strategies", str), ("seeds", int)):
        for v in out.get(name, []):
            if not (isinstance(v, kind) and not isinstance(v, bool)) and not (
                    kind is int and isinstance(v, float) and v.is_integer()):
                raise ConfigError(name, f"must be a list of {'names' if kind is str else 'whole numbers'}; "
                                        f"got {v!r} in {out[name]!r}")
    if "seeds" in out:
        out["seeds"] = [int(s) for s in out["seeds"]]
    return out


def _finite(cfg, name: str, low=None, high=None, low_open: bool = False, high_open: bool = False,
            optional: bool = False) -> None:
    v = getattr(cfg, name)
    if v is None and optional:
        return
    if not _is_number(v) or not math.isfinite(v):
        raise ConfigError(name, f"must be a finite number; got {v!r}")
    if low is not None and (v < low or low_open and v == low) or high is not None and (v > high or high_open and v == high):
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ConfigError(name, f"must lie in {lo or '(-inf'}, {hi or 'inf)'}; got {v:g}")


def _whole(cfg, name: str, low: int, high: int | None = None, optional: bool = False) -> None:
    v = getattr(cfg, name)
    if v is None and optional:
        return
    if not _is_int(v):
        raise ConfigError(name, f"must be a whole number; got {v!r}")
    if v < low or high is not None and v > high:
        raise ConfigError(name, f"must be from {low} to {high}; got {v}" if high is not None else
                          f"must be at least {low}; got {v}")


def check_device(device) -> None:
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; availability is checked when training starts."""
    text = str(device)
    kind, _, index = text.partition(":")
    if text != "auto" and (kind not in DEVICE_TYPES or index and not (kind == "cuda" and index.isdigit())):
        raise ConfigError("device", f"unknown device {text!r}; use auto, cpu, cuda, cuda:N or mps")


def check_config(cfg) -> None:
    """Ranges of the numeric settings of an ``ExperimentConfig``, each error naming its field."""
    _finite(cfg, "alpha0", 0, 1, high_open=True, optional=True)
    _finite(cfg, "alpha", 0, 1, high_open=True, optional=True)
    _finite(cfg, "lr", 0, MAX_LR, low_open=True)
    _finite(cfg, "weight_decay", 0)
    _finite(cfg, "train_normal_frac", 0, 1, low_open=True, high_open=True)
    _whole(cfg, "epochs", 1, MAX_EPOCHS)
    _whole(cfg, "batch_size", 2, MAX_BATCH, optional=True)
    _whole(cfg, "warmup", 0)
    _whole(cfg, "n_labeled", 0)
    _whole(cfg, "test_every", 0)
    _whole(cfg, "record_every", 1, MAX_EPOCHS, optional=True)
    if not isinstance(cfg.seeds, list) or not cfg.seeds:
        raise ConfigError("seeds", "give at least one seed")
    for s in cfg.seeds:
        if not _is_int(s) or not 0 <= s <= MAX_SEED:
            raise ConfigError("seeds", f"each seed must be a whole number from 0 to {MAX_SEED}; got {s!r}")
    if len(set(cfg.seeds)) != len(cfg.seeds):
        raise ConfigError("seeds", f"the seeds must differ from each other; got {cfg.seeds}")
    if not isinstance(cfg.strategies, list) or not all(isinstance(s, str) for s in cfg.strategies):
        raise ConfigError("strategies", f"must be a list of strategy names; got {cfg.strategies!r}")
    if len(set(cfg.strategies)) != len(cfg.strategies):
        raise ConfigError("strategies", f"each strategy may appear once; got {cfg.strategies}")
    check_device(cfg.device)
    if cfg.threads != "auto" and not (_is_int(cfg.threads) and 1 <= cfg.threads <= 1024):
        raise ConfigError("threads", f"must be 'auto' or a whole number from 1 to 1024; got {cfg.threads!r}")
    from adcore.trainer import PRECISIONS

    if cfg.precision not in PRECISIONS:
        raise ConfigError("precision", f"must be 'float32' or 'bfloat16'; got {cfg.precision!r}")
    if cfg.shortage not in SHORTAGE:
        raise ConfigError("shortage", f"must be one of {list(SHORTAGE)}; got {cfg.shortage!r}")
    from adcore.data.protocols import PROTOCOLS

    if cfg.protocol is not None and cfg.protocol not in PROTOCOLS:
        raise ConfigError("protocol", f"unknown protocol {cfg.protocol!r}; choose one of {list(PROTOCOLS)}")
    for name in ("data_options", "protocol_options", "backbone_params", "strategy_params"):
        if not isinstance(getattr(cfg, name), dict):
            raise ConfigError(name, f"must be an object of settings; got {getattr(cfg, name)!r}")
    for s, params in cfg.strategy_params.items():
        if not isinstance(params, dict):
            raise ConfigError("strategy_params", f"must map each strategy name to an object of its parameters, "
                                                 f"e.g. {{\"iad\": {{\"rounds\": 3}}}}; got {s!r}: {params!r}")


def diverged_text(config, members, epoch: int, bad: list[int]) -> str:
    """The hint for a run whose loss became NaN or infinite at ``epoch`` in members ``bad``."""
    who = ", ".join(f"{members[k].strategy} (seed {members[k].seed})" for k in bad[:4]) + (" …" if len(bad) > 4 else "")
    kept = f"the weights and history of the {epoch} finite epoch(s) before are kept" if epoch else \
        "nothing was trained yet"
    return (f"training diverged at epoch {epoch + 1} of {config.epochs}: the loss of {who} became NaN or infinite. "
            f"The learning rate {config.lr:g} is probably too high: try {config.lr / 10:g} or lower "
            f"(or standardise the features); {kept}.")


def error_text(err: BaseException, details: str = "the details are in the server log") -> str:
    """The message a user sees for ``err``: the text of our own errors, a hint for running out of
    memory, and for anything else its type and first line, then ``details`` (where the traceback is)."""
    import torch

    if isinstance(err, (MemoryError, torch.OutOfMemoryError)):
        return ("ran out of memory: the data or the model is too large for this machine. Use fewer samples, "
                "features or seeds, a smaller batch size or smaller images.")
    if isinstance(err, ValueError):  # DataError, ConfigError and the engine's own checks
        return str(err)
    first = (str(err).strip().splitlines() or [""])[0][:300]
    return f"unexpected {type(err).__name__}{': ' + first if first else ''}" + (f" ({details})" if details else "")
