"""Trace one LOE run epoch by epoch: do LOE_H's flags stay on the noisy copies? (issue 12, wine / annthyroid)

    PYTHONPATH=. .venv/bin/python bench/loe_trace.py DATA.npz [--backbone ntl] [--epochs 60] [--seed 0]
        [--standardize] [--normal-order random|file] [--backbone-params JSON]

Protocol ``loe`` (α0 = α = 0.1, batch 128, Adam 1e-3, warm-up 2, raw features unless ``--standardize``), one
Blind and one LOE_H member stacked. Prints per epoch the median training score (L_n) of the normals and of
the noisy copies, the precision of LOE_H's flags (History.precision; chance = 0.1) and both members' test AUROC.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adcore.data import load  # noqa: E402
from adcore.data.protocols import make_split  # noqa: E402
from adcore.trainer import Member, TrainConfig, train  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data")
    p.add_argument("--backbone", default="ntl")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--standardize", action="store_true")
    p.add_argument("--normal-order", default="random", choices=("random", "file"))
    p.add_argument("--backbone-params", type=json.loads, default={})
    args = p.parse_args()
    split = make_split(load(args.data), "loe", 0.1, args.seed, standardize=args.standardize,
                       normal_order=args.normal_order)
    members = [Member("blind", 0.1, args.seed), Member("loe_hard", 0.1, args.seed)]
    res = train(args.backbone, members, split.train.X, y_train=split.train.y, X_test=split.test.X,
                y_test=split.test.y, backbone_params=args.backbone_params,
                config=TrainConfig(epochs=args.epochs, batch_size=128, lr=1e-3, warmup=2, record_every=1,
                                   test_every=1, threads=1))
    h = res.history
    epochs = list(h.recorded_epochs)
    print(f"{split.info['n_train']} training samples ({split.info['n_train_anomalies']} copies), "
          f"{split.info['n_test']} test samples")
    print("epoch | blind: L_n normals / copies, test AUROC | loe_hard: L_n normals / copies, flag precision, test AUROC")
    for e in sorted(set(range(min(10, args.epochs))) | set(range(10, args.epochs, 10)) | {args.epochs - 1}):
        if e not in epochs:
            continue
        r = epochs.index(e)
        cells = []
        for k in range(2):
            y = split.train.y[h.sample_index[k]]
            s = h.train_scores[r, k]
            prec = f" {h.precision[e, k]:.2f}" if members[k].strategy == "loe_hard" else ""
            cells.append(f"{np.median(s[y == 0]):7.3f} / {np.median(s[y == 1]):7.3f}{prec} {h.test_auroc[e, k]:.3f}")
        print(f"{e:5d} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
