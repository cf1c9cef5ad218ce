"""The toy page's first view: the contour grid as a server-drawn picture (adcore.contour_picture)."""
import io

import numpy as np
import pytest
from PIL import Image

from adcore import app_support as sup
from adcore import plots
from adcore.contour_picture import BOUNDARY, contour_picture, toy_picture
from adcore.experiment import ExperimentConfig, run_experiment


def _panels(n=3, threshold=0.5, flags=True):
    xs = ys = np.linspace(-2, 2, 30)
    gx, gy = np.meshgrid(xs, ys)
    z = np.hypot(gx, gy).ravel() + 1e-3  # the score grows away from the origin
    X = np.array([[0.0, 0.0], [0.2, -0.1], [1.5, 1.5]])
    return [{"title": f"panel {i}", "z": z, "X": X, "y": np.array([0, 0, 1]),
             "flags": np.array([False, False, flags]), "threshold": threshold} for i in range(n)], xs, ys


def _image(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG"
    return np.asarray(img.convert("RGB")).astype(int)


def _share(rgb, color, tol=40) -> float:
    return float(np.mean(np.all(np.abs(rgb - np.array(color)) < tol, axis=-1)))


def test_picture_has_the_width_asked_and_one_row_per_five_panels():
    panels, xs, ys = _panels(5)
    one_row = _image(contour_picture(panels, xs, ys, width=900, title="t"))
    assert one_row.shape[1] == 900
    panels6, _, _ = _panels(6)
    two_rows = _image(contour_picture(panels6, xs, ys, width=900, cols=5))
    assert two_rows.shape[0] > 1.5 * one_row.shape[0]


def test_picture_draws_the_decision_boundary_only_where_there_is_one():
    panels, xs, ys = _panels(threshold=1.0)
    with_line = _share(_image(contour_picture(panels, xs, ys)), BOUNDARY)
    panels, xs, ys = _panels(threshold=None)
    without = _share(_image(contour_picture(panels, xs, ys)), BOUNDARY)
    assert with_line > 0.001 and without < with_line / 10


def test_picture_rings_the_latent_anomalies_only_when_asked():
    panels, xs, ys = _panels(flags=True)
    rings = _share(_image(contour_picture(panels, xs, ys, show_flags=True)), (17, 17, 17), tol=60)
    plain = _share(_image(contour_picture(panels, xs, ys, show_flags=False)), (17, 17, 17), tol=60)
    assert rings > plain


def test_toy_picture_is_built_once_per_run_and_view(monkeypatch):
    grid = sup.toy_grid(resolution=20)
    cfg = ExperimentConfig(data="toy", strategies=["blind", "loe_hard"], epochs=3, batch_size=25, seeds=[0])
    result = run_experiment(cfg, eval_sets={"grid": grid[2]})
    store = sup.RunStore()
    monkeypatch.setattr(sup, "STORE", store)
    import adcore.run_cache

    monkeypatch.setattr(adcore.run_cache, "STORE", store)
    key = "k"
    store.put(key, result)
    first = toy_picture(key, result, grid)
    assert toy_picture(key, result, grid) is first  # memoised: the page's first view costs nothing
    assert toy_picture(key, result, grid, 0) is not first
    assert _image(first).shape[1] == 1400
    assert plots.contour_grid_height(2) == plots.contour_grid([{"title": "a", "z": np.ones(400), "X": np.zeros((1, 2)),
                                                                 "threshold": None}] * 2, grid[0], grid[1]).layout.height


@pytest.mark.parametrize("n,cols", [(5, 5), (3, 5), (5, 1)])
def test_contour_grid_height_matches_the_chart(n, cols):
    xs = ys = np.linspace(0, 1, 5)
    panels = [{"title": "a", "z": np.ones(25), "X": np.zeros((1, 2)), "threshold": None}] * n
    assert plots.contour_grid(panels, xs, ys, cols=cols).layout.height == plots.contour_grid_height(n, cols)
