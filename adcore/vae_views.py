"""VAE-specific views of a run (DP-VAE paper): ELBO of normal data vs labelled anomalies, and where the
latent means lie between the normal prior N(0, I) and DP-VAE's outlier prior N(α·1, I)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

VAE_BACKBONES = ("vae", "vae_cnn", "dpvae", "dpvae_cnn")
GROUPS = (("normal", "#1f77b4"), ("unlabelled anomaly", "#ff7f0e"), ("labelled anomaly", "#d62728"))


def is_vae_run(result) -> bool:
    return result.config.backbone in VAE_BACKBONES


def outlier_prior_mean(result) -> float | None:
    """α of a DP-VAE run's outlier prior N(α·1, I); None for the MML-VAE / VAE (one prior)."""
    if not result.config.backbone.startswith("dpvae"):
        return None
    from adcore.registry import BACKBONES

    return float(BACKBONES.resolve_params(result.config.backbone, result.config.backbone_params)["prior_alpha"])


def training_groups(train) -> np.ndarray:
    """0 normal, 1 unlabelled anomaly, 2 labelled anomaly, for each training sample (unknown labels: normal)."""
    g = np.zeros(len(train), int) if train.y is None else (np.asarray(train.y) > 0).astype(int)
    if train.labeled is not None:
        g[train.labeled] = 2
    return g


def diagnostics(result, k: int) -> dict:
    """ELBO (= −score, Sec. 4.4) and the latent means' position on the prior axis, t(x) = mean_i μ_i(x)
    (0 at the normal prior, α at DP-VAE's outlier prior), for member ``k``'s training set."""
    train = result.split_of(k).train
    mu = result.embed(k, train.X)
    return {"elbo": -result.score(k, train.X), "axis": mu.mean(axis=1), "group": training_groups(train),
            "alpha": outlier_prior_mean(result)}


def _histogram(values, group, title: str, xaxis: str) -> go.Figure:
    fig = go.Figure()
    for g, (name, colour) in enumerate(GROUPS):
        v = values[group == g]
        if len(v):
            fig.add_histogram(x=v, name=f"{name} ({len(v)})", marker_color=colour, opacity=0.65,
                              histnorm="probability density", nbinsx=60)
    fig.update_layout(barmode="overlay", title=title, xaxis_title=xaxis, yaxis_title="density",
                      legend=dict(orientation="h", y=-0.2), margin=dict(t=50, b=10))
    return fig


def elbo_histogram(d: dict) -> go.Figure:
    """ELBO of the training samples by group: labelled anomalies should fall below the normals."""
    return _histogram(d["elbo"], d["group"], "ELBO of the training set (normal prior)", "ELBO (higher = more normal)")


def prior_axis_histogram(d: dict) -> go.Figure:
    """Latent means projected on the axis through both priors; DP-VAE's labelled anomalies should sit near α."""
    fig = _histogram(d["axis"], d["group"], "Latent means on the prior axis: mean of μ(x) over latent dimensions",
                     "mean_i μ_i(x)")
    fig.add_vline(x=0.0, line_dash="dash", line_color="#1f77b4", annotation_text="normal prior N(0, I)")
    if d["alpha"] is not None:
        fig.add_vline(x=d["alpha"], line_dash="dash", line_color="#d62728",
                      annotation_text=f"outlier prior N({d['alpha']:g}·1, I)")
    return fig
