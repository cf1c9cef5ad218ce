"""Sensitivity curves and heat maps (LOE Fig. 2, 3), the leaderboard table."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from adcore.plots.dynamics import value_range
from adcore.plots.style import LAYOUT, display_name, strategy_color, empty_figure


def _mean_std(rows, keys, value):
    cells = {}
    for r in rows:
        if r.get(value) is not None:
            cells.setdefault(tuple(r[k] for k in keys), []).append(r[value])
    return {k: (float(np.mean(v)), float(np.std(v)), len(v)) for k, v in cells.items()}


def sweep_figure(rows: list[dict], x: str = "alpha0", value: str = "auroc", title: str | None = None,
                 x_title: str | None = None) -> go.Figure:
    """Lines of mean ± std ``value`` against ``x`` per strategy (LOE Fig. 2)."""
    if not rows:
        return empty_figure("No results yet")
    stats = _mean_std(rows, ("strategy", x), value)
    fig = go.Figure()
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    for i, s in enumerate(strategies):
        xs = sorted(k[1] for k in stats if k[0] == s)
        m = [stats[(s, v)][0] for v in xs]
        sd = [stats[(s, v)][1] for v in xs]
        fig.add_trace(go.Scatter(x=xs, y=m, error_y=dict(type="data", array=sd, visible=True), name=display_name(s),
                                 mode="lines+markers", line=dict(color=strategy_color(s, i))))
    x_title = x_title or {"alpha0": "true contamination α0", "alpha": "assumed α"}.get(x, x)
    fig.update_layout(**LAYOUT, title=title or f"{value.upper()} vs {x_title}", height=400, xaxis_title=x_title,
                      yaxis_title=value.upper(),
                      yaxis_range=value_range([m + d for m, d, _ in stats.values()] + [m - d for m, d, _ in stats.values()]))
    return fig


def sweep_heatmap(rows: list[dict], x: str = "alpha0", value: str = "auroc", title: str | None = None) -> go.Figure:
    """Strategy × ``x`` heatmap of mean ``value`` (the contamination sweep as a table of colours)."""
    if not rows:
        return empty_figure("No results yet")
    stats = _mean_std(rows, ("strategy", x), value)
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    xs = sorted({k[1] for k in stats})
    z = [[stats.get((s, v), (np.nan,))[0] for v in xs] for s in strategies]
    lo, hi = value_range([c for row in z for c in row], bounds=(-np.inf, np.inf))
    fig = go.Figure(go.Heatmap(z=z, x=[f"{v:g}" for v in xs], y=[display_name(s) for s in strategies],
                               colorscale="RdYlGn", zmin=lo, zmax=hi, text=[[f"{c:.3f}" for c in row] for row in z],
                               texttemplate="%{text}", colorbar=dict(title=value.upper())))
    fig.update_layout(**LAYOUT, title=title or f"mean {value.upper()}", height=120 + 45 * len(strategies),
                      xaxis_title={"alpha0": "true contamination α0"}.get(x, x), xaxis_type="category",
                      yaxis_autorange="reversed")
    return fig


def matrix_heatmaps(rows: list[dict], value: str = "auroc") -> go.Figure:
    """One α (assumed) × α0 (true) heatmap per strategy (LOE Fig. 3), sharing one colour scale."""
    if not rows:
        return empty_figure("No results yet")
    stats = _mean_std(rows, ("strategy", "alpha0", "alpha"), value)
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    a0s = sorted({k[1] for k in stats})
    alphas = sorted({k[2] for k in stats})
    lo, hi = value_range([v[0] for v in stats.values()], bounds=(-np.inf, np.inf))
    fig = make_subplots(rows=1, cols=len(strategies), subplot_titles=[display_name(s) for s in strategies],
                        horizontal_spacing=0.06)
    for i, s in enumerate(strategies):
        z = [[stats.get((s, a0, a), (np.nan,))[0] for a0 in a0s] for a in alphas]
        fig.add_trace(go.Heatmap(z=z, x=[f"{v:g}" for v in a0s], y=[f"{v:g}" for v in alphas], zmin=lo,
                                 zmax=hi, colorscale="RdYlGn", showscale=i == len(strategies) - 1,
                                 text=[[f"{c:.3f}" for c in row] for row in z], texttemplate="%{text}",
                                 colorbar=dict(title=value.upper())), row=1, col=i + 1)
        fig.update_xaxes(title_text="true α0", type="category", row=1, col=i + 1)
    fig.update_yaxes(title_text="assumed α", type="category", row=1, col=1)
    fig.update_layout(**LAYOUT, title=f"{value.upper()}: assumed α vs true α0", height=420)
    return fig


def leaderboard_figure(rows: list[dict]) -> go.Figure:
    """The leaderboard as a table figure (for the HTML download)."""
    def pm(r, name):
        m, s = r.get(f"{name} mean"), r.get(f"{name} std")
        return "–" if m is None else f"{m:.3f} ± {s:.3f}"

    cols = ["strategy", "seeds", "AUROC", "AUPRC", "F1", "fit s", "p vs blind", "sig."]
    cells = [[display_name(r["strategy"]) for r in rows], [r["seeds"] for r in rows],
             *[[pm(r, n) for r in rows] for n in ("AUROC", "AUPRC", "F1", "fit s")],
             ["–" if r.get("p vs blind") is None else f"{r['p vs blind']:.3g}" for r in rows],
             [r.get("sig.", "") for r in rows]]
    fig = go.Figure(go.Table(header=dict(values=cols, fill_color="#eef2f7", align="left"),
                             cells=dict(values=cells, align="left")))
    fig.update_layout(**LAYOUT, height=80 + 32 * len(rows))
    return fig
