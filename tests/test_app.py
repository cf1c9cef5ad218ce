"""The Streamlit app through streamlit.testing.v1.AppTest: every page opened, main widgets changed,
small runs trained and the rendered results checked (metrics, charts, no exceptions)."""
import json
import os
from pathlib import Path

import pytest

os.environ["ADLAB_NO_WARMUP"] = "1"  # no background UMAP compilation while the suite runs

from streamlit.testing.v1 import AppTest  # noqa: E402

from adcore import app_support as sup  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
T = 300  # generous: CI machines are shared


def open_page(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=T)
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def typed_array(value) -> list:
    """A plotly JSON array, also when it is encoded as {"dtype", "bdata"} (plotly ≥ 6)."""
    if isinstance(value, dict) and "bdata" in value:
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def chart_types(spec) -> list[str]:
    return [t.get("type", "scatter") for t in spec["data"]]


def metrics_df(at):
    """The run's metrics table (the page may also show a data preview)."""
    return next(t.value for t in at.table if "strategy" in t.value.columns)


def no_errors(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_toy_page_draws_contour_grid_metrics_and_reacts_to_widgets():
    at = open_page(epochs=20)
    no_errors(at)
    specs = charts(at)
    grid = specs[0]
    assert chart_types(grid).count("contour") == 10  # score map + boundary for each of the 5 strategies
    titles = [a["text"] for a in grid["layout"]["annotations"]]
    assert titles[:5] == ["(a) Blind", "(b) Refine", "(c) LOE-soft", "(d) LOE-hard", "(e) G-truth"]
    table = metrics_df(at)
    assert list(table["strategy"]) == ["Blind", "Refine", "LOE-soft", "LOE-hard", "G-truth"]
    assert table["AUROC"].between(0, 1).all()
    assert any("on cpu" in c.value for c in at.caption)
    assert at.query_params["epochs"] == "20"

    # a view change does not train again
    n = len(sup.STORE._items)
    at.checkbox(key="toy_flags").uncheck().run()
    no_errors(at)
    assert len(sup.STORE._items) == n
    assert "latent label: anomaly" not in {t.get("name") for t in charts(at)[0]["data"]}

    # the epoch slider replays training from the recorded grid scores
    epochs = at.select_slider(key="toy_epoch").options
    at.select_slider(key="toy_epoch").set_value(epochs[0]).run()
    assert f"after epoch {epochs[0]} of 20" in charts(at)[0]["layout"]["title"]["text"]

    # changing the model settings trains again; the URL follows
    at.slider(key="toy_alpha0").set_value(0.15).run()
    at.multiselect(key="toy_strategies").set_value(["blind", "loe_hard"]).run()
    no_errors(at)
    assert chart_types(charts(at)[0]).count("contour") == 4
    assert at.query_params["alpha0"] == "0.15" and at.query_params["strategies"] == "blind,loe_hard"


def test_toy_page_link_reproduces_settings_and_views_render():
    at = open_page(epochs=20, alpha0="0.2", strategies="blind,iad",
                   strategy_params=json.dumps({"iad": {"epochs_per_round": 5}}))
    no_errors(at)
    assert at.slider(key="toy_alpha0").value == pytest.approx(0.2)
    assert at.multiselect(key="toy_strategies").value == ["blind", "iad"]
    for view in ("Latent space", "Training dynamics", "IAD weights", "Downloads"):
        at.button_group(key="toy_view").set_value(view).run()
        no_errors(at)
        if view == "Latent space":
            spec = charts(at)[-1]
            assert "t-SNE" in spec["layout"]["title"]["text"]
            assert "all 100 points" in spec["layout"]["annotations"][0]["text"]
            at.button_group(key="toy_emb_colour").set_value("score").run()
            no_errors(at)
        if view == "IAD weights":
            texts = json.dumps(charts(at))
            assert "Importance weights" in texts and "selected round" in texts
        if view == "Downloads":
            assert len(at.get("download_button")) == 4


def test_toy_bad_mixture_and_cancel_keep_the_page_usable():
    at = AppTest.from_file(APP, default_timeout=T)
    at.query_params["epochs"] = "20"
    at.session_state["toy_rows"] = [r for r in sup.mixture_rows() if not r["anomalous"]]
    at.run()
    assert not at.exception
    assert any("anomalous component" in e.value for e in at.error)
    at.toggle(key="toy_edit_mix").set_value(True).run()  # the mixture editor opens on the same rows
    assert not at.exception and any("anomalous component" in e.value for e in at.error)

    at = AppTest.from_file(APP, default_timeout=T)
    at.query_params["epochs"] = "30"
    at.session_state["toy_cancel_requested"] = True  # what the Cancel button's callback records
    at.run()
    assert not at.exception
    assert any("cancelled" in w.value for w in at.warning)
    assert not at.get("plotly_chart")
    at.button(key="toy_train").click().run()
    no_errors(at)
    assert chart_types(charts(at)[0]).count("contour") == 10


def test_data_page_builtin_trains_and_shows_every_view():
    at = open_page("data")
    at.number_input(key="data_epochs").set_value(3).run()
    at.text_input(key="data_seeds").set_value("0,1").run()
    at.button(key="data_train").click().run()
    no_errors(at)
    table = metrics_df(at)
    assert len(table) == 3 * 2 and table["AUROC"].notna().all()
    assert any("Trained on" in c.value for c in at.caption)
    assert "scatter" in chart_types(charts(at)[0])  # ROC
    for view in ("Latent space", "Training dynamics", "Downloads"):
        at.button_group(key="data_view").set_value(view).run()
        no_errors(at)
    at.button_group(key="data_view").set_value("Latent space").run()
    at.button_group(key="data_emb_method").set_value("umap").run()
    no_errors(at)
    assert "UMAP" in charts(at)[-1]["layout"]["title"]["text"]


def test_data_page_impossible_alpha0_gets_a_clear_message():
    at = open_page("data")
    at.number_input(key="data_epochs").set_value(2).run()
    at.slider(key="data_alpha0").set_value(0.5).run()
    at.button(key="data_train").click().run()
    assert not at.exception
    assert any("largest α0 possible" in e.value for e in at.error)


def test_data_page_bad_uploads_get_messages_not_tracebacks():
    at = open_page("data")
    at.radio(key="data_source").set_value("Upload").run()
    for name, content in (("bad.csv", b"a,b\n1,x\n2,y\n"), ("bad.npz", b"not a zip"), ("bad.mat", b"\x00\x01")):
        at.file_uploader(key="data_upload").set_value((name, content, "application/octet-stream")).run()
        assert not at.exception, name
        assert at.error and "Cannot use this data" in at.error[0].value, name


def test_data_page_unlabelled_csv_explains_missing_label_plots():
    rows = "\n".join(f"{i % 7},{(i * 3) % 11},{i % 5}" for i in range(120))
    at = open_page("data")
    at.radio(key="data_source").set_value("Upload").run()
    at.file_uploader(key="data_upload").set_value(("plain.csv", f"f1,f2,f3\n{rows}\n".encode(), "text/csv")).run()
    no_errors(at)
    assert at.selectbox(key="data_label_col").value == "(no labels)"
    assert at.selectbox(key="data_protocol").value == "transductive"
    assert "gtruth" not in at.multiselect(key="data_strategies").options
    at.number_input(key="data_epochs").set_value(2).run()
    at.button(key="data_train").click().run()
    no_errors(at)
    infos = " ".join(i.value for i in at.info)
    assert "No ROC curve" in infos and "no labels" in infos
    at.button_group(key="data_view").set_value("Training dynamics").run()
    no_errors(at)
    assert any("need the true training labels" in i.value for i in at.info)


def test_compare_page_leaderboard_roc_and_significance():
    at = open_page("compare")
    at.number_input(key="cmp_epochs").set_value(5).run()
    at.slider(key="cmp_seeds").set_value(2).run()
    at.button(key="cmp_run").click().run()
    no_errors(at)
    board = at.dataframe[0].value
    assert list(board["method"]) == ["Blind", "Refine", "LOE-soft", "LOE-hard"]
    assert {"AUROC", "AUPRC", "F1", "fit s", "p (paired t)", "sig."} <= set(board.columns)
    assert board["sig."].iloc[0] == "baseline"
    roc = charts(at)[0]
    assert sum("AUROC" in (t.get("name") or "") for t in roc["data"]) == 4
    assert len(at.get("download_button")) >= 4


def test_sensitivity_page_runs_the_three_studies():
    at = open_page("sensitivity")
    at.number_input(key="sens_epochs").set_value(4).run()
    at.text_input(key="sens_alpha0s").set_value("0.05, 0.1").run()
    at.button(key="sens_run").click().run()
    no_errors(at)
    assert [chart_types(s)[0] for s in charts(at)] == ["scatter", "heatmap"]

    at.button_group(key="sens_study").set_value("matrix").run()
    at.text_input(key="sens_alphas").set_value("0.1").run()
    at.multiselect(key="sens_strategies").set_value(["loe_hard"]).run()
    at.button(key="sens_run").click().run()
    no_errors(at)
    assert chart_types(charts(at)[0]) == ["heatmap"]

    at.button_group(key="sens_study").set_value("tau").run()
    at.text_input(key="sens_taus").set_value("4, 16").run()
    at.number_input(key="sens_rounds").set_value(2).run()
    at.button(key="sens_run").click().run()
    no_errors(at)
    assert "1/τ" in charts(at)[0]["layout"]["xaxis"]["title"]["text"]
    assert at.query_params["study"] == "tau"


# -- image data ----------------------------------------------------------------------------------
def shapes_zip(per_class: int = 24, size: int = 16, bad_entry: str | None = None) -> bytes:
    """A zip of class folders: 'blob' (a bright square in the middle), 'bars' and 'ring' (other shapes)."""
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    draw = {"blob": lambda a: a.__setitem__((slice(5, 11), slice(5, 11)), 1.0),
            "bars": lambda a: a.__setitem__((slice(None), slice(None, None, 4)), 1.0),
            "ring": lambda a: (a.__setitem__((slice(2, 14), slice(2, 14)), 1.0),
                               a.__setitem__((slice(4, 12), slice(4, 12)), 0.0))}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, paint in draw.items():
            for i in range(per_class):
                a = rng.random((size, size)) * 0.2
                paint(a)
                png = io.BytesIO()
                Image.fromarray((np.clip(a, 0, 1) * 255).astype("uint8")).save(png, format="PNG")
                zf.writestr(f"shapes/{name}/{i}.png", png.getvalue())
        if bad_entry:
            zf.writestr(bad_entry, b"x")
    return buf.getvalue()


def test_data_page_builtin_digit_images_train_gallery_and_latent_selection():
    at = open_page("data")
    at.selectbox(key="data_builtin").set_value("digits_images").run()
    no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Image size"] == "8×8" and metrics["Classes"] == "10" and metrics["Channels"] == "grey"
    assert len(at.get("image")) == 10  # a few examples of every class
    assert at.selectbox(key="data_protocol").value == "one_vs_rest"
    assert at.selectbox(key="data_backbone").value == "deepsvdd_cnn"  # the image default
    at.multiselect(key="data_cls_normal").set_value(["3"]).run()
    at.selectbox(key="data_img_size").set_value(16).run()
    assert {m.label: m.value for m in at.metric}["Image size"] == "16×16"
    at.number_input(key="data_epochs").set_value(3).run()
    at.button(key="data_train").click().run()
    no_errors(at)
    assert metrics_df(at)["AUROC"].between(0, 1).all()
    assert any("normal classes 3" in c.value for c in at.caption)
    assert json.loads(at.query_params["protocol_options"]) == {"normal_class": ["3"]}
    assert json.loads(at.query_params["data_options"]) == {"size": 16}

    at.button_group(key="data_view").set_value("Images").run()
    no_errors(at)
    at.selectbox(key="data_gal_member").set_value(2).run()  # LOE-hard infers latent labels
    captions = [c.value for c in at.caption if "score" in c.value and "rank" in c.value]
    assert len(captions) == 2 * 8  # 8 most and 8 least anomalous training images
    ranks = [int(c.split("rank ")[1].split("/")[0]) for c in captions]
    assert ranks[:8] == list(range(1, 9)) and ranks[8] == int(captions[0].split("/")[1].split()[0])
    assert all("latent:" in c and "class " in c for c in captions)
    assert any("latent: anomaly" in c for c in captions[:8])  # LOE flags the top-scored images
    at.button_group(key="data_gal_part").set_value("test").run()
    no_errors(at)
    test_caps = [c.value for c in at.caption if "score" in c.value and "rank" in c.value]
    assert len(test_caps) == 16 and not any("latent:" in c for c in test_caps)

    at.button_group(key="data_view").set_value("Latent space").run()
    no_errors(at)
    assert any("Click a point" in c.value for c in at.caption)
    spec = charts(at)[-1]
    picked = [typed_array(spec["data"][0]["customdata"])[0], typed_array(spec["data"][-1]["customdata"])[0]]
    at.session_state["data_emb"] = {"selection": {"points": [{"customdata": p} for p in picked],
                                                  "point_indices": [0, 0], "box": [], "lasso": []}}
    at.run()
    no_errors(at)
    assert any("2 selected training image(s)" in m.value for m in at.markdown)
    shown = [c.value for c in at.caption if "rank" in c.value]
    assert [int(c.split("#")[1].split()[0]) for c in shown] == picked


def test_data_page_image_zip_upload_and_bad_zip():
    at = open_page("data")
    at.radio(key="data_source").set_value("Upload").run()
    at.file_uploader(key="data_upload").set_value(("shapes.zip", shapes_zip(), "application/zip")).run()
    no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "72" and metrics["Image size"] == "16×16" and metrics["Classes"] == "3"
    assert at.multiselect(key="data_cls_normal").options == ["bars", "blob", "ring"]
    at.selectbox(key="data_protocol").set_value("seen_unseen").run()
    at.selectbox(key="data_cls_one_normal").set_value("blob").run()
    at.selectbox(key="data_cls_unseen").set_value("ring").run()
    at.slider(key="data_alpha0").set_value(0.05).run()
    at.number_input(key="data_epochs").set_value(2).run()
    at.button(key="data_train").click().run()
    no_errors(at)
    assert metrics_df(at)["AUROC"].notna().all()
    per_class = at.dataframe[-1].value
    assert list(per_class.columns) == ["bars", "ring (unseen)"] and per_class.notna().all().all()
    at.button_group(key="data_view").set_value("Images").run()
    at.button_group(key="data_gal_part").set_value("test").run()
    no_errors(at)
    classes = {c.value.split("class ")[1] for c in at.caption if "rank" in c.value}
    assert "ring" in classes  # the unseen class is in the test set

    at.file_uploader(key="data_upload").set_value(
        ("evil.zip", shapes_zip(4, bad_entry="../x.png"), "application/zip")).run()
    assert not at.exception
    assert at.error and "points outside" in at.error[0].value
    at.file_uploader(key="data_upload").set_value(("notes.txt", b"hello", "text/plain")).run()
    assert not at.exception and "unknown file type" in at.error[0].value


def test_compare_page_reuses_image_data_and_class_protocol_of_the_data_page():
    at = open_page("data")
    at.selectbox(key="data_builtin").set_value("digits_images").run()
    at.multiselect(key="data_cls_normal").set_value(["7"]).run()
    at.switch_page("pages/compare.py").run()
    no_errors(at)
    assert "images:digits (as on the Your data page: one_vs_rest, normal_class ['7'])" in \
        at.selectbox(key="cmp_data").options
    at.selectbox(key="cmp_data").set_value("images:digits").run()
    assert at.selectbox(key="cmp_backbone").value == "deepsvdd_cnn"
    at.multiselect(key="cmp_strategies").set_value(["blind", "loe_hard"]).run()
    at.slider(key="cmp_seeds").set_value(2).run()
    at.number_input(key="cmp_epochs").set_value(2).run()
    at.button(key="cmp_run").click().run()
    no_errors(at)
    assert list(at.dataframe[0].value["method"]) == ["Blind", "LOE-hard"]
    assert json.loads(at.query_params["protocol_options"]) == {"normal_class": ["7"]}


def test_data_page_mnist_idx_upload_with_labels_file():
    import gzip
    import struct

    import numpy as np

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3, dtype=np.uint8), 30)
    images = (rng.random((90, 10, 10)) * 60 + labels[:, None, None] * 60).astype(np.uint8)
    idx = lambda a: bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()  # noqa: E731
    at = open_page("data")
    at.radio(key="data_source").set_value("Upload").run()
    at.file_uploader(key="data_upload").set_value(
        ("t10k-images-idx3-ubyte.gz", gzip.compress(idx(images)), "application/gzip")).run()
    no_errors(at)
    assert at.selectbox(key="data_protocol").options == ["transductive"]  # no labels file yet: no classes
    assert {m.label: m.value for m in at.metric}["Classes"] == "none"
    at.file_uploader(key="data_upload_labels").set_value(("t10k-labels-idx1-ubyte", idx(labels), "")).run()
    no_errors(at)
    assert {m.label: m.value for m in at.metric}["Classes"] == "3"
    assert at.selectbox(key="data_protocol").value == "one_vs_rest"
    at.selectbox(key="data_protocol").set_value("leave_one_class_out").run()
    at.multiselect(key="data_cls_anomaly").set_value(["2"]).run()
    at.slider(key="data_alpha0").set_value(0.05).run()
    at.number_input(key="data_epochs").set_value(2).run()
    at.button(key="data_train").click().run()
    no_errors(at)
    assert metrics_df(at)["AUROC"].notna().all()


# -- a newcomer's workflows: settings that travel, defaults that work on real files, results to take away ----------
def medical_csv(n: int = 1831, d: int = 21, anomalies: int = 176, seed: int = 0) -> bytes:
    """A table shaped like a real medical set (1,831 × 21, 9.6 % anomalies), with a 0/1 ``label`` column."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.zeros(n, int)
    y[rng.choice(n, anomalies, replace=False)] = 1
    X[y == 1] += rng.normal(2.0, 1.0, size=(anomalies, d))
    df = pd.DataFrame(X.round(4), columns=[f"f{i}" for i in range(d)]).assign(label=y)
    return df.to_csv(index=False).encode()


def upload_csv(at, name: str, content: bytes):
    at.radio(key="data_source").set_value("Upload").run()
    at.file_uploader(key="data_upload").set_value((name, content, "text/csv")).run()
    return at


def auroc_by_strategy(table) -> dict:
    return dict(zip(table["strategy"], table["AUROC"].round(6)))


def test_upload_default_alpha0_fits_the_file_and_compare_reproduces_your_data():
    at = upload_csv(open_page("data"), "cardio.csv", medical_csv())
    no_errors(at)
    assert at.slider(key="data_alpha0").value == pytest.approx(0.09)  # 176 anomalies allow at most 0.096
    assert any("α0 set to 0.09" in c.value and "0.096" in c.value for c in at.sidebar.caption)
    at.number_input(key="data_epochs").set_value(3).run()
    at.button(key="data_train").click().run()  # the defaults train
    no_errors(at)
    mine = auroc_by_strategy(metrics_df(at))

    at.switch_page("pages/compare.py").run()
    no_errors(at)
    assert at.selectbox(key="cmp_data").value == "cardio.csv"  # the data the newcomer just used
    assert at.selectbox(key="cmp_backbone").value == "deepsvdd"
    assert at.number_input(key="cmp_batch").value == 128 and at.number_input(key="cmp_lr").value == 1e-3
    assert at.slider(key="cmp_alpha0").value == pytest.approx(0.09) and at.number_input(key="cmp_epochs").value == 3
    assert any("Settings from *Your data*" in c.value for c in at.sidebar.caption)
    at.multiselect(key="cmp_strategies").set_value(["blind", "loe_hard", "loe_soft"]).run()
    at.slider(key="cmp_seeds").set_value(1).run()
    at.button(key="cmp_run").click().run()
    no_errors(at)
    board = at.dataframe[0].value
    theirs = dict(zip(board["method"], board["AUROC"]))
    names = {"blind": "Blind", "loe_hard": "LOE-hard", "loe_soft": "LOE-soft"}
    for s, v in mine.items():
        assert theirs[s] == f"{v:.3f} ± 0.000", (s, theirs, mine)  # same method, seed, data: same number
    assert set(names.values()) == set(mine)
    assert board.loc[board["method"] == "Blind", "Δ AUROC vs Blind"].item() == "–"  # not the text "None"
    assert "None" not in board.astype(str).to_numpy().ravel().tolist()

    # one experiment state: a change on Compare is the setting on Your data, and is said so
    at.slider(key="cmp_alpha0").set_value(0.05).run()
    at.switch_page("pages/data.py").run()
    no_errors(at)
    assert at.radio(key="data_source").value == "Upload"  # the upload survived the visit to Compare
    assert at.slider(key="data_alpha0").value == pytest.approx(0.05)
    assert at.number_input(key="data_epochs").value == 3
    assert any("α0 (on Compare)" in i.value for i in at.info)
    assert any("Settings changed since these results (α0)" in w.value for w in at.warning)  # stale results marked


def test_compare_shortage_error_has_its_control():
    at = open_page("compare")
    at.selectbox(key="cmp_data").set_value("sklearn:breast_cancer").run()
    at.slider(key="cmp_alpha0").set_value(0.5).run()
    at.slider(key="cmp_seeds").set_value(1).run()
    at.number_input(key="cmp_epochs").set_value(2).run()
    at.button(key="cmp_run").click().run()
    assert not at.exception
    assert any("reduce_normals" in e.value for e in at.error)
    at.selectbox(key="cmp_shortage").set_value("reduce_normals").run()  # the control the message names
    at.button(key="cmp_run").click().run()
    no_errors(at)
    assert len(at.dataframe[0].value) == 4


def test_csv_labels_pick_the_minority_and_one_class_is_explained_in_the_files_values():
    rows = "\n".join(f"{i % 7},{(i * 3) % 11},{'attack' if i % 10 == 0 else 'normal'}" for i in range(100))
    at = upload_csv(open_page("data"), "net.csv", f"a,b,label\n{rows}\n".encode())
    no_errors(at)
    assert at.selectbox(key="data_anomaly_value").value == "attack"  # the rarer value
    assert {m.label: m.value for m in at.metric}["Contamination"] == "10.0%"

    rows = "\n".join(f"{i % 7},{(i * 3) % 11},0" for i in range(100))
    at = upload_csv(open_page("data"), "one.csv", f"a,b,label\n{rows}\n".encode())
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "every one of the 100 rows has label = 0" in warning
    assert not at.metric  # no "100 % anomalies" shown
    assert not at.get("button") or not any(b.key == "data_train" for b in at.button)
    at.selectbox(key="data_label_col").set_value("(no labels)").run()
    no_errors(at)
    assert at.selectbox(key="data_protocol").value == "transductive"


def test_text_in_numeric_columns_names_the_cells_and_is_never_one_hot_encoded():
    lines = [f"{i / 10:.1f},{i % 3},{'red' if i % 2 else 'blue'},{int(i % 9 == 0)}" for i in range(60)]
    lines[4] = "?,1,red,0"
    at = upload_csv(open_page("data"), "mixed.csv", ("x,k,colour,label\n" + "\n".join(lines) + "\n").encode())
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "column 'x': data row 5 (line 6) has '?'" in message
    assert at.checkbox(key="data_onehot").label.endswith(": colour (2 values)")  # x is offered for no encoding

    lines[4] = "0.4,1,red,0"
    at.file_uploader(key="data_upload").set_value(("mixed.csv", ("x,k,colour,label\n" + "\n".join(lines) + "\n")
                                                   .encode(), "text/csv")).run()
    at.checkbox(key="data_onehot").check().run()
    no_errors(at)
    assert {m.label: m.value for m in at.metric}["Features"] == "4"  # x, k and colour as 2 features


def test_link_of_an_upload_asks_for_the_file_and_checks_it():
    raw = medical_csv(n=400, anomalies=40)
    fp = sup.fingerprint(raw)
    at = open_page("data", data="cardio.csv", alpha0="0.05", epochs="2", fp=fp,
                   data_options=json.dumps({"label_col": "label", "anomaly_value": "1"}))
    no_errors(at)
    assert at.radio(key="data_source").value == "Upload"  # not silently a built-in set
    assert any("**cardio.csv**" in i.value for i in at.info)
    assert at.query_params["data"] == "cardio.csv" and at.query_params["fp"] == fp  # the link is kept
    at.file_uploader(key="data_upload").set_value(("cardio.csv", raw, "text/csv")).run()
    no_errors(at)
    assert any("is the file the link used" in s.value for s in at.success)
    assert at.slider(key="data_alpha0").value == pytest.approx(0.05) and at.number_input(key="data_epochs").value == 2
    at.button(key="data_train").click().run()
    no_errors(at)
    assert metrics_df(at)["AUROC"].notna().all()

    at.file_uploader(key="data_upload").set_value(("cardio.csv", medical_csv(n=400, anomalies=40, seed=1),
                                                   "text/csv")).run()
    assert any("is not the file the link used" in w.value for w in at.warning)
    assert at.button(key="data_train").disabled


def test_results_json_loads_on_your_data_and_scores_join_the_upload_rows():
    import io

    import pandas as pd

    raw = medical_csv(n=400, anomalies=40)
    at = upload_csv(open_page("data"), "cardio.csv", raw)
    at.number_input(key="data_epochs").set_value(2).run()
    at.text_input(key="data_seeds").set_value("0,1").run()
    at.button(key="data_train").click().run()
    no_errors(at)
    result = sup.STORE.get(at.session_state["data_show"])

    # scores of every row of the upload, with its row number and split membership
    scores = pd.read_csv(io.BytesIO(sup.scores_csv(result)))
    upload = pd.read_csv(io.BytesIO(raw))
    for (strategy, seed), part in scores.groupby(["strategy", "seed"]):
        assert sorted(part["row"]) == list(range(len(upload)))
        info = result.splits[result.config.seeds.index(seed)].info
        assert (part["split"] == "train").sum() == info["n_train"] and (part["split"] == "test").sum() == info["n_test"]
        joined = part.set_index("row").join(upload)
        assert (joined["y_true"] == joined["label"]).all()
        k = next(k for k, m in enumerate(result.members) if (m.strategy, m.seed) == (strategy, seed))
        test = part[part["split"] == "test"]["score"].to_numpy()
        assert sorted(test) == pytest.approx(sorted(result.test_scores[k]), rel=1e-4, abs=1e-6)

    # the JSON stores the file's fingerprint and loads again on the page, asking for that file
    saved = sup.result_json(result)
    assert json.loads(saved)["data"]["fingerprint"] == sup.fingerprint(raw)
    at = open_page("data")
    at.file_uploader(key="data_settings_json").set_value(("run.json", saved, "application/json")).run()
    no_errors(at)
    assert at.radio(key="data_source").value == "Upload"
    assert at.session_state["data_seeds"] == "0,1" and at.session_state["data_epochs"] == 2
    assert any("**cardio.csv**" in i.value for i in at.info)
    at.file_uploader(key="data_upload").set_value(("cardio.csv", raw, "text/csv")).run()
    assert any("is the file run.json used" in s.value for s in at.success)


def test_toy_cancel_keeps_view_settings_with_the_chart_and_costly_runs_wait():
    at = open_page(epochs=20)
    at.checkbox(key="toy_flags").uncheck().run()
    first = at.select_slider(key="toy_epoch").options[0]
    at.select_slider(key="toy_epoch").set_value(first).run()
    at.session_state["toy_cancel_requested"] = True  # a longer run, cancelled (70 epochs: not trained before)
    at.slider(key="toy_epochs").set_value(70).run()
    assert any("cancelled" in w.value for w in at.warning)

    def controls_match_the_chart():  # the chart on screen is drawn from the controls on screen
        assert at.checkbox(key="toy_flags").value is False and str(at.select_slider(key="toy_epoch").value) == first
        spec = charts(at)[0]
        assert "latent label: anomaly" not in {t.get("name") for t in spec["data"]}
        assert f"after epoch {first} of 20" in spec["layout"]["title"]["text"]

    controls_match_the_chart()  # after the cancel: the last run, with its controls, marked as earlier
    assert any("Settings changed since these results (epochs)" in w.value for w in at.warning)
    at.slider(key="toy_epochs").set_value(20).run()  # back to the trained run
    no_errors(at)
    controls_match_the_chart()

    at.session_state["toy_epochs"] = 100
    at.number_input(key="toy_n").set_value(2000).run()  # ~15 s: asks first, keeps the last chart
    no_errors(at)
    assert any("This run takes about" in i.value for i in at.info)
    assert charts(at) and any("Settings changed since these results" in w.value for w in at.warning)
    assert at.button(key="toy_train")


def test_toy_new_mixture_row_without_values_keeps_the_charts():
    at = AppTest.from_file(APP, default_timeout=T)
    at.query_params["epochs"] = "20"
    at.session_state["toy_rows_edited"] = sup.mixture_rows() + [
        {"mean x": None, "mean y": None, "variance": None, "weight": None, "anomalous": False}]
    at.run()
    no_errors(at)
    assert chart_types(charts(at)[0]).count("contour") == 10


def test_toy_chart_details_colour_bars_boundary_legend_and_axes():
    at = open_page(epochs=20, strategies="blind,iad", strategy_params=json.dumps({"iad": {"epochs_per_round": 5}}))
    spec = charts(at)[0]
    bars = [t for t in spec["data"] if t.get("type") == "contour" and t.get("showscale")]
    assert len(bars) == 2 and bars[0]["colorbar"]["title"]["text"] == "log10 score"
    at.button_group(key="toy_view").set_value("Training dynamics").run()
    loss = charts(at)[-1]
    assert "tickvals" in loss["layout"]["yaxis"] and all(t.replace(".", "").isdigit() or "e" in t
                                                         for t in loss["layout"]["yaxis"]["ticktext"])
    at.button_group(key="toy_view").set_value("IAD weights").run()
    assert all(c["layout"].get("xaxis", {}).get("dtick") == 1 for c in charts(at)[-3:] if
               c["layout"].get("xaxis", {}).get("title", {}).get("text") == "round t")

    at = open_page(epochs=20, alpha0="0")
    no_errors(at)
    assert "decision boundary (1−α quantile)" not in {t.get("name") for t in charts(at)[0]["data"]}


def test_comparison_html_holds_every_leaderboard_row():
    at = open_page("compare")
    at.number_input(key="cmp_epochs").set_value(3).run()
    at.slider(key="cmp_seeds").set_value(1).run()
    at.button(key="cmp_run").click().run()
    board = at.dataframe[0].value
    roc = charts(at)[0]
    import plotly.graph_objects as go

    html = sup.report_html("Leaderboard", board, [go.Figure(roc)]).decode()
    table = html[html.index("<table"):html.index("</table>")]
    assert all(f"<td>{m}</td>" in table for m in board["method"]) and table.count("<tr") == len(board) + 1


def test_page_setup_is_local_and_follows_the_browser_theme():
    import tomllib

    root = Path(APP).parent
    config = tomllib.loads((root / ".streamlit" / "config.toml").read_text())
    assert "base" not in config.get("theme", {})  # light or dark as the browser says
    assert (root / "assets" / "favicon.png").is_file()
    assert 'page_icon=str(Path(__file__).parent / "assets" / "favicon.png")' in (root / "app.py").read_text()
    from adcore.app_state import eta_text

    assert eta_text(5, 10, 5.0) == " · about 5 s left" and eta_text(0, 10, 1.0) == ""


def test_precision_setting_trains_in_bfloat16_and_travels_to_compare():
    at = open_page("data")
    at.number_input(key="data_epochs").set_value(3).run()
    at.selectbox(key="data_precision").set_value("bfloat16").run()
    at.button(key="data_train").click().run()
    no_errors(at)
    assert metrics_df(at)["AUROC"].notna().all()
    assert sup.STORE.get(at.session_state["data_show"]).config.precision == "bfloat16"
    assert any("(bfloat16 steps)" in c.value for c in at.caption)
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="cmp_data").set_value("sklearn:breast_cancer").run()  # the data of Your data
    no_errors(at)
    assert at.selectbox(key="cmp_precision").value == "bfloat16"
