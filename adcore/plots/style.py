"""Colours, names and layout shared by the figures; empty-figure and HTML-export helpers."""
from __future__ import annotations

import plotly.graph_objects as go


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


def layout_template() -> dict:
    """The layout template as a dict (figures built without validation do not expand template names)."""
    import plotly.io as pio

    return pio.templates[LAYOUT["template"]].to_plotly_json()


def display_name(strategy: str) -> str:
    return NAMES.get(strategy, strategy)


def strategy_color(strategy: str, i: int = 0) -> str:
    return STRATEGY_COLORS.get(strategy, PALETTE[i % len(PALETTE)])


def legend_label(result, k: int) -> str:
    m = result.members[k]
    name = display_name(m.strategy)
    return f"{name} · seed {m.seed}" if len(result.config.seeds) > 1 else name


def empty_figure(message: str, height: int = 260) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=14, color="#555"))
    fig.update_layout(**LAYOUT, height=height, xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


def figure_html(fig: go.Figure) -> bytes:
    """A self-contained HTML file of ``fig`` (plotly.js embedded, opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True).encode()
