"""Run the cells of a sweep and write each one to the run store as it finishes.

Engines: ``local`` (in this process with one worker, else a process pool on this
machine) and ``ray`` (Ray's own API: ``ray.init()`` starts an embedded local Ray;
``address`` or ``RAY_ADDRESS`` joins a running cluster). Cells already in the store
are skipped, so a killed sweep run again does only what is missing. Ray is imported
only when the Ray engine runs.
"""
from __future__ import annotations

import functools
import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from adcore.data import load
from adcore.experiment import ExperimentConfig, run_experiment
from adcore.store import ResultStore, result_rows
from adcore.sweep_spec import Cell

ENGINES = ("local", "ray")


def run_cell(config: dict, dataset=None, keep_scores: bool = False) -> dict:
    """Train one cell (all its members stacked) → ``{"rows": [...], "seconds": s}``, one row per member."""
    cfg = ExperimentConfig.from_dict(config)
    ds = dataset if dataset is not None else _load(cfg.data, json.dumps(cfg.data_options, sort_keys=True))
    result = run_experiment(cfg, ds)
    return {"rows": result_rows(result, keep_scores), "seconds": result.seconds}


@functools.lru_cache(maxsize=4)
def _load(data: str, options: str):
    return load(data, **json.loads(options))


@dataclass
class SweepReport:
    """What a sweep did: cells in the spec, already stored, run now, failed ((label, error) per cell)."""

    total: int
    skipped: int
    ran: int = 0
    failed: list = field(default_factory=list)
    stopped: bool = False
    seconds: float = 0.0


def run_sweep(cells: list[Cell], store: ResultStore, engine: str = "local", workers: int | None = None,
              address: str | None = None, keep_scores: bool = False, progress=None,
              timeout: float | None = None) -> SweepReport:
    """Run the cells missing from ``store`` on ``engine``; each finished cell is written at once.

    ``progress(message)`` gets a line per event. ``timeout`` (seconds) stops the sweep
    part-way: finished cells stay stored, unfinished ones are dropped and run next time.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise ValueError("--workers must be at least 1")
    start = time.perf_counter()
    done = store.done_keys(c.key for c in cells)
    todo = [c for c in cells if c.key not in done]
    report = SweepReport(total=len(cells), skipped=len(cells) - len(todo))
    say = progress or (lambda message: None)
    say(f"{len(todo)} cells to run, {report.skipped} already done")

    def finished(cell: Cell, out: dict | None, error: str | None = None):
        if error is not None:
            report.failed.append((cell.label(), error))
            say(f"[{report.ran + len(report.failed)}/{len(todo)}] {cell.label()}: failed: {error}")
            return
        store.add_cell(cell.key, cell.config.to_dict(), out["rows"], out["seconds"])
        report.ran += 1
        aurocs = [r["auroc"] for r in out["rows"] if "auroc" in r]
        mean = f", mean AUROC {sum(aurocs) / len(aurocs):.3f}" if aurocs else ""
        say(f"[{report.ran + len(report.failed)}/{len(todo)}] {cell.label()}: {len(out['rows'])} results in "
            f"{out['seconds']:.1f} s{mean}")

    deadline = None if timeout is None else start + timeout
    if todo:
        run = _run_ray if engine == "ray" else _run_local
        report.stopped = run(todo, finished, workers, address, keep_scores, deadline)
    report.seconds = time.perf_counter() - start
    return report


def _expired(deadline) -> bool:
    return deadline is not None and time.perf_counter() > deadline


def _run_local(todo, finished, workers, address, keep_scores, deadline) -> bool:
    if address:
        raise ValueError("--address joins a Ray cluster; use it with --engine ray")
    workers = workers or min(len(todo), os.cpu_count() or 1)
    if workers == 1:
        for cell in todo:
            if _expired(deadline):
                return True
            try:
                out = run_cell(cell.config.to_dict(), cell.dataset, keep_scores)
            except (ValueError, OSError) as err:  # DataError is a ValueError
                finished(cell, None, str(err))
                continue
            finished(cell, out)
        return False
    # spawn: workers start clean instead of inheriting torch's threads from a forked parent
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_one_thread) as pool:
        futures = {pool.submit(run_cell, c.config.to_dict(), c.dataset, keep_scores): c for c in todo}
        return _collect(futures, finished, deadline, lambda: pool.shutdown(wait=False, cancel_futures=True))


def _one_thread():
    import torch

    torch.set_num_threads(1)


def _collect(futures: dict, finished, deadline, stop) -> bool:
    pending = set(futures)
    while pending:
        left = None if deadline is None else max(0.0, deadline - time.perf_counter())
        ready, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
        for f in ready:
            err = f.exception()
            if err is not None and not isinstance(err, (ValueError, OSError)):
                raise err
            finished(futures[f], None if err else f.result(), None if err is None else str(err))
        if pending and _expired(deadline):
            for f in pending:
                f.cancel()
            stop()
            return True
    return False


def _run_ray(todo, finished, workers, address, keep_scores, deadline) -> bool:
    import ray

    started = not ray.is_initialized()
    if started:
        address = address or os.environ.get("RAY_ADDRESS")
        if address:  # a cluster: ship this package to its workers
            ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).parent)]},
                     log_to_driver=False)
        else:
            ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(run_cell)
        data_refs = {}  # each data set goes to the object store once, not into every task's closure

        def data_ref(cell: Cell):
            name = id(cell.dataset) if cell.dataset is not None else (cell.config.data, cell.fingerprint,
                                                                      json.dumps(cell.config.data_options))
            if name not in data_refs:
                ds = cell.dataset if cell.dataset is not None else load(cell.config.data, **cell.config.data_options)
                data_refs[name] = ray.put(ds)
            return data_refs[name]

        window = workers or len(todo)
        queue, running = list(todo), {}
        while queue or running:
            while queue and len(running) < window and not _expired(deadline):
                cell = queue.pop(0)
                try:
                    ref = data_ref(cell)
                except (ValueError, OSError) as err:
                    finished(cell, None, str(err))
                    continue
                running[task.remote(cell.config.to_dict(), ref, keep_scores)] = cell
            if not running:
                return bool(queue)
            left = None if deadline is None else max(0.0, deadline - time.perf_counter())
            ready, _ = ray.wait(list(running), num_returns=1, timeout=left)
            for ref in ready:
                cell = running.pop(ref)
                try:
                    finished(cell, ray.get(ref))
                except ray.exceptions.RayTaskError as err:
                    cause = getattr(err, "cause", None)
                    if not isinstance(cause, (ValueError, OSError)):
                        raise
                    finished(cell, None, str(cause))
            if not ready and _expired(deadline):
                for ref in running:
                    ray.cancel(ref, force=True)
                return True
        return False
    finally:
        if started:
            ray.shutdown()
