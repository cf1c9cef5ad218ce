"""A newcomer's walk through the labelled-anomaly workflow (issue 10) in a real browser.

A CSV whose label column has three values (0 normal, 1 anomaly, 2 known anomaly) is uploaded on *Your data*,
2 is chosen as the value meaning "known anomaly", PUSVDD from the named-method box plus Blind train, the
caption counts the labelled anomalies and the latent map circles them; *Compare* runs named methods (shallow
baseline included) on the same splits with labelled anomalies; *Sensitivity* runs the few-labelled study.
Screenshots: ``docs/screenshots/labelled_*.png`` with ADLAB_DOC_SHOTS=1 (else ``bench/out/screenshots/``). Server, Chromium and the skips are those of test_browser.py.
"""
import os

import numpy as np
import pandas as pd
import pytest

from test_browser import ARGS, CHROMIUM, ROOT, data_uploader, server, sync_api  # noqa: F401  (server: fixture)

SHOTS = ROOT / ("docs" if os.environ.get("ADLAB_DOC_SHOTS") else "bench/out") / "screenshots"  # docs: on request
METHODS = ["DeepSVDD", "DeepSAD", "PUSVDD", "SOEL", "IsolationForest"]


def plant_csv() -> bytes:
    """1,500 rows × 12 correlated sensors; label 0 normal, 1 anomaly (120 rows), 2 known anomaly (15 rows)."""
    rng = np.random.default_rng(7)
    n, d = 1500, 12
    y = np.zeros(n, int)
    order = rng.permutation(n)
    y[order[:120]], y[order[120:135]] = 1, 2
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.5
    X[y > 0] += rng.normal(2.5, 1.0, size=(int((y > 0).sum()), d)) * rng.choice([-1, 1], d)
    table = pd.DataFrame(X.round(4), columns=[f"sensor_{i + 1}" for i in range(d)]).assign(label=y)
    return table.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def pg():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="light").new_page()
        page.set_default_timeout(120_000)
        yield page
        browser.close()


def idle(pg):
    """Until the script run has finished (the 'running' widget comes and goes; give it time to appear)."""
    pg.wait_for_timeout(800)
    pg.locator("[data-testid='stStatusWidget']").wait_for(state="detached")


def pick(pg, label, option):
    """Choose ``option`` in the select box ``label`` (a click during a rerun may not open it: try again)."""
    choice = pg.get_by_role("option", name=option).first
    for _ in range(3):
        pg.locator("[data-testid='stSelectbox']").filter(has_text=label).first.click()
        try:
            choice.wait_for(timeout=5_000)
            break
        except sync_api.TimeoutError:
            pg.keyboard.press("Escape")
            idle(pg)
    choice.click()
    idle(pg)


def set_slider(pg, label, steps):
    """A 0.01-step sidebar slider from its minimum (Home) to ``steps`` hundredths, by keyboard (again if a
    rerun started by the first key put the old value back)."""
    slider = pg.locator("[data-testid='stSidebar'] [data-testid='stSlider']").filter(has_text=label).get_by_role("slider")
    for _ in range(3):
        slider.focus()
        pg.keyboard.press("Home")
        for _ in range(steps):
            pg.keyboard.press("ArrowRight")
        idle(pg)
        pg.wait_for_timeout(1000)
        idle(pg)
        if slider.get_attribute("aria-valuetext") == f"{steps / 100:.2f}":
            return
    raise AssertionError(f"{label} stays at {slider.get_attribute('aria-valuetext')}")


def tags(multiselect) -> list[str]:
    return multiselect.locator("[data-tag]").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")


def nav(pg, title, ready):
    pg.locator("[data-testid='stSidebarNav']").get_by_text(title, exact=True).click()
    pg.get_by_text(ready, exact=False).first.wait_for()
    idle(pg)


def shot(pg, locator, name):
    locator.first.evaluate("e => e.scrollIntoView({block: 'start'})")
    pg.wait_for_timeout(300)
    pg.screenshot(path=str(SHOTS / f"labelled_{name}.png"))


def no_errors(pg):
    assert pg.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0


def roc_aurocs(pg) -> dict:
    names = pg.locator(".js-plotly-plot text.legendtext").evaluate_all("els => els.map(e => e.textContent)")
    return {n.split(" (")[0]: float(n.split("AUROC")[-1].strip(" =)")) for n in names if "AUROC" in n}


def test_upload_known_value_preset_train_latent_compare_sensitivity(pg, server):
    # Your data: upload; 1 means anomaly, 2 known anomaly; α0 = 0.08 (the file's share of 1s)
    pg.goto(server + "/data")
    pg.locator("[data-testid='stRadio']").get_by_text("Upload", exact=True).click()
    data_uploader(pg).set_input_files(files=[{"name": "plant.csv", "mimeType": "text/csv", "buffer": plant_csv()}])
    pg.get_by_text("Value meaning “known anomaly”", exact=False).wait_for()  # offered: the label has 3 values
    idle(pg)
    pick(pg, "Value meaning “anomaly”", "1 (120 rows)")
    pick(pg, "Value meaning “known anomaly”", "2 (15 rows)")
    sidebar = pg.locator("[data-testid='stSidebar']")
    set_slider(pg, "True contamination α0", 8)

    # the named-method box fills backbone and strategy; Blind added next to it
    pick(pg, "Start from a named method", "PUSVDD")
    strategies = sidebar.locator("[data-testid='stMultiSelect']").filter(has_text="Strategies")
    assert tags(strategies) == ["pu"]
    backbone = sidebar.locator("[data-testid='stSelectbox']").filter(has_text="Backbone").locator("input")
    assert backbone.input_value().startswith("deepsvdd "), backbone.input_value()
    strategies.locator("input").click()
    pg.get_by_role("option", name="blind", exact=True).click()
    pg.keyboard.press("Escape")
    idle(pg)
    epochs = pg.get_by_role("spinbutton", name="Epochs")
    epochs.fill("4")
    epochs.press("Enter")
    idle(pg)
    shot(pg, pg.get_by_text("Label column"), "upload")

    # train: the caption counts the file's 15 known anomalies as labelled; PU uses them, Blind cannot
    pg.get_by_role("button", name="Train", exact=True).click()
    caption = pg.get_by_text("Trained on", exact=False)
    caption.wait_for()
    idle(pg)
    no_errors(pg)
    assert "15 labelled anomalies" in caption.inner_text(), caption.inner_text()
    table = pg.locator("[data-testid='stDataFrame'], [data-testid='stTable']").last.inner_text()
    assert "Blind" in table and "PU" in table, table
    pg.locator(".js-plotly-plot text.legendtext").first.wait_for()
    mine = roc_aurocs(pg)
    assert mine["PU"] > mine["Blind"], mine  # the labelled anomalies help (both use the preset's batch-norm MLP)
    shot(pg, pg.get_by_text("Run", exact=True), "trained")

    # latent space: the labelled anomalies are a trace of open circles over the true labels
    pg.get_by_role("radio", name="Latent space", exact=True).click()
    pg.get_by_text("t-SNE of all", exact=False).wait_for()
    idle(pg)
    plot = pg.locator(".js-plotly-plot").last
    traces = plot.evaluate("e => e.data.map(t => [t.name, (t.marker || {}).symbol || null])")
    assert ["of which labelled (15)", "circle-open"] in traces, traces
    shot(pg, plot, "latent")

    # Compare, named methods on the same splits with 10 labelled anomalies (α0 lowered so they fit)
    nav(pg, "Compare", "Run comparison")
    pick(pg, "Data set", "plant.csv (as on the Your data page")
    sidebar.get_by_text("Named methods", exact=True).click()
    labelled = pg.get_by_role("spinbutton", name="Labelled anomalies")
    labelled.wait_for()
    idle(pg)
    chosen = sidebar.locator("[data-testid='stMultiSelect']").filter(has_text="Methods")
    chosen.locator("[data-tag][aria-label='DeepSVDD']").wait_for()  # the named methods' box, not the strategies'
    for tag in tags(chosen):
        if tag not in METHODS:
            chosen.get_by_role("button", name=f"Remove {tag}").click()
            idle(pg)
    for name in METHODS:
        if name not in tags(chosen):
            chosen.locator("input").click()
            pg.get_by_role("option", name=name, exact=True).click()
            pg.keyboard.press("Escape")
            idle(pg)
    labelled.fill("10")
    labelled.press("Enter")
    idle(pg)
    seeds = sidebar.locator("[data-testid='stSlider']").filter(has_text="Seeds per method").get_by_role("slider")
    seeds.focus()
    pg.keyboard.press("Home")
    idle(pg)
    set_slider(pg, "True contamination α0", 6)
    pg.get_by_role("button", name="Run comparison").click()
    heading = pg.get_by_text("Leaderboard ·", exact=False).first
    heading.wait_for()
    idle(pg)
    no_errors(pg)
    # the file's 15 known anomalies travel with the data, the 10 asked for here are drawn on top of them
    assert "named methods" in heading.inner_text() and "25 labelled anomalies" in heading.inner_text(), \
        heading.inner_text()
    theirs = roc_aurocs(pg)
    assert set(theirs) == set(METHODS), theirs
    assert theirs["PUSVDD"] > theirs["DeepSVDD"], theirs  # the PU paper's claim, on this file
    shot(pg, heading, "compare")

    # Sensitivity: AUROC against the number of labelled anomalies on a built-in set
    nav(pg, "Sensitivity", "Study")
    pick(pg, "Data set", "Breast cancer")
    pg.get_by_text("Few labelled anomalies (EOE Fig. 3)", exact=True).click()
    counts = pg.get_by_role("textbox", name="Numbers of labelled anomalies")
    counts.wait_for()
    idle(pg)
    chosen = pg.locator("[data-testid='stMain'] [data-testid='stMultiSelect']").filter(has_text="Methods")
    for tag in tags(chosen):
        if tag not in ("DeepSVDD", "PUSVDD"):
            chosen.get_by_role("button", name=f"Remove {tag}").click()
            idle(pg)
    counts.fill("0, 8")
    counts.press("Enter")
    epochs = pg.get_by_role("spinbutton", name="Epochs per run")
    epochs.fill("5")
    epochs.press("Enter")
    idle(pg)
    pg.get_by_role("button", name="Run 4 trainings").click()
    pg.get_by_text("Gain from a few labelled anomalies").wait_for()
    idle(pg)
    no_errors(pg)
    lines = {t["name"]: t["y"] for t in pg.locator(".js-plotly-plot").first.evaluate(
        "e => e.data.map(t => ({name: t.name, y: t.y}))")}
    assert set(lines) == {"DeepSVDD", "PUSVDD"}, lines
    assert lines["PUSVDD"][0] == pytest.approx(lines["DeepSVDD"][0])  # no labels: PU's objective is Deep SVDD's
    assert lines["PUSVDD"][1] > lines["PUSVDD"][0], lines  # 8 labelled anomalies help PU
    shot(pg, pg.get_by_text("Study", exact=True), "sensitivity")


def test_known_value_survives_a_visit_to_another_page(pg, server):
    nav(pg, "Your data", "Value meaning “known anomaly”")
    box = pg.locator("[data-testid='stSelectbox']").filter(has_text="Value meaning “known anomaly”")
    value = box.locator("input").first.input_value()
    assert value.startswith("2 (15 rows)"), value
    assert "known_value%22%3A%222%22" in pg.url, pg.url  # the page's settings (and its link) still hold it


def test_a_newcomers_csv_trains_in_bfloat16_and_compare_keeps_the_precision(pg, server):
    pg.goto(server + "/data")
    pg.locator("[data-testid='stRadio']").get_by_text("Upload", exact=True).click()
    data_uploader(pg).set_input_files(files=[{"name": "plant.csv", "mimeType": "text/csv", "buffer": plant_csv()}])
    pg.get_by_text("Value meaning “anomaly”", exact=False).wait_for()
    idle(pg)
    pick(pg, "Value meaning “anomaly”", "1 (120 rows)")
    set_slider(pg, "True contamination α0", 8)
    epochs = pg.get_by_role("spinbutton", name="Epochs")
    epochs.fill("3")
    epochs.press("Enter")
    idle(pg)
    pg.locator("[data-testid='stSidebar'] [data-testid='stExpander']").filter(has_text="Optimiser and parameters") \
        .get_by_text("Optimiser and parameters", exact=True).click()
    pick(pg, "Precision", "bfloat16")
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_text("(bfloat16 steps)", exact=False).wait_for()
    idle(pg)
    no_errors(pg)
    shot(pg, pg.get_by_text("(bfloat16 steps)", exact=False), "precision_trained")
    nav(pg, "Compare", "Compare methods")
    pg.locator("[data-testid='stSidebar'] [data-testid='stExpander']").filter(has_text="Optimiser") \
        .get_by_text("Optimiser", exact=True).click()
    idle(pg)
    precision = pg.locator("[data-testid='stSelectbox']").filter(has_text="Precision").locator("input")
    assert precision.input_value() == "bfloat16"
    no_errors(pg)
