"""Image datasets: zip folders of PNG/JPEG, .npz image arrays, MNIST-format IDX files and scikit-learn's digits.

Every loader returns a :class:`~adcore.data.dataset.Dataset` of kind ``image``
with ``X`` of shape ``n × C × H × W`` (float32, intensities in [0, 1]), the class
of every image in ``Dataset.classes`` (ints; names in ``meta["class_names"]``)
and, when the user names the normal class or classes, ``y`` = 1 for every other
class. ``meta["image_size"]``, ``meta["channels"]`` and ``meta["conversion"]``
say what was done to the images, for the user to see.

Intensities are scaled to [0, 1] (8-bit / 255, 16-bit / 65535), as the papers
do. ``l1_normalize=True`` applies IAD Sec. V-A's preprocessing, which follows
Ruff et al. (2018): global contrast normalisation with the L1 norm per image,
x ← (x − mean(x)) / mean(|x − mean(x)|), then min-max scaling to [0, 1] with
the minimum and maximum over the whole dataset (Ruff et al. take them from the
normal class's training images; we use all images so that the loader needs no
labels and no protocol).

Safety of zip uploads: entry names are checked (no absolute paths, no ``..``,
exactly ``class/image`` — one optional common top folder is allowed), the
total unpacked size and the compression ratio are read from the zip directory
and refused *before* anything is decompressed, every entry is read with a hard
bound of its declared size, images are decoded by Pillow from memory (nothing
is written to disk) and their pixel count is checked before decoding.
"""
from __future__ import annotations

import io
import math
import os
import re
import struct
import warnings
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from adcore.data.dataset import Dataset, DataError

MAX_ZIP_BYTES = 200 * 2**20  # packed size of an uploaded zip
MAX_UNPACKED_BYTES = 200 * 2**20  # sum of the declared sizes of its entries
MAX_RATIO = 100.0  # largest unpacked/packed ratio of an entry (PNG/JPEG barely compress: ~1)
MAX_ENTRIES = 200_000
MAX_IMAGE_PIXELS = 40_000_000  # per image, checked before decoding
MAX_IDX_BYTES = 500 * 2**20
DEFAULT_MAX_SIDE = 64  # automatic size: the most common size, shrunk so that its longer side is at most this
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
JUNK_NAMES = {"thumbs.db", "desktop.ini"}
IMAGE_OPTIONS = ("normal_class", "size", "channels", "l1_normalize", "max_side", "classes_key", "features")
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


# ---------------------------------------------------------------------------------------------
# Dispatch from adcore.data.loaders.load
# ---------------------------------------------------------------------------------------------
def handles(spec: str, options: dict) -> bool:
    """Whether ``load(spec)`` should use this module: ``images:…``/``mnist:…`` specs, ``.zip``
    files, and ``.npz`` files holding images (≥ 3-d ``X``), class labels (not 0/1) or image options."""
    if spec.startswith(("images:", "mnist:")):
        return True
    suffix = Path(spec).suffix.lower()
    if suffix == ".zip":
        return True
    if suffix != ".npz":
        return False
    if any(options.get(k) not in (None, False, "auto") for k in IMAGE_OPTIONS):
        return True
    return npz_holds_images(spec, options.get("x_key") or "X", options.get("y_key", "y"))


def load_image_spec(spec: str, **options) -> Dataset:
    """``images:digits[:normal_class]``, ``mnist:PATH`` (an IDX images file or a folder of IDX
    pairs), a ``.zip`` of class folders or an image ``.npz``; ``options`` as the loaders below,
    and ``features="resnet18"`` for frozen pre-trained features instead of pixels (:func:`as_features`)."""
    features = options.pop("features", None)
    ds = _load_image_spec(spec, **options)
    return as_features(ds, features) if features else ds


def _load_image_spec(spec: str, **options) -> Dataset:
    if spec.startswith("images:"):
        parts = spec.split(":")
        if parts[1] != "digits":
            raise DataError(f"unknown built-in image set {parts[1]!r}; the built-in one is images:digits")
        if len(parts) > 2 and parts[2] != "":
            options.setdefault("normal_class", int(parts[2]))
        return load_digits_images(**_only(options, ("normal_class", "size", "channels", "l1_normalize")))
    if spec.startswith("mnist:"):
        return load_mnist(spec[len("mnist:"):], **_only(options, ("normal_class", "size", "channels", "l1_normalize")))
    if Path(spec).suffix.lower() == ".zip":
        return load_image_zip(spec, **_only(options, ("normal_class", "size", "channels", "l1_normalize", "max_side")))
    return load_npz_images(spec, **_only(options, ("x_key", "y_key", "classes_key", "normal_class", "size",
                                                   "channels", "l1_normalize")))


def _only(options: dict, keys) -> dict:
    return {k: v for k, v in options.items() if k in keys and v is not None}


# ---------------------------------------------------------------------------------------------
# Zip of class folders
# ---------------------------------------------------------------------------------------------
def _read_source(source, max_bytes: int) -> tuple[bytes, str]:
    from adcore.data.loaders import _read_bytes

    return _read_bytes(source, max_bytes)


def _mb(n: float) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def _entry_parts(name: str) -> list[str] | None:
    """Path components of a zip entry name after the safety checks; None for junk to skip."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise DataError(f"zip entry {name!r} has an absolute path; refusing the archive")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise DataError(f"zip entry {name!r} points outside the archive ('..'); refusing the archive")
    if not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts) or parts[-1].lower() in JUNK_NAMES:
        return None
    return parts


def scan_zip(zf: zipfile.ZipFile, name: str, max_unpacked: int = MAX_UNPACKED_BYTES,
             max_ratio: float = MAX_RATIO) -> tuple[list[str], dict[str, list[zipfile.ZipInfo]]]:
    """Check a zip's directory without decompressing anything.

    Returns the sorted class names and each class's image entries. Raises
    :class:`DataError` naming the offending entry for unsafe names, nesting other
    than ``class/image`` (one common top folder is allowed), files at the top
    level, encrypted entries, too many entries, an unpacked total above
    ``max_unpacked`` or an entry whose unpacked/packed ratio exceeds ``max_ratio``.
    """
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise DataError(f"{name} has {len(infos)} entries; the limit is {MAX_ENTRIES}")
    files, dirs = [], []
    total = 0
    for info in infos:
        parts = _entry_parts(info.filename)
        if parts is None:
            continue
        if info.is_dir():
            dirs.append(parts)
            continue
        if info.flag_bits & 0x1:
            raise DataError(f"zip entry {info.filename!r} is encrypted; upload an archive without a password")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > max_ratio and info.file_size > 2**16:
            raise DataError(f"zip entry {info.filename!r} would unpack to {_mb(info.file_size)} from "
                            f"{_mb(info.compress_size)} ({ratio:.0f}× its packed size; the limit is {max_ratio:.0f}×): "
                            "refusing a possible zip bomb. PNG and JPEG files barely compress.")
        files.append((parts, info))
    if total > max_unpacked:
        raise DataError(f"{name} would unpack to {_mb(total)}; the limit is {_mb(max_unpacked)}. "
                        "Upload fewer or smaller images (they are resized to a small size anyway).")
    if not files:
        raise DataError(f"{name} holds no files; it must hold one folder per class with PNG or JPEG images")
    # one common top folder (a zipped folder of class folders) is stripped
    roots = {p[0] for p, _ in files} | {p[0] for p in dirs}
    if len(roots) == 1 and all(len(p) >= 3 for p, _ in files):
        files = [(p[1:], i) for p, i in files]
        dirs = [p[1:] for p in dirs if len(p) > 1]
    classes: dict[str, list[zipfile.ZipInfo]] = {}
    for parts, info in files:
        if len(parts) == 1:
            raise DataError(f"zip entry {info.filename!r} is not inside a class folder; the zip must hold one "
                            "folder per class with the images directly inside (class/image.png)")
        if len(parts) > 2:
            raise DataError(f"zip entry {info.filename!r} is nested too deep; the zip must hold one folder per "
                            "class with the images directly inside (class/image.png), no sub-folders")
        classes.setdefault(parts[0], []).append(info)
    for parts in dirs:
        if len(parts) > 1:
            raise DataError(f"zip folder {'/'.join(parts)!r} is nested too deep; the zip must hold one folder per "
                            "class with the images directly inside (class/image.png), no sub-folders")
        if parts[0] not in classes:
            raise DataError(f"class folder {parts[0]!r} in {name} has no images; remove it or add its images")
    return sorted(classes), classes


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The entry's bytes, never more than its declared size (+1 to detect a lying directory)."""
    try:
        with zf.open(info) as f:
            data = f.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as err:
        raise DataError(f"zip entry {info.filename!r} cannot be unpacked ({err})") from None
    if len(data) > info.file_size:
        raise DataError(f"zip entry {info.filename!r} unpacks to more than its declared size; refusing the archive")
    return data


def decode_image(data: bytes, label: str):
    """A Pillow image decoded from memory; PNG or JPEG only, pixel count checked before decoding."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ("PNG", "JPEG"):
                raise DataError(f"{label} is not a PNG or JPEG image (it is {img.format or 'unknown'})")
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS:
                raise DataError(f"{label} is {w}×{h} pixels; the limit is {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels")
            img.load()
    except DataError:
        raise
    except Exception as err:  # noqa: BLE001 - Pillow raises many types for bad files
        raise DataError(f"{label} could not be decoded as an image ({type(err).__name__}: {err})") from None
    return img


def load_image_zip(source, normal_class=None, size=None, channels="auto", l1_normalize: bool = False,
                   max_side: int = DEFAULT_MAX_SIDE, max_bytes: int = MAX_ZIP_BYTES,
                   max_unpacked: int = MAX_UNPACKED_BYTES, max_ratio: float = MAX_RATIO) -> Dataset:
    """A ``.zip`` with one folder per class of PNG/JPEG images (path or upload).

    ``normal_class``: a class name (folder), index, or list of them; the other
    classes become anomalies (``y`` = 1). Without it ``y`` is None and a class
    protocol (one-vs-rest, …) chooses. ``size``: ``None``/``"auto"`` (the most
    common size, its longer side shrunk to ``max_side``), an int (square) or
    (height, width). ``channels``: ``"auto"`` (1 if every image is grey, else 3), 1 or 3.
    """
    data, name = _read_source(source, max_bytes)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zlib.error, ValueError) as err:
        raise DataError(f"{name} is not a readable zip file ({err})") from None
    with zf:
        class_names, entries = scan_zip(zf, name, max_unpacked, max_ratio)
        images, labels = [], []
        for c, cname in enumerate(class_names):
            for info in sorted(entries[cname], key=lambda i: i.filename):
                if not info.filename.lower().endswith(IMAGE_SUFFIXES):
                    raise DataError(f"zip entry {info.filename!r} is not a PNG or JPEG image "
                                    f"(allowed: {', '.join(IMAGE_SUFFIXES)}); remove it from the archive")
                images.append(decode_image(_read_entry(zf, info), f"zip entry {info.filename!r}"))
                labels.append(c)
    X, meta = pil_to_array(images, size, channels, max_side)
    meta["files"] = len(images)
    return _finish(X, np.asarray(labels), class_names, normal_class, Path(name).stem, meta, l1_normalize)


# ---------------------------------------------------------------------------------------------
# Conversion to one size and channel layout
# ---------------------------------------------------------------------------------------------
def _target_size(sizes: list[tuple[int, int]], size, max_side: int) -> tuple[int, int]:
    """(height, width) to convert to."""
    if size not in (None, "auto", 0):
        if isinstance(size, str):
            size = [int(v) for v in re.split(r"[x×, ]+", size.strip()) if v]
        if isinstance(size, (int, np.integer)):
            size = (int(size), int(size))
        h, w = (int(size[0]), int(size[-1]))
        if min(h, w) < 1 or max(h, w) > 1024:
            raise DataError(f"image size must be between 1 and 1024 pixels per side; got {h}×{w}")
        return h, w
    (h, w), _ = Counter(sizes).most_common(1)[0]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        h, w = max(1, round(h * scale)), max(1, round(w * scale))
    return h, w


def pil_to_array(images, size=None, channels="auto", max_side: int = DEFAULT_MAX_SIDE) -> tuple[np.ndarray, dict]:
    """Pillow images → float32 ``n × C × H × W`` in [0, 1] and a description of the conversion."""
    from PIL import Image

    sizes = [(im.height, im.width) for im in images]
    H, W = _target_size(sizes, size, max_side)
    grey = [im.mode in GREY_MODES for im in images]
    C = _channels(channels, all(grey))
    out = np.empty((len(images), C, H, W), np.float32)
    for i, im in enumerate(images):
        if im.mode.startswith("I") or im.mode == "F":  # 16/32-bit grey: scale as 16-bit
            arr = np.asarray(im, dtype=np.float32) / (65535.0 if im.mode != "F" else 1.0)
            im = Image.fromarray(np.clip(arr, 0, 1).astype(np.float32), mode="F")
            if (im.height, im.width) != (H, W):
                im = im.resize((W, H), Image.Resampling.BILINEAR)
            a = np.asarray(im, dtype=np.float32)[None]
            out[i] = np.repeat(a, C, axis=0)
            continue
        im = im.convert("L" if C == 1 else "RGB")
        if (im.height, im.width) != (H, W):
            im = im.resize((W, H), Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
        out[i] = a[None] if C == 1 else a.transpose(2, 0, 1)
    common = Counter(sizes).most_common(5)
    n_resized = sum(1 for s in sizes if s != (H, W))
    meta = {"image_size": [H, W], "channels": C, "resized": n_resized,
            "source_sizes": [[h, w, n] for (h, w), n in common],
            "conversion": _describe(len(images), len(set(sizes)), n_resized, H, W, C, sum(grey))}
    return out, meta


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
        Xf = X.astype(np.float32)
        if not np.isfinite(Xf).all():
            raise DataError("images contain NaN or infinite values")
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


# ---------------------------------------------------------------------------------------------
# Classes and the final Dataset
# ---------------------------------------------------------------------------------------------
def resolve_class_list(value, class_names: list[str] | None, present) -> list[int]:
    """Class indices from an index, a name, a comma-separated string or a list of them."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    elif not isinstance(value, (list, tuple, set, np.ndarray)):
        value = [value]
    present = sorted({int(c) for c in present})
    out = []
    for v in value:
        if class_names is not None and str(v) in class_names:
            out.append(class_names.index(str(v)))
            continue
        try:
            c = int(v)
        except (TypeError, ValueError):
            names = class_names if class_names is not None else present
            raise DataError(f"unknown class {v!r}; the classes are {names}") from None
        if c not in present:
            names = f"{class_names} (indices 0–{len(class_names) - 1})" if class_names is not None else present
            raise DataError(f"unknown class {v!r}; the classes are {names}")
        out.append(c)
    return sorted(set(out))


def _finish(X, classes, class_names, normal_class, name, meta, l1_normalize) -> Dataset:
    classes = np.asarray(classes, dtype=np.int64)
    if len(X) < 2:
        raise DataError(f"{name} holds {len(X)} image(s); at least 2 are needed")
    if l1_normalize:
        X = l1_normalize_images(X)
        meta["conversion"] = meta.get("conversion", "") + "; L1 global contrast normalisation + min-max to [0, 1]"
    meta["l1_normalize"] = bool(l1_normalize)
    if class_names is None:
        class_names = [str(c) for c in range(int(classes.max()) + 1)] if len(classes) else []
    meta["class_names"] = list(class_names)
    meta["class_counts"] = {class_names[c]: int(n) for c, n in zip(*np.unique(classes, return_counts=True))}
    normal = resolve_class_list(normal_class, class_names, np.unique(classes))
    y = None
    if normal:
        meta["normal_classes"] = normal
        y = (~np.isin(classes, normal)).astype(np.int64)
    return Dataset(X, y, name=name, kind="image", meta=meta, classes=classes)


def set_normal_classes(ds: Dataset, normal_class) -> Dataset:
    """A copy of ``ds`` whose ``y`` marks every class except ``normal_class`` (name, index or list)
    as anomalous — for the app, which loads an upload first and asks for the normal class after
    showing the classes. ``normal_class=None`` clears ``y``."""
    if ds.classes is None:
        raise DataError(f"{ds.name} has no class labels")
    meta = dict(ds.meta)
    normal = resolve_class_list(normal_class, meta.get("class_names"), np.unique(ds.classes))
    meta["normal_classes"] = normal or None
    y = (~np.isin(ds.classes, normal)).astype(np.int64) if normal else None
    if y is not None and (y.all() or not y.any()):
        raise DataError("the normal classes must leave at least one normal and one anomalous image")
    return Dataset(ds.X, y, None, ds.name, ds.kind, ds.feature_names, meta, ds.sampler, ds.classes)


# ---------------------------------------------------------------------------------------------
# .npz image arrays
# ---------------------------------------------------------------------------------------------
def npz_holds_images(path, x_key: str = "X", y_key: str | None = "y") -> bool:
    """Peek at an .npz (path or file object): True if ``x_key`` is ≥ 3-d or ``y_key`` holds labels
    other than 0/1 (class labels), i.e. whether the image loader should read it."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if x_key not in archive.files:
                return False
            with archive.zip.open(f"{x_key}.npy") as f:
                major, _ = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                shape = read(f)[0]
            if len(shape) >= 3:
                return True
            if y_key and y_key in archive.files:
                labels = archive[y_key]
                return labels.dtype != object and np.issubdtype(labels.dtype, np.number) and \
                    not set(np.unique(labels).tolist()) <= {0, 1}
    except Exception:  # noqa: BLE001 - unreadable files get the tabular loader's clear error
        return False
    return False


def load_npz_images(source, x_key: str = "X", y_key: str | None = "y", classes_key: str | None = None,
                    normal_class=None, size=None, channels="auto", l1_normalize: bool = False,
                    max_bytes: int = MAX_IDX_BYTES) -> Dataset:
    """``.npz`` with an image array under ``x_key`` and labels under ``y_key`` (or ``classes_key``).

    Labels other than 0/1 (or any labels when ``normal_class`` is given) are
    class labels: ``normal_class`` picks the normal one(s). 0/1 labels without
    ``normal_class`` are anomaly labels, as for tabular files. Feature vectors
    (2-d ``X``) with class labels load as a tabular dataset with classes.
    Never unpickles.
    """
    data, name = _read_source(source, max_bytes)
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
        files = archive.files
        if x_key not in files:
            raise DataError(f"{name} has no array {x_key!r}; it holds {files}")
        X = archive[x_key]
        key = classes_key or y_key
        labels = archive[key] if key and key in files else None
    except DataError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise DataError(f"{name} holds Python objects (pickled data), which are not loaded for safety; "
                            "save plain numeric arrays") from None
        raise DataError(f"{name} is not a readable .npz file: {err}") from None
    except Exception as err:  # noqa: BLE001
        raise DataError(f"{name} is not a readable .npz file ({type(err).__name__})") from None
    stem = Path(name).stem
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if labels.dtype == object or not np.issubdtype(labels.dtype, np.number) and labels.dtype != bool:
            raise DataError(f"labels {key!r} in {name} must be numbers; got {labels.dtype}")
        if len(labels) != len(X):
            raise DataError(f"{name}: {len(labels)} labels for {len(X)} samples")
        if not np.array_equal(labels, np.round(labels)):
            raise DataError(f"labels {key!r} in {name} must be whole numbers (classes)")
    binary = labels is not None and set(np.unique(labels).tolist()) <= {0, 1}
    as_classes = labels is not None and (classes_key is not None or normal_class is not None or not binary)
    if X.ndim == 2:  # feature vectors
        if not as_classes:
            return Dataset(X, labels, name=stem)
        classes = labels.astype(np.int64)
        normal = resolve_class_list(normal_class, None, np.unique(classes))
        y = (~np.isin(classes, normal)).astype(np.int64) if normal else None
        meta = {"class_names": [str(c) for c in range(int(classes.max()) + 1)], "normal_classes": normal or None}
        return Dataset(X, y, name=stem, classes=classes, meta=meta)
    Xf, meta = convert_array(X, size, channels)
    if not as_classes:
        if l1_normalize:
            Xf = l1_normalize_images(Xf)
            meta["conversion"] += "; L1 global contrast normalisation + min-max to [0, 1]"
        return Dataset(Xf, labels, name=stem, kind="image", meta=meta)
    return _finish(Xf, labels.astype(np.int64), None, normal_class, stem, meta, l1_normalize)


# ---------------------------------------------------------------------------------------------
# IDX (MNIST format)
# ---------------------------------------------------------------------------------------------
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _gunzip(data: bytes, name: str, max_bytes: int) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, max_bytes + 1)
    except zlib.error as err:
        raise DataError(f"{name} is not a readable gzip file ({err})") from None
    if len(out) > max_bytes:
        raise DataError(f"{name} unpacks to more than {_mb(max_bytes)}; refusing it")
    if not d.eof:
        raise DataError(f"{name} is a truncated gzip file")
    return out


def read_idx(source, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """An IDX array (the MNIST file format), gzip-compressed or not, with its header checked.

    Header: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of
    dimensions, then each dimension as a big-endian uint32; the data must have
    exactly the announced size.
    """
    data, name = _read_source(source, max_bytes)
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, name, max_bytes)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{name} is not an IDX file: its magic number {data[:4].hex() or 'is missing'} should "
                        "start with two zero bytes")
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        raise DataError(f"{name}: unknown IDX data type 0x{code:02x}")
    if not 1 <= ndim <= 4:
        raise DataError(f"{name}: IDX files here must have 1 to 4 dimensions; the header says {ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name} is truncated: its header is incomplete")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(IDX_TYPES[code])
    expected = math.prod(dims) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(f"{name} holds {len(data) - header} bytes of data, but its header announces "
                        f"{' × '.join(map(str, dims))} values of {dtype.itemsize} byte(s) ({expected} bytes)")
    return np.frombuffer(data, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def load_idx(images, labels=None, normal_class=None, size=None, channels="auto", l1_normalize: bool = False,
             name: str | None = None) -> Dataset:
    """Images from an IDX file (``n × H × W`` or ``n × H × W × C``) with optional IDX labels (``n``)."""
    X = read_idx(images)
    if X.ndim not in (3, 4):
        raise DataError(f"the images file must hold n × height × width values; its shape is {X.shape}")
    classes = None
    if labels is not None:
        classes = read_idx(labels)
        if classes.ndim != 1 or len(classes) != len(X):
            raise DataError(f"the labels file holds {classes.shape} values for {len(X)} images")
    Xf, meta = convert_array(X, size, channels)
    label = name or _display_name(images)
    if classes is None:
        return Dataset(l1_normalize_images(Xf) if l1_normalize else Xf, None, name=label, kind="image", meta=meta)
    return _finish(Xf, classes.astype(np.int64), None, normal_class, label, meta, l1_normalize)


def _display_name(source) -> str:
    n = getattr(source, "name", None) or str(source)
    return re.sub(r"(-images)?(-idx\d-ubyte)?(\.gz)?$", "", Path(n).name) or "idx"


def idx_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(images, labels) IDX file pairs in a folder, matched by prefix (e.g. t10k-, train-)."""
    pairs = []
    for img in sorted(folder.iterdir()):
        m = re.match(r"^(.*)images-idx3-ubyte(\.gz)?$", img.name)
        if not m:
            continue
        for cand in (f"{m.group(1)}labels-idx1-ubyte.gz", f"{m.group(1)}labels-idx1-ubyte"):
            if (folder / cand).is_file():
                pairs.append((img, folder / cand))
                break
        else:
            raise DataError(f"no labels file for {img.name} in {folder} (expected {m.group(1)}labels-idx1-ubyte[.gz])")
    return pairs


def load_mnist(path: str, normal_class=None, size=None, channels="auto", l1_normalize: bool = False) -> Dataset:
    """MNIST-format IDX data: ``path`` is a folder with ``*images-idx3-ubyte[.gz]`` and matching
    ``*labels-idx1-ubyte[.gz]`` files (all pairs are concatenated, e.g. train and t10k) or one images file."""
    p = Path(os.path.expanduser(path))
    if p.is_dir():
        pairs = idx_pairs(p)
        if not pairs:
            raise DataError(f"no MNIST-format files (*images-idx3-ubyte[.gz]) in {p}")
    elif p.is_file():
        lab = Path(str(p).replace("images-idx3", "labels-idx1"))
        pairs = [(p, lab if lab != p and lab.is_file() else None)]
    else:
        raise DataError(f"not found: {p}")
    parts = [load_idx(img, lab, size=size, channels=channels) for img, lab in pairs]
    X = np.concatenate([d.X for d in parts])
    meta = dict(parts[0].meta, files=[img.name for img, _ in pairs])
    meta["conversion"] = f"{len(X)} images" + parts[0].meta["conversion"].split(" images", 1)[1]
    name = "mnist" if len(pairs) > 1 else _display_name(pairs[0][0])
    if any(d.classes is None for d in parts):
        return Dataset(l1_normalize_images(X) if l1_normalize else X, None, name=name, kind="image", meta=meta)
    return _finish(X, np.concatenate([d.classes for d in parts]), None, normal_class, name, meta, l1_normalize)


# ---------------------------------------------------------------------------------------------
# Built-in: scikit-learn's digits (8×8)
# ---------------------------------------------------------------------------------------------
def load_digits_images(normal_class=None, size=None, channels="auto", l1_normalize: bool = False) -> Dataset:
    """scikit-learn's bundled handwritten digits (1,797 images, 8×8, intensities 0–16 → [0, 1]), classes 0–9."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    Xf, meta = convert_array(bunch.images.astype(np.float32) / 16.0, size, channels)
    meta["conversion"] = meta["conversion"].replace("images as", "digits as") + " (0–16 divided by 16)"
    return _finish(Xf, bunch.target, None, normal_class, "digits", meta, l1_normalize)


# ---------------------------------------------------------------------------------------------
# Pre-trained feature extractors (only with local weights; never downloads)
# ---------------------------------------------------------------------------------------------
def local_feature_extractors() -> dict[str, Path]:
    """torchvision ResNet weights present on this machine (TORCH_HOME/hub/checkpoints), by model name.

    Empty when torchvision is not installed or no weights file is there; nothing
    is ever downloaded.
    """
    try:
        import torchvision  # noqa: F401
    except ImportError:
        return {}
    home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
    found = {}
    for arch in ("resnet18", "resnet34", "resnet50"):
        hits = sorted(home.glob(f"{arch}-*.pth")) if home.is_dir() else []
        if hits:
            found[arch] = hits[0]
    return found


def extract_features(X: np.ndarray, arch: str, batch_size: int = 64) -> np.ndarray:
    """Frozen ImageNet features (global-average-pooled last block) of images ``n×C×H×W`` in [0, 1],
    from local torchvision weights only; the result is a tabular ``n × 512`` (or 2048) array."""
    import torch

    weights = local_feature_extractors().get(arch)
    if weights is None:
        raise DataError(f"no local weights for {arch}: feature extraction needs torchvision and the weights file "
                        "in TORCH_HOME/hub/checkpoints (nothing is downloaded)")
    import torchvision

    model = getattr(torchvision.models, arch)(weights=None)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.fc = torch.nn.Identity()
    model.eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = []
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            xb = torch.as_tensor(X[i : i + batch_size])
            if xb.shape[1] == 1:
                xb = xb.expand(-1, 3, -1, -1)
            out.append(model((xb - mean) / std).numpy())
    return np.concatenate(out).astype(np.float32)


def as_features(ds: Dataset, arch: str) -> Dataset:
    """``ds`` with each image replaced by its frozen ``arch`` features (:func:`extract_features`):
    a tabular dataset with the same labels and classes, e.g. for NTL/ICL or Deep SVDD on ResNet
    features as in LOE Table 2."""
    if ds.kind != "image":
        raise DataError(f"pre-trained features need images; {ds.name} holds {ds.kind} data")
    meta = dict(ds.meta, features=arch, conversion=f"{ds.meta.get('conversion', '')}; frozen {arch} features")
    return Dataset(extract_features(ds.X, arch), ds.y, ds.labeled, ds.name, "tabular", None, meta, None, ds.classes)
