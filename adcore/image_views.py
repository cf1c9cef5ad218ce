"""Image views for the app, as pure functions (no Streamlit): thumbnails, data URIs and score galleries.

Images are ``C × H × W`` float arrays in [0, 1] (as the image loaders give them).
Small images are enlarged with nearest-neighbour sampling so that pixels stay
sharp (an 8×8 digit becomes a crisp 64×64 thumbnail).

Typical use in a page::

    g = gallery(split.train.X, scores, flags=flags, truth=split.train.y, k=8,
                classes=split.train.classes, class_names=ds.meta.get("class_names"))
    st.image([it["image"] for it in g["most"]], caption=[it["caption"] for it in g["most"]])

    uris = thumbnail_uris(X_plotted, size=48)     # plotly: customdata, shown on click / in a hover card
"""
from __future__ import annotations

import base64
import io

import numpy as np


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``C × H × W`` (or ``H × W``) floats in [0, 1] → ``H × W`` or ``H × W × 3`` uint8 (clipped)."""
    a = np.asarray(image, dtype=np.float32)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else a[:3].transpose(1, 2, 0)
    elif a.ndim != 2:
        raise ValueError(f"an image must be C × H × W or H × W; got shape {a.shape}")
    return (np.clip(np.nan_to_num(a), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def thumbnail(image: np.ndarray, size: int = 64):
    """A Pillow image whose longer side is ``size`` pixels (nearest-neighbour when enlarging)."""
    from PIL import Image

    pil = Image.fromarray(to_uint8(image))
    w, h = pil.size
    scale = size / max(w, h)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    if new != (w, h):
        pil = pil.resize(new, Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BILINEAR)
    return pil


def data_uri(pil_image) -> str:
    """``data:image/png;base64,…`` of a Pillow image (for HTML, plotly customdata or Markdown)."""
    buf = io.BytesIO()
    pil_image.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def thumbnail_uris(images, size: int = 48, limit: int | None = 5000) -> list[str]:
    """PNG data URIs of the images ``n × C × H × W`` (first ``limit`` only; a 48-px grey
    thumbnail is ~0.5–1 KB), e.g. for plotly ``customdata`` on the latent t-SNE/UMAP plot."""
    images = images if limit is None else images[:limit]
    return [data_uri(thumbnail(im, size)) for im in images]


def _label(v, names=None) -> str:
    if v is None:
        return ""
    v = int(v)
    return names[v] if names is not None and 0 <= v < len(names) else str(v)


def gallery(images, scores, flags=None, truth=None, k: int = 8, classes=None, class_names=None,
            size: int = 64, index=None) -> dict[str, list[dict]]:
    """The ``k`` most and ``k`` least anomalous images by score (higher = more anomalous).

    ``flags``: the strategy's latent labels of training images (True = treated as an
    anomaly in the last epoch), None for test images; ``truth``: 0/1 labels when
    known; ``classes``/``class_names``: each image's class; ``index``: the images'
    positions to report (default 0..n-1). Returns ``{"most": [...], "least": [...]}``,
    each item a dict with ``index``, ``rank`` (1 = most anomalous), ``score``,
    ``flag``, ``truth``, ``class``, ``caption``, ``image`` (Pillow) and ``uri``.
    NaN scores rank last.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = len(scores)
    if len(images) != n:
        raise ValueError(f"{len(images)} images for {n} scores")
    index = np.arange(n) if index is None else np.asarray(index)
    key = np.where(np.isfinite(scores), scores, -np.inf)
    order = np.argsort(-key, kind="stable")
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(1, n + 1)
    k = max(0, min(int(k), n))

    def item(i: int) -> dict:
        flag = None if flags is None else bool(np.asarray(flags).reshape(-1)[i])
        true = None if truth is None else int(np.asarray(truth).reshape(-1)[i])
        cls = None if classes is None else _label(np.asarray(classes).reshape(-1)[i], class_names)
        parts = [f"#{int(index[i])}", f"score {scores[i]:.4g}", f"rank {int(ranks[i])}/{n}"]
        if flag is not None:
            parts.append("latent: anomaly" if flag else "latent: normal")
        if true is not None:
            parts.append("true: anomaly" if true else "true: normal")
        if cls is not None:
            parts.append(f"class {cls}")
        pil = thumbnail(images[i], size)
        return {"index": int(index[i]), "rank": int(ranks[i]), "score": float(scores[i]), "flag": flag,
                "truth": true, "class": cls, "caption": " · ".join(parts), "image": pil, "uri": data_uri(pil)}

    least = [i for i in order[::-1] if np.isfinite(scores[i])][:k]
    return {"most": [item(i) for i in order[:k]], "least": [item(i) for i in least]}


def image_grid(images, n_cols: int = 8, size: int = 48, pad: int = 2):
    """One Pillow image with the images tiled row by row (e.g. a class overview on the data page)."""
    from PIL import Image

    thumbs = [thumbnail(im, size) for im in images]
    if not thumbs:
        raise ValueError("no images to tile")
    n_cols = max(1, min(n_cols, len(thumbs)))
    n_rows = -(-len(thumbs) // n_cols)
    mode = "RGB" if any(t.mode == "RGB" for t in thumbs) else "L"
    white = 255 if mode == "L" else (255, 255, 255)
    grid = Image.new(mode, (n_cols * (size + pad) + pad, n_rows * (size + pad) + pad), color=white)
    for i, t in enumerate(thumbs):
        r, c = divmod(i, n_cols)
        grid.paste(t.convert(mode), (pad + c * (size + pad), pad + r * (size + pad)))
    return grid


def class_examples(images, classes, class_names=None, per_class: int = 8, seed: int = 0) -> dict[str, list[int]]:
    """Up to ``per_class`` random image indices per class (for an upload preview)."""
    rng = np.random.default_rng(seed)
    classes = np.asarray(classes).reshape(-1)
    out = {}
    for c in np.unique(classes):
        idx = np.flatnonzero(classes == c)
        out[_label(c, class_names)] = sorted(rng.choice(idx, min(per_class, len(idx)), replace=False).tolist())
    return out
