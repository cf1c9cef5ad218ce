"""ROC curves and test-score histograms."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from adcore.metrics import roc_points
from adcore.plots.style import NORMAL, ANOMALY, PALETTE, LAYOUT, strategy_color, legend_label, empty_figure


def roc_figure(curves: list[dict], title: str = "ROC curves (test set)") -> go.Figure:
    """Overlaid ROC curves; each curve: ``name``, ``y``, ``scores`` (and optional ``color``)."""
    from sklearn.metrics import roc_auc_score

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="#aaa"),
                             name="chance", hoverinfo="skip"))
    for i, c in enumerate(curves):
        y, s = np.asarray(c["y"]), np.asarray(c["scores"])
        if y.min() == y.max():
            continue
        pts = roc_points(y, s)
        auc = roc_auc_score(y, s)
        fig.add_trace(go.Scatter(x=pts["fpr"], y=pts["tpr"], mode="lines", name=f"{c['name']} (AUROC {auc:.3f})",
                                 line=dict(width=2, color=c.get("color", PALETTE[i % len(PALETTE)])),
                                 hovertemplate="FPR %{x:.3f}<br>TPR %{y:.3f}<extra>" + c["name"] + "</extra>"))
    fig.update_layout(**LAYOUT, title=title, height=420, xaxis_title="false positive rate",
                      yaxis_title="true positive rate", legend=dict(x=0.98, xanchor="right", y=0.02, yanchor="bottom"))
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.01])
    return fig


def result_roc(result, members: list[int] | None = None) -> go.Figure:
    members = list(range(len(result.members))) if members is None else members
    curves = [{"name": legend_label(result, k), "y": result.split_of(k).test.y, "scores": result.test_scores[k],
               "color": strategy_color(result.members[k].strategy, k)}
              for k in members if result.test_scores[k] is not None and result.split_of(k).test.y is not None]
    if not curves:
        return empty_figure("No ROC curve: the test data has no labels")
    return roc_figure(curves)


def score_histogram(scores, y=None, threshold: float | None = None, title: str = "Test scores",
                    log_scale: bool = False, bins: int = 40) -> go.Figure:
    """Histogram of scores, split by true label when ``y`` is given, with the threshold as a line."""
    s = np.asarray(scores, dtype=float)
    if log_scale:
        s = np.log10(np.maximum(s, 1e-12))
        threshold = None if threshold is None else math.log10(max(threshold, 1e-12))
    edges = np.histogram_bin_edges(s[np.isfinite(s)], bins=bins)
    fig = go.Figure()
    groups = [("all samples", "#7f7f7f", np.ones(len(s), bool))] if y is None else [
        ("true normal", NORMAL, np.asarray(y) == 0), ("true anomaly", ANOMALY, np.asarray(y) == 1)]
    for name, color, mask in groups:
        fig.add_trace(go.Histogram(x=s[mask], name=f"{name} ({int(mask.sum())})", marker_color=color, opacity=0.65,
                                   xbins=dict(start=edges[0], end=edges[-1], size=edges[1] - edges[0])))
    if threshold is not None and np.isfinite(threshold):
        fig.add_vline(x=threshold, line=dict(color="#e6550d", width=2, dash="dash"),
                      annotation_text="threshold", annotation_position="top")
    fig.update_layout(**LAYOUT, barmode="overlay", title=title, height=360,
                      xaxis_title="log10 anomaly score" if log_scale else "anomaly score", yaxis_title="count",
                      legend=dict(x=0.98, xanchor="right", y=0.98))
    return fig
