"""The app with labelled anomalies: known-anomaly controls, named methods on Compare, the label studies."""
import os
from pathlib import Path

os.environ["ADLAB_NO_WARMUP"] = "1"

from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
T = 300


def page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=T)
    at.run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def no_errors(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_data_page_trains_with_known_anomalies_and_a_method_preset():
    at = page("data")
    at.radio(key="data_known").set_value("count").run()
    at.number_input(key="data_n_labeled").set_value(12).run()
    at.selectbox(key="data_method_preset").set_value("PUSVDD").run()
    assert at.selectbox(key="data_backbone").value == "deepsvdd"
    assert at.checkbox(key="data_bb_deepsvdd_batch_norm").value  # the method's backbone parameters come along
    assert at.number_input(key="data_bb_deepsvdd_pretrain_epochs").value == 10
    at.multiselect(key="data_strategies").set_value(["blind", "sad", "pu"]).run()
    at.number_input(key="data_epochs").set_value(3).run()
    at.button(key="data_train").click().run()
    no_errors(at)
    table = next(t.value for t in at.table if "strategy" in t.value.columns)
    assert len(table) == 3
    assert any("12 labelled anomalies" in c.value for c in at.caption)


def test_data_page_explains_labels_nobody_uses_and_refuses_too_many():
    at = page("data")
    at.radio(key="data_known").set_value("count").run()
    at.number_input(key="data_n_labeled").set_value(5000).run()
    at.number_input(key="data_epochs").set_value(2).run()
    assert any("none of the chosen strategies uses them" in i.value for i in at.info)
    at.button(key="data_train").click().run()
    assert not at.exception
    assert any("at most" in e.value and "labelled" in e.value for e in at.error)


def test_digit_images_with_a_class_as_outlier_exposure():
    at = page("data")
    at.selectbox(key="data_builtin").set_value("digits_images").run()
    at.radio(key="data_known").set_value("oe").run()
    at.selectbox(key="data_oe_source").set_value("class").run()
    at.selectbox(key="data_method_preset").set_value("HSC").run()
    assert at.selectbox(key="data_backbone").value == "hsc_cnn"
    at.number_input(key="data_epochs").set_value(1).run()
    at.button(key="data_train").click().run()
    no_errors(at)


def test_compare_runs_named_methods_side_by_side_with_views():
    at = page("compare")
    at.segmented_control(key="cmp_mode").set_value("methods").run()
    at.multiselect(key="cmp_methods").set_value(["DeepSVDD", "PUSVDD", "HSC", "IsolationForest"]).run()
    at.number_input(key="cmp_n_labeled").set_value(6).run()
    at.slider(key="cmp_seeds").set_value(2).run()
    at.number_input(key="cmp_epochs").set_value(3).run()
    at.button(key="cmp_run").click().run()
    no_errors(at)
    board = at.dataframe[0].value
    assert sorted(board["method"]) == ["DeepSVDD", "HSC", "IsolationForest", "PUSVDD"]
    assert "Δ AUROC vs DeepSVDD" in board.columns and (board["seeds"] == 2).all()
    assert any("6 labelled anomalies" in h.value for h in at.subheader)
    for tab in ("Latent space", "Training dynamics", "Scores"):
        if any(getattr(t, "label", "") == tab for t in at.tabs):
            break
    no_errors(at)


def test_sensitivity_few_labelled_curve():
    at = page("sensitivity")
    at.segmented_control(key="sens_study").set_value("labels").run()
    at.multiselect(key="sens_methods_labels").set_value(["DeepSVDD", "DeepSAD"]).run()
    at.text_input(key="sens_counts").set_value("0, 4").run()
    at.number_input(key="sens_epochs").set_value(3).run()
    at.button(key="sens_run").click().run()
    no_errors(at)
    import json

    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    assert sorted(t["name"] for t in spec["data"]) == ["DeepSAD", "DeepSVDD"]
    assert spec["data"][0]["x"] == [0, 4] or list(spec["data"][0]["x"]) == [0, 4]


def test_latent_map_and_gallery_mark_labelled_anomalies():
    import numpy as np

    from adcore import image_views, plots
    from adcore.experiment import ExperimentConfig, run_experiment

    res = run_experiment(ExperimentConfig(data="images:digits", protocol="one_vs_rest",
                                          protocol_options={"normal_class": 0}, alpha0=0.05, n_labeled=4,
                                          backbone="deepsvdd_cnn", strategies=["sad"], epochs=1))
    train = res.splits[0].train
    fig = plots.embedding_scatter(np.zeros((len(train), 2)), train.y, marked=train.labeled)
    assert fig.data[-1].name == "of which labelled (4)"
    items = image_views.image_items(**image_views.run_images(res, 0, "train"), rows=np.flatnonzero(train.labeled))
    assert all("labelled anomaly" in it["caption"] for it in items)


def test_csv_with_a_known_anomaly_value_trains_them_as_labelled(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    lines = ["f1,f2,f3,label"] + [",".join(f"{v:.3f}" for v in r) + ",0" for r in rng.normal(size=(300, 3))]
    lines += [",".join(f"{v + 3:.3f}" for v in r) + ",1" for r in rng.normal(size=(40, 3))]
    lines += [",".join(f"{v + 3:.3f}" for v in r) + ",2" for r in rng.normal(size=(9, 3))]
    at = page("data")
    at.radio(key="data_source").set_value("Upload").run()
    at.file_uploader(key="data_upload").set_value(("clinic.csv", "\n".join(lines).encode(), "text/csv")).run()
    at.selectbox(key="data_anomaly_value").set_value("1").run()
    at.selectbox(key="data_known_value").set_value("2").run()
    at.slider(key="data_alpha0").set_value(0.05).run()
    at.multiselect(key="data_strategies").set_value(["blind", "pu"]).run()
    at.number_input(key="data_epochs").set_value(2).run()
    at.button(key="data_train").click().run()
    no_errors(at)
    assert any("9 labelled anomalies" in c.value for c in at.caption)
