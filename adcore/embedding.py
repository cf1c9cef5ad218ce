"""2-D maps of a backbone's latent space: t-SNE (openTSNE) and UMAP (umap-learn).

Large sets are subsampled (``max_points``, without replacement, seeded) and the
result says so. Inputs wider than 50 features are first reduced by PCA (as
openTSNE and the t-SNE literature recommend). umap-learn compiles its numba
kernels on the first call of a process (~20-30 s): :func:`warm_up` does that on
tiny data and :func:`warm_up_in_background` runs it once in a daemon thread,
off the app's critical path.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import numpy as np

METHODS = ("tsne", "umap")
METHOD_NAMES = {"tsne": "t-SNE", "umap": "UMAP"}


@dataclass
class Embedding2D:
    coords: np.ndarray  # (n, 2)
    index: np.ndarray  # positions of the embedded rows in the input
    n_total: int
    method: str
    seconds: float

    @property
    def subsampled(self) -> bool:
        return len(self.index) < self.n_total

    @property
    def note(self) -> str:
        name = METHOD_NAMES.get(self.method, self.method)
        if self.subsampled:
            return f"{name} of a random subsample: {len(self.index):,} of {self.n_total:,} points"
        return f"{name} of all {self.n_total:,} points"


def subsample(n: int, max_points: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` rows."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


def _prepare(Z: np.ndarray, max_dims: int = 50, seed: int = 0) -> np.ndarray:
    Z = np.asarray(Z, dtype=np.float32).reshape(len(Z), -1)
    Z = np.nan_to_num(Z, nan=0.0, posinf=0.0, neginf=0.0)
    if Z.shape[1] > max_dims and len(Z) > max_dims:
        from sklearn.decomposition import PCA

        Z = PCA(max_dims, random_state=seed).fit_transform(Z).astype(np.float32)
    if Z.shape[1] == 1:
        Z = np.hstack([Z, np.zeros_like(Z)])
    return Z


def tsne_threads() -> int:
    """Half the cores, at most 4, at least 1: on a 2-core machine a second thread competing with a
    busy neighbour made t-SNE 3× slower (docs/BENCHMARKS.md); on a quiet one it halves the time."""
    return max(1, min(4, (os.cpu_count() or 1) // 2))


def tsne(Z: np.ndarray, seed: int = 0, n_jobs: int | None = None) -> np.ndarray:
    """openTSNE, PCA initialisation, Barnes-Hut gradients. Up to 10,000 points the neighbours are
    exact (brute force with BLAS: 0.3 s for 5,000 × 32, against 2.2 s for Annoy); from 500 points
    a short schedule, 75 exaggerated + 175 normal iterations at θ = 1.0 (final KL 1.3 % above
    125 + 250 at θ = 0.8, in half the time; docs/BENCHMARKS.md)."""
    from openTSNE import TSNE

    n = len(Z)
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3.0)))
    kw = dict(perplexity=perplexity, initialization="pca", random_state=seed, verbose=False,
              n_jobs=tsne_threads() if n_jobs is None else n_jobs, negative_gradient_method="bh",
              neighbors="exact" if n <= 10_000 else "auto")
    if n >= 500:
        kw.update(theta=1.0, n_iter=175, early_exaggeration_iter=75)
    else:
        kw.update(n_iter=500)
    return np.asarray(TSNE(**kw).fit(Z), dtype=np.float32)


def umap(Z: np.ndarray, seed: int = 0, n_epochs: int = 200) -> np.ndarray:
    """umap-learn with its defaults (15 neighbours, min_dist 0.1), 200 epochs."""
    import umap as umap_lib

    n = len(Z)
    reducer = umap_lib.UMAP(n_neighbors=int(min(15, max(2, n - 1))), n_epochs=n_epochs, random_state=seed,
                            n_jobs=1, init="spectral" if n > 20 else "random")
    return np.asarray(reducer.fit_transform(Z), dtype=np.float32)


def embed_2d(Z: np.ndarray, method: str = "tsne", max_points: int = 5000, seed: int = 0) -> Embedding2D:
    """2-D coordinates of the rows of ``Z`` (at most ``max_points`` of them, see ``.index``)."""
    if method not in METHODS:
        raise ValueError(f"unknown embedding method {method!r}; choose one of {list(METHODS)}")
    start = time.perf_counter()
    n = len(Z)
    idx = subsample(n, max_points, seed)
    if len(idx) < 3:
        coords = np.zeros((len(idx), 2), np.float32)
    else:
        X = _prepare(np.asarray(Z)[idx], seed=seed)
        coords = tsne(X, seed) if method == "tsne" else umap(X, seed)
    return Embedding2D(coords, idx, n, method, time.perf_counter() - start)


_warm = {"done": threading.Event(), "started": False, "seconds": None, "error": None}
_warm_lock = threading.Lock()


def warm_up() -> float:
    """Run UMAP and t-SNE once on tiny data so numba compiles its kernels; returns seconds."""
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(4200, 8)).astype(np.float32)
    umap(Z[:120], n_epochs=20)
    umap(Z, n_epochs=5)  # ≥ 4096 points: umap-learn switches to NN-descent (pynndescent), compiled separately
    tsne(Z[:600])  # ≥ 500 points: the Barnes-Hut path the app uses
    return time.perf_counter() - start


def warm_up_in_background(before=None) -> bool:
    """Start :func:`warm_up` in a daemon thread once per process (``before()`` runs first in it).
    Returns True if this call started it."""
    with _warm_lock:
        if _warm["started"]:
            return False
        _warm["started"] = True

    def job():
        try:
            if before is not None:
                before()
            _warm["seconds"] = warm_up()
        except Exception as err:  # noqa: BLE001 - a failed warm-up must never break the app
            _warm["error"] = repr(err)
        finally:
            _warm["done"].set()

    threading.Thread(target=job, name="adlab-warmup", daemon=True).start()
    return True


def warm_status() -> dict:
    return {"started": _warm["started"], "done": _warm["done"].is_set(), "seconds": _warm["seconds"],
            "error": _warm["error"]}


def wait_warm(timeout: float | None = None) -> bool:
    return _warm["done"].wait(timeout)
