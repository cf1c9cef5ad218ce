"""LOE Sec. 4.1 / Fig. 1: the 2-D Gaussian mixture with the RBF Deep SVDD (App. A settings:
α0 = α = 0.1, batch 25, 200 epochs; lr 0.003 instead of 0.01, see
adcore/backbones/deepsvdd_rbf.py; fresh test draw of 1,000 points).

The paper shows contours only (no numbers); the claim is the ordering Blind < Refine <
LOE_S ≈ LOE_H < G-truth. Also shows why we round αB down: α = 0.12 flags 3 of 25 per
batch, which is what rounding 2.5 up would do.

Settings: the preset ``loe-fig1-toy`` (adcore/presets.py).

    .venv/bin/python bench/reproduce_toy.py [--seeds 10]
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adcore.cli import format_table  # noqa: E402
from adcore.experiment import ExperimentConfig, run_experiment  # noqa: E402
from adcore.presets import preset_fields  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    for alpha, label in ((0.1, "α = 0.1: ⌊0.1·25⌋ = 2 flags per batch (ours)"),
                         (0.12, "α = 0.12: 3 flags per batch (= rounding 2.5 up)")):
        cfg = ExperimentConfig(**{**preset_fields("loe-fig1-toy"), "alpha": alpha, "seeds": list(range(args.seeds))})
        result = run_experiment(cfg)
        print(f"\n{label}; {args.seeds} seeds, {result.seconds:.1f} s")
        print(format_table(result.summary))


if __name__ == "__main__":
    main()
