"""Reproduce IAD Table II (natural contamination) and Table IV (0.1 %) on the ADBench copies of the ODDS data.

Protocol (IAD Sec. V-A): transductive — each dataset is standardised and used
both to train (without labels) and to evaluate AUROC. For every backbone one
stacked run trains, per seed, a Base member (strategy ``blind``, trained for
all rounds × E epochs) and an IAD member (rounds × E epochs in rounds of E).
Reported per backbone and dataset, mean ± std over seeds:

* Base       — the blind member after the full training budget;
* Base(t=0)  — IAD's round 0 (= the base model after E epochs, w ≡ 1);
* IAD        — the round selected by the termination criterion (arg-min h);
* IAD-Best   — the best round by test AUROC (oracle, t = 0 included);
* Term-5 / Term-Max — the rounds chosen by the fixed-round rules of IAD Fig. 4;
* Otsu's     — the round (t ≥ 1) whose scores are best split in two by Otsu's criterion (IAD Fig. 4);
* PGR        — 100 (IAD − Base) / (IAD-Best − Base) (IAD Sec. V-B3), on the seed means, with
               Base = Base(t=0) and with Base = Base (blind).

Backbone settings come from the paper presets (``adcore.presets``, ``iad-table{2,4}-<backbone>-<dataset>``):
Deep SVDD = Ruff et al.'s bias-free MLP with batch norm and 20 epochs of AE pre-training, AE with IAD Eq. 10's
squared error, MAF with batch norm between the MADEs and the score −p(x) of IAD Eq. 8.

Usage:
    python bench/reproduce_iad.py /work/shared/datasets/adbench --seeds 10 --rounds 16 --epochs-per-round 10
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adcore.presets import PRESETS, iad_backbone_params  # noqa: E402
from adcore.strategies.iad import performance_gain_ratio, round_aurocs  # noqa: E402
from adcore.strategies.iad_ensemble import ensemble_score  # noqa: E402
from adcore.trainer import Member, TrainConfig, train  # noqa: E402

# IAD Table I/II datasets → ADBench file suffix (the MLP sizes of IAD Sec. V-A are in adcore.presets.IAD_SIZES)
DATASETS = {"Satellite": "satellite", "Arrhythmia": "arrhythmia", "Cardio": "cardio", "Thyroid": "thyroid",
            "Satimage-2": "satimage-2"}
# IAD Table II (natural contamination) and Table IV (0.1 %): (Base, IAD, IAD-Best) means
PAPER = {
    "natural": {
        "deepsvdd": {"Satellite": (68.2, 80.7, 82.4), "Arrhythmia": (74.7, 80.0, 82.8), "Cardio": (64.5, 85.3, 88.1),
                     "Thyroid": (78.3, 86.7, 91.7), "Satimage-2": (86.7, 97.6, 99.1)},
        "maf": {"Satellite": (72.3, 74.3, 77.4), "Arrhythmia": (84.4, 85.9, 88.4), "Cardio": (86.9, 90.3, 92.9),
                "Thyroid": (96.3, 97.3, 97.8), "Satimage-2": (99.7, 99.8, 99.9)},
        "ae": {"Satellite": (62.0, 70.2, 71.1), "Arrhythmia": (74.0, 75.6, 76.9), "Cardio": (70.7, 68.7, 73.3),
               "Thyroid": (92.1, 95.3, 96.7), "Satimage-2": (88.6, 99.9, 99.9)},
    },
    "0.1%": {
        "deepsvdd": {"Satellite": (85.9, 86.4, 89.1), "Arrhythmia": (78.7, 81.1, 90.9), "Cardio": (77.5, 82.4, 95.1),
                     "Thyroid": (79.3, 82.1, 93.3), "Satimage-2": (95.4, 93.9, 98.4)},
        "maf": {"Satellite": (95.3, 94.7, 97.3), "Arrhythmia": (99.6, 99.6, 99.8), "Cardio": (87.8, 92.8, 94.8),
                "Thyroid": (97.6, 97.5, 98.5), "Satimage-2": (99.3, 99.4, 99.8)},
        "ae": {"Satellite": (82.1, 83.3, 87.1), "Arrhythmia": (82.2, 82.2, 86.4), "Cardio": (84.6, 88.3, 88.7),
               "Thyroid": (96.7, 94.0, 97.2), "Satimage-2": (97.6, 99.8, 99.9)},
    },
}

# IAD Table V (AE; natural contamination): Ensemble and Ensemble + IAD means (Base and IAD as in Table II)
PAPER_TABLE5 = {"Satellite": {"ensemble": 63.1, "ensemble_iad": 69.5},
                "Arrhythmia": {"ensemble": 74.2, "ensemble_iad": 76.1}, "Cardio": {"ensemble": 71.4, "ensemble_iad": 69.6}, "Thyroid": {"ensemble": 94.8, "ensemble_iad": 93.8},
                "Satimage-2": {"ensemble": 89.9, "ensemble_iad": 99.9}}


def otsu_separability(scores: np.ndarray) -> float:
    """Otsu's criterion (used as a termination rule in IAD Fig. 4, after DRAE): the largest between-class
    variance σ_B² = w0 w1 (μ0 − μ1)² over all thresholds of the sorted scores, divided by their variance."""
    s = np.sort(np.asarray(scores, dtype=float))
    n, total = len(s), s.var()
    if total <= 0:
        return 0.0
    k = np.arange(1, n)
    c = np.cumsum(s)[:-1]
    mu0, mu1 = c / k, (s.sum() - c) / (n - k)
    return float(np.max(k / n * (1 - k / n) * (mu0 - mu1) ** 2) / total)


def find_file(folder: Path, suffix: str) -> Path | None:
    hits = sorted(p for p in folder.glob("*.npz") if p.stem.split("_", 1)[-1].lower() == suffix)
    return hits[0] if hits else None


def standardise(X: np.ndarray) -> np.ndarray:
    X = X.astype(np.float64)
    return ((X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)).astype(np.float32)


def low_contamination(X, y, ratio, seeds):
    """Per seed: all normals plus randomly drawn anomalies making up ``ratio`` of the set (IAD Table IV)."""
    normal, anom = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    n_anom = max(1, int(round(len(normal) * ratio / (1 - ratio))))
    sets = []
    for s in seeds:
        pick = np.random.default_rng(1000 + s).choice(anom, n_anom, replace=False)
        idx = np.concatenate([normal, pick])
        sets.append((X[idx], y[idx]))
    return sets


def run_one(backbone, sets, seeds, params, rounds, E, lr, batch):
    """One stacked run: blind and IAD members for every seed; ``sets`` one (X, y) per seed."""
    S = len(seeds)
    members = ([Member("blind", 0.0, s) for s in seeds]
               + [Member("iad", 0.0, s, (("epochs_per_round", E),)) for s in seeds])
    Xs = [x for x, _ in sets] * 2
    ys = [y for _, y in sets] * 2
    t0 = time.perf_counter()
    res = train(backbone, members, Xs, y_train=ys, backbone_params=params,
                config=TrainConfig(epochs=rounds * E, batch_size=batch, lr=lr, record_every=rounds * E))
    secs = time.perf_counter() - t0
    final = res.score(Xs)
    ex = res.history.extra
    out = {k: [] for k in ("base", "base_t0", "iad", "best", "term5", "termmax", "otsu", "selected", "best_round")}
    for j, s in enumerate(seeds):
        y = sets[j][1]
        out["base"].append(roc_auc_score(y, final[j]))
        k = S + j
        a = round_aurocs(ex["iad_scores"][k], y)  # transductive: the training scores are the test scores
        sel = ex["iad_selected_round"][k]
        out["base_t0"].append(a[0])
        out["iad"].append(roc_auc_score(y, final[k]))
        assert abs(out["iad"][-1] - a[sel]) < 1e-3, "the returned model must be the selected round"
        out["best"].append(np.nanmax(a))
        out["term5"].append(a[min(5, len(a) - 1)])
        out["termmax"].append(a[-1])
        eta = [otsu_separability(st) for st in ex["iad_scores"][k][1:]]  # rounds t ≥ 1, as the h rule
        out["otsu"].append(a[1 + int(np.argmax(eta))] if eta else a[0])
        out["selected"].append(sel)
        out["best_round"].append(int(np.nanargmax(a)))
    out["seconds"] = secs
    out["weights"] = {  # mean weight of true normals / anomalies in the selected round (Fig. 5a)
        "normal": float(np.mean([ex["iad_weight_mean_normal"][S + j][out["selected"][j]] for j in range(S)])),
        "anomaly": float(np.mean([ex["iad_weight_mean_anomaly"][S + j][out["selected"][j]] for j in range(S)])),
    }
    return out


def run_ensemble(backbone, sets, seeds, params, rounds, E, lr, batch, size=5):
    """IAD Table V: per seed an *Ensemble* (``size`` models on random 80 % sub-datasets, median-scaled mean
    score, last round) and an *Ensemble + IAD* (the same with IAD's shared weights, the round of lowest h),
    all in one stacked run (strategy ``iad_ensemble``)."""
    members, Xs, ys = [], [], []
    for reweight in (False, True):
        for j, s in enumerate(seeds):
            for m in range(size):  # consecutive members form one ensemble
                members.append(Member("iad_ensemble", 0.0, 1000 * (m + 1) + s,
                                      (("ensemble_size", size), ("epochs_per_round", E), ("reweight", reweight))))
                Xs.append(sets[j][0])
                ys.append(sets[j][1])
    t0 = time.perf_counter()
    res = train(backbone, members, Xs, y_train=ys, backbone_params=params,
                config=TrainConfig(epochs=rounds * E, batch_size=batch, lr=lr, record_every=rounds * E))
    final = torch.as_tensor(res.score(Xs))
    ex = res.history.extra
    out = {"ensemble": [], "ensemble_iad": [], "ensemble_iad_best": [], "ensemble_selected": [],
           "ensemble_seconds": time.perf_counter() - t0}
    S = len(seeds)
    for j in range(S):
        y = sets[j][1]
        plain, iad = j * size, (S + j) * size  # first member of each ensemble
        out["ensemble"].append(roc_auc_score(y, ensemble_score(final[plain:plain + size]).numpy()))
        out["ensemble_iad"].append(roc_auc_score(y, ensemble_score(final[iad:iad + size]).numpy()))
        a = round_aurocs(ex["iad_scores"][iad], y)  # the ensemble's score of every round
        sel = ex["iad_selected_round"][iad]
        assert abs(out["ensemble_iad"][-1] - a[sel]) < 1e-3, "the returned ensemble must be the selected round"
        out["ensemble_iad_best"].append(np.nanmax(a))
        out["ensemble_selected"].append(sel)
    return out


def fmt(v):
    v = 100 * np.asarray(v, dtype=float)
    return f"{v.mean():5.1f} ± {v.std():4.1f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="folder with the ADBench .npz files")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=16, help="rounds t = 0..T (IAD: T = 15 → 16)")
    ap.add_argument("--epochs-per-round", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--backbones", nargs="+", default=["deepsvdd", "maf", "ae"])
    ap.add_argument("--settings", nargs="+", default=["natural", "0.1%"], choices=["natural", "0.1%"])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--extra-params", default="{}",
                    help='JSON {backbone: {param: value}} overriding the preset\'s backbone parameters '
                         '(e.g. the settings before issue 12: \'{"ae": {"error": "norm"}}\')')
    ap.add_argument("--ensemble", action="store_true", help="also IAD Table V: Ensemble and Ensemble + IAD "
                    "(5 models on 80 %% sub-datasets; the paper runs them with AE)")
    ap.add_argument("--json", type=Path, help="write all numbers here")
    args = ap.parse_args(argv)
    seeds = list(range(args.seeds))
    results = []
    for name in args.datasets:
        suffix = DATASETS[name]
        path = find_file(args.data, suffix)
        if path is None:
            print(f"# {name}: no *_{suffix}.npz in {args.data}, skipped")
            continue
        d = np.load(path, allow_pickle=False)
        X, y = standardise(d["X"]), d["y"].astype(int)
        for setting in args.settings:
            sets = [(X, y)] * len(seeds) if setting == "natural" else low_contamination(X, y, 0.001, seeds)
            ratio = 100 * np.mean([s[1].mean() for s in sets])
            for bb in args.backbones:
                preset = f"iad-table{'2' if setting == 'natural' else '4'}-{bb}-{suffix}"
                assert PRESETS[preset]["backbone_params"] == iad_backbone_params(bb, suffix)
                params = iad_backbone_params(bb, suffix)  # the preset's (adcore/presets.py)
                params.update(json.loads(args.extra_params).get(bb, {}))
                r = run_one(bb, sets, seeds, params, args.rounds, args.epochs_per_round, args.lr, args.batch_size)
                paper = PAPER[setting].get(bb, {}).get(name)
                pgr = float(performance_gain_ratio(np.mean(r["iad"]), np.mean(r["base_t0"]), np.mean(r["best"])))
                pgr_blind = float(performance_gain_ratio(np.mean(r["iad"]), np.mean(r["base"]), np.mean(r["best"])))
                print(f"\n{name} ({path.name}, n={len(sets[0][1])}, {ratio:.2f}% anomalies, {setting}) — {bb}, "
                      f"preset {preset}, params {params}, "
                      f"{len(seeds)} seeds, {args.rounds} rounds × {args.epochs_per_round} epochs, "
                      f"{r['seconds']:.0f} s")
                rows = [("Base (blind)", r["base"], 0), ("Base (t=0)", r["base_t0"], None), ("IAD", r["iad"], 1),
                        ("IAD-Best", r["best"], 2), ("Term-5", r["term5"], None), ("Term-Max", r["termmax"], None),
                        ("Otsu's", r["otsu"], None)]
                for label, vals, pi in rows:
                    ref = f"   paper {paper[pi]:.1f}" if paper and pi is not None else ""
                    print(f"  {label:<13} {fmt(vals)}{ref}")
                print(f"  PGR {pgr:.0f}% (vs t=0), {pgr_blind:.0f}% (vs blind; NaN where IAD-Best <= Base)   "
                      f"selected rounds {r['selected']}   best rounds {r['best_round']}")
                print(f"  mean weight at the selected round: normals {r['weights']['normal']:.3f}, "
                      f"anomalies {r['weights']['anomaly']:.3f}")
                if args.ensemble:
                    ens = run_ensemble(bb, sets, seeds, params, args.rounds, args.epochs_per_round, args.lr,
                                       args.batch_size)
                    ref = PAPER_TABLE5.get(name, {}) if bb == "ae" and setting == "natural" else {}
                    for label, key in (("Ensemble", "ensemble"), ("Ensemble+IAD", "ensemble_iad"),
                                       ("Ens.+IAD-Best", "ensemble_iad_best")):
                        paper_v = f"   paper {ref[key]:.1f}" if key in ref else ""
                        print(f"  {label:<13} {fmt(ens[key])}{paper_v}")
                    print(f"  ensembles: {ens['ensemble_seconds']:.0f} s, selected rounds {ens['ensemble_selected']}")
                    r.update(ens)
                results.append({"dataset": name, "file": path.name, "setting": setting, "backbone": bb,
                                "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
                                "paper_base_iad_best": paper, "pgr": pgr, "pgr_vs_blind": pgr_blind,
                                **{k: v for k, v in r.items()}})
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    return results


if __name__ == "__main__":
    main()
