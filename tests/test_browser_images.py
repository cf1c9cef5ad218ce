"""The image workflow in a real browser (headless Debian Chromium, Playwright, ``streamlit run`` on loopback):
upload a zip of class folders, train, look at the gallery, select points on the latent map and see their images.
Screenshots go to ``bench/out/screenshots/``. Skips like tests/test_browser.py."""
from test_browser import SHOTS, _wait_idle, page, server  # noqa: F401 - fixtures
from test_app import shapes_zip


def test_image_zip_upload_gallery_and_latent_thumbnails(page, server):  # noqa: F811
    page.goto(server + "/data?epochs=4")
    page.get_by_text("Upload", exact=True).click()
    page.locator("input[type=file]").first.set_input_files(
        files=[{"name": "shapes.zip", "mimeType": "application/zip", "buffer": shapes_zip()}])
    page.get_by_text("Examples of each class").wait_for()
    _wait_idle(page)
    metrics = page.locator("[data-testid='stMetric']").all_inner_texts()
    assert any("Image size" in m and "16×16" in m for m in metrics), metrics
    page.locator("[data-testid='stImage'] img").nth(2).wait_for()  # one example grid per class
    page.screenshot(path=str(SHOTS / "data_images_upload.png"), full_page=True)

    page.get_by_role("button", name="Train").click()
    page.get_by_text("Trained on").wait_for()
    _wait_idle(page)
    page.get_by_role("radio", name="Images", exact=True).click()
    page.get_by_text("Most anomalous training images").wait_for()
    _wait_idle(page)
    page.get_by_text("Most anomalous training images").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.locator("[data-testid='stImage'] img").nth(3 + 16 - 1).wait_for()  # + 8 most and 8 least anomalous
    assert page.get_by_text("rank 1/", exact=False).count() >= 1
    page.screenshot(path=str(SHOTS / "data_images_gallery.png"))

    page.get_by_role("radio", name="Latent space", exact=True).click()
    page.get_by_text("Click a point, or drag a box", exact=False).wait_for()
    plot = page.locator(".js-plotly-plot").last
    plot.locator(".nsewdrag").first.wait_for()
    plot.scroll_into_view_if_needed()
    box = plot.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=8)
    page.mouse.move(box["x"] + box["width"] - 5, box["y"] + box["height"] - 5, steps=8)
    page.mouse.up()
    page.get_by_text("selected training image(s)", exact=False).wait_for()
    _wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    plot.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(SHOTS / "data_images_latent.png"))
