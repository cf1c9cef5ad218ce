"""Plotly figure builders for the app: data or results in, ``go.Figure`` out (no streamlit).

Every builder is a pure function. Those that take an ``ExperimentResult`` only
read it. Colours: true normals blue, true anomalies red; samples a strategy
treats as anomalies (its latent labels) get a black ring.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from adcore.metrics import roc_points

NORMAL = "#1f77b4"
ANOMALY = "#d62728"
FLAG = "#111111"
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c",
           "#ccb974", "#64b5cd")
NAMES = {"blind": "Blind", "refine": "Refine", "loe_soft": "LOE-soft", "loe_hard": "LOE-hard",
         "gtruth": "G-truth", "iad": "IAD", "sad": "SAD", "pu": "PU", "soel": "SOEL"}
STRATEGY_COLORS = {"blind": "#7f7f7f", "refine": "#ff7f0e", "loe_soft": "#2ca02c", "loe_hard": "#1f77b4",
                   "gtruth": "#9467bd", "iad": "#8c564b"}
CONTOUR_SCALE = [[0.0, "#fffdf3"], [0.4, "#e3eef8"], [0.75, "#a9c9e6"], [1.0, "#5b8fc4"]]
LAYOUT = dict(template="plotly_white", margin=dict(l=50, r=20, t=50, b=45),
              font=dict(family="Inter, Helvetica, Arial, sans-serif", size=12))


def _template() -> dict:
    """The layout template as a dict (figures built without validation do not expand template names)."""
    import plotly.io as pio

    return pio.templates[LAYOUT["template"]].to_plotly_json()


def display_name(strategy: str) -> str:
    return NAMES.get(strategy, strategy)


def strategy_color(strategy: str, i: int = 0) -> str:
    return STRATEGY_COLORS.get(strategy, PALETTE[i % len(PALETTE)])


def _label(result, k: int) -> str:
    m = result.members[k]
    name = display_name(m.strategy)
    return f"{name} · seed {m.seed}" if len(result.config.seeds) > 1 else name


def _empty(message: str, height: int = 260) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=14, color="#555"))
    fig.update_layout(**LAYOUT, height=height, xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


# ---------------------------------------------------------------- toy contours (LOE Fig. 1)

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
        return _empty("choose at least one strategy")
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
    layout.update(LAYOUT, template=_template(), margin=dict(l=10, r=10, t=70 if title else 40, b=10), annotations=notes,
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
        panels.append({"title": f"({letters[i % 26]}) {_label(result, k)}", "z": h.eval["grid"][r, 0],
                       "X": split.train.X[idx], "y": None if split.train.y is None else split.train.y[idx],
                       "flags": h.flags[r, 0], "threshold": thr})
    return panels


# ---------------------------------------------------------------- ROC and score histogram

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
    curves = [{"name": _label(result, k), "y": result.split_of(k).test.y, "scores": result.test_scores[k],
               "color": strategy_color(result.members[k].strategy, k)}
              for k in members if result.test_scores[k] is not None and result.split_of(k).test.y is not None]
    if not curves:
        return _empty("No ROC curve: the test data has no labels")
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


# ---------------------------------------------------------------- training dynamics

def loss_figure(result, members: list[int] | None = None) -> go.Figure:
    """The weighted training objective per epoch, and the mean L_n / L_a of the epoch's mini-batches."""
    members = list(range(len(result.members))) if members is None else members
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training objective (mean over batches)",
                                                        "mean L_n (solid) and L_a (dotted) of the batches"))
    for i, k in enumerate(members):
        h = result.history(k)
        color, name = strategy_color(result.members[k].strategy, i), _label(result, k)
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
        color, name = strategy_color(result.members[k].strategy, i), _label(result, k)
        ep = np.arange(1, h.n_epochs + 1)
        for col, arr in ((1, h.precision), (2, h.recall)):
            fig.add_trace(go.Scatter(x=ep, y=arr[:, 0], name=name, legendgroup=name, showlegend=col == 1,
                                     line=dict(color=color), connectgaps=False), row=1, col=col)
    if not drawn:
        return _empty("No latent labels to evaluate: needs true training labels and a strategy that flags samples")
    fig.update_yaxes(range=[0, 1.02])
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(**LAYOUT, height=360)
    return fig


# ---------------------------------------------------------------- IAD (IAD Fig. 5)

ROUND_AXIS = dict(tickformat="d", dtick=1, tick0=0)  # rounds are whole numbers

def iad_weight_figure(extra: dict, title: str = "IAD importance weights") -> go.Figure:
    """Mean and median importance weight of true normals vs true anomalies per round (IAD Fig. 5a)."""
    keys = ("iad_weight_mean_normal", "iad_weight_median_normal", "iad_weight_mean_anomaly",
            "iad_weight_median_anomaly")
    if not all(k in extra and extra[k] is not None for k in keys):
        if "iad_weights" in extra:
            return _empty("Weights by true label need the training labels; this data has none")
        return _empty("No IAD rounds recorded")
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
        return _empty("No IAD rounds recorded")
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
        return _empty("No IAD rounds recorded")
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


# ---------------------------------------------------------------- latent space

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


# ---------------------------------------------------------------- sensitivity (LOE Fig. 2, 3) and tables

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
        return _empty("No results yet")
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
        return _empty("No results yet")
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
        return _empty("No results yet")
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


def figure_html(fig: go.Figure) -> bytes:
    """A self-contained HTML file of ``fig`` (plotly.js embedded, opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True).encode()
