"""Benchmarks over many data sets × methods: the table, average ranks, Friedman + Nemenyi, and figures.

Input: member rows of the run store (one per data set, method, seed). A *method* is a
strategy (with its backbone when the rows hold several backbones); each data set is one
block of the Friedman test, its score the mean over seeds. Ranks: 1 = best (highest).
Critical difference (Demšar 2006, Sec. 3.2.2): CD = q_α √(k(k+1)/(6N)), q_α the
studentized range quantile for k groups and infinite degrees of freedom, over √2.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from adcore.plots import LAYOUT, PALETTE, display_name
from adcore.sweep_spec import DATA_SUFFIXES


def stored_benchmarks(configs: dict[str, dict]) -> list[dict]:
    """Stored cells grouped into benchmarks: cells whose configurations differ only in the data set.

    ``configs``: cell key → configuration (:meth:`adcore.store.ResultStore.cell_configs`). Returns one
    ``{"label", "cells", "n_sets"}`` per group, the groups with the most data sets first.
    """
    groups: dict[str, dict] = {}
    for key, cfg in configs.items():
        setting = {k: v for k, v in cfg.items() if k not in ("data", "data_options")}
        group = groups.setdefault(json.dumps(setting, sort_keys=True, default=str), {"setting": setting, "cells": []})
        group["cells"].append(key)
    out, seen = [], {}
    for g in groups.values():
        c = g["setting"]
        a0 = "natural" if c.get("alpha0") is None else f"{c['alpha0']:g}"
        base = (f"{c.get('backbone')} · α0 = {a0} · {len(c.get('strategies', []))} methods × "
                f"{len(c.get('seeds', []))} seeds · {c.get('epochs')} epochs · lr {c.get('lr'):g}")
        seen[base] = seen.get(base, 0) + 1  # a second group with the same summary differs in another field
        variant = f" · variant {seen[base]}" if seen[base] > 1 else ""
        out.append({"label": f"{base}{variant} · {len(g['cells'])} data sets", "cells": g["cells"],
                    "n_sets": len(g["cells"])})
    return sorted(out, key=lambda g: -g["n_sets"])


def tidy(rows, metric: str = "auroc") -> pd.DataFrame:
    """Rows → columns ``dataset``, ``method``, ``seed``, ``metric`` (rows without the metric dropped).

    The data set label carries α0 when the rows hold several α0 (each (data, α0) is then a block).
    """
    df = pd.DataFrame(list(rows))
    if df.empty or metric not in df:
        return pd.DataFrame(columns=["dataset", "method", "seed", metric])
    df = df[df[metric].notna()].copy()
    several_backbones = "backbone" in df and df["backbone"].nunique() > 1
    df["method"] = [f"{display_name(s)} · {b}" if several_backbones else display_name(s)
                    for s, b in zip(df["strategy"], df.get("backbone", [""] * len(df)))]
    df["dataset"] = [Path(d).name if Path(d).suffix.lower() in DATA_SUFFIXES else d for d in df["data"]]
    if "alpha0" in df and df["alpha0"].nunique(dropna=False) > 1:
        df["dataset"] = [f"{d} (α0={a:g})" if pd.notna(a) else f"{d} (natural)"
                         for d, a in zip(df["dataset"], df["alpha0"])]
    return df[["dataset", "method", "seed", metric]].reset_index(drop=True)


def mean_matrix(df: pd.DataFrame, metric: str = "auroc") -> pd.DataFrame:
    """Data sets × methods, the mean over seeds (NaN where a method has no result on a set)."""
    return df.pivot_table(index="dataset", columns="method", values=metric, aggfunc="mean", sort=False)


def summary_table(df: pd.DataFrame, metric: str = "auroc") -> pd.DataFrame:
    """Data sets × methods as 'mean ± std' over seeds, plus an 'average rank' row."""
    g = df.groupby(["dataset", "method"], sort=False)[metric]
    mean, std = g.mean().unstack(), g.std(ddof=0).unstack()
    text = pd.DataFrame({c: [None if np.isnan(m) else f"{m:.3f} ± {s:.3f}" for m, s in zip(mean[c], std[c])]
                         for c in mean.columns}, index=mean.index, dtype=object)
    ranks = average_ranks(mean_matrix(df, metric))
    text.loc["average rank"] = [None if c not in ranks else f"{ranks[c]:.2f}" for c in text.columns]
    return text


def average_ranks(means: pd.DataFrame) -> pd.Series:
    """Each method's rank per data set (1 = best, ties share the mean rank), averaged over the complete sets."""
    complete = means.dropna()
    return complete.rank(axis=1, ascending=False).mean().sort_values()


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """The Nemenyi critical difference of average ranks for ``k`` methods on ``n`` data sets."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


def friedman_nemenyi(means: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Friedman test over the data sets with every method, then the Nemenyi CD.

    Returns ``ranks`` (average, best first), ``n_sets``, ``k``, ``cd``, and ``statistic``/``p`` when the
    Friedman test applies (at least 3 methods and 2 data sets), else ``note`` says why not.
    """
    complete = means.dropna()
    k, n = complete.shape[1], complete.shape[0]
    out = {"ranks": average_ranks(means), "n_sets": n, "k": k, "alpha": alpha,
           "cd": nemenyi_cd(k, n, alpha) if k >= 2 and n >= 1 else None}
    if k < 3 or n < 2:
        out["note"] = "the Friedman test needs at least 3 methods and 2 data sets with all of them"
        return out
    if np.allclose(complete.to_numpy(), complete.to_numpy()[:, :1]):
        out.update(statistic=0.0, p=1.0)  # every method scores the same on every set
        return out
    res = stats.friedmanchisquare(*(complete[c].to_numpy() for c in complete.columns))
    out.update(statistic=float(res.statistic), p=float(res.pvalue))
    return out


def cliques(ranks: pd.Series, cd: float) -> list[list[str]]:
    """Maximal groups of methods (best first) whose average ranks lie within ``cd`` of each other."""
    names, vals = list(ranks.index), ranks.to_numpy()
    groups = []
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and vals[j + 1] - vals[i] < cd:
            j += 1
        if j > i and not any(g[0] <= i and j <= g[1] for g in groups):
            groups.append((i, j))
    return [names[i:j + 1] for i, j in groups]


def method_colors(methods) -> dict:
    """One colour per method, the same in every figure of a benchmark (by sorted name)."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(set(methods)))}


def cd_figure(test: dict, title: str = "Critical difference (Friedman + Nemenyi)") -> go.Figure:
    """The critical-difference diagram: methods on the average-rank axis (best left), bars join methods
    whose ranks differ by less than the CD (not significantly different)."""
    ranks, cd, k = test["ranks"], test["cd"], len(test["ranks"])
    fig = go.Figure()
    if k < 2 or cd is None:
        fig.add_annotation(text="Needs at least 2 methods with results on the same data set", showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5)
        fig.update_layout(**LAYOUT, height=220, title=title)
        return fig
    lo, hi = 1, max(k, 2)
    groups, colors = cliques(ranks, cd), method_colors(ranks.index)
    for i, (name, r) in enumerate(ranks.items()):
        left = i < (k + 1) // 2
        y = -(1.0 + 0.6 * (i if left else k - 1 - i))
        x_text = lo - 0.3 if left else hi + 0.3
        fig.add_trace(go.Scatter(x=[r, r, x_text], y=[0, y, y], mode="lines+markers", marker=dict(size=[7, 0, 0]),
                                 line=dict(color=colors[name], width=1.5), name=name,
                                 hovertemplate=f"{name}: average rank {r:.2f}<extra></extra>", showlegend=False))
        fig.add_annotation(x=x_text, y=y, text=f"{name} ({r:.2f})", showarrow=False,
                           xanchor="right" if left else "left", font=dict(size=12))
    for g, members in enumerate(groups):
        y = -0.35 - 0.18 * g
        fig.add_trace(go.Scatter(x=[ranks[members[0]] - 0.03, ranks[members[-1]] + 0.03], y=[y, y], mode="lines",
                                 line=dict(color="#111111", width=5), hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=[lo, lo + cd], y=[0.55, 0.55], mode="lines+text",
                             line=dict(color="#555555", width=3), text=["", f"CD = {cd:.2f}"],
                             textposition="middle right", hoverinfo="skip", showlegend=False))
    p = test.get("p")
    sub = f"Friedman p = {p:.3g}" if p is not None else test.get("note", "")
    note = (f"{test['n_sets']} data sets · {sub} · α = {test['alpha']} · axis: average rank, 1 = best; "
            "methods joined by a bar are not significantly different")
    fig.update_layout(**{**LAYOUT, "margin": dict(l=20, r=20, t=120, b=10)}, title=f"{title}<br><sup>{note}</sup>",
                      height=200 + 42 * ((k + 1) // 2), showlegend=False)
    fig.update_xaxes(range=[lo - 1.6, hi + 1.6], tickvals=list(range(lo, hi + 1)), side="top",
                     zeroline=False, showgrid=False)
    fig.update_yaxes(visible=False, range=[-(1.4 + 0.6 * ((k + 1) // 2)), 0.9])
    return fig


def bars_figure(df: pd.DataFrame, metric: str = "auroc", title: str | None = None) -> go.Figure:
    """Per data set, one bar per method: the mean over seeds, error bars the standard deviation."""
    g = df.groupby(["dataset", "method"], sort=False)[metric].agg(
        mean="mean", std=lambda v: v.std(ddof=0), count="count").reset_index()  # std as in the table
    fig, colors = go.Figure(), method_colors(g["method"])
    for method in dict.fromkeys(g["method"]):
        part = g[g["method"] == method]
        fig.add_trace(go.Bar(x=part["dataset"], y=part["mean"], name=method, marker_color=colors[method],
                             error_y=dict(type="data", array=part["std"].fillna(0).to_numpy(), visible=True),
                             customdata=part["count"],
                             hovertemplate=f"{method}<br>%{{x}}: %{{y:.3f}} ± %{{error_y.array:.3f}} "
                                           "(%{customdata} seeds)<extra></extra>"))
    name = {"auroc": "AUROC", "ap": "AUPRC", "f1": "F1"}.get(metric, metric)
    fig.update_layout(**LAYOUT, barmode="group", height=380,
                      title=title or f"{name} per data set (mean ± std over seeds)",
                      legend=dict(orientation="h", y=-0.2))
    fig.update_yaxes(title=name, range=[0, 1.05] if metric in ("auroc", "ap", "f1") else None)
    return fig
