"""Five browser sessions training at once on one server stay isolated (Playwright + Chromium).

Each session opens *Your data* with its own settings (a link with its own epoch count), all five press
Train within a second, one of them cancels: the other four finish with their own settings and only
their own run in their run list; the cancelled one says so and stays usable. Skips like
tests/test_browser.py without Playwright or Chromium.
"""
import time

from test_browser import ARGS, CHROMIUM, SHOTS, _wait_idle, server, sync_api  # noqa: F401  (server: fixture)

EPOCHS = [21, 22, 23, 24]  # the sessions that finish; a fifth trains 5000 epochs and is cancelled


def test_five_sessions_train_at_once_without_cross_talk(server):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            pages = []
            for epochs in [*EPOCHS, 5000]:
                page = browser.new_context(viewport={"width": 1300, "height": 1200}).new_page()
                page.set_default_timeout(240_000)
                page.goto(f"{server}/data?epochs={epochs}")
                page.get_by_role("spinbutton", name="Epochs").wait_for()
                pages.append(page)
            for page in pages:
                _wait_idle(page)
            started = time.perf_counter()
            for page in pages:  # all five start within about a second
                page.locator(".st-key-data_train button").click()
            long_run = pages[-1]
            long_run.get_by_text("epoch", exact=False).first.wait_for()
            long_run.get_by_role("button", name="Cancel training").click()
            long_run.get_by_text("Training cancelled").wait_for(timeout=120_000)
            for page, epochs in zip(pages, EPOCHS):
                page.get_by_text("Trained on").wait_for()
                _wait_idle(page)
            elapsed = time.perf_counter() - started
            for i, (page, epochs) in enumerate(zip(pages, EPOCHS)):
                assert page.get_by_role("spinbutton", name="Epochs").input_value() == str(epochs)
                assert f"· {epochs} ep" in page.locator(".st-key-data_show input").input_value()  # its own run …
                page.locator(".st-key-data_show input").click()
                runs = page.get_by_role("option").all_inner_texts()
                page.keyboard.press("Escape")
                assert len(runs) == 1 and f"· {epochs} ep" in runs[0], runs  # … and no other session's
                _wait_idle(page)
                assert page.locator("[data-testid='stException']").count() == 0
                page.screenshot(path=str(SHOTS / f"isolation_session_{i}.png"), full_page=True)
            assert long_run.get_by_text("Trained on").count() == 0
            assert long_run.get_by_role("spinbutton", name="Epochs").input_value() == "5000"
            assert long_run.locator(".st-key-data_train button").is_enabled()
            assert long_run.locator("[data-testid='stException']").count() == 0
            long_run.screenshot(path=str(SHOTS / "isolation_cancelled.png"), full_page=True)
            assert elapsed < 240
        finally:
            browser.close()
