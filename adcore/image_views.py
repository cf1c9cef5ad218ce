"""Image views for the app, as pure functions (no Streamlit): thumbnails, data URIs and score galleries.

Images are ``C × H × W`` float arrays in [0, 1] (as the image loaders give them).
Small images are enlarged with nearest-neighbour sampling so that pixels stay
sharp (an 8×8 digit becomes a crisp 64×64 thumbnail).

Typical use in a page::

    g = gallery(**run_images(result, k, "train"), k=8)     # or gallery(X, scores, flags=…, truth=…)
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


def image_items(images, rows, scores, flags=None, truth=None, classes=None, class_names=None, size: int = 64,
                index=None, labeled=None) -> list[dict]:
    """One dict per image in ``rows`` (in that order): ``index``, ``rank`` (1 = most anomalous
    among all ``scores``), ``score``, ``flag``, ``truth``, ``class``, ``caption``, ``image``
    (Pillow) and ``uri``.

    ``flags``: the strategy's latent labels (True = treated as an anomaly; None where
    unknown, or ``flags=None`` for none at all); ``truth``: 0/1 labels when known;
    ``classes``/``class_names``: each image's class; ``index``: the images' positions
    to report (default 0..n-1); ``labeled``: the mask of labelled anomalies (marked
    "labelled" in the caption). NaN scores rank last.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = len(scores)
    if len(images) != n:
        raise ValueError(f"{len(images)} images for {n} scores")
    index = np.arange(n) if index is None else np.asarray(index)
    ranks = np.empty(n, dtype=np.int64)
    ranks[_order(scores)] = np.arange(1, n + 1)
    flags = None if flags is None else np.asarray(flags, dtype=object).reshape(-1)

    def item(i: int) -> dict:
        flag = None if flags is None or flags[i] is None else bool(flags[i])
        true = None if truth is None else int(np.asarray(truth).reshape(-1)[i])
        cls = None if classes is None else _label(np.asarray(classes).reshape(-1)[i], class_names)
        parts = [f"#{int(index[i])}", f"score {scores[i]:.4g}", f"rank {int(ranks[i])}/{n}"]
        if flag is not None:
            parts.append("latent: anomaly" if flag else "latent: normal")
        if true is not None:
            parts.append("true: anomaly" if true else "true: normal")
        if cls is not None:
            parts.append(f"class {cls}")
        if labeled is not None and bool(np.asarray(labeled).reshape(-1)[i]):
            parts.append("labelled anomaly")
        pil = thumbnail(images[i], size)
        return {"index": int(index[i]), "rank": int(ranks[i]), "score": float(scores[i]), "flag": flag,
                "truth": true, "class": cls, "caption": " · ".join(parts), "image": pil, "uri": data_uri(pil)}

    return [item(int(i)) for i in rows]


def _order(scores: np.ndarray) -> np.ndarray:
    """Positions from the most to the least anomalous; NaN last."""
    return np.argsort(-np.where(np.isfinite(scores), scores, -np.inf), kind="stable")


def gallery(images, scores, k: int = 8, **kw) -> dict[str, list[dict]]:
    """The ``k`` most and ``k`` least anomalous images by score (higher = more anomalous):
    ``{"most": [...], "least": [...]}`` of :func:`image_items` (same keyword arguments)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = _order(scores)
    k = max(0, min(int(k), len(scores)))
    least = [i for i in order[::-1] if np.isfinite(scores[i])][:k]
    return {"most": image_items(images, order[:k], scores, **kw), "least": image_items(images, least, scores, **kw)}


def run_images(result, k: int, part: str = "train") -> dict:
    """The keyword arguments of :func:`gallery`/:func:`image_items` for member ``k`` of a trained
    run: its training (``part="train"``) or test images, their scores under the final model,
    the latent labels of the last recorded epoch (training images of strategies that infer
    them), true labels and classes."""
    from adcore.app_support import train_scores

    if part not in ("train", "test"):
        raise ValueError(f"part must be 'train' or 'test', got {part!r}")
    data = getattr(result.split_of(k), part)
    flags = None
    if part == "train":
        scores = train_scores(result, k)
        if result.members[k].strategy != "blind":
            h = result.history(k)
            flags = np.full(len(data), None, dtype=object)
            flags[h.sample_index[0]] = h.flags[-1, 0].astype(bool)
    else:
        scores = result.test_scores[k]
    return {"images": data.X, "scores": scores, "flags": flags, "truth": data.y, "classes": data.classes,
            "class_names": data.meta.get("class_names"), "labeled": data.labeled}


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
