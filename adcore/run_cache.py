"""The process-wide run store: results cached per configuration, one computation per key, shared by
every session of the app's server; and the cache of decoded uploads. No streamlit."""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from adcore.app_state import config_key, fingerprint
from adcore.experiment import ExperimentConfig, ExperimentResult
from adcore.store import save_result


class Cancelled(Exception):
    """Raised when a run was stopped by ``should_stop``; holds the partial result."""

    def __init__(self, partial=None):
        super().__init__("the run was cancelled")
        self.partial = partial


@dataclass
class _Job:
    event: threading.Event
    done: int = 0
    total: int = 0


class RunStore:
    """Results cached per key (LRU), shared by every session of the server process.

    ``get_or_run`` computes a missing key once: a second caller of the same key
    waits for the first. A computation that raises (an error, a cancel, or the
    app's rerun interrupting the script) stores nothing.
    """

    def __init__(self, max_items: int = 24):
        self.max_items = max_items
        self._items: OrderedDict[str, object] = OrderedDict()
        self._jobs: dict[str, _Job] = {}
        self._memo: dict[tuple, object] = {}
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: str, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                old, _ = self._items.popitem(last=False)
                self._memo = {k: v for k, v in self._memo.items() if k[0] != old}

    def running(self, key: str) -> tuple[int, int] | None:
        """(done, total) of a computation of ``key`` in progress, else None."""
        with self._lock:
            job = self._jobs.get(key)
            return None if job is None else (job.done, job.total)

    def get_or_run(self, key: str, fn: Callable[[Callable], object], progress: Callable | None = None,
                   poll: float = 0.1):
        """The value of ``key``, computing it with ``fn(report)`` if missing.

        ``report(done, total)`` is what ``fn`` passes on as progress; ``progress``
        (if given) sees it, also while waiting for another caller's computation.
        """
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                job = self._jobs.get(key)
                mine = job is None
                if mine:
                    job = self._jobs[key] = _Job(threading.Event())
            if not mine:
                while not job.event.wait(poll):
                    if progress is not None:
                        progress(job.done, job.total)
                continue
            try:
                def report(done, total, job=job):
                    job.done, job.total = done, total
                    if progress is not None:
                        progress(done, total)
                value = fn(report)
                self.put(key, value)
                return value
            finally:
                with self._lock:
                    self._jobs.pop(key, None)
                job.event.set()

    def memo(self, key: tuple, fn: Callable[[], object]):
        """A value derived from a stored run (e.g. an embedding), computed once; ``key[0]`` is the run key."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = fn()
        with self._lock:
            self._memo[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._memo.clear()


STORE = RunStore()
DATASETS = RunStore(max_items=4)  # decoded uploads and built-in sets (cached_data)


def run_key(cfg: ExperimentConfig, data_fingerprint: str = "", eval_sets: dict | None = None) -> str:
    """The store key of a run: configuration, data fingerprint and the arrays scored during training."""
    extra = "" if not eval_sets else ",".join(f"{n}:{fingerprint(np.ascontiguousarray(v).tobytes())}"
                                               for n, v in sorted(eval_sets.items()))
    return config_key(cfg, data_fingerprint, extra)


def run_cached(cfg: ExperimentConfig, *, dataset=None, data_fingerprint: str = "", eval_sets: dict | None = None,
               progress: Callable | None = None, should_stop: Callable | None = None,
               store: RunStore | None = None, oe_dataset=None) -> tuple[str, ExperimentResult]:
    """``run_experiment`` through the store: (key, result). A cancelled run raises :class:`Cancelled`.
    ``oe_dataset``: an uploaded outlier-exposure set (its fingerprint belongs in ``cfg.oe_options``)."""
    from adcore.experiment import run_experiment

    store = store or STORE
    key = run_key(cfg, data_fingerprint, eval_sets)

    def fn(report):
        result = run_experiment(cfg, dataset, eval_sets=eval_sets, progress=report, should_stop=should_stop,
                                oe_dataset=oe_dataset)
        if result.train_results and result.train_results[-1][0].stopped:
            raise Cancelled(result)
        result.dataset = dataset  # the data it was trained on, for exports of every row (None: cfg.data)
        result.data_fingerprint = data_fingerprint
        save_result(cfg.to_dict(), result, data_fingerprint)  # the run store: metrics survive a restart
        return result

    return key, store.get_or_run(key, fn, progress)


def run_methods_cached(cfg: ExperimentConfig, methods: list[str], *, dataset=None, data_fingerprint: str = "",
                       progress: Callable | None = None, should_stop: Callable | None = None,
                       store: RunStore | None = None, oe_dataset=None) -> tuple[str, ExperimentResult]:
    """Named methods side by side on the same splits (:func:`adcore.methods.compare_methods`) through the
    store, as one combined result (:func:`adcore.methods.combine`). A cancelled run raises :class:`Cancelled`."""
    from dataclasses import replace

    from adcore.methods import combine, compare_methods

    store = store or STORE
    key = run_key(replace(cfg, method="|".join(methods)), data_fingerprint)

    def fn(report):
        results = compare_methods(cfg, methods, dataset, progress=report, should_stop=should_stop,
                                  oe_dataset=oe_dataset)
        if len(results) < len(methods) or results[-1].train_results[-1][0].stopped:
            raise Cancelled(results[-1])
        for res in results:  # stored under the config as given (protocol None stays None), as single runs are
            save_result(replace(res.config, protocol=cfg.protocol).to_dict(), res, data_fingerprint)
        result = combine(results)
        result.dataset, result.data_fingerprint = dataset, data_fingerprint
        return result

    return key, store.get_or_run(key, fn, progress)


def cached_data(key: list, load: Callable[[], object]):
    """``load()`` once per ``key`` (JSON-able) for the whole server, keeping the last 4 datasets,
    so that reruns of a page do not decode an upload again. Errors are raised, not stored."""
    return DATASETS.get_or_run(json.dumps(key, sort_keys=True, default=str), lambda report: load())


def load_upload_cached(raw: bytes, filename: str, labels: bytes | None = None, **options):
    """(dataset, fingerprint) of an upload (:func:`adcore.data.load_upload`), through :func:`cached_data`."""
    from adcore.data import load_upload

    fp = fingerprint(raw + (labels or b""))
    return cached_data([fp, filename, options], lambda: load_upload(raw, filename, labels, **options)), fp
