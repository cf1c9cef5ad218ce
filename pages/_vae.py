"""The VAE view of a run (MML-VAE / DP-VAE): ELBO of normal data vs labelled anomalies, and the latent means
between the normal and the outlier prior."""
from __future__ import annotations

import streamlit as st

from adcore import vae_views


def vae_view(page: str, key: str, result, chart, cached_fig, member_picker) -> None:
    k = member_picker(result, f"{page}_vae_member")
    d = vae_views.diagnostics(result, k)
    left, right = st.columns(2)
    with left:
        chart(cached_fig(key, ("vae_elbo", k), lambda: vae_views.elbo_histogram(d)), key=f"{page}_vae_elbo")
    with right:
        chart(cached_fig(key, ("vae_axis", k), lambda: vae_views.prior_axis_histogram(d)), key=f"{page}_vae_axis")
    if d["alpha"] is None:
        st.caption("One prior N(0, I): the MML-VAE pushes labelled anomalies down through the CUBO term; their "
                   "ELBO (left) should fall below the normals'.")
    else:
        st.caption(f"DP-VAE: the labelled anomalies' posteriors are trained against N({d['alpha']:g}·1, I); their "
                   "latent means (right) drift from 0 toward α as the outlier terms act. The score is the ELBO "
                   "under the normal prior.")
