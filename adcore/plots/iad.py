"""IAD's importance weights and its hyper-parameter h over the rounds (IAD Fig. 5)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from adcore.plots.style import NORMAL, ANOMALY, LAYOUT, empty_figure


ROUND_AXIS = dict(tickformat="d", dtick=1, tick0=0)  # rounds are whole numbers

def iad_weight_figure(extra: dict, title: str = "IAD importance weights") -> go.Figure:
    """Mean and median importance weight of true normals vs true anomalies per round (IAD Fig. 5a)."""
    keys = ("iad_weight_mean_normal", "iad_weight_median_normal", "iad_weight_mean_anomaly",
            "iad_weight_median_anomaly")
    if not all(k in extra and extra[k] is not None for k in keys):
        if "iad_weights" in extra:
            return empty_figure("Weights by true label need the training labels; this data has none")
        return empty_figure("No IAD rounds recorded")
    fig = go.Figure()
    for key, color, dash, name in ((keys[0], NORMAL, "solid", "normal · mean"),
                                   (keys[1], NORMAL, "dot", "normal · median"),
                                   (keys[2], ANOMALY, "solid", "anomaly · mean"),
                                   (keys[3], ANOMALY, "dot", "anomaly · median")):
        v = np.asarray(extra[key], float)
        fig.add_trace(go.Scatter(x=np.arange(len(v)), y=v, name=name, mode="lines+markers",
                                 line=dict(color=color, dash=dash)))
    fig.update_layout(**LAYOUT, title=title, height=360, xaxis_title="round t", yaxis_title="importance weight w",
                      yaxis=dict(range=[-0.02, 1.05]), xaxis=ROUND_AXIS)
    return fig


def iad_weight_distribution(extra: dict, bins: int = 25) -> go.Figure:
    """The distribution of importance weights in each round (IAD Fig. 5b as a heatmap: a row per round,
    the share of training samples in each weight bin; it turns bimodal as rounds go on)."""
    W = extra.get("iad_weights")
    if W is None or len(W) == 0:
        return empty_figure("No IAD rounds recorded")
    W = np.asarray(W, float)
    edges = np.linspace(0, 1, bins + 1)
    share = np.stack([np.histogram(np.clip(w, 0, 1), bins=edges)[0] / max(len(w), 1) for w in W])
    fig = go.Figure(go.Heatmap(z=np.sqrt(share), x=(edges[:-1] + edges[1:]) / 2, y=np.arange(len(W)),
                               colorscale="Viridis", zmin=0, colorbar=dict(title="√share"), customdata=share,
                               hovertemplate="round %{y}<br>w ≈ %{x:.2f}<br>share %{customdata:.3f}<extra></extra>"))
    fig.update_layout(**LAYOUT, title="Distribution of importance weights per round (IAD Fig. 5b)", height=360,
                      xaxis_title="importance weight w", yaxis_title="round t", yaxis=ROUND_AXIS)
    return fig


def iad_h_figure(extra: dict) -> go.Figure:
    """h^(t) per round (IAD Eq. 15-16) with the selected round (lowest h, t ≥ 1) marked."""
    h = extra.get("iad_h")
    if h is None or len(h) == 0:
        return empty_figure("No IAD rounds recorded")
    h = np.asarray(h, float)
    sel = extra.get("iad_selected_round")
    fig = go.Figure(go.Scatter(x=np.arange(len(h)), y=h, mode="lines+markers", name="h(t)",
                               line=dict(color="#444")))
    if sel is not None and 0 <= int(sel) < len(h):
        fig.add_trace(go.Scatter(x=[int(sel)], y=[h[int(sel)]], mode="markers", name=f"selected round {int(sel)}",
                                 marker=dict(size=15, color="#e6550d", symbol="star")))
    fig.update_layout(**LAYOUT, title="Termination value h per round (lowest = returned model)", height=340,
                      xaxis_title="round t", yaxis_title="h(t): samples crossing the median rank", xaxis=ROUND_AXIS)
    return fig
