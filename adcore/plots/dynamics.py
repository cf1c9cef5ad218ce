"""Training dynamics: losses per epoch and the pseudo-labels' precision and recall."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from adcore.plots.style import LAYOUT, strategy_color, legend_label, empty_figure


def loss_figure(result, members: list[int] | None = None) -> go.Figure:
    """The weighted training objective per epoch, and the mean L_n / L_a of the epoch's mini-batches."""
    members = list(range(len(result.members))) if members is None else members
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training objective (mean over batches)",
                                                        "mean L_n (solid) and L_a (dotted) of the batches"))
    for i, k in enumerate(members):
        h = result.history(k)
        color, name = strategy_color(result.members[k].strategy, i), legend_label(result, k)
        ep = np.arange(1, h.n_epochs + 1)
        fig.add_trace(go.Scatter(x=ep, y=h.loss_total[:, 0], name=name, legendgroup=name, line=dict(color=color)),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=ep, y=h.loss_normal[:, 0], name=name, legendgroup=name, showlegend=False,
                                 line=dict(color=color)), row=1, col=2)
        fig.add_trace(go.Scatter(x=ep, y=h.loss_anomaly[:, 0], name=name, legendgroup=name, showlegend=False,
                                 line=dict(color=color, dash="dot")), row=1, col=2)
    for col in (1, 2):
        ys = np.concatenate([np.asarray(t.y, float) for t in fig.data if t.xaxis == ("x" if col == 1 else "x2")])
        fig.update_yaxes(type="log", row=1, col=col, **log_ticks(ys))
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(**LAYOUT, height=380)
    return fig


def log_ticks(values, most: int = 7) -> dict:
    """Tick values and labels of a log axis as whole numbers (0.02, 0.05, 0.1 …), never plotly's bare digits."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) == 0:
        return {}
    lo, hi = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
    for mantissas in ((1,), (1, 2, 5), (1, 2, 3, 5, 7), tuple(range(1, 10))):
        ticks = [m * 10.0**e for e in range(lo, hi + 1) for m in mantissas if v.min() <= m * 10.0**e <= v.max()]
        if len(ticks) >= 3 or mantissas[-1] == 9:
            break
    if len(ticks) > most:
        ticks = ticks[:: math.ceil(len(ticks) / most)]
    if len(ticks) < 2:
        ticks = [float(v.min()), float(v.max())]
    return {"tickvals": ticks, "ticktext": [f"{t:.3g}" for t in ticks]}


def value_range(values, least: float = 0.05, bounds=(0.0, 1.0)) -> list[float]:
    """An axis range spanning at least ``least`` (so 0.9972 vs 0.9973 does not look like a steep drop)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if len(v) == 0:
        return list(bounds)
    lo, hi = float(v.min()), float(v.max())
    pad = max(least - (hi - lo), 0.0) / 2 + 0.1 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    if hi > bounds[1]:
        lo, hi = lo - (hi - bounds[1]), bounds[1]
    if lo < bounds[0]:
        lo, hi = bounds[0], min(bounds[1], hi + (bounds[0] - lo))
    return [lo, hi]


def pseudo_label_figure(result, members: list[int] | None = None) -> go.Figure:
    """Per epoch, precision and recall of the training samples a strategy flags as anomalies."""
    members = list(range(len(result.members))) if members is None else members
    fig = make_subplots(rows=1, cols=2, subplot_titles=("precision of latent anomaly labels",
                                                        "recall of latent anomaly labels"), shared_yaxes=True)
    drawn = 0
    for i, k in enumerate(members):
        h = result.history(k)
        if np.all(np.isnan(h.precision)) and np.all(np.isnan(h.recall)):
            continue
        drawn += 1
        color, name = strategy_color(result.members[k].strategy, i), legend_label(result, k)
        ep = np.arange(1, h.n_epochs + 1)
        for col, arr in ((1, h.precision), (2, h.recall)):
            fig.add_trace(go.Scatter(x=ep, y=arr[:, 0], name=name, legendgroup=name, showlegend=col == 1,
                                     line=dict(color=color), connectgaps=False), row=1, col=col)
    if not drawn:
        return empty_figure("No latent labels to evaluate: needs true training labels and a strategy that flags samples")
    fig.update_yaxes(range=[0, 1.02])
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(**LAYOUT, height=360)
    return fig
