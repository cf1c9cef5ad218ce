"""Plotly figure builders for the app: data or results in, ``go.Figure`` out (no streamlit).

Every builder is a pure function. Those that take an ``ExperimentResult`` only
read it. Colours: true normals blue, true anomalies red; samples a strategy
treats as anomalies (its latent labels) get a black ring. One module per kind of
figure; everything is importable from ``adcore.plots``.
"""
from __future__ import annotations

from adcore.plots.style import (NORMAL, ANOMALY, FLAG, PALETTE, NAMES, STRATEGY_COLORS, CONTOUR_SCALE, LAYOUT,
                                display_name, strategy_color, figure_html)
from adcore.plots.contours import ROW_HEIGHT, contour_grid_height, contour_grid, toy_contours, toy_panels
from adcore.plots.roc import roc_figure, result_roc, score_histogram
from adcore.plots.dynamics import loss_figure, log_ticks, value_range, pseudo_label_figure
from adcore.plots.iad import ROUND_AXIS, iad_weight_figure, iad_weight_distribution, iad_h_figure
from adcore.plots.latent import embedding_scatter
from adcore.plots.tables import sweep_figure, sweep_heatmap, matrix_heatmaps, leaderboard_figure

__all__ = ["NORMAL", "ANOMALY", "FLAG", "PALETTE", "NAMES", "STRATEGY_COLORS", "CONTOUR_SCALE", "LAYOUT",
           "display_name", "strategy_color", "figure_html", "ROW_HEIGHT", "contour_grid_height", "contour_grid",
           "toy_contours", "toy_panels", "roc_figure", "result_roc", "score_histogram", "loss_figure", "log_ticks",
           "value_range", "pseudo_label_figure", "ROUND_AXIS", "iad_weight_figure", "iad_weight_distribution",
           "iad_h_figure", "embedding_scatter", "sweep_figure", "sweep_heatmap", "matrix_heatmaps",
           "leaderboard_figure"]
