"""Training speed on the LOE toy setting (100 points, 200 epochs, batch 25 = 800 steps).

Prints: (1) all five strategies trained as one stacked model; (2) 5 seeds of one
strategy stacked vs 5 runs one after another; (3) one run of our trainer vs a bare
PyTorch loop doing the same optimizer steps on the same model.

    .venv/bin/python bench/speed_toy.py [--repeats 5]
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from adcore.backbones import build_backbone  # noqa: E402
from adcore.data import make_split, make_toy  # noqa: E402
from adcore.data.toy import TOY_TRAINING  # noqa: E402
from adcore.trainer import Member, TrainConfig, train  # noqa: E402

STRATEGIES = ["blind", "refine", "loe_hard", "loe_soft", "gtruth"]
CFG = TrainConfig(**TOY_TRAINING)


def bare_loop(X: np.ndarray, seed: int = 0, fused: bool = False) -> float:
    """The same model, data order and Adam steps, with nothing else (blind loss)."""
    torch.set_num_threads(1)
    model = build_backbone("deepsvdd_rbf", X.shape[1:], [seed])
    x = torch.tensor(X)[None]
    start = time.perf_counter()
    model.setup(x)
    opt = torch.optim.Adam(model.parameters(), lr=CFG.lr, fused=fused)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(CFG.epochs):
        perm = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), CFG.batch_size):
            loss = model.losses(x[:, perm[i:i + CFG.batch_size]], train=True)[0].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def fit_seconds(members, X, y) -> float:
    return train("deepsvdd_rbf", members, X, y_train=y, config=CFG).fit_seconds


def stats(values) -> str:
    return f"min {min(values):.3f} s, median {statistics.median(values):.3f} s"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    split = make_split(make_toy(), "fresh", 0.1, seed=0, standardize=False)
    X, y = split.train.X, split.train.y
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # pay the one-off import cost first
    fit_seconds([Member("blind")], X, y)

    five, seeds_stacked, seeds_serial, single, bare, bare_fused = [], [], [], [], [], []
    for _ in range(args.repeats):
        five.append(fit_seconds([Member(s, 0.1, 0) for s in STRATEGIES], X, y))
        seeds_stacked.append(fit_seconds([Member("loe_hard", 0.1, s) for s in range(5)], X, y))
        seeds_serial.append(sum(fit_seconds([Member("loe_hard", 0.1, s)], X, y) for s in range(5)))
        single.append(fit_seconds([Member("loe_hard", 0.1, 0)], X, y))
        bare.append(bare_loop(X))
        bare_fused.append(bare_loop(X, fused=True))
    print(f"torch {torch.__version__}; repeats: {args.repeats}; load average {os.getloadavg()[0]:.1f}")
    print(f"(1) five strategies stacked, 800 steps: {stats(five)}")
    print(f"(2) 5 seeds stacked: {stats(seeds_stacked)}; 5 seeds one after another: {stats(seeds_serial)}; "
          f"speed-up (medians) {statistics.median(seeds_serial) / statistics.median(seeds_stacked):.1f}x")
    for name, ref in (("bare PyTorch loop (default Adam)", bare), ("bare loop with fused Adam as ours", bare_fused)):
        print(f"(3) one run (loe_hard): {stats(single)}; {name}: {stats(ref)}; "
              f"ratio of medians {statistics.median(single) / statistics.median(ref):.2f}, "
              f"of minima {min(single) / min(ref):.2f}")


if __name__ == "__main__":
    main()
