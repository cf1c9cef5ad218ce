"""The toy contour grid (LOE Fig. 1) as a JPEG picture, drawn with numpy and Pillow in ~0.1 s.

The app shows it as the first view of the toy page while a new browser tab is still loading plotly.js
(4.7 MB, seconds to parse on a slow machine); the interactive chart of :func:`adcore.plots.contour_grid`
replaces it once drawn. Same panels, colours, iso-lines, decision boundary, points and latent-label rings.
"""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from adcore.plots import ANOMALY, CONTOUR_SCALE, FLAG, NORMAL

SCALE = 2  # drawn at twice the size, then reduced: smooth markers and text
BOUNDARY = (230, 85, 13)
ISO = (30, 60, 110)
LEVELS = 14  # iso-lines, as the chart's ncontours


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


_STOPS = np.array([s for s, _ in CONTOUR_SCALE])
_COLORS = np.array([_rgb(c) for _, c in CONTOUR_SCALE], float)


def _font(size: int):
    return ImageFont.load_default(size=size * SCALE)


def _panel(p: dict, xs, ys, w: int, h: int, log_scale: bool, show_flags: bool) -> Image.Image:
    """One panel of ``w`` × ``h`` pixels (at SCALE; the raster at 1×): colour map, iso-lines, boundary, points."""
    tf = (lambda v: np.log10(np.maximum(v, 1e-12))) if log_scale else (lambda v: v)  # noqa: E731
    z = tf(np.asarray(p["z"], np.float64)).reshape(len(ys), len(xs))
    lo, hi = float(np.nanpercentile(z, 1)), float(np.nanpercentile(z, 99))
    hi = hi if hi > lo else lo + 1.0
    big = np.asarray(Image.fromarray(z.astype(np.float32)[::-1], mode="F").resize((w // SCALE, h // SCALE),
                                                                                  Image.BILINEAR))
    t = np.clip((big - lo) / (hi - lo), 0.0, 1.0)
    rgb = np.stack([np.interp(t, _STOPS, _COLORS[:, c]) for c in range(3)], axis=-1)

    def edges(levels):
        e = np.zeros(levels.shape, bool)
        e[:, 1:] |= levels[:, 1:] != levels[:, :-1]
        e[1:, :] |= levels[1:, :] != levels[:-1, :]
        return e

    iso = edges(np.floor(t * LEVELS).astype(int))
    rgb[iso] = 0.45 * rgb[iso] + 0.55 * np.array(ISO)
    thr = p.get("threshold")
    if thr is not None and np.isfinite(thr):
        line = edges(big >= float(tf(np.asarray(thr, float))))
        line[1:, :] |= line[:-1, :].copy()  # ~2.5 px wide, as the chart's line
        line[:, 1:] |= line[:, :-1].copy()
        rgb[line] = BOUNDARY
    img = Image.fromarray(rgb.astype(np.uint8), "RGB").resize((w, h), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    X = np.asarray(p["X"], float)
    px = (X[:, 0] - xs[0]) / (xs[-1] - xs[0]) * (w - 1)
    py = (1 - (X[:, 1] - ys[0]) / (ys[-1] - ys[0])) * (h - 1)
    y = p.get("y")
    r = 3 * SCALE
    for i in range(len(X)):
        anomalous = y is not None and y[i] == 1
        x0, y0 = px[i], py[i]
        if anomalous:
            draw.polygon([(x0, y0 - r - SCALE), (x0 + r + SCALE, y0), (x0, y0 + r + SCALE), (x0 - r - SCALE, y0)],
                         fill=ANOMALY, outline="white")
        else:
            draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=NORMAL, outline="white")
    flags = p.get("flags")
    if show_flags and flags is not None:
        rr = 6.5 * SCALE
        for i in np.flatnonzero(np.asarray(flags, bool)):
            draw.ellipse([px[i] - rr, py[i] - rr, px[i] + rr, py[i] + rr], outline=FLAG, width=int(1.6 * SCALE))
    return img


def _legend(draw, x: float, y: float, flags: bool, boundary: bool, labelled: bool) -> None:
    font = _font(12)
    r = 3 * SCALE
    items = [("circle", NORMAL, "true normal" if labelled else "normal")]
    if labelled:
        items.append(("diamond", ANOMALY, "true anomaly"))
    if flags:
        items.append(("ring", FLAG, "latent label: anomaly"))
    if boundary:
        items.append(("line", BOUNDARY, "decision boundary"))
    widths = [28 * SCALE + draw.textlength(text, font=font) for *_, text in items]
    x -= sum(widths) / 2
    for (kind, color, text), wd in zip(items, widths):
        cx = x + 8 * SCALE
        if kind == "circle":
            draw.ellipse([cx - r, y - r, cx + r, y + r], fill=color)
        elif kind == "diamond":
            draw.polygon([(cx, y - r - 2), (cx + r + 2, y), (cx, y + r + 2), (cx - r - 2, y)], fill=color)
        elif kind == "ring":
            draw.ellipse([cx - 2 * r, y - 2 * r, cx + 2 * r, y + 2 * r], outline=color, width=3)
        else:
            draw.line([cx - 8 * SCALE, y, cx + 8 * SCALE, y], fill=color, width=3 * SCALE)
        draw.text((cx + 12 * SCALE, y), text, fill="#444444", font=font, anchor="lm")
        x += wd


def contour_picture(panels: list[dict], xs, ys, *, cols: int = 5, log_scale: bool = True, show_flags: bool = True,
                    title: str | None = None, width: int = 1400) -> bytes:
    """JPEG bytes of :func:`adcore.plots.contour_grid`'s panels (same arguments), ``width`` pixels wide
    (~120 kB: a quarter of the PNG, and as fast to encode)."""
    n = max(len(panels), 1)
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    W = width * SCALE
    gap, head, label, foot = 16 * SCALE, (44 if title else 8) * SCALE, 26 * SCALE, 34 * SCALE
    pw = (W - gap * (cols + 1)) // cols
    ph = int(min(pw * (ys[-1] - ys[0]) / (xs[-1] - xs[0]), 1.3 * pw))
    H = head + rows * (label + ph + gap) + foot
    canvas = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((gap, head // 2), title, fill="#2a3f5f", font=_font(17), anchor="lm")
    for i, p in enumerate(panels):
        r, c = divmod(i, cols)
        x0, y0 = gap + c * (pw + gap), head + r * (label + ph + gap)
        draw.text((x0 + pw // 2, y0 + label // 2), p["title"], fill="#2a3f5f", font=_font(15), anchor="mm")
        canvas.paste(_panel(p, xs, ys, pw, ph, log_scale, show_flags), (x0, y0 + label))
    flags = show_flags and any(p.get("flags") is not None and np.any(p["flags"]) for p in panels)
    boundary = any(p.get("threshold") is not None and np.isfinite(p["threshold"]) for p in panels)
    labelled = any(p.get("y") is not None for p in panels)
    _legend(draw, W / 2, H - foot / 2, flags, boundary, labelled)
    out = io.BytesIO()
    canvas.reduce(SCALE).save(out, "JPEG", quality=85)
    return out.getvalue()


def toy_picture(key: str, result, grid, epoch_pos: int = -1, *, show_flags: bool = True, log_scale: bool = True,
                cols: int = 5) -> bytes:
    """The picture of :func:`adcore.plots.toy_contours` for the run stored under ``key``, titled as the
    page's chart; built once per run and view (the run store's memo)."""
    from adcore.plots import toy_panels
    from adcore.run_cache import STORE

    rec = [int(e) + 1 for e in result.history(0).recorded_epochs]
    pos = epoch_pos % len(rec)

    def build():
        return contour_picture(toy_panels(result, pos), grid[0], grid[1], cols=cols, log_scale=log_scale,
                               show_flags=show_flags, title=f"Anomaly-score contours after epoch {rec[pos]} of {rec[-1]}",
                               width=1400 if cols > 1 else 480)  # one column: a phone

    return STORE.memo((key, "picture", pos, show_flags, log_scale, cols), build)
