"""Sensitivity studies as tidy tables: the contamination sweep (LOE Fig. 2), the
α-vs-α0 matrix (LOE Fig. 3) and a sweep over any strategy parameter (e.g. IAD's τ)."""
from __future__ import annotations

from dataclasses import replace

from adcore.data import Dataset, load
from adcore.experiment import ExperimentConfig, run_experiment


def _rows(cfg: ExperimentConfig, dataset: Dataset, **columns) -> list[dict]:
    result = run_experiment(cfg, dataset)
    keep = ("strategy", "seed", "alpha", "auroc", "ap", "f1", "fit_seconds")
    return [{**columns, **{k: run[k] for k in keep if k in run}} for run in result.runs]


def _dataset(cfg: ExperimentConfig, dataset: Dataset | None) -> Dataset:
    return dataset if dataset is not None else load(cfg.data, **cfg.data_options)


def contamination_sweep(cfg: ExperimentConfig, alpha0s, dataset: Dataset | None = None,
                        progress=None) -> list[dict]:
    """One row per (α0, strategy, seed), with α = α0 (the strategies know the true ratio)."""
    ds, rows = _dataset(cfg, dataset), []
    for i, a0 in enumerate(alpha0s):
        rows += _rows(replace(cfg, alpha0=float(a0), alpha=None), ds, alpha0=float(a0))
        if progress:
            progress(i + 1, len(alpha0s))
    return rows


def sensitivity_matrix(cfg: ExperimentConfig, alpha0s, alphas, dataset: Dataset | None = None,
                       progress=None) -> list[dict]:
    """One row per (α0, α, strategy, seed): the assumed ratio α against the true α0."""
    ds, rows = _dataset(cfg, dataset), []
    total = len(alpha0s) * len(alphas)
    for i, a0 in enumerate(alpha0s):
        for j, a in enumerate(alphas):
            rows += _rows(replace(cfg, alpha0=float(a0), alpha=float(a)), ds, alpha0=float(a0))
            if progress:
                progress(i * len(alphas) + j + 1, total)
    return rows


def param_sweep(cfg: ExperimentConfig, strategy: str, param: str, values, dataset: Dataset | None = None,
                progress=None) -> list[dict]:
    """One row per (value, seed) of ``strategy`` trained with ``param`` = value (e.g. IAD's ``inv_tau``)."""
    ds, rows = _dataset(cfg, dataset), []
    for i, v in enumerate(values):
        params = {**cfg.strategy_params, strategy: {**cfg.strategy_params.get(strategy, {}), param: v}}
        rows += _rows(replace(cfg, strategies=[strategy], strategy_params=params), ds, **{param: v})
        if progress:
            progress(i + 1, len(values))
    return rows


def mean_table(rows: list[dict], index: str, columns: str = "strategy", value: str = "auroc") -> dict:
    """{index value: {column value: mean of ``value``}} — the heatmap/line-plot input."""
    sums: dict = {}
    for r in rows:
        if value in r:
            cell = sums.setdefault(r[index], {}).setdefault(r[columns], [0.0, 0])
            cell[0] += r[value]
            cell[1] += 1
    return {i: {c: s / n for c, (s, n) in row.items()} for i, row in sums.items()}
