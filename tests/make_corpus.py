"""A corpus of hostile and malformed inputs, as an attacker or a careless user would upload them.

``file_cases()`` gives files (CSV, NPZ, MAT, ZIP, IDX, misleading names), each with the outcome
expected from ``adcore.data.load_upload``: ``"refuse"`` (a ``DataError`` whose message matches
``match``) or ``"accept"`` (a valid Dataset). ``cli_cases()`` gives command lines and config files
that must be refused with a message naming the flag or field. Everything is made in memory, in a
few seconds, by code (no binary fixtures). ``python tests/make_corpus.py OUT`` writes the files;
``python tests/make_corpus.py --tables`` prints the tables of docs/RELIABILITY.md.
"""
from __future__ import annotations

import gzip
import io
import json
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Case:
    name: str  # short id
    filename: str  # the name the file is uploaded as
    data: bytes
    expect: str  # "refuse" or "accept"
    match: str = ""  # regex the refusal message must match
    labels: bytes | None = None  # IDX labels file
    options: dict = field(default_factory=dict)  # load_upload options (e.g. label_col)
    what: str = ""  # what is wrong with it, for the docs


# ---------------------------------------------------------------- builders

def npz_bytes(compress: bool = False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    return buf.getvalue()


def npy_header(shape, descr: str = "<f8", version=(1, 0)) -> bytes:
    """A valid .npy header declaring ``shape`` (no data follows)."""
    header = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack("<H", len(header)) + header


def zip_raw(entries) -> bytes:
    """A zip written by hand: ``entries`` = [(name, data, declared_size)], stored (no compression);
    ``declared_size`` may lie about the unpacked size, as a hostile file's directory can."""
    out, central = io.BytesIO(), []
    for name, data, declared in entries:
        offset = out.tell()
        crc = zlib.crc32(data)
        fname = name.encode()
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(data), declared,
                              len(fname), 0) + fname + data)
        central.append(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, len(data), declared,
                                   len(fname), 0, 0, 0, 0, 0, offset) + fname)
    start = out.tell()
    for c in central:
        out.write(c)
    out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(central), len(central), out.tell() - start, start, 0))
    return out.getvalue()


def zip_of(files: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def png(size=(8, 8), value: int = 128, mode: str = "L", fmt: str = "PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(buf, format=fmt)
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header (IHDR) declares ``width × height`` pixels; its data is one empty row."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">2I5B", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def class_zip(per_class: int = 4, size: int = 8) -> dict:
    return {f"{c}/{i}.png": png((size, size), 40 * i + (100 if c == "b" else 0)) for c in "ab" for i in range(per_class)}


def idx(arr: np.ndarray, code: int | None = None, dims=None) -> bytes:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B, np.dtype(np.int32): 0x0C,
             np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
    code = codes[arr.dtype] if code is None else code
    dims = arr.shape if dims is None else dims
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + \
        arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def mat_bytes(**variables) -> bytes:
    from scipy.io import savemat

    buf = io.BytesIO()
    savemat(buf, variables)
    return buf.getvalue()


def table(n: int = 40, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (np.arange(n) % 8 == 0).astype(int)
    return X, y


def csv_text(n: int = 40, header: str = "a,b,c,label") -> str:
    X, y = table(n)
    return header + "\n" + "\n".join(",".join(f"{v:.4f}" for v in row) + f",{t}" for row, t in zip(X, y)) + "\n"


# ---------------------------------------------------------------- the corpus

def csv_cases() -> list[Case]:
    good = csv_text()
    latin = ("größe,café,label\n" + "\n".join(f"{i}.5,{i % 3},{int(i % 8 == 0)}" for i in range(30))).encode("latin-1")
    rng = np.random.default_rng(3)
    return [
        Case("csv-ok", "data.csv", good.encode(), "accept", options={"label_col": "label"}, what="a valid CSV"),
        Case("csv-empty", "empty.csv", b"", "refuse", "empty", what="0 bytes"),
        Case("csv-header-only", "head.csv", b"a,b,c\n", "refuse", "no rows", what="a header and no rows"),
        Case("csv-latin1", "latin.csv", latin, "accept", options={"label_col": "label"},
             what="Latin-1 text (é, ö, ß): detected, read as cp1252"),
        Case("csv-utf16-bom", "utf16.csv", good.encode("utf-16"), "accept", options={"label_col": "label"},
             what="UTF-16 with a byte-order mark (Excel 'Unicode text')"),
        Case("csv-utf16le-nobom", "utf16le.csv", good.encode("utf-16-le"), "accept", options={"label_col": "label"},
             what="UTF-16 without a byte-order mark"),
        Case("csv-utf8-bom", "bom.csv", b"\xef\xbb\xbf" + good.encode(), "accept", options={"label_col": "label"},
             what="UTF-8 with a byte-order mark"),
        Case("csv-duplicate-label", "dup.csv", csv_text(header="a,label,b,label").encode(), "refuse",
             r"2 columns named 'label'", options={"label_col": "label"},
             what="two columns named label (pandas would silently use label.1)"),
        Case("csv-duplicate-label-mangled", "dup2.csv", csv_text(header="a,label,b,label").encode(), "refuse",
             r"2 columns named 'label'", options={"label_col": "label.1"}, what="label.1 chosen from a duplicate"),
        Case("csv-text-in-numbers", "text.csv", (good + "x,1,2,0\n").encode(), "refuse", "not numeric",
             options={"label_col": "label"}, what="a word in a numeric column"),
        Case("csv-missing", "missing.csv", (good + "1,,2,0\n").encode(), "refuse", "missing feature values",
             options={"label_col": "label"}, what="an empty cell"),
        Case("csv-inf", "inf.csv", (good + "inf,1,2,0\n").encode(), "refuse", "NaN or infinite",
             options={"label_col": "label"}, what="inf as a value"),
        Case("csv-1e39", "huge.csv", (good + "1e39,1,2,0\n").encode(), "refuse", "float32 range",
             options={"label_col": "label"}, what="1e39 (beyond float32; was misreported as NaN)"),
        Case("csv-ragged", "ragged.csv", (good + "1,2,3,4,5,6\n").encode(), "refuse", "not a readable CSV",
             what="a row with more fields than the header"),
        Case("csv-binary", "noise.csv", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "refuse",
             "not a text CSV|not a readable CSV|not numeric|no rows", what="random bytes"),
        Case("csv-png", "image.csv", png(), "refuse", "not a text CSV|not a readable CSV|not numeric",
             what="a PNG named .csv"),
        Case("csv-label-missing-value", "lab.csv", (good + "1,2,3,\n").encode(), "refuse", "empty values",
             options={"label_col": "label"}, what="a row without a label"),
        Case("csv-no-anomaly-value", "allzero.csv", csv_text().replace(",1\n", ",0\n").encode(), "refuse",
             "no row has 'label' = 1", options={"label_col": "label"}, what="no row has the anomaly value"),
        Case("csv-unknown-label-col", "nolab.csv", good.encode(), "refuse", "no column 'target'",
             options={"label_col": "target"}, what="a label column that does not exist"),
        Case("csv-one-column-label-only", "onlylab.csv", b"label\n0\n1\n0\n", "refuse", "no feature columns",
             options={"label_col": "label"}, what="only a label column"),
        Case("csv-onehot-explosion", "ids.csv", ("id,v\n" + "\n".join(f"u{i},{i}" for i in range(2000))).encode(),
             "accept", options={"categorical": "onehot"}, what="one-hot of a 2,000-value text column (within limits)"),
    ]


def npz_cases() -> list[Case]:
    X, y = table()
    images = np.random.default_rng(1).integers(0, 255, (12, 8, 8), dtype=np.uint8)
    classes = np.arange(12) % 3
    huge_header = zip_raw([("X.npy", npy_header((10**6, 10**6)), len(npy_header((10**6, 10**6))))])
    lying = zip_raw([("X.npy", npy_header((200_000_000,)) + b"\0" * 64, 200_000_000 * 8 + 128)])
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as f:
            f.write(npy_header((1100 * 2**20 // 8, 1), "|u1"))  # 1.1 GB of zero bytes (a zip bomb)
            chunk = bytes(2**24)
            for _ in range(1100 * 2**20 // 8 // 2**24):
                f.write(chunk)
    good = npz_bytes(X=X, y=y)
    return [
        Case("npz-ok", "data.npz", good, "accept", what="a valid npz"),
        Case("npz-huge-header", "tiny.npz", huge_header, "refuse", "the limit is|truncated",
             what="a 1 KB file whose .npy header declares 10^6 × 10^6 floats (numpy would allocate 8 TB)"),
        Case("npz-lying-directory", "lie.npz", lying, "refuse", "the limit is",
             what="the zip directory and header declare 1.6 GB; the data is 64 bytes"),
        Case("npz-bomb", "bomb.npz", bomb.getvalue(), "refuse", "the limit is",
             what="130 KB that unpacks to 1.1 GB"),
        Case("npz-huge-y", "ybomb.npz", zip_raw([("X.npy", npy_header((40, 3)) + X.tobytes(), 128 + 960),
                                                  ("y.npy", npy_header((200_000_000,)), 1_600_000_128)]), "refuse",
             "would unpack to .* the limit is", what="small X and a y whose header and directory declare 1.6 GB"),
        Case("npz-pickle", "pickle.npz", npz_bytes(X=np.array([{"a": 1}, None], dtype=object)), "refuse",
             "Python objects", what="an object array (pickled)"),
        Case("npz-truncated-array", "cut.npz", zip_raw([("X.npy", npy_header((40, 3)) + b"\0" * 100,
                                                         len(npy_header((40, 3))) + 100)]), "refuse", "truncated",
             what="an array shorter than its header (was reported as 'pickled data')"),
        Case("npz-truncated-file", "half.npz", good[: len(good) // 2], "refuse", "damaged or truncated",
             what="the file cut in half"),
        Case("npz-structured", "rec.npz", npz_bytes(X=np.zeros(5, dtype=[("a", "f4"), ("b", "i4")])), "refuse",
             "structured", what="a record array"),
        Case("npz-complex", "cplx.npz", npz_bytes(X=X + 1j), "refuse", "complex", what="complex features"),
        Case("npz-strings", "str.npz", npz_bytes(X=np.array([["a", "b"], ["c", "d"]])), "refuse", "numbers",
             what="text features"),
        Case("npz-1d", "vec.npz", npz_bytes(X=np.arange(10.0)), "refuse", "shape", what="1-D X"),
        Case("npz-scalar", "scalar.npz", npz_bytes(X=np.float64(3.0)), "refuse", "shape", what="0-D X"),
        Case("npz-zero-features", "empty.npz", npz_bytes(X=np.zeros((5, 0))), "refuse", "at least 2 samples",
             what="shape (5, 0)"),
        Case("npz-nan", "nan.npz", npz_bytes(X=np.where(X > 1.5, np.nan, X), y=y), "refuse", "NaN or infinite",
             what="NaN features"),
        Case("npz-1e39", "big.npz", npz_bytes(X=X * 1e39), "refuse", "float32 range", what="values beyond float32"),
        Case("npz-no-X", "nox.npz", npz_bytes(features=X), "refuse", "no array 'X'", what="features not under X"),
        Case("npz-y-length", "ylen.npz", npz_bytes(X=X, y=y[:5]), "refuse", "5 labels for 40 samples",
             what="fewer labels than samples"),
        Case("npz-y-nan", "ynan.npz", npz_bytes(X=X, y=np.where(y == 1, np.nan, 0.0)), "refuse", "NaN",
             what="NaN labels"),
        Case("npz-single-npy", "single.npz", npy_header((2, 2)) + bytes(32), "refuse", "single array",
             what="a plain .npy named .npz"),
        Case("npz-bad-header", "badhead.npz", zip_raw([("X.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}\n", 26)]),
             "refuse", "no valid .npy header", what="a corrupt .npy header"),
        Case("npz-bool", "bool.npz", npz_bytes(X=X > 0, y=y), "accept", what="boolean features"),
        Case("npz-classes-tabular", "cls.npz", npz_bytes(X=X, y=np.arange(40) % 3), "accept",
             what="feature vectors with class labels 0/1/2"),
        Case("npz-images-ok", "img.npz", npz_bytes(X=images, y=classes), "accept", what="8×8 images with classes"),
        Case("npz-images-negative-class", "neg.npz", npz_bytes(X=images, y=classes - 3), "refuse", "0 or more",
             what="class labels down to -3 (indexed from the end before)"),
        Case("npz-images-nan-class", "nancls.npz", npz_bytes(X=images, y=np.where(classes == 2, np.nan, classes)),
             "refuse", "NaN", what="NaN class labels"),
        Case("npz-images-huge-class", "hugecls.npz", npz_bytes(X=images, y=classes * 10**9), "refuse", "at most",
             what="class label 2·10^9 (building class names allocated 7.4 GB before)"),
        Case("npz-images-fraction-class", "frac.npz", npz_bytes(X=images, y=classes + 0.5), "refuse", "whole numbers",
             what="class label 0.5"),
        Case("npz-images-empty", "noimg.npz", npz_bytes(X=np.zeros((0, 8, 8)), y=np.zeros(0)), "refuse",
             "no images", what="an empty image set (was 'zero-size array to reduction operation')"),
        Case("npz-images-5-channels", "chan.npz", npz_bytes(X=np.zeros((4, 5, 8, 8))), "refuse", "channels",
             what="5 channels"),
        Case("npz-images-huge-declared", "imghead.npz", zip_raw([("X.npy", npy_header((10**5, 3, 10**3, 10**3)),
                                                                  len(npy_header((10**5, 3, 10**3, 10**3))))]),
             "refuse", "truncated|limit", what="an image header declaring 10^5 megapixel images"),
    ]


def mat_cases() -> list[Case]:
    import scipy.sparse as sp

    X, y = table()
    good = mat_bytes(X=X, y=y[:, None])
    return [
        Case("mat-ok", "data.mat", good, "accept", what="an ODDS-style .mat"),
        Case("mat-sparse", "sparse.mat", mat_bytes(X=sp.csc_matrix(np.where(np.abs(X) > 1, X, 0)), y=y[:, None]),
             "accept", what="sparse X (ODDS style): densified"),
        Case("mat-struct", "struct.mat", mat_bytes(X={"a": X}), "refuse", "MATLAB struct", what="X a struct"),
        Case("mat-cell", "cell.mat", mat_bytes(X=np.array([[X, "a"]], dtype=object)), "refuse", "cell array",
             what="X a cell array"),
        Case("mat-char", "char.mat", mat_bytes(X="hello"), "refuse", "text", what="X text"),
        Case("mat-complex", "complex.mat", mat_bytes(X=X + 1j, y=y[:, None]), "refuse", "complex",
             what="complex X (lost its imaginary part before)"),
        Case("mat-y-char", "ychar.mat", mat_bytes(X=X, y="normal"), "refuse", "text", what="y text"),
        Case("mat-no-X", "nox.mat", mat_bytes(data=X), "refuse", "no variable 'X'", what="no X"),
        Case("mat-v73", "v73.mat", b"MATLAB 7.3 MAT-file".ljust(128, b" ") + b"\x89HDF\r\n\x1a\n" + bytes(64),
             "refuse", "v7.3", what="an HDF5 (v7.3) file"),
        Case("mat-truncated", "cut.mat", good[: len(good) // 2], "refuse", "not a readable .mat",
             what="the file cut in half"),
        Case("mat-garbage", "noise.mat", np.random.default_rng(5).integers(0, 256, 2048, dtype=np.uint8).tobytes(),
             "refuse", "not a readable .mat", what="random bytes"),
        Case("mat-1e39", "big.mat", mat_bytes(X=X * 1e39, y=y[:, None]), "refuse", "float32 range",
             what="values beyond float32"),
    ]


def zip_cases() -> list[Case]:
    blank = png((6000, 6000), 0)
    return [
        Case("zip-ok", "shapes.zip", zip_of(class_zip()), "accept", what="a valid zip of class folders"),
        Case("zip-traversal", "evil.zip", zip_of({"a/1.png": png(), "../b/2.png": png()}), "refuse", r"'\.\.'",
             what="an entry pointing outside ('..')"),
        Case("zip-absolute", "abs.zip", zip_of({"a/1.png": png(), "/etc/passwd": b"x"}), "refuse", "absolute path",
             what="an absolute entry path"),
        Case("zip-bomb-entry", "bomb.zip", zip_of({"a/1.png": png(), "a/bomb.png": bytes(20 * 2**20)}), "refuse",
             "zip bomb", what="an entry 1000× its packed size"),
        Case("zip-lying-size", "lie.zip", zip_raw([("a/1.png", png(), 10), ("a/2.png", png(), 10**6)]), "refuse",
             "zip bomb|more than its declared size|cannot be unpacked|could not be decoded",
             what="a directory lying about entry sizes"),
        Case("zip-blank-6000", "blank.zip", zip_of({f"c{i % 2}/{i}.png": blank for i in range(40)}), "refuse",
             "megapixels in all", what="40 blank 6000×6000 PNGs (1.44 gigapixels; peaked at ~1.9 GB before)"),
        Case("zip-huge-image", "one.zip", zip_of({"a/1.png": png(), "a/2.png": png_declaring(7000, 7000)}), "refuse",
             "megapixels", what="a PNG header declaring 7000×7000 (49 MP)"),
        Case("zip-png-header-bomb", "hdr.zip", zip_of({"a/1.png": png(), "a/2.png": png_declaring(100_000, 100_000)}),
             "refuse", "megapixels|could not be decoded", what="a 60-byte PNG declaring 10^10 pixels"),
        Case("zip-gif", "gif.zip", zip_of({"a/1.png": png(), "a/2.png": png(fmt="GIF")}), "refuse",
             "not a PNG or JPEG", what="a GIF named .png"),
        Case("zip-text-entry", "txt.zip", zip_of({"a/1.png": png(), "a/notes.txt": b"hello"}), "refuse",
             "not a PNG or JPEG", what="a text file in a class folder"),
        Case("zip-truncated-png", "cutpng.zip", zip_of({"a/1.png": png(), "a/2.png": png((64, 64), 3)[:60],
                                                         "b/1.png": png()}), "refuse", "could not be decoded",
             what="a truncated PNG"),
        Case("zip-nested", "deep.zip", zip_of({"a/x/1.png": png(), "b/y/2.png": png()}), "refuse", "nested too deep",
             what="sub-folders in class folders"),
        Case("zip-top-level", "flat.zip", zip_of({"1.png": png(), "2.png": png()}), "refuse", "not inside a class folder",
             what="images without class folders"),
        Case("zip-empty", "empty.zip", zip_of({}), "refuse", "holds no files", what="an empty zip"),
        Case("zip-noise", "noise.zip", np.random.default_rng(6).integers(0, 256, 3000, dtype=np.uint8).tobytes(),
             "refuse", "not a readable zip", what="random bytes"),
        Case("zip-one-image", "single.zip", zip_of({"a/1.png": png()}), "refuse", "at least 2", what="one image"),
        Case("zip-truncated", "cut.zip", zip_of(class_zip())[:300], "refuse", "not a readable zip",
             what="the zip cut short"),
        Case("zip-mixed-sizes-modes", "mixed.zip", zip_of({"a/1.png": png((8, 8)), "a/2.png": png((30, 10), mode="RGB"),
                                                           "b/1.jpg": png((8, 8), fmt="JPEG"), "b/2.png": png((8, 8))}),
             "accept", what="grey and colour, PNG and JPEG, several sizes"),
    ]


def idx_cases() -> list[Case]:
    images = np.random.default_rng(2).integers(0, 255, (20, 8, 8), dtype=np.uint8)
    labels = (np.arange(20) % 4).astype(np.uint8)
    gz_bomb = gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 10**6, 28, 28) + bytes(600 * 2**20),
                            compresslevel=1)
    return [
        Case("idx-ok", "t10k-images-idx3-ubyte", idx(images), "accept", labels=idx(labels),
             what="MNIST-format images and labels"),
        Case("idx-no-labels", "x-images-idx3-ubyte", idx(images), "accept", what="images without labels"),
        Case("idx-huge-dims", "huge-images-idx3-ubyte", bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**31, 2**16, 2**16),
             "refuse", "limit", what="a 16-byte header declaring 2^63 pixels"),
        Case("idx-bad-magic", "bad-images-idx3-ubyte", b"\x01\x02\x08\x03" + bytes(64), "refuse", "magic number",
             what="a wrong magic number"),
        Case("idx-truncated", "cut-images-idx3-ubyte", idx(images)[:-10], "refuse", "header announces",
             what="data shorter than the header says"),
        Case("idx-gzip-bomb", "bomb-images-idx3-ubyte.gz", gz_bomb, "refuse", "the limit is",
             what="a 600 KB gzip that unpacks to 600 MB (refused from the header inside)"),
        Case("idx-gzip-overlong", "long-images-idx3-ubyte.gz", gzip.compress(idx(images) + bytes(50 * 2**20), 1),
             "refuse", "header announces", what="a gzip holding 50 MB more than its IDX header declares"),
        Case("idx-gzip-truncated", "cut-images-idx3-ubyte.gz", gzip.compress(idx(images))[:40], "refuse",
             "truncated gzip|not a readable gzip", what="a cut gzip"),
        Case("idx-negative-labels", "n-images-idx3-ubyte", idx(images), "refuse", "0 or more",
             labels=idx(labels.astype(np.int8) - 3), what="signed labels down to -3"),
        Case("idx-nan-labels", "f-images-idx3-ubyte", idx(images), "refuse", "NaN",
             labels=idx(np.where(labels == 1, np.nan, labels).astype(np.float32)), what="float labels with NaN"),
        Case("idx-huge-labels", "h-images-idx3-ubyte", idx(images), "refuse", "at most",
             labels=idx(((labels.astype(np.int64) + 1) * 5 * 10**8).astype(np.int32)),
             what="labels up to 2·10^9 (a 6 KB file allocated 7.4 GB before)"),
        Case("idx-label-count", "c-images-idx3-ubyte", idx(images), "refuse", "labels file holds",
             labels=idx(labels[:5]), what="5 labels for 20 images"),
        Case("idx-5d", "d5-images-idx3-ubyte", bytes([0, 0, 8, 5]) + struct.pack(">5I", 1, 1, 1, 1, 1) + b"\0",
             "refuse", "1 to 4 dimensions", what="5 dimensions"),
        Case("idx-bad-type", "t-images-idx3-ubyte", bytes([0, 0, 0x42, 1]) + struct.pack(">I", 1) + b"\0", "refuse",
             "unknown IDX data type", what="an unknown type code"),
        Case("idx-nan-images", "nan-images-idx3-ubyte", idx(np.full((4, 3, 3), np.nan, np.float32)), "refuse",
             "NaN", what="float images of NaN"),
    ]


def misleading_cases() -> list[Case]:
    X, y = table()
    return [
        Case("name-zip-as-csv", "data.csv", zip_of(class_zip()), "refuse", "not a text CSV|not a readable CSV",
             what="a zip named .csv"),
        Case("name-csv-as-npz", "data.npz", csv_text().encode(), "refuse", "not a numpy archive",
             what="CSV text named .npz"),
        Case("name-npz-as-mat", "data.mat", npz_bytes(X=X), "refuse", "not a readable .mat",
             what="an npz named .mat"),
        Case("name-png-as-zip", "data.zip", png(), "refuse", "not a readable zip", what="a PNG named .zip"),
        Case("name-xlsx", "data.xlsx", b"PK\x03\x04" + bytes(40), "refuse", "unknown file type",
             what="an unsupported type"),
        Case("name-no-extension", "data", csv_text().encode(), "refuse", "unknown file type", what="no extension"),
        Case("name-csv-as-idx", "x-images-idx3-ubyte", csv_text().encode(), "refuse", "magic number",
             what="CSV named as IDX"),
        Case("name-path-in-name", "../../etc/passwd.csv", csv_text().encode(), "accept", options={"label_col": "label"},
             what="a path in the upload's name (only the name is used; nothing is written)"),
    ]


def file_cases() -> list[Case]:
    """Every file case (about 100)."""
    return csv_cases() + npz_cases() + mat_cases() + zip_cases() + idx_cases() + misleading_cases()


CONFIGS = {"list": [1, 2], "sp": {"strategy_params": 3}, "sp-inner": {"strategy_params": {"loe_hard": 5}},
           "lr-text": {"lr": "abc"}, "batch-float": {"batch_size": 2.5}, "seeds-text": {"seeds": "0,1"},
           "unknown-key": {"learning_rate": 0.1}, "epochs-null": {"epochs": None}}


def write_configs(tmp: Path) -> None:
    """The config files that :func:`cli_cases` names, written into ``tmp``."""
    for name, content in CONFIGS.items():
        (tmp / f"{name}.json").write_text(json.dumps(content))
    (tmp / "broken.json").write_text("{'lr': 1")
    (tmp / "latin.json").write_bytes('{"data": "café"}'.encode("latin-1"))


def cli_cases() -> list[tuple[str, list[str], str]]:
    """(id, argv after ``run``, regex the error must match) for flags and config files; ``{tmp}`` in an
    argument stands for the folder where :func:`write_configs` wrote the files."""
    tmp = "{tmp}"
    quick = ["--epochs", "1"]
    return [
        ("device-tpu", quick + ["--device", "tpu"], r"--device: unknown device 'tpu'"),
        ("seeds-text", quick + ["--seeds", "a,b"], r"--seeds takes whole numbers"),
        ("seeds-negative", quick + ["--seeds", "-1"], r"--seeds: .*from 0 to"),
        ("seeds-huge", quick + ["--seeds", str(2**70)], r"--seeds: .*from 0 to"),
        ("seeds-duplicate", quick + ["--seeds", "1,1"], r"--seeds: .*differ"),
        ("lr-inf", quick + ["--lr", "inf"], r"--lr: must be a finite number"),
        ("lr-nan", quick + ["--lr", "nan"], r"--lr: must be a finite number"),
        ("lr-1e39", quick + ["--lr", "1e39"], r"--lr: must lie in"),
        ("lr-zero", quick + ["--lr", "0"], r"--lr: must lie in"),
        ("warmup-negative", quick + ["--warmup", "-3"], r"--warmup: must be at least 0"),
        ("epochs-zero", ["--epochs", "0"], r"--epochs: must be from 1"),
        ("batch-one", quick + ["--batch-size", "1"], r"--batch-size: must be from 2"),
        ("alpha-1.5", quick + ["--alpha", "1.5"], r"--alpha: must lie in"),
        ("alpha0-negative", quick + ["--alpha0", "-0.1"], r"--alpha0: must lie in"),
        ("out-missing-folder", quick + ["--out", f"{tmp}/nowhere/r.json"], r"--out: the folder .* does not exist"),
        ("out-is-folder", quick + ["--out", tmp], r"--out: .* is a folder"),
        ("config-list", ["--config", f"{tmp}/list.json"], r"--config: .*JSON object"),
        ("config-missing", ["--config", f"{tmp}/absent.json"], r"--config: cannot read"),
        ("config-broken", ["--config", f"{tmp}/broken.json"], r"--config: .*not valid JSON"),
        ("config-latin1", ["--config", f"{tmp}/latin.json"], r"--config: .*not valid JSON"),
        ("config-strategy-params", ["--config", f"{tmp}/sp.json"], r"strategy_params"),
        ("config-strategy-params-inner", ["--config", f"{tmp}/sp-inner.json"], r"strategy_params"),
        ("config-lr-text", ["--config", f"{tmp}/lr-text.json"], r"lr .*must be a number; got 'abc'"),
        ("config-batch-float", ["--config", f"{tmp}/batch-float.json"], r"batch_size .*whole number.*2\.5"),
        ("config-seeds-text", ["--config", f"{tmp}/seeds-text.json"], r"seeds .*must be a list"),
        ("config-unknown-key", ["--config", f"{tmp}/unknown-key.json"], r"unknown configuration keys"),
        ("config-epochs-null", ["--config", f"{tmp}/epochs-null.json"], r"epochs .*whole number"),
        ("param-no-equals", quick + ["--param", "hidden"], r"--param takes NAME=VALUE"),
        ("param-unknown", quick + ["--param", "nonsense=1"], r"nonsense"),
        ("param-negative-width", quick + ["--param", "n_centers=-5"], r"n_centers"),
        ("param-huge-layer", quick + ["--data", "sklearn:wine", "--param", "hidden=[10000000]"],
         r"parameter 'hidden' must be .* from 1 to 4096"),
        ("param-layer-text", quick + ["--data", "sklearn:wine", "--param", "hidden=a,b"], r"parameter 'hidden'"),
        ("strategy-unknown", quick + ["--strategy", "magic"], r"magic"),
        ("backbone-unknown", quick + ["--backbone", "resnet9000"], r"resnet9000"),
        ("data-missing", quick + ["--data", f"{tmp}/absent.csv"], r"file not found"),
        ("data-bad-class", quick + ["--data", "sklearn:wine:x"], r"whole number"),
        ("data-unknown-kind", quick + ["--data", "data.xlsx"], r"cannot read 'data.xlsx'"),
    ]


def tables() -> str:
    """The markdown tables of docs/RELIABILITY.md: each file case with what ``load_upload`` says, and each
    command line with the CLI's message."""
    import contextlib
    import tempfile

    from adcore.cli import main
    from adcore.data import DataError, load_upload

    def cell(text: str) -> str:
        text = text.replace("|", "\\|")
        return text if len(text) <= 170 else text[:167] + "…"

    rows = []
    for c in file_cases():
        try:
            ds = load_upload(c.data, c.filename, c.labels, **c.options)
            said = f"accepted: {len(ds)} samples, {ds.kind}" + (f", read as {ds.meta['encoding']}"
                                                                 if ds.meta.get("encoding") else "")
        except DataError as err:
            said = str(err)
        rows.append(f"| `{c.name}` | {len(c.data):,} | {c.what} | {cell(said)} |")
    out = ["| case | bytes | what | result |", "|---|---:|---|---|", *rows, ""]
    tmp = Path(tempfile.mkdtemp())
    write_configs(tmp)
    out += ["| arguments (after `run`) | exit | message |", "|---|---:|---|"]
    for _, argv, _ in cli_cases():
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(["run", *[a.replace("{tmp}", str(tmp)) for a in argv]])
        shown = " ".join(a.replace("{tmp}", "DIR") for a in (argv[2:] if argv[:2] == ["--epochs", "1"] else argv))
        out.append(f"| `{shown}` | {rc} | {cell(err.getvalue().strip().replace(str(tmp), 'DIR'))} |")
    return "\n".join(out)


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables"]:  # the tables of docs/RELIABILITY.md
        print(tables())
        sys.exit(0)
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    out.mkdir(parents=True, exist_ok=True)
    for c in file_cases():
        (out / f"{c.name}__{Path(c.filename).name}").write_bytes(c.data)
        if c.labels is not None:
            (out / f"{c.name}__labels-idx1-ubyte").write_bytes(c.labels)
    print(f"wrote {len(file_cases())} files to {out}")
