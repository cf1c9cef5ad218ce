"""IDX files (the MNIST format), gzip-compressed or not, with their headers checked."""
from __future__ import annotations

import math
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np

from adcore.data.dataset import Dataset, DataError
from adcore.data.image_classes import finish
from adcore.data.image_convert import convert_array, l1_normalize_images
from adcore.data.limits import check_values, mb, read_bytes

MAX_IDX_BYTES = 500 * 2**20
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _header(data: bytes, name: str) -> tuple[tuple, np.dtype, int]:
    """(dims, dtype, header length) of an IDX header, checked (magic, type, 1-4 dimensions, size limit)."""
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
    check_values(dims, name)
    return dims, np.dtype(IDX_TYPES[code]), header


def _gunzip(data: bytes, name: str, max_bytes: int) -> bytes:
    """The unpacked bytes, never more than the (checked) size the IDX header inside declares."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, 4 + 4 * 4)  # the longest header (4 dimensions)
        dims, dtype, header = _header(out, name)
        want = min(max_bytes, header + math.prod(dims) * dtype.itemsize)
        out += d.decompress(d.unconsumed_tail, want - len(out) + 1)
    except zlib.error as err:
        raise DataError(f"{name} is not a readable gzip file ({err})") from None
    if len(out) > max_bytes:
        raise DataError(f"{name} unpacks to more than {mb(max_bytes)}; refusing it")
    if len(out) <= want and not d.eof:
        raise DataError(f"{name} is a truncated gzip file")
    return out


def read_idx(source, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """An IDX array (the MNIST file format), gzip-compressed or not, with its header checked.

    Header: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of
    dimensions, then each dimension as a big-endian uint32; the data must have
    exactly the announced size. A gzip file is unpacked only up to that size.
    """
    data, name = read_bytes(source, max_bytes)
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, name, max_bytes)
    dims, dtype, header = _header(data, name)
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
    return finish(Xf, classes, None, normal_class, label, meta, l1_normalize)


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
    return finish(X, np.concatenate([d.classes for d in parts]), None, normal_class, name, meta, l1_normalize)


