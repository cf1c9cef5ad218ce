"""Score contours of the toy runs (LOE Fig. 1): one panel per model, one shared colour scale."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from adcore.plots.style import NORMAL, ANOMALY, FLAG, CONTOUR_SCALE, LAYOUT, layout_template, legend_label, empty_figure


ROW_HEIGHT = {1: 520, 2: 440, 3: 340, 4: 280}  # px per row of contour_grid by columns (240 for 5 and more)


def contour_grid_height(n: int, cols: int = 5, height_per_row: int | None = None) -> int:
    """Pixel height of :func:`contour_grid` with ``n`` panels."""
    cols = max(min(cols, n), 1)
    return (height_per_row or ROW_HEIGHT.get(cols, 240)) * math.ceil(n / cols) + 110


def contour_grid(panels: list[dict], xs, ys, *, cols: int = 5, log_scale: bool = True, title: str | None = None,
                 show_flags: bool = True, height_per_row: int | None = None) -> go.Figure:
    """Side-by-side anomaly-score contour plots, one per panel (LOE Fig. 1 (a)-(e)).

    Each panel is a dict with ``title``, ``z`` (grid scores, len(xs)·len(ys), row-major over ys),
    ``X`` (training points (n, 2)), ``y`` (true labels or None), ``flags`` (bool latent labels
    or None) and ``threshold`` (decision boundary score, drawn as a bold line).
    The figure is assembled from plain dicts without plotly's validation (14× faster; the
    epoch replay redraws it on every step).
    """
    n = len(panels)
    if n == 0:
        return empty_figure("choose at least one strategy")
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    height_per_row = height_per_row or ROW_HEIGHT.get(cols, 240)
    gap_x, gap_y = 0.02, 80 / (height_per_row * rows + 110) if rows > 1 else 0.0  # ~80 px for colour bar + title
    w = (1 - gap_x * (cols - 1)) / cols
    h = (1 - gap_y * (rows - 1)) / rows
    tf = (lambda v: np.log10(np.maximum(v, 1e-12))) if log_scale else (lambda v: v)  # noqa: E731
    xs32, ys32 = np.asarray(xs, np.float32), np.asarray(ys, np.float32)
    data, layout, notes = [], {}, []
    for i, p in enumerate(panels):
        r, c = i // cols, i % cols
        ax = "" if i == 0 else str(i + 1)
        x0, y1 = c * (w + gap_x), 1 - r * (h + gap_y)
        layout[f"xaxis{ax}"] = dict(domain=[x0, x0 + w], anchor=f"y{ax}", range=[float(xs[0]), float(xs[-1])],
                                    showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
        layout[f"yaxis{ax}"] = dict(domain=[y1 - h, y1], anchor=f"x{ax}", range=[float(ys[0]), float(ys[-1])],
                                    showticklabels=False, showgrid=False, zeroline=False, constrain="domain",
                                    scaleanchor=f"x{ax}", scaleratio=1)
        notes.append(dict(text=p["title"], x=x0 + w / 2, y=y1, xref="paper", yref="paper", xanchor="center",
                          yanchor="bottom", showarrow=False, font=dict(size=15)))
        on = dict(xaxis=f"x{ax}", yaxis=f"y{ax}")
        z = tf(np.asarray(p["z"], dtype=np.float64)).reshape(len(ys), len(xs)).astype(np.float32)
        lo, hi = float(np.nanpercentile(z, 1)), float(np.nanpercentile(z, 99))
        hi = hi if hi > lo else lo + 1.0
        bar = dict(orientation="h", x=x0 + w / 2, xanchor="center", y=y1 - h - 0.01, yanchor="top", len=w * 0.8,
                   thickness=7, nticks=4, tickfont=dict(size=9), outlinewidth=0,
                   title=dict(text="log10 score" if log_scale else "score", side="right", font=dict(size=9)))
        data.append(dict(type="contour", x=xs32, y=ys32, z=z, zmin=lo, zmax=hi, ncontours=14,
                         colorscale=CONTOUR_SCALE, showscale=True, colorbar=bar, hoverinfo="skip", name="score",
                         line=dict(width=0.7, color="rgba(30,60,110,0.55)"), contours=dict(coloring="heatmap"), **on))
        if p.get("threshold") is not None and np.isfinite(p["threshold"]):
            t = float(tf(np.asarray(p["threshold"], dtype=float)))
            data.append(dict(type="contour", x=xs32, y=ys32, z=z, showscale=False, hoverinfo="skip",
                             contours=dict(coloring="lines", start=t, end=t, size=1.0), name="decision boundary",
                             line=dict(width=2.6, color="#e6550d"), colorscale=[[0, "#e6550d"], [1, "#e6550d"]],
                             showlegend=False, **on))
        X = np.asarray(p["X"], dtype=np.float32)
        y = p.get("y")
        groups = [("normal", NORMAL, "circle", np.ones(len(X), bool))] if y is None else [
            ("true normal", NORMAL, "circle", np.asarray(y) == 0), ("true anomaly", ANOMALY, "diamond", np.asarray(y) == 1)]
        for name, color, symbol, mask in groups:
            data.append(dict(type="scatter", x=X[mask, 0], y=X[mask, 1], mode="markers", name=name, legendgroup=name,
                             showlegend=i == 0, marker=dict(color=color, size=6, symbol=symbol,
                                                            line=dict(width=0.5, color="white")),
                             hovertemplate=f"{name}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>", **on))
        flags = p.get("flags")
        if show_flags and flags is not None and np.any(flags):
            f = np.asarray(flags, bool)
            data.append(dict(type="scatter", x=X[f, 0], y=X[f, 1], mode="markers", name="latent label: anomaly",
                             legendgroup="flag", showlegend=i == 0, hoverinfo="skip",
                             marker=dict(size=13, symbol="circle-open", color=FLAG, line=dict(width=1.6)), **on))
    if any(p.get("threshold") is not None and np.isfinite(p["threshold"]) for p in panels):
        # one legend entry for the boundary (a contour trace cannot carry a line legend symbol); none when α = 0
        data.append(dict(type="scatter", x=[None], y=[None], mode="lines", name="decision boundary (1−α quantile)",
                         line=dict(color="#e6550d", width=2.6), xaxis="x", yaxis="y"))
    layout.update(LAYOUT, template=layout_template(), margin=dict(l=10, r=10, t=70 if title else 40, b=10), annotations=notes,
                  height=contour_grid_height(n, cols, height_per_row), title=dict(text=title) if title else None,
                  legend=dict(orientation="h", yanchor="top", y=-0.09 if rows == 1 else -0.05, x=0.5,
                              xanchor="center"))
    return go.Figure(data=data, layout=layout, _validate=False)


def toy_contours(result, grid, epoch_pos: int = -1, members: list[int] | None = None, **kw) -> go.Figure:
    """:func:`contour_grid` of a run trained with ``eval_sets={"grid": grid[2]}`` at recorded epoch
    ``epoch_pos`` (an index into ``History.recorded_epochs``; -1: the last)."""
    return contour_grid(toy_panels(result, epoch_pos, members), grid[0], grid[1], **kw)


def toy_panels(result, epoch_pos: int = -1, members: list[int] | None = None) -> list[dict]:
    """The :func:`contour_grid` panels of a run trained with a ``grid`` eval set, at recorded epoch ``epoch_pos``."""
    members = list(range(len(result.members))) if members is None else members
    panels = []
    letters = "abcdefghijklmnopqrstuvwxyz"
    for i, k in enumerate(members):
        h = result.history(k)
        if "grid" not in h.eval or h.eval["grid"].shape[0] == 0:
            continue
        r = epoch_pos if epoch_pos >= 0 else h.eval["grid"].shape[0] + epoch_pos
        r = int(min(max(r, 0), h.eval["grid"].shape[0] - 1))
        split = result.split_of(k)
        idx = h.sample_index[0]
        s = h.train_scores[r, 0]
        alpha = result.members[k].alpha
        thr = float(np.quantile(s, 1 - alpha)) if alpha > 0 else None
        panels.append({"title": f"({letters[i % 26]}) {legend_label(result, k)}", "z": h.eval["grid"][r, 0],
                       "X": split.train.X[idx], "y": None if split.train.y is None else split.train.y[idx],
                       "flags": h.flags[r, 0], "threshold": thr})
    return panels
