"""Deep SVDD on ADBench thyroid, protocol `split`, α0 = α = 0.1, 3 seeds: Blind vs Refine vs LOE.

    .venv/bin/python bench/thyroid_loe.py [DATA_DIR] [--epochs 100] [--seeds 0,1,2]

Thyroid has 93 anomalies: α0 = 0.1 with half of the normals would need 204, so
the split trains on fewer normals (shortage 'reduce_normals': 414 normals + 46
anomalies; 47 anomalies stay for testing).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adcore.cli import format_table  # noqa: E402
from adcore.experiment import ExperimentConfig, run_experiment  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/adbench"))
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--backbone", default="deepsvdd")
    args = parser.parse_args()
    cfg = ExperimentConfig(data=str(Path(args.data_dir) / "38_thyroid.npz"), backbone=args.backbone,
                           protocol="split", alpha0=0.1, alpha=0.1, shortage="reduce_normals",
                           strategies=["blind", "refine", "loe_hard", "loe_soft", "gtruth"],
                           seeds=[int(s) for s in args.seeds.split(",")], epochs=args.epochs, batch_size=128, lr=1e-3)
    result = run_experiment(cfg)
    info = result.splits[0].info
    print(f"thyroid split: {info['n_train']} training samples ({info['n_train_anomalies']} anomalies, "
          f"α0 = {info['alpha0_effective']:.3f}); {info['n_test']} test samples; {info.get('shortage', '')}")
    print(format_table(result.summary))
    print(f"total {result.seconds:.1f} s")


if __name__ == "__main__":
    main()
