"""Scatter plots of the latent space (t-SNE/UMAP coordinates)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from adcore.plots.style import NORMAL, ANOMALY, LAYOUT


def embedding_scatter(coords, color, kind: str = "label", title: str = "", note: str = "",
                      color_name: str = "", ids=None, marked=None) -> go.Figure:
    """Scatter of 2-D coordinates coloured by a label (0/1) or a continuous value (``kind='value'``).
    ``ids`` (one int per point) become the points' ``customdata``, so a selection names its points;
    ``marked`` (bool per point) outlines the labelled anomalies."""
    coords = np.asarray(coords)
    ids = np.arange(len(coords)) if ids is None else np.asarray(ids)
    fig = go.Figure()
    if kind == "value":
        v = np.asarray(color, float)
        fig.add_trace(go.Scattergl(x=coords[:, 0], y=coords[:, 1], mode="markers", name=color_name, customdata=ids,
                                   marker=dict(color=v, colorscale="Viridis", size=5, opacity=0.85,
                                               colorbar=dict(title=color_name or "value")),
                                   hovertemplate=f"{color_name} %{{marker.color:.3g}}<extra></extra>"))
    else:
        lab = np.asarray(color)
        names = {0: "normal", 1: "anomaly"} if kind == "label" else {0: "treated as normal",
                                                                      1: "latent label: anomaly"}
        for v, c in ((0, NORMAL), (1, ANOMALY)):
            m = lab == v
            fig.add_trace(go.Scattergl(x=coords[m, 0], y=coords[m, 1], mode="markers", customdata=ids[m],
                                       name=f"{names[v]} ({int(m.sum())})",
                                       marker=dict(color=c, size=5, opacity=0.8 if v else 0.55)))
    if marked is not None and np.asarray(marked).any():
        m = np.asarray(marked, bool)
        fig.add_trace(go.Scattergl(x=coords[m, 0], y=coords[m, 1], mode="markers", customdata=ids[m],
                                   name=f"of which labelled ({int(m.sum())})",
                                   marker=dict(symbol="circle-open", color="#111", size=10, line=dict(width=1.5))))
    if note:
        fig.add_annotation(text=note, showarrow=False, x=0, y=1.0, xref="paper", yref="paper", yanchor="bottom",
                           xanchor="left", font=dict(size=11, color="#666"))
    fig.update_layout(**{**LAYOUT, "margin": dict(l=20, r=20, t=70, b=20)}, title=title, height=480,
                      xaxis=dict(showticklabels=False, zeroline=False), yaxis=dict(showticklabels=False, zeroline=False))
    return fig
