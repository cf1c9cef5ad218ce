"""Deep SVDD's tabular MLP with and without batch norm (issue 12 decision): Blind and LOE_H on ADBench sets.

    PYTHONPATH=. .venv/bin/python bench/deepsvdd_batchnorm.py [DATA_DIR] [--epochs 50] [--seeds 0,1,2]
        [--datasets thyroid,breastw,...] [--pretrain 0,10]

Protocol ``split`` (the engine's default for tabular files): half of the normals plus real anomalies until
α0 = α = 0.05 (shortage 'lower_alpha0'), features standardised with the training statistics, batch 128,
Adam 1e-3, the deepsvdd defaults otherwise (bias-free, rep_dim 32, two hidden layers from d). Each row: the
backbone's ``batch_norm`` off / on (Ruff et al.'s MLP: BatchNorm1d(affine=False) after every hidden layer),
with ``pretrain_epochs`` 0 (the backbone default) or 10 (the named methods' setting). Prints mean ± std AUROC.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adcore.experiment import ExperimentConfig, run_experiment  # noqa: E402

FILES = {"thyroid": "38_thyroid", "breastw": "4_breastw", "pima": "29_Pima", "vertebral": "39_vertebral",
         "wbc": "42_WBC", "lympho": "21_Lymphography", "letter": "20_letter", "annthyroid": "2_annthyroid",
         "wine": "45_wine", "ionosphere": "18_Ionosphere", "glass": "14_glass", "mammography": "23_mammography"}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data_dir", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/adbench"))
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--datasets", default="thyroid,breastw,pima,vertebral,wbc,lympho,letter,annthyroid")
    p.add_argument("--pretrain", default="0,10")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    strategies = ["blind", "loe_hard"]
    print("| dataset | pre-training | strategy | batch_norm off | batch_norm on |\n|---|---|---|---|---|", flush=True)
    means = {}
    for name in args.datasets.split(","):
        for pre in [int(v) for v in args.pretrain.split(",")]:
            row = {}
            for bn in (False, True):
                cfg = ExperimentConfig(data=str(Path(args.data_dir) / f"{FILES[name]}.npz"), backbone="deepsvdd",
                                       backbone_params={"batch_norm": bn, "pretrain_epochs": pre}, protocol="split",
                                       alpha0=0.05, alpha=0.05, shortage="lower_alpha0", strategies=strategies,
                                       seeds=seeds, epochs=args.epochs, batch_size=128, lr=1e-3, threads=1)
                res = run_experiment(cfg)
                for s in strategies:
                    row[(s, bn)] = [100 * r["auroc"] for r in res.runs if r["strategy"] == s]
            for s in strategies:
                off, on = row[(s, False)], row[(s, True)]
                means.setdefault((pre, s), []).append((np.mean(off), np.mean(on)))
                print(f"| {name} | {pre} | {s} | {np.mean(off):.1f} ± {np.std(off):.1f} | "
                      f"{np.mean(on):.1f} ± {np.std(on):.1f} |", flush=True)
    for (pre, s), v in means.items():
        v = np.array(v)
        print(f"pre-training {pre}, {s}: mean over {len(v)} sets off {v[:, 0].mean():.1f}, on {v[:, 1].mean():.1f}; "
              f"on better on {(v[:, 1] > v[:, 0]).sum()}/{len(v)}")


if __name__ == "__main__":
    main()
