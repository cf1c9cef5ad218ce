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
