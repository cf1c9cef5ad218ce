"""A built-in outlier-exposure set that is not digits: letters rendered with the system's fonts.

EOE uses EMNIST letters as the OE set for MNIST (Sec. 4); EMNIST is not
available offline, so this draws its stand-in as code: each image is one of
the 52 Latin letters (A-Z, a-z) in a font found on the machine (TrueType fonts
under /usr/share/fonts; Pillow's own scalable font when there are none),
randomly scaled (0.6-1.0 of the image), rotated (±20°), shifted (±15 %) and
stroked, white on black like MNIST, then converted like any image set
(float in [0, 1], n × C × H × W). The same seed gives the same images.
"""
from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

import numpy as np

from adcore.data.dataset import Dataset, DataError

LETTERS = string.ascii_uppercase + string.ascii_lowercase
MAX_LETTERS = 100_000


@lru_cache(maxsize=1)
def font_files() -> tuple[str, ...]:
    """TrueType fonts of the system (sorted, so the draw is reproducible on one machine)."""
    roots = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts"]
    return tuple(sorted(str(p) for r in roots if r.is_dir() for p in r.rglob("*.ttf")))


def _font(path: str | None, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def render_letters(n: int = 2000, size: int = 28, channels: int = 1, seed: int = 0) -> Dataset:
    """``n`` random letter images of ``size``×``size``; classes are the 52 letters (``meta["class_names"]``)."""
    from PIL import Image, ImageDraw

    if not 1 <= n <= MAX_LETTERS:
        raise DataError(f"the letters set draws 1 to {MAX_LETTERS} images; asked for {n}")
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 or 3; got {channels}")
    rng = np.random.default_rng(seed)
    fonts = font_files() or (None,)
    canvas = 4 * size
    out = np.zeros((n, 1, size, size), np.float32)
    classes = rng.integers(0, len(LETTERS), n)
    for i, c in enumerate(classes):
        font = _font(fonts[rng.integers(len(fonts))], int(canvas * rng.uniform(0.6, 1.0)))
        img = Image.new("L", (canvas, canvas), 0)
        draw = ImageDraw.Draw(img)
        box = draw.textbbox((0, 0), LETTERS[c], font=font)
        shift = rng.uniform(-0.15, 0.15, 2) * canvas
        pos = ((canvas - (box[2] - box[0])) / 2 - box[0] + shift[0], (canvas - (box[3] - box[1])) / 2 - box[1] + shift[1])
        draw.text(pos, LETTERS[c], fill=255, font=font, stroke_width=int(rng.integers(0, 3)), stroke_fill=255)
        img = img.rotate(rng.uniform(-20, 20), resample=Image.BILINEAR)
        out[i, 0] = np.asarray(img.resize((size, size), Image.LANCZOS), np.float32) / 255.0
    if channels == 3:
        out = np.repeat(out, 3, axis=1)
    meta = {"class_names": list(LETTERS), "image_size": [size, size], "channels": channels,
            "conversion": f"letters rendered in {len(fonts)} fonts, random scale/rotation/shift"}
    return Dataset(out, None, name="letters", kind="image", meta=meta, classes=classes)
