"""Registry of backbones and strategies, with their parameters.

Each backbone or strategy is a class in its own module under ``adcore/backbones``
or ``adcore/strategies`` that declares ``name``, ``description``, ``paper`` and a
tuple of :class:`Param`. The packages import every module they contain, so a new
method is one new file. The app builds its widgets and help text from here.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any


MAX_WIDTH = 4096  # units or channels of one layer (a tuple parameter), so that a setting cannot ask for GBs
MAX_LAYERS = 16


@dataclass(frozen=True)
class Param:
    """One tunable parameter: its default, type, valid range or choices, and help."""

    name: str
    default: Any
    type: type = float
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    help: str = ""

    def validate(self, value):
        """Return ``value`` converted to this parameter's type, or raise ``ValueError``."""
        if value is None and self.default is None:
            return None
        if self.type is tuple:  # layer sizes / channel counts: whole numbers 1 … MAX_WIDTH
            items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) \
                else [value]
            try:
                value = tuple(None if isinstance(v, bool) or float(v) != int(float(v)) else int(float(v))
                              for v in items if str(v).strip())
            except (TypeError, ValueError, OverflowError):
                value = (None,)
            if None in value or any(not 1 <= v <= MAX_WIDTH for v in value) or len(value) > MAX_LAYERS:
                raise ValueError(f"parameter {self.name!r} must be up to {MAX_LAYERS} whole numbers from 1 to "
                                 f"{MAX_WIDTH} (layer sizes, e.g. 64,32); got {items!r}")
        elif self.type is bool and isinstance(value, str):
            value = value.lower() in ("1", "true", "yes", "on")
        else:
            try:
                value = self.type(value)
            except (TypeError, ValueError):
                raise ValueError(f"parameter {self.name!r} must be {self.type.__name__}, got {value!r}") from None
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"parameter {self.name!r} must be one of {list(self.choices)}, got {value!r}")
        if self.low is not None and value < self.low or self.high is not None and value > self.high:
            raise ValueError(f"parameter {self.name!r} must lie in [{self.low}, {self.high}], got {value!r}")
        return value

    def to_dict(self) -> dict:
        return {"name": self.name, "default": self.default, "type": self.type.__name__,
                "low": self.low, "high": self.high,
                "choices": list(self.choices) if self.choices else None, "help": self.help}


@dataclass
class Registry:
    """Name → class map for one kind of component (backbone or strategy)."""

    kind: str
    package: str
    entries: dict[str, type] = field(default_factory=dict)
    _loaded: bool = False

    def register(self, cls):
        """Class decorator: add ``cls`` under ``cls.name``."""
        if cls.name in self.entries and self.entries[cls.name] is not cls:
            raise ValueError(f"{self.kind} {cls.name!r} is registered twice")
        self.entries[cls.name] = cls
        return cls

    def _load(self):
        if not self._loaded:
            pkg = importlib.import_module(self.package)
            for mod in pkgutil.iter_modules(pkg.__path__):
                if not mod.name.startswith("_"):
                    importlib.import_module(f"{self.package}.{mod.name}")
            self._loaded = True

    def names(self) -> list[str]:
        self._load()
        return list(self.entries)

    def get(self, name: str) -> type:
        self._load()
        if name not in self.entries:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of {sorted(self.entries)}")
        return self.entries[name]

    def resolve_params(self, name: str, given: dict | None) -> dict:
        """Defaults of ``name`` updated with ``given``, each value validated."""
        cls = self.get(name)
        spec = {p.name: p for p in cls.params}
        unknown = set(given or {}) - set(spec)
        if unknown:
            raise ValueError(f"{self.kind} {name!r} has no parameter(s) {sorted(unknown)}; "
                             f"it takes {sorted(spec) or 'none'}")
        out = {p.name: p.default for p in cls.params}
        for key, value in (given or {}).items():
            out[key] = spec[key].validate(value)
        return out

    def describe(self) -> list[dict]:
        """One dict per entry: name, description, paper reference and parameters."""
        self._load()
        return [{"name": c.name, "description": c.description, "paper": c.paper,
                 "params": [p.to_dict() for p in c.params],
                 **{k: getattr(c, k) for k in ("data_kinds", "needs_labels") if hasattr(c, k)}}
                for c in self.entries.values()]


BACKBONES = Registry("backbone", "adcore.backbones")
STRATEGIES = Registry("strategy", "adcore.strategies")
