"""Image conversion to one size and channel layout: float32 ``n × C × H × W`` in [0, 1].

Intensities are scaled to [0, 1] (8-bit / 255, 16-bit / 65535), as the papers
do. ``l1_normalize=True`` applies IAD Sec. V-A's preprocessing, which follows
Ruff et al. (2018): global contrast normalisation with the L1 norm per image,
x ← (x − mean(x)) / mean(|x − mean(x)|), then min-max scaling to [0, 1] with
the minimum and maximum over the whole dataset (Ruff et al. take them from the
normal class's training images; we use all images so that the loader needs no
labels and no protocol).
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from adcore.data.dataset import DataError
from adcore.data.limits import check_values

DEFAULT_MAX_SIDE = 64  # automatic size: the most common size, shrunk so that its longer side is at most this
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


def _target_size(sizes: list[tuple[int, int]], size, max_side: int) -> tuple[int, int]:
    """(height, width) to convert to."""
    if size not in (None, "auto", 0):
        try:
            if isinstance(size, str):
                size = [int(v) for v in re.split(r"[x×, ]+", size.strip()) if v]
            if isinstance(size, (int, np.integer)):
                size = (int(size), int(size))
            h, w = (int(size[0]), int(size[-1]))
        except (TypeError, ValueError, IndexError):
            raise DataError(f"image size must be 'auto', a number of pixels or height×width; got {size!r}") from None
        if min(h, w) < 1 or max(h, w) > 1024:
            raise DataError(f"image size must be between 1 and 1024 pixels per side; got {h}×{w}")
        return h, w
    (h, w), _ = Counter(sizes).most_common(1)[0]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        h, w = max(1, round(h * scale)), max(1, round(w * scale))
    return h, w


def pil_to_array(images, size=None, channels="auto", max_side: int = DEFAULT_MAX_SIDE,
                 labels=None) -> tuple[np.ndarray, dict]:
    """Pillow images → float32 ``n × C × H × W`` in [0, 1] and a description of the conversion.

    The images may be opened lazily (``Image.open`` reads only the header): each is
    decoded, converted and closed in turn, so that only one decoded image is held at
    a time. ``labels`` name them in the error raised for one that cannot be decoded."""
    from PIL import Image

    if not images:
        raise DataError("no images to convert")
    sizes = [(im.height, im.width) for im in images]
    H, W = _target_size(sizes, size, max_side)
    grey = [im.mode in GREY_MODES for im in images]
    C = _channels(channels, all(grey))
    check_values((len(images), C, H, W), "the converted images")
    out = np.empty((len(images), C, H, W), np.float32)
    for i, im in enumerate(images):
        try:
            out[i] = _convert_one(im, C, H, W)
        except DataError:
            raise
        except Exception as err:  # noqa: BLE001 - Pillow raises many types for damaged files
            label = labels[i] if labels is not None else f"image {i}"
            raise DataError(f"{label} could not be decoded as an image ({type(err).__name__}: {err})") from None
        finally:
            im.close()
    common = Counter(sizes).most_common(5)
    n_resized = sum(1 for s in sizes if s != (H, W))
    meta = {"image_size": [H, W], "channels": C, "resized": n_resized,
            "source_sizes": [[h, w, n] for (h, w), n in common],
            "conversion": _describe(len(images), len(set(sizes)), n_resized, H, W, C, sum(grey))}
    return out, meta


def _convert_one(im, C: int, H: int, W: int) -> np.ndarray:
    """One Pillow image as float32 ``C × H × W`` in [0, 1]."""
    from PIL import Image

    if im.mode.startswith("I") or im.mode == "F":  # 16/32-bit grey: scale as 16-bit
        arr = np.asarray(im, dtype=np.float32) / (65535.0 if im.mode != "F" else 1.0)
        im = Image.fromarray(np.clip(arr, 0, 1).astype(np.float32), mode="F")
        if (im.height, im.width) != (H, W):
            im = im.resize((W, H), Image.Resampling.BILINEAR)
        return np.repeat(np.asarray(im, dtype=np.float32)[None], C, axis=0)
    im = im.convert("L" if C == 1 else "RGB")
    if (im.height, im.width) != (H, W):
        im = im.resize((W, H), Image.Resampling.BILINEAR)
    a = np.asarray(im, dtype=np.float32) / 255.0
    return a[None] if C == 1 else a.transpose(2, 0, 1)


def _channels(channels, all_grey: bool) -> int:
    if channels in (None, "auto"):
        return 1 if all_grey else 3
    c = int(channels)
    if c not in (1, 3):
        raise DataError(f"channels must be 1 (grey), 3 (colour) or 'auto'; got {channels!r}")
    return c


def _describe(n, n_sizes, n_resized, H, W, C, n_grey) -> str:
    kind = "grey" if C == 1 else "RGB colour"
    text = f"{n} images as {H}×{W} {kind}"
    if n_resized:
        text += f"; {n_resized} resized (bilinear) from {n_sizes} different size{'s' if n_sizes > 1 else ''}"
    if C == 1 and n_grey < n:
        text += f"; {n - n_grey} colour images converted to grey"
    if C == 3 and n_grey:
        text += f"; {n_grey} grey images repeated over 3 channels"
    return text + "; intensities scaled to [0, 1]"


def convert_array(X: np.ndarray, size=None, channels="auto") -> tuple[np.ndarray, dict]:
    """An image array (``n×H×W``, ``n×H×W×C`` or ``n×C×H×W``) → float32 ``n×C×H×W`` in [0, 1].

    Integer images are divided by their type's maximum (uint8 / 255, uint16 /
    65535); floats already in [0, 1] are kept; anything else is min-max scaled
    over the whole array (said in the description). ``size`` resizes
    (bilinear, antialiased); ``channels`` converts grey ↔ RGB (ITU-R 601 luma).
    """
    X = np.asarray(X)
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DataError(f"images must be numbers, got values of type {X.dtype}")
    if X.ndim == 3:
        X = X[:, None]
    elif X.ndim == 4:
        if X.shape[-1] in (1, 3, 4) and X.shape[1] not in (1, 3, 4):
            X = X.transpose(0, 3, 1, 2)
    else:
        raise DataError(f"images must have shape n × height × width, n × height × width × channels or "
                        f"n × channels × height × width; got an array of shape {X.shape}")
    if len(X) == 0 or min(X.shape[2:]) < 1:
        raise DataError(f"the data holds no images (the image array has shape {X.shape})")
    check_values(X.shape, "the image array")
    if X.shape[1] == 4:
        X = X[:, :3]  # drop alpha
    if X.shape[1] not in (1, 3):
        raise DataError(f"images must have 1 (grey) or 3 (colour) channels; got {X.shape[1]}")
    notes = []
    if X.dtype == bool:
        Xf = X.astype(np.float32)
    elif np.issubdtype(X.dtype, np.integer) and X.dtype.itemsize <= 2 and X.min(initial=0) >= 0:
        Xf = X.astype(np.float32) / float(np.iinfo(X.dtype).max)
    else:
        if not np.isfinite(X).all():
            raise DataError("images contain NaN or infinite values; remove or replace them")
        if np.issubdtype(X.dtype, np.floating) and np.abs(X).max() > np.finfo(np.float32).max:
            raise DataError(f"image values up to {np.abs(X).max():.3g} exceed the float32 range (±3.4e38); "
                            "rescale them")
        Xf = X.astype(np.float32)
        lo, hi = float(Xf.min()), float(Xf.max())
        if lo < 0 or hi > 1:
            if hi <= 255 and lo >= 0 and np.array_equal(Xf, np.round(Xf)):
                Xf, how = Xf / 255.0, "divided by 255"
            else:
                Xf, how = (Xf - lo) / max(hi - lo, 1e-12), f"min-max scaled from [{lo:.3g}, {hi:.3g}]"
            notes.append(f"intensities {how}")
    C = _channels(channels, Xf.shape[1] == 1)
    if C == 1 and Xf.shape[1] == 3:
        Xf = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), Xf, axes=([0], [1]))[:, None]
        notes.append("colour converted to grey")
    elif C == 3 and Xf.shape[1] == 1:
        Xf = np.repeat(Xf, 3, axis=1)
        notes.append("grey repeated over 3 channels")
    H0, W0 = Xf.shape[2:]
    H, W = _target_size([(H0, W0)], size, max_side=10**6)
    check_values((len(Xf), C, H, W), "the resized images")
    if (H, W) != (H0, W0):
        import torch
        import torch.nn.functional as F

        Xf = F.interpolate(torch.from_numpy(np.ascontiguousarray(Xf)), size=(H, W), mode="bilinear",
                           align_corners=False, antialias=True).clamp_(0, 1).numpy()
        notes.append(f"resized from {H0}×{W0} (bilinear)")
    kind = "grey" if C == 1 else "RGB colour"
    text = f"{len(Xf)} images as {H}×{W} {kind}" + "".join(f"; {n}" for n in notes) + "; intensities in [0, 1]"
    return np.ascontiguousarray(Xf, dtype=np.float32), {"image_size": [H, W], "channels": C, "conversion": text}


def l1_normalize_images(X: np.ndarray) -> np.ndarray:
    """IAD Sec. V-A / Ruff et al.: per-image global contrast normalisation with the L1 norm,
    then min-max scaling to [0, 1] over the whole array."""
    flat = X.reshape(len(X), -1).astype(np.float64)
    flat = flat - flat.mean(axis=1, keepdims=True)
    scale = np.abs(flat).mean(axis=1, keepdims=True)
    flat = flat / np.where(scale > 1e-12, scale, 1.0)
    lo, hi = flat.min(), flat.max()
    flat = (flat - lo) / max(hi - lo, 1e-12)
    return flat.reshape(X.shape).astype(np.float32)


