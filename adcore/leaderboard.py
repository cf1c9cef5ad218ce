"""The leaderboard of a comparison: mean ± std over seeds and the paired test against Blind."""
from __future__ import annotations

import math

import numpy as np

STRATEGY_ORDER = ("blind", "refine", "loe_soft", "loe_hard", "gtruth", "iad")  # LOE Fig. 1 (a)-(e), then IAD


def order_strategies(names) -> list[str]:
    rank = {s: i for i, s in enumerate(STRATEGY_ORDER)}
    return sorted(dict.fromkeys(names), key=lambda s: (rank.get(s, len(rank)), s))


def paired_test(a, b) -> float:
    """Two-sided paired t-test p-value of ``a`` vs ``b`` (matched by seed); NaN below 2 pairs.

    A t-test rather than Wilcoxon: with the 3-5 seeds the app runs, the exact
    Wilcoxon signed-rank test cannot go below p = 0.0625 (n = 5) or 0.25 (n = 3).
    """
    from scipy.stats import ttest_rel

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2:
        return float("nan")
    d = a - b
    if np.allclose(d, d[0]):
        return 1.0 if abs(d[0]) < 1e-12 else 0.0  # identical differences: no variance to test against
    return float(ttest_rel(a, b).pvalue)


def significance_marker(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    return "**" if p < 0.01 else "*" if p < 0.05 else "n.s."


def leaderboard(result_or_runs, baseline: str = "blind", metric: str = "auroc") -> list[dict]:
    """One row per strategy: mean ± std over seeds of AUROC, AUPRC, F1 and fit time, and the
    paired t-test of ``metric`` against ``baseline`` over the seeds both ran."""
    runs = result_or_runs.runs if hasattr(result_or_runs, "runs") else result_or_runs
    base = {r["seed"]: r.get(metric) for r in runs if r["strategy"] == baseline}
    rows = []
    for strategy in order_strategies(r["strategy"] for r in runs):
        rs = [r for r in runs if r["strategy"] == strategy]
        row = {"strategy": strategy, "seeds": len(rs)}
        for key, name in (("auroc", "AUROC"), ("ap", "AUPRC"), ("f1", "F1"), ("fit_seconds", "fit s")):
            vals = [r[key] for r in rs if r.get(key) is not None]
            row[f"{name} mean"] = float(np.mean(vals)) if vals else None
            row[f"{name} std"] = float(np.std(vals)) if vals else None
        if strategy != baseline and base and all(r.get(metric) is not None for r in rs):
            pairs = [(r[metric], base[r["seed"]]) for r in rs if base.get(r["seed"]) is not None]
            p = paired_test([a for a, _ in pairs], [b for _, b in pairs]) if pairs else float("nan")
            row["Δ vs blind"] = float(np.mean([a - b for a, b in pairs])) if pairs else None
            row["p vs blind"] = None if not math.isfinite(p) else p
            row["sig."] = significance_marker(p)
        else:
            row["Δ vs blind"], row["p vs blind"], row["sig."] = None, None, "baseline" if strategy == baseline else "–"
        rows.append(row)
    return rows
