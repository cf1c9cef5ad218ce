"""The views every trained run offers: scores and ROC, latent space, training dynamics, IAD weights,
downloads. Only the chosen view is drawn, so switching views or colours never retrains."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from adcore import app_support as sup
from adcore import image_views, plots, vae_views
from adcore.embedding import METHOD_NAMES, embed_2d, warm_status
from pages._vae import vae_view

VIEWS = ["Scores & ROC", "Latent space", "Images", "Training dynamics", "IAD weights", "VAE", "Downloads"]
CHART = {"config": {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}}


def chart(fig, key: str | None = None, **kw):
    return st.plotly_chart(fig, key=key, **CHART, **kw)


def cached_fig(run_key: str, name: tuple, build):
    """A figure of a stored run, built once (reruns that only change a view reuse it)."""
    return sup.STORE.memo((run_key, "fig", *name), build)


def metrics_table(result) -> pd.DataFrame:
    rows = []
    for k, run in enumerate(result.runs):
        rows.append({"strategy": plots.display_name(run["strategy"]), "seed": run["seed"], "α": run["alpha"],
                     "AUROC": run.get("auroc"), "AUPRC": run.get("ap"), "F1": run.get("f1"),
                     "fit s": run["fit_seconds"], "epochs": run["epochs_trained"]})
    return pd.DataFrame(rows)


def show_metrics(result) -> None:
    df = metrics_table(result)
    if df["AUROC"].isna().all():
        st.info("No AUROC, AUPRC or F1: the test data has no labels (or only one class), so detection cannot be "
                "measured. Scores and the latent space are still shown.")
        df = df.drop(columns=["AUROC", "AUPRC", "F1"])
    fmt = {c: "{:.3f}" for c in ("AUROC", "AUPRC", "F1")} | {"fit s": "{:.2f}", "α": "{:.3g}"}
    st.table(df.style.format({c: f for c, f in fmt.items() if c in df.columns}, na_rep="–").hide(axis="index"))


def member_picker(result, key: str, members: list[int] | None = None, label: str = "Model") -> int:
    members = list(range(len(result.members))) if members is None else members
    names = {k: sup.member_label(result, k) for k in members}
    if st.session_state.get(key) not in members:
        st.session_state[key] = members[0]
    return st.selectbox(label, members, format_func=names.get, key=key)


def run_views(page: str, key: str, result) -> None:
    """The view switcher and the chosen view of one run."""
    iad = [k for k, m in enumerate(result.members) if m.strategy == "iad"]
    images = is_image_run(result)
    views = [v for v in VIEWS if (v != "IAD weights" or iad) and (v != "Images" or images)
             and (v != "VAE" or vae_views.is_vae_run(result))]
    vkey = f"{page}_view"
    if st.session_state.get(vkey) not in views:
        st.session_state[vkey] = views[0]
    view = st.segmented_control("View", views, key=vkey, required=True, label_visibility="collapsed")
    if view == "Scores & ROC":
        scores_view(page, key, result)
    elif view == "Latent space":
        latent_view(page, key, result)
    elif view == "Images":
        images_view(page, key, result)
    elif view == "Training dynamics":
        dynamics_view(key, result)
    elif view == "IAD weights":
        iad_view(page, key, result, iad)
    elif view == "VAE":
        vae_view(page, key, result, chart, cached_fig, member_picker)
    else:
        downloads_view(page, key, result)


def scores_view(page: str, key: str, result) -> None:
    labelled = sup.has_test_labels(result)
    left, right = st.columns(2)
    with left:
        if labelled:
            chart(cached_fig(key, ("roc",), lambda: plots.result_roc(result)), key=f"{page}_roc")
        else:
            st.info("No ROC curve: it needs the true labels of the test data, and this data has none.")
    with right:
        k = member_picker(result, f"{page}_hist_member")
        log = st.toggle("log scale", key=f"{page}_hist_log", value=True)
        s = result.test_scores[k]
        y = result.split_of(k).test.y if labelled else None
        title = f"Test scores of {plots.display_name(result.members[k].strategy)}" + (
            "" if labelled else " (no labels: all samples together)")
        chart(cached_fig(key, ("hist", k, log), lambda: plots.score_histogram(
            s, y, sup.member_threshold(result, k), title=title, log_scale=log and bool(np.all(s > 0)))),
            key=f"{page}_hist")
    per_class = sup.class_auroc_table(result)
    if per_class:
        st.markdown("**Test AUROC of each anomaly class** against the normal test images (unseen = absent from "
                    "training, PU paper Sec. 5.1)")
        st.dataframe(pd.DataFrame(per_class).set_index("model").style.format("{:.3f}"))
    if not labelled:
        k = st.session_state.get(f"{page}_hist_member", 0)
        top = np.argsort(-result.test_scores[k])[:10]
        st.caption("The 10 most anomalous samples (row numbers of the scored data):")
        st.dataframe(pd.DataFrame({"row": top, "score": result.test_scores[k][top]}), hide_index=True)


def _embedding(key: str, result, k: int, method: str, max_points: int):
    def compute():
        h = result.history(k)
        idx = h.sample_index[0]
        Z = result.embed(k, result.split_of(k).train.X[idx])
        return idx, embed_2d(Z, method, max_points=max_points, seed=0)

    return sup.STORE.memo((key, k, method, max_points), compute)


def latent_view(page: str, key: str, result) -> None:
    c1, c2, c3 = st.columns([1, 1, 1.3])
    with c1:
        method = st.segmented_control("Embedding", ["tsne", "umap"], format_func=METHOD_NAMES.get,
                                      key=f"{page}_emb_method", default="tsne", required=True)
    labelled = sup.has_train_labels(result)
    options = (["true label"] if labelled else []) + ["latent label", "score"]
    with c2:
        colour = st.segmented_control("Colour by", options, key=f"{page}_emb_colour", default=options[0],
                                      required=True)
    with c3:
        k = member_picker(result, f"{page}_emb_member")
    if not labelled:
        st.caption("Colouring by true label is not offered: the training data has no labels.")
    if method == "umap" and not warm_status()["done"]:
        st.caption("UMAP compiles its kernels on first use in this server (about 20 s, once).")
    with st.spinner(f"Computing {METHOD_NAMES[method]} of the training set's embedding…"):
        idx, emb = _embedding(key, result, k, method, max_points=5000)
    h = result.history(k)
    rows = idx[emb.index]
    pos = emb.index
    if colour == "true label":
        color, kind, name = result.split_of(k).train.y[rows], "label", ""
    elif colour == "latent label":
        color, kind, name = h.flags[-1, 0][pos].astype(int), "latent", ""
    else:
        color, kind, name = sup.train_scores(result, k)[rows], "value", "score"
        color = np.log10(np.maximum(color, 1e-12)) if np.all(color > 0) else color
        name = "log10 score" if np.all(sup.train_scores(result, k)[rows] > 0) else "score"
    title = f"{METHOD_NAMES[method]} of the {plots.display_name(result.members[k].strategy)} embedding (training set)"
    labeled = result.split_of(k).train.labeled
    fig = plots.embedding_scatter(emb.coords, color, kind, title=title, color_name=name, ids=rows,
                                  note=f"{emb.note} · computed in {emb.seconds:.1f} s",
                                  marked=None if labeled is None else labeled[rows])
    if not is_image_run(result):
        chart(fig, key=f"{page}_emb")
        return
    fig.update_layout(dragmode="select")  # dragging selects points (box); the toolbar switches to lasso or pan
    event = chart(fig, key=f"{page}_emb", on_select="rerun", selection_mode=("points", "box", "lasso"))
    picked = [int(p["customdata"]) for p in event["selection"]["points"] if p.get("customdata") is not None]
    if not picked:
        st.caption("Click a point, or drag a box or lasso over points, to see their images here.")
        return
    st.markdown(f"**{len(picked):,} selected training image(s)**" + (" — the first 24:" if len(picked) > 24 else ""))
    thumbnails(image_views.image_items(**image_views.run_images(result, k, "train"), rows=picked[:24]), per_row=8)


def is_image_run(result) -> bool:
    return result.split_of(0).train.kind == "image"


def thumbnails(items: list[dict], per_row: int = 8) -> None:
    """Images in a grid, each with its score, rank, latent and true label and class."""
    for start in range(0, len(items), per_row):
        cols = st.columns(per_row)
        for col, it in zip(cols, items[start : start + per_row]):
            col.image(it["image"], width="stretch")
            col.caption(it["caption"].replace(" · ", "  \n"))


def images_view(page: str, key: str, result) -> None:
    c1, c2, c3 = st.columns([1.3, 1, 1])
    with c1:
        k = member_picker(result, f"{page}_gal_member")
    with c2:
        part = st.segmented_control("Images of the", ["train", "test"], key=f"{page}_gal_part", default="train",
                                    required=True, format_func={"train": "training set", "test": "test set"}.get)
    with c3:
        n = st.slider("Images per row", 4, 12, 8, key=f"{page}_gal_n")
    g = sup.STORE.memo((key, "gallery", k, part, n),
                       lambda: image_views.gallery(**image_views.run_images(result, k, part), k=n))
    where = "training images, scored by the final model" if part == "train" else "test images"
    st.markdown(f"**Most anomalous {where}** (highest scores)")
    thumbnails(g["most"], per_row=n)
    st.markdown(f"**Least anomalous {where}** (lowest scores)")
    thumbnails(g["least"], per_row=n)
    st.caption("Rank 1 = the highest score. *latent*: whether the strategy treated the image as an anomaly in the "
               "last recorded epoch (not shown for Blind, which treats everything as normal, or for test images).")


def dynamics_view(key: str, result) -> None:
    flagging = [k for k, m in enumerate(result.members) if m.strategy not in ("blind", "gtruth")]
    st.markdown("**Latent labels during training** — of the training samples a strategy treats as anomalies "
                "in an epoch, the share that are true anomalies (precision) and the share of true anomalies "
                "caught (recall).")
    if not sup.has_train_labels(result):
        st.info("Precision and recall of the latent labels need the true training labels; this data has none.")
    elif not flagging:
        st.info("No strategy in this run infers latent labels (Blind trains on everything, G-truth uses the "
                "truth). Add Refine, LOE or IAD to see them.")
    else:
        chart(cached_fig(key, ("pseudo",), lambda: plots.pseudo_label_figure(result, flagging)))
    st.markdown("**Losses**")
    chart(cached_fig(key, ("loss",), lambda: plots.loss_figure(result)))


def iad_view(page: str, key: str, result, iad: list[int]) -> None:
    k = member_picker(result, f"{page}_iad_member", iad, label="IAD model")
    extra = result.history(k).extra
    if extra.get("iad_h") is None or len(extra.get("iad_h")) == 0:
        st.info("This run recorded no IAD rounds (train for at least one round of epochs).")
        return
    rounds = len(extra.get("iad_h", []))
    sel = extra.get("iad_selected_round")
    st.caption(f"{rounds} rounds of {result.config.strategy_params.get('iad', {}).get('epochs_per_round', 10)} "
               f"epochs; the returned model is round {sel} (lowest h, IAD Alg. 1 line 11).")
    left, right = st.columns(2)
    with left:
        chart(cached_fig(key, ("iad_w", k), lambda: plots.iad_weight_figure(
            extra, "Importance weights of true normals vs anomalies (IAD Fig. 5a)")), key=f"{page}_iad_w")
    with right:
        chart(cached_fig(key, ("iad_d", k), lambda: plots.iad_weight_distribution(extra)), key=f"{page}_iad_d")
    chart(cached_fig(key, ("iad_h", k), lambda: plots.iad_h_figure(extra)), key=f"{page}_iad_h")


def downloads_view(page: str, key: str, result) -> None:
    st.markdown("Everything needed to reproduce or reuse this run. **Scores**: one line per model and row of the "
                "data — `row` is the row's number in your file (0 = the first row under the header), `split` says "
                "whether the protocol trained or tested on it — so it joins back to your rows. **JSON**: the metrics "
                "and the `config`; it loads again on the *Your data* page (*Load the settings of a downloaded run*; "
                "for an upload it asks for the file and checks its fingerprint) or with `python -m adcore run "
                "--config FILE.json --data path/to/your_file`. **Model**: each model's `state_dict` and the config, "
                "read back with `torch.load(..., weights_only=True)` (`adcore.app_support.load_model`).")
    name = f"adlab_{result.config.data.split('/')[-1].replace(':', '_')}_{key[:8]}"
    c = st.columns(4)
    c[0].download_button("Scores of every row (CSV)", lambda: sup.scores_csv(result), f"{name}_scores.csv",
                         "text/csv", key=f"{page}_dl_csv", on_click="ignore", icon=":material/table_view:")
    c[1].download_button("Metrics + config (JSON)", lambda: sup.result_json(result), f"{name}.json",
                         "application/json", key=f"{page}_dl_json", on_click="ignore", icon=":material/data_object:")
    kinds = {type(fit.backbone) for fit, _ in result.train_results}
    no_model = ("scikit-learn baselines have no network weights to save" if
                any(getattr(k, "shallow", False) for k in kinds) else
                "the models have different backbones (named methods): train one method on Your data to save it"
                if len(kinds) > 1 else None)
    c[2].download_button("Trained model (.pt)", lambda: sup.model_bytes(result), f"{name}_model.pt",
                         "application/octet-stream", key=f"{page}_dl_model", on_click="ignore",
                         icon=":material/model_training:", disabled=no_model is not None, help=no_model)

    def figures_html():
        figs = [plots.result_roc(result), plots.loss_figure(result)]
        if sup.has_train_labels(result):
            figs.append(plots.pseudo_label_figure(result))
        body = "".join(f.to_html(include_plotlyjs=i == 0, full_html=False) for i, f in enumerate(figs))
        return f"<html><head><meta charset='utf-8'><title>{name}</title></head><body>{body}</body></html>".encode()

    c[3].download_button("Figures (HTML)", figures_html, f"{name}_figures.html", "text/html",
                         key=f"{page}_dl_html", on_click="ignore", icon=":material/insert_chart:")
    st.caption("Every chart also has a camera button (top right, on hover) that saves it as PNG.")
