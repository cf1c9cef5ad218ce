"""Image datasets: ``load(spec)`` dispatch for image specs, scikit-learn's digits and frozen
pre-trained features.

Every loader returns a :class:`~adcore.data.dataset.Dataset` of kind ``image``
with ``X`` of shape ``n × C × H × W`` (float32, intensities in [0, 1]), the class
of every image in ``Dataset.classes`` (ints; names in ``meta["class_names"]``)
and, when the user names the normal class or classes, ``y`` = 1 for every other
class. ``meta["image_size"]``, ``meta["channels"]`` and ``meta["conversion"]``
say what was done to the images, for the user to see. The loaders live in one
module per format: :mod:`~adcore.data.image_zip` (zip of class folders),
:mod:`~adcore.data.image_idx` (MNIST IDX), :mod:`~adcore.data.image_npz`;
conversion in :mod:`~adcore.data.image_convert`, classes in :mod:`~adcore.data.image_classes`.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from adcore.data.dataset import Dataset, DataError
from adcore.data.image_classes import check_classes, finish, resolve_class_list, set_normal_classes
from adcore.data.image_convert import DEFAULT_MAX_SIDE, convert_array, l1_normalize_images, pil_to_array
from adcore.data.image_idx import MAX_IDX_BYTES, idx_pairs, load_idx, load_mnist, read_idx
from adcore.data.image_npz import load_npz_images, npz_holds_images
from adcore.data.image_zip import (IMAGE_SUFFIXES, MAX_IMAGE_PIXELS, MAX_RATIO, MAX_UNPACKED_BYTES, MAX_ZIP_BYTES,
                                   load_image_zip, open_image, scan_zip)

__all__ = ["handles", "load_image_spec", "load_digits_images", "load_image_zip", "load_idx", "load_mnist",
           "load_npz_images", "npz_holds_images", "read_idx", "idx_pairs", "scan_zip", "open_image", "convert_array",
           "pil_to_array", "l1_normalize_images", "resolve_class_list", "set_normal_classes", "check_classes",
           "finish", "local_feature_extractors", "extract_features", "as_features", "DEFAULT_MAX_SIDE",
           "IMAGE_SUFFIXES", "MAX_IMAGE_PIXELS", "MAX_RATIO", "MAX_UNPACKED_BYTES", "MAX_ZIP_BYTES", "MAX_IDX_BYTES"]

IMAGE_OPTIONS = ("normal_class", "size", "channels", "l1_normalize", "max_side", "classes_key", "features")


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
        if parts[1] == "letters":  # images:letters[:n], the built-in outlier-exposure set
            from adcore.data.letters import render_letters

            size = options.get("size")
            return render_letters(int(parts[2]) if len(parts) > 2 and parts[2] else 2000,
                                  int(size[0] if isinstance(size, (tuple, list)) else size or 28),
                                  int(options.get("channels") or 1))
        if parts[1] != "digits":
            raise DataError(f"unknown built-in image set {parts[1]!r}; the built-in ones are images:digits and "
                            "images:letters")
        if len(parts) > 2 and parts[2] != "":
            options.setdefault("normal_class", parts[2])
        return load_digits_images(**_only(options, ("normal_class", "size", "channels", "l1_normalize")))
    if spec.startswith("mnist:"):
        return load_mnist(spec[len("mnist:"):], **_only(options, ("normal_class", "size", "channels", "l1_normalize")))
    if Path(spec).suffix.lower() == ".zip":
        return load_image_zip(spec, **_only(options, ("normal_class", "size", "channels", "l1_normalize", "max_side")))
    return load_npz_images(spec, **_only(options, ("x_key", "y_key", "classes_key", "normal_class", "size",
                                                   "channels", "l1_normalize")))


def _only(options: dict, keys) -> dict:
    return {k: v for k, v in options.items() if k in keys and v is not None}


def load_digits_images(normal_class=None, size=None, channels="auto", l1_normalize: bool = False) -> Dataset:
    """scikit-learn's bundled handwritten digits (1,797 images, 8×8, intensities 0–16 → [0, 1]), classes 0–9."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    Xf, meta = convert_array(bunch.images.astype(np.float32) / 16.0, size, channels)
    meta["conversion"] = meta["conversion"].replace("images as", "digits as") + " (0–16 divided by 16)"
    return finish(Xf, bunch.target, None, normal_class, "digits", meta, l1_normalize)


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
