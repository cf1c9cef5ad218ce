"""Resource limits for user data, checked *before* anything large is allocated.

Every loader reads a file's declared sizes first (the zip directory, ``.npy``
headers, IDX headers, image headers, a CSV's line and column counts) and
refuses the file with a :class:`~adcore.data.dataset.DataError` when the
data would exceed these limits; docs/RELIABILITY.md lists them.
"""
from __future__ import annotations

import math
from pathlib import Path

from adcore.data.dataset import DataError

MAX_FILE_BYTES = 500 * 2**20  # a file or an upload as stored (Streamlit's server.maxUploadSize is 500 MB too)
MAX_DECODED_BYTES = 1024 * 2**20  # arrays after unpacking (npz members, gunzipped IDX, decoded .mat)
MAX_VALUES = 100_000_000  # rows × columns (or n × C × H × W) of the features: 400 MB as float32
MAX_CLASS_LABEL = 9_999  # class labels of multi-class data are whole numbers 0 … MAX_CLASS_LABEL
MAX_TOTAL_PIXELS = 1_000_000_000  # decoded pixels of all images of a zip (bounds the time: each is resized right away)
MAX_TRAIN_BYTES = 4 * 2**30  # estimated memory of one training run (data × members + activations)


def mb(n: float) -> str:
    """``n`` bytes as text (MB or KB)."""
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def check_values(shape, name: str) -> None:
    """Refuse an array of ``shape`` with more than :data:`MAX_VALUES` values."""
    n = math.prod(int(s) for s in shape)
    if n > MAX_VALUES:
        raise DataError(f"{name} holds {' × '.join(map(str, shape))} = {n:,} values; the limit is {MAX_VALUES:,} "
                        "(rows × columns). Use fewer samples or features.")


def check_decoded(n_bytes: int, name: str, limit: int = MAX_DECODED_BYTES) -> None:
    """Refuse data that would unpack to more than ``limit`` bytes."""
    if n_bytes > limit:
        raise DataError(f"{name} would unpack to {mb(n_bytes)}; the limit is {mb(limit)}. Use a smaller file.")


def read_bytes(source, max_bytes: int = MAX_FILE_BYTES) -> tuple[bytes, str]:
    """Bytes and display name of a path or a file-like upload, refusing files above ``max_bytes``."""
    if hasattr(source, "read"):
        name = getattr(source, "name", "upload")
        size = getattr(source, "size", None)
        if size is not None and size > max_bytes:
            raise DataError(f"{name} is {mb(size)}; the limit is {mb(max_bytes)}")
        data = source.read(max_bytes + 1)
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"file not found: {path}" + (" (it is a folder)" if path.is_dir() else ""))
        name = path.name
        if path.stat().st_size > max_bytes:
            raise DataError(f"{name} is {mb(path.stat().st_size)}; the limit is {mb(max_bytes)}")
        try:
            data = path.read_bytes()
        except OSError as err:
            raise DataError(f"cannot read {path}: {err.strerror or err}") from None
    if len(data) > max_bytes:
        raise DataError(f"{name} is larger than the limit of {mb(max_bytes)}")
    if not data:
        raise DataError(f"{name} is empty (0 bytes): no rows or no columns to read")
    return data, name


def training_bytes(n_samples: int, n_values: int, n_strategies: int, n_seeds: int, epochs: int,
                   recorded: int = 20_000) -> int:
    """Rough peak memory of a run on ``n_samples`` × ``n_values`` data: the per-sample history
    (``adcore.trainer``: ≤ 100 recorded epochs × ≤ ``recorded`` samples × 13 bytes per model), one
    standardised split per seed (float32 train + test) and the stacked training copy."""
    models = n_strategies * n_seeds
    history = models * min(epochs, 100) * min(n_samples, recorded) * 13
    splits = n_seeds * n_samples * n_values * 4 * 2
    one = n_samples * n_values * 4
    stacked = (models if models * one <= 256 * 2**20 else n_strategies) * one  # adcore.experiment.STACK_BYTES
    return history + splits + stacked


def check_training(cfg, ds) -> None:
    """Refuse a run whose estimated memory (:func:`training_bytes`) exceeds :data:`MAX_TRAIN_BYTES`."""
    need = training_bytes(len(ds), math.prod(ds.input_shape), len(cfg.strategies), len(cfg.seeds), cfg.epochs)
    if need > MAX_TRAIN_BYTES:
        raise DataError(f"this run would need about {need / 2**30:.1f} GB of memory ({len(cfg.strategies)} "
                        f"strategies × {len(cfg.seeds)} seeds on {len(ds):,} samples of {math.prod(ds.input_shape):,} "
                        f"values); the limit is {MAX_TRAIN_BYTES / 2**30:.0f} GB. Use fewer seeds or strategies, or a "
                        "subset of the data.")


def describe() -> str:
    """The limits in one sentence, for the app and the docs."""
    from adcore.data.image_zip import MAX_IMAGE_PIXELS, MAX_ZIP_BYTES

    return (f"Limits: files up to {MAX_FILE_BYTES / 2**20:.0f} MB (zip archives {MAX_ZIP_BYTES / 2**20:.0f} MB), "
            f"{MAX_VALUES / 1e6:.0f} million values (rows × columns), {MAX_DECODED_BYTES / 2**30:.0f} GB unpacked, "
            f"images up to {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels each and {MAX_TOTAL_PIXELS / 1e6:,.0f} in all, "
            f"class labels 0–{MAX_CLASS_LABEL:,}, about {MAX_TRAIN_BYTES / 2**30:.0f} GB of memory per run.")
