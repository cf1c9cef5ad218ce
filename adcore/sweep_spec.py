"""Sweep specs: a JSON or YAML object of lists, expanded as a product into cells.

Every key is an :class:`~adcore.experiment.ExperimentConfig` field. ``strategies``
and ``seeds`` are the *members* of a cell (they train as one stacked model); any
other field given as a list is an *axis* of the product, e.g.::

    {"data": ["toy", "sklearn:breast_cancer"], "backbone": ["deepsvdd"],
     "strategies": ["blind", "loe_hard"], "alpha0": [0.05, 0.1], "seeds": [0, 1], "epochs": 20}

is 2 data sets × 1 backbone × 2 α0 = 4 cells of 2 strategies × 2 seeds = 16 member results.
A ``data`` entry that is a folder stands for its ``.npz``/``.csv``/``.mat`` files. Fields
whose value is a dict (``backbone_params``, ``data_options``, …) sweep over a list of dicts.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, fields
from pathlib import Path

from adcore.data.toy import TOY_TRAINING
from adcore.experiment import ExperimentConfig
from adcore.store import cell_key, file_fingerprint

MEMBER_FIELDS = ("strategies", "seeds")
DATA_SUFFIXES = (".npz", ".csv", ".mat")
_FIELDS = {f.name for f in fields(ExperimentConfig)}


@dataclass
class Cell:
    """One stacked fit of a sweep: its configuration, store key and data fingerprint."""

    config: ExperimentConfig
    key: str
    fingerprint: str = ""
    dataset: object = None  # a Dataset already in memory (e.g. an upload); None: load config.data

    @property
    def n_members(self) -> int:
        return len(self.config.strategies) * len(self.config.seeds)

    def label(self) -> str:
        c = self.config
        a0 = "natural" if c.alpha0 is None else f"{c.alpha0:g}"
        return f"{c.data} · {c.backbone} · α0={a0}"


def load_spec(path: str | Path) -> dict:
    """Read a spec file (``.json``, or ``.yaml``/``.yml``)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ValueError(f"cannot read the sweep spec {path}: {err.strerror}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"{path}: not valid YAML: {err}") from None
    else:
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: a sweep spec is an object of configuration fields")
    return spec


def data_files(folder: str | Path) -> list[str]:
    """The data files of a folder, sorted (what a folder in ``data`` stands for)."""
    files = sorted(str(p) for p in Path(folder).iterdir() if p.suffix.lower() in DATA_SUFFIXES)
    if not files:
        raise ValueError(f"the folder {folder} holds no {'/'.join(DATA_SUFFIXES)} files")
    return files


def _data_list(values) -> list[str]:
    out = []
    for v in values:
        out += data_files(v) if Path(str(v)).is_dir() else [str(v)]
    return out


def data_fingerprint(data: str) -> str:
    """Files are fingerprinted by content; named sets (toy, sklearn:…) by their name alone."""
    path = Path(data)
    return file_fingerprint(path) if path.suffix.lower() in DATA_SUFFIXES and path.is_file() else ""


def defaults_for(data: str) -> dict:
    """The CLI's defaults: the LOE toy settings and the RBF Deep SVDD on the toy data, Deep SVDD elsewhere."""
    return {**TOY_TRAINING, "backbone": "deepsvdd_rbf"} if data == "toy" else {"backbone": "deepsvdd"}


def expand(spec: dict) -> list[Cell]:
    """The cells of ``spec``, in product order (axes in the order the spec gives them); each is validated."""
    unknown = set(spec) - _FIELDS
    if unknown:
        raise ValueError(f"unknown sweep fields {sorted(unknown)}; use ExperimentConfig's fields")
    spec = dict(spec)
    for name in MEMBER_FIELDS:
        if name in spec and not isinstance(spec[name], list):
            spec[name] = list(range(spec[name])) if name == "seeds" and isinstance(spec[name], int) else [spec[name]]
    if "data" in spec:
        spec["data"] = _data_list(spec["data"] if isinstance(spec["data"], list) else [spec["data"]])
    axes = [k for k, v in spec.items() if k not in MEMBER_FIELDS and isinstance(v, list)]
    for k in axes:
        if not spec[k]:
            raise ValueError(f"sweep field {k!r} is an empty list")
    fixed = {k: v for k, v in spec.items() if k not in axes}
    cells, prints = [], {}
    for values in itertools.product(*(spec[k] for k in axes)):
        d = {**fixed, **dict(zip(axes, values))}
        d = {**defaults_for(d.get("data", "toy")), **d}
        cfg = ExperimentConfig.from_dict(d)
        try:
            cfg.validate()
        except ValueError as err:
            raise ValueError(f"cell {dict(zip(axes, values))}: {err}") from None
        if cfg.data not in prints:
            prints[cfg.data] = data_fingerprint(cfg.data)
        cells.append(Cell(cfg, cell_key(cfg.to_dict(), prints[cfg.data]), prints[cfg.data]))
    keys = [c.key for c in cells]
    if len(set(keys)) != len(keys):
        raise ValueError("the spec repeats a cell (the same configuration twice)")
    return cells
