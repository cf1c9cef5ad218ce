""".npz archives read safely: never unpickles, and checks every ``.npy`` header before allocating.

``numpy.load`` allocates the shape an ``.npy`` header declares before reading
the data, so a 1 KB file can ask for terabytes; and the packed size of an
archive says nothing about its unpacked size. Here the headers of the arrays
to read are parsed first, their declared sizes are checked against the zip
directory (a shorter member is a truncated array) and against
:data:`~adcore.data.limits.MAX_DECODED_BYTES`, and only then is anything read.
"""
from __future__ import annotations

import io
import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adcore.data.dataset import DataError
from adcore.data.limits import check_decoded, mb

MAX_HEADER = 10_000
# what zipfile raises for damaged archives (a flipped version byte gives NotImplementedError)
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, NotImplementedError)


@dataclass(frozen=True)
class Header:
    """What an ``.npy`` header inside the archive declares."""

    shape: tuple
    dtype: np.dtype
    data_bytes: int  # declared size of the data
    header_bytes: int
    member: zipfile.ZipInfo


def open_npz(source, name: str) -> zipfile.ZipFile:
    """The archive of ``source`` (bytes, a file object or a path); a clear error for anything else."""
    if isinstance(source, (bytes, bytearray)):
        if source.startswith(b"\x93NUMPY"):
            raise DataError(f"{name} holds a single array (.npy); save features and labels together with "
                            "numpy.savez(path, X=..., y=...)")
        source = io.BytesIO(source)
    try:
        return zipfile.ZipFile(source if not isinstance(source, (str, Path)) else str(source))
    except ZIP_ERRORS as err:
        raise DataError(f"{name} is not a readable .npz file: the archive is damaged or truncated ({err}); "
                        "save it again with numpy.savez") from None


def headers(zf: zipfile.ZipFile, name: str) -> dict[str, Header]:
    """The declared shape and type of every array in the archive, by key; reads only the headers."""
    out = {}
    for info in zf.infolist():
        if info.is_dir() or not info.filename.endswith(".npy"):
            continue
        key = info.filename[: -len(".npy")]
        try:
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version not in ((1, 0), (2, 0)):
                    raise ValueError(f"unsupported .npy version {version}")
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(f, max_header_size=MAX_HEADER)
                header_bytes = f.tell()
        except (*ZIP_ERRORS, SyntaxError, TypeError) as err:
            raise DataError(f"{name}: array {key!r} has no valid .npy header ({str(err).splitlines()[0]}); "
                            "save it again with numpy.savez") from None
        shape = tuple(int(s) for s in shape)
        out[key] = Header(shape, dtype, math.prod(shape) * dtype.itemsize, header_bytes, info)
    return out


def check_dtype(h: Header, key: str, name: str) -> None:
    """Plain numbers, booleans or text only: no Python objects, records or complex numbers."""
    if h.dtype.hasobject:
        raise DataError(f"{name}: array {key!r} holds Python objects (pickled data), which are not loaded for "
                        "safety; save plain numeric arrays")
    if h.dtype.fields is not None or h.dtype.kind == "V":
        raise DataError(f"{name}: array {key!r} is a structured (record) array; save plain numeric arrays")
    if h.dtype.kind == "c":
        raise DataError(f"{name}: array {key!r} holds complex numbers; save real-valued features "
                        "(e.g. the real and imaginary parts as separate columns)")
    if h.dtype.kind in "mM":
        raise DataError(f"{name}: array {key!r} holds dates or times; save numbers")


def read_arrays(zf: zipfile.ZipFile, name: str, heads: dict[str, Header], keys) -> dict[str, np.ndarray]:
    """The arrays ``keys`` (those present in ``heads``), each checked before it is allocated."""
    want = [k for k in dict.fromkeys(keys) if k is not None and k in heads]
    for k in want:
        h = heads[k]
        check_dtype(h, k, name)
        stored = h.member.file_size - h.header_bytes
        if stored < h.data_bytes:
            raise DataError(f"{name}: array {k!r} is truncated: its header announces shape {h.shape} of "
                            f"{h.dtype} ({mb(h.data_bytes)}) but only {mb(max(stored, 0))} are stored; "
                            "save the file again")
    check_decoded(sum(heads[k].data_bytes for k in want), name)
    out = {}
    for k in want:
        try:
            with zf.open(heads[k].member) as f:
                out[k] = np.lib.format.read_array(f, allow_pickle=False, max_header_size=MAX_HEADER)
        except ZIP_ERRORS as err:
            raise DataError(f"{name}: array {k!r} cannot be read: the archive is damaged "
                            f"({str(err).splitlines()[0]}); save it again") from None
    return out


def load_arrays(source, name: str, keys) -> tuple[dict[str, np.ndarray], list[str]]:
    """(the arrays ``keys`` present in the archive ``source``, every key it holds)."""
    with open_npz(source, name) as zf:
        heads = headers(zf, name)
        return read_arrays(zf, name, heads, keys), list(heads)
