"""PU paper Table 1 (MNIST column), App. C (seen vs unseen) and Fig. 2 (α sensitivity), on the shared MNIST test set.

    .venv/bin/python bench/reproduce_pu.py [--mnist DIR] [--classes 1,...,9] [--seeds 0,1] [--epochs 30]
                                           [--alphas 0.01,0.05,0.1,0.2,0.3] [--json out.json]

Protocol (PU paper Sec. 5.1, scaled to the 10,000-image MNIST test set, the
only MNIST data shipped): for each normal digit c = 1…9, digit 0 is the
*unseen* anomaly (test only) and the other eight digits the *seen* ones. The
paper trains on 4,500 unlabelled normals + 250 unlabelled seen anomalies + 250
labelled seen anomalies (0.90 : 0.05 : 0.05). Here 70 % of digit c (≈ 700
images) are the training normals, the unlabelled pool is contaminated with
seen anomalies to α0 = 250/4750 = 0.0526 (≈ 39 images) and labelled seen
anomalies come on top at γ_l = 0.05 (≈ 39 images), i.e. the paper's
proportions at 1/6.4 of its size. Test: the other 30 % of digit c, the seen
anomalies not used for training, and every image of digit 0 (AUROC does not
depend on the class balance). Images stay 28×28 (the paper resizes to 32×32).

Methods (Sec. 5.2), backbone CNNs of adcore (LeNet ``mnist`` arch of Ruff et
al.: 8 → 4 filters, dense 32; the paper uses a 128-d latent): IF, AE,
DeepSVDD, LOE (Deep SVDD + LOE_H), ABC, DeepSAD, SOEL, PU (nnPU classifier),
PUAE, PUSVDD. Deep SVDD-based methods: no bias, c from 10 epochs of
autoencoder pre-training (Sec. 5.3). Training: Adam, batch 128, lr 1e-3 and
``--epochs`` epochs (the paper: lr 1e-4, ≤ 200 epochs, weight decay 1e-3,
early stopping on a validation split — too slow for this machine; no
validation split here), α = 0.1 for PU, PUAE, PUSVDD, LOE and SOEL as in
Sec. 5.3. Unsupervised methods ignore the labelled anomalies (Sec. 5.3 fn. 2).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from adcore.data import load  # noqa: E402
from adcore.experiment import ExperimentConfig  # noqa: E402
from adcore.methods import compare_methods  # noqa: E402
from adcore.metrics import auroc_by_class  # noqa: E402

MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
METHODS = ("IsolationForest", "AE", "DeepSVDD", "LOE", "ABC", "DeepSAD", "SOEL", "nnPU", "PUAE", "PUSVDD")
PAPER = {"IsolationForest": 0.885, "AE": 0.912, "DeepSVDD": 0.937, "LOE": 0.945, "ABC": 0.916, "DeepSAD": 0.942,
         "SOEL": 0.965, "nnPU": 0.962, "PUAE": 0.983, "PUSVDD": 0.989}
POOL_ALPHA0 = 250 / 4750
LABELED_RATIO = 250 / 5000


def base_config(normal: int, seeds, epochs: int, alpha: float = 0.1) -> ExperimentConfig:
    return ExperimentConfig(data="mnist", protocol="seen_unseen",
                            protocol_options={"normal_class": normal, "unseen_class": 0},
                            alpha0=POOL_ALPHA0, alpha=alpha, labeled_ratio=LABELED_RATIO, train_normal_frac=0.7,
                            seeds=list(seeds), epochs=epochs, batch_size=128, lr=1e-3, threads=1)


def seen_unseen(result) -> tuple[list, list]:
    """Per seed: AUROC of normals vs seen anomalies, and vs the unseen digit 0 (App. C)."""
    seen, unseen = [], []
    for k, scores in enumerate(result.test_scores):
        test = result.split_of(k).test
        by = auroc_by_class(test.y, scores, test.classes)
        unseen.append(by.pop("0"))
        anomalies = test.y == 1
        keep = (test.y == 0) | (anomalies & (test.classes != 0))
        from sklearn.metrics import roc_auc_score

        seen.append(float(roc_auc_score(test.y[keep], scores[keep])))
    return seen, unseen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist", default=str(MNIST))
    ap.add_argument("--classes", default="1,2,3,4,5,6,7,8,9")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--alphas", default="0.01,0.05,0.1,0.2,0.3", help="Fig. 2 (normal 1, unseen 0); '' to skip")
    ap.add_argument("--json")
    args = ap.parse_args()
    ds = load(f"mnist:{args.mnist}")
    classes = [int(c) for c in args.classes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    rows, start = [], time.perf_counter()
    for c in classes:
        results = compare_methods(base_config(c, seeds, args.epochs), methods, ds)
        for name, res in zip(methods, results):
            seen, unseen = seen_unseen(res)
            rows.append({"normal": c, "method": name, "auroc": [r["auroc"] for r in res.runs],
                         "seen": seen, "unseen": unseen, "n_labeled": res.splits[0].info["n_labeled"],
                         "n_train": res.splits[0].info["n_train"]})
            print(f"digit {c} {name:<16} AUROC {np.mean(rows[-1]['auroc']):.3f}  seen {np.mean(seen):.3f}  "
                  f"unseen {np.mean(unseen):.3f}  ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"\nTable 1, MNIST column: mean AUROC over normal digits {classes} × seeds {seeds}")
    print(f"{'method':<16} {'ours':>13} {'paper':>7} {'seen':>7} {'unseen':>7}")
    for name in methods:
        r = [row for row in rows if row["method"] == name]
        per_class = [np.mean(x["auroc"]) for x in r]
        print(f"{name:<16} {np.mean(per_class):.3f} ± {np.std(per_class):.3f} {PAPER.get(name, float('nan')):>7.3f} "
              f"{np.mean([np.mean(x['seen']) for x in r]):>7.3f} {np.mean([np.mean(x['unseen']) for x in r]):>7.3f}")
    sens = []
    if args.alphas:
        print("\nFig. 2: AUROC vs α (normal digit 1, unseen 0)")
        for a in [float(v) for v in args.alphas.split(",")]:
            res = compare_methods(base_config(1, seeds, args.epochs, alpha=a), ["PUSVDD", "SOEL"], ds)
            line = {name: [r["auroc"] for r in x.runs] for name, x in zip(["PUSVDD", "SOEL"], res)}
            sens.append({"alpha": a, **line})
            print(f"  α = {a:<5g} " + "  ".join(f"{n} {np.mean(v):.3f} ± {np.std(v):.3f}" for n, v in line.items()),
                  flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows, "alpha": sens}, indent=1))


if __name__ == "__main__":
    main()
