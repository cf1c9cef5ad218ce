"""The app's non-UI logic in one namespace (``from adcore import app_support as sup``); pure Python + torch,
no streamlit. Each job lives in its own module:

- :mod:`adcore.app_state` — configuration ↔ query parameters (links) and ↔ JSON, run keys, fingerprints,
  the experiment state the pages share
- :mod:`adcore.run_cache` — the process-wide run store and the cache of decoded uploads
- :mod:`adcore.run_info` — training scores, thresholds, per-class AUROC of a run
- :mod:`adcore.exports` — scores CSV, metrics + config JSON, the trained model file
- :mod:`adcore.leaderboard` — the leaderboard and the paired test against Blind
- :mod:`adcore.toy_grid` — the toy playground's default run, mixture editing, the contour grid
- :mod:`adcore.split_rows` — which rows of the data a protocol trains and tests on; the largest feasible α0
"""
from __future__ import annotations

from adcore.app_state import *  # noqa: F401,F403
from adcore.exports import *  # noqa: F401,F403
from adcore.leaderboard import *  # noqa: F401,F403
from adcore.registry import BACKBONES, STRATEGIES
from adcore.run_cache import *  # noqa: F401,F403
from adcore.run_info import *  # noqa: F401,F403
from adcore.split_rows import largest_alpha0, split_rows  # noqa: F401
from adcore.toy_grid import *  # noqa: F401,F403


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
