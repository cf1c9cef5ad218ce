"""Sensitivity studies as tidy tables: the contamination sweep (LOE Fig. 2), the
α-vs-α0 matrix (LOE Fig. 3) and a sweep over any strategy parameter (e.g. IAD's τ).

With a run store (:class:`adcore.store.ResultStore`), every run of a study is read
from the store when it is there and written to it when it is trained, so a study
run again (or after a restart) trains only what is missing.
"""
from __future__ import annotations

from dataclasses import replace

from adcore.data import Dataset, load
from adcore.experiment import ExperimentConfig, run_experiment
from adcore.store import ResultStore, cell_key

KEEP = ("strategy", "seed", "alpha", "auroc", "ap", "f1", "fit_seconds")


def _runs(cfg: ExperimentConfig, data, store: ResultStore | None, fingerprint: str,
          only_stored: bool) -> list[dict] | None:
    if store is None:
        return run_experiment(cfg, data()).runs
    from adcore.engines import run_cell

    key = cell_key(cfg.to_dict(), fingerprint)
    if key not in store:
        if only_stored:
            return None
        out = run_cell(cfg.to_dict(), data())
        store.add_cell(key, cfg.to_dict(), out["rows"], out["seconds"])
    return store.rows(cells=[key])


def _study(cells: list[tuple[ExperimentConfig, dict]], dataset: Dataset | None, progress, store, fingerprint,
           only_stored) -> list[dict] | None:
    """Rows of every (config, extra columns) cell; None when ``only_stored`` and a cell is not in the store.
    The data is loaded once, and only if a cell has to be trained."""
    if only_stored and store is None:
        return None
    loaded = [dataset]

    def data() -> Dataset:
        if loaded[0] is None:
            loaded[0] = load(cells[0][0].data, **cells[0][0].data_options)
        return loaded[0]

    if fingerprint is None:
        from adcore.sweep_spec import data_fingerprint

        fingerprint = data_fingerprint(cells[0][0].data) if cells and dataset is None else ""
    rows = []
    for i, (cfg, columns) in enumerate(cells):
        runs = _runs(cfg, data, store, fingerprint, only_stored)
        if runs is None:
            return None
        rows += [{**columns, **{k: run[k] for k in KEEP if run.get(k) is not None}} for run in runs]
        if progress:
            progress(i + 1, len(cells))
    return rows


def contamination_sweep(cfg: ExperimentConfig, alpha0s, dataset: Dataset | None = None, progress=None, *,
                        store: ResultStore | None = None, fingerprint: str | None = None,
                        only_stored: bool = False) -> list[dict] | None:
    """One row per (α0, strategy, seed), with α = α0 (the strategies know the true ratio).

    ``store``: read/write each run there; ``fingerprint``: of ``dataset``'s bytes when it has no stable
    name (default: the file's, for a path); ``only_stored``: return None instead of training a missing run.
    """
    cells = [(replace(cfg, alpha0=float(a0), alpha=None), {"alpha0": float(a0)}) for a0 in alpha0s]
    return _study(cells, dataset, progress, store, fingerprint, only_stored)


def sensitivity_matrix(cfg: ExperimentConfig, alpha0s, alphas, dataset: Dataset | None = None, progress=None, *,
                       store: ResultStore | None = None, fingerprint: str | None = None,
                       only_stored: bool = False) -> list[dict] | None:
    """One row per (α0, α, strategy, seed): the assumed ratio α against the true α0."""
    cells = [(replace(cfg, alpha0=float(a0), alpha=float(a)), {"alpha0": float(a0)})
             for a0 in alpha0s for a in alphas]
    return _study(cells, dataset, progress, store, fingerprint, only_stored)


def param_sweep(cfg: ExperimentConfig, strategy: str, param: str, values, dataset: Dataset | None = None,
                progress=None, *, store: ResultStore | None = None, fingerprint: str | None = None,
                only_stored: bool = False) -> list[dict] | None:
    """One row per (value, seed) of ``strategy`` trained with ``param`` = value (e.g. IAD's ``inv_tau``)."""
    def with_value(v):
        params = {**cfg.strategy_params, strategy: {**cfg.strategy_params.get(strategy, {}), param: v}}
        return replace(cfg, strategies=[strategy], strategy_params=params)

    cells = [(with_value(v), {param: v}) for v in values]
    return _study(cells, dataset, progress, store, fingerprint, only_stored)


def mean_table(rows: list[dict], index: str, columns: str = "strategy", value: str = "auroc") -> dict:
    """{index value: {column value: mean of ``value``}} — the heatmap/line-plot input."""
    sums: dict = {}
    for r in rows:
        if value in r:
            cell = sums.setdefault(r[index], {}).setdefault(r[columns], [0.0, 0])
            cell[0] += r[value]
            cell[1] += 1
    return {i: {c: s / n for c, (s, n) in row.items()} for i, row in sums.items()}


def method_sweep(cfg: ExperimentConfig, methods, field: str, values, dataset: Dataset | None = None, progress=None,
                 *, kind: str = "tabular", store: ResultStore | None = None, fingerprint: str | None = None,
                 only_stored: bool = False) -> list[dict] | None:
    """One row per (value of ``field``, named method, seed), the row's ``strategy`` being the method's name:
    the few-labelled-anomalies curve (``n_labeled`` or ``oe_n``; EOE Fig. 3) or the α curve of PU vs SOEL
    (``alpha``; PU paper Fig. 2). ``kind`` (tabular or image) picks each method's backbone."""
    from adcore.methods import method_config

    cells = [(method_config(replace(cfg, **{field: v}), m, kind), {field: v, "method": m})
             for v in values for m in methods]
    rows = _study(cells, dataset, progress, store, fingerprint, only_stored)
    return None if rows is None else [{**r, "strategy": r["method"]} for r in rows]
