"""A zip of class folders of PNG/JPEG images, read safely.

Safety: entry names are checked (no absolute paths, no ``..``, exactly
``class/image`` — one optional common top folder is allowed), the total
unpacked size and the compression ratio are read from the zip directory and
refused *before* anything is decompressed, every entry is read with a hard
bound of its declared size, images are decoded by Pillow from memory (nothing
is written to disk), and each image's pixel count and the total over all
images are checked from the image headers before any image is decoded; the
images are then decoded and resized one at a time.
"""
from __future__ import annotations

import io
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np

from adcore.data.dataset import Dataset, DataError
from adcore.data.image_classes import finish
from adcore.data.image_convert import DEFAULT_MAX_SIDE, pil_to_array
from adcore.data.limits import MAX_TOTAL_PIXELS, mb, read_bytes
from adcore.data.npz import ZIP_ERRORS

MAX_ZIP_BYTES = 200 * 2**20  # packed size of an uploaded zip
MAX_UNPACKED_BYTES = 200 * 2**20  # sum of the declared sizes of its entries
MAX_RATIO = 100.0  # largest unpacked/packed ratio of an entry (PNG/JPEG barely compress: ~1)
MAX_ENTRIES = 200_000
MAX_IMAGE_PIXELS = 40_000_000  # per image, checked before decoding
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
JUNK_NAMES = {"thumbs.db", "desktop.ini"}


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
            raise DataError(f"zip entry {info.filename!r} would unpack to {mb(info.file_size)} from "
                            f"{mb(info.compress_size)} ({ratio:.0f}× its packed size; the limit is {max_ratio:.0f}×): "
                            "refusing a possible zip bomb. PNG and JPEG files barely compress.")
        files.append((parts, info))
    if total > max_unpacked:
        raise DataError(f"{name} would unpack to {mb(total)}; the limit is {mb(max_unpacked)}. "
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
    except ZIP_ERRORS as err:
        raise DataError(f"zip entry {info.filename!r} cannot be unpacked ({err})") from None
    if len(data) > info.file_size:
        raise DataError(f"zip entry {info.filename!r} unpacks to more than its declared size; refusing the archive")
    return data


def open_image(data: bytes, label: str):
    """A Pillow image opened from memory (header only: decoding happens on first use);
    PNG or JPEG only, its pixel count checked."""
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
    except DataError:
        raise
    except Exception as err:  # noqa: BLE001 - Pillow raises many types for bad files
        raise DataError(f"{label} could not be decoded as an image ({type(err).__name__}: {err})") from None
    return img


def load_image_zip(source, normal_class=None, size=None, channels="auto", l1_normalize: bool = False,
                   max_side: int = DEFAULT_MAX_SIDE, max_bytes: int = MAX_ZIP_BYTES,
                   max_unpacked: int = MAX_UNPACKED_BYTES, max_ratio: float = MAX_RATIO,
                   max_pixels: int = MAX_TOTAL_PIXELS) -> Dataset:
    """A ``.zip`` with one folder per class of PNG/JPEG images (path or upload).

    ``normal_class``: a class name (folder), index, or list of them; the other
    classes become anomalies (``y`` = 1). Without it ``y`` is None and a class
    protocol (one-vs-rest, …) chooses. ``size``: ``None``/``"auto"`` (the most
    common size, its longer side shrunk to ``max_side``), an int (square) or
    (height, width). ``channels``: ``"auto"`` (1 if every image is grey, else 3), 1 or 3.
    ``max_pixels`` bounds the decoded pixels of all images together.
    """
    data, name = read_bytes(source, max_bytes)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as err:
        raise DataError(f"{name} is not a readable zip file ({err})") from None
    with zf:
        class_names, entries = scan_zip(zf, name, max_unpacked, max_ratio)
        images, labels, names = [], [], []
        pixels = 0
        for c, cname in enumerate(class_names):
            for info in sorted(entries[cname], key=lambda i: i.filename):
                if not info.filename.lower().endswith(IMAGE_SUFFIXES):
                    raise DataError(f"zip entry {info.filename!r} is not a PNG or JPEG image "
                                    f"(allowed: {', '.join(IMAGE_SUFFIXES)}); remove it from the archive")
                label = f"zip entry {info.filename!r}"
                img = open_image(_read_entry(zf, info), label)
                pixels += img.width * img.height
                if pixels > max_pixels:
                    raise DataError(f"the images of {name} hold more than {max_pixels / 1e6:,.0f} megapixels in "
                                    f"all (reached at {label}); upload fewer or smaller images (they are resized "
                                    "to a small size anyway)")
                images.append(img)
                labels.append(c)
                names.append(label)
    X, meta = pil_to_array(images, size, channels, max_side, labels=names)
    meta["files"] = len(images)
    return finish(X, np.asarray(labels), class_names, normal_class, Path(name).stem, meta, l1_normalize)
