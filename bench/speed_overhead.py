"""One run of our trainer vs a bare PyTorch loop doing the same steps (issue 15: within 1.2×).

ADBench thyroid, one member, batch 64, one torch thread, the backbones at our default sizes. The bare
loop is what a user would write by hand: the same model, Adam (foreach, as ours on the CPU), per-epoch
random order, and for LOE-hard the same objective (rank S = L_n − L_a, the top ⌊αB⌋ of the batch on
L_a, the rest on L_n, after the same warm-up; L_n alone where L_a has no weight). Ours is ``adcore.trainer.train`` with its default
history, and with the history reduced to the last epoch ("no history"). CPU seconds
(``time.process_time``), minimum over ``--repeats`` interleaved repeats.

    PYTHONPATH=. .venv/bin/python bench/speed_overhead.py [--epochs 20] [--repeats 5] [--backbones deepsvdd,ntl]
"""
from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from adcore.backbones import build_backbone
from adcore.data import load, make_split
from adcore.trainer import Member, TrainConfig, train

THYROID = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "adbench" / "38_thyroid.npz"
ALPHA, BATCH, WARMUP = 0.024, 64, 2


def bare_loop(backbone: str, X: np.ndarray, strategy: str, epochs: int) -> float:
    torch.set_num_threads(1)
    start = time.process_time()
    model = build_backbone(backbone, X.shape[1:], [0])
    x = torch.as_tensor(X)[None]
    model.setup(x)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
    gen = torch.Generator().manual_seed(1_000_003)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), BATCH):
            xb = x[:, perm[i:i + BATCH]]
            n_flag = math.floor(ALPHA * xb.shape[1] + 1e-6)
            if strategy == "loe_hard" and epoch >= WARMUP and n_flag > 0:
                ln, la = model.losses(xb, train=True)
                flag = torch.zeros_like(ln, dtype=torch.bool)
                flag.scatter_(1, (ln - la).detach().topk(n_flag, dim=1).indices, True)
                loss = torch.where(flag, la, ln).mean()
            else:  # L_n alone, as a hand-written blind loop computes
                loss = model.normal_loss(xb, train=True).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.process_time() - start


def ours(backbone: str, X: np.ndarray, strategy: str, epochs: int, history: bool) -> float:
    cfg = TrainConfig(epochs=epochs, batch_size=BATCH, threads=1, warmup=WARMUP,
                      record_every=None if history else epochs)
    start = time.process_time()
    train(backbone, [Member(strategy, ALPHA, 0)], X, config=cfg)
    return time.process_time() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backbones", default="deepsvdd,ae,ntl,icl,vae,maf")
    args = parser.parse_args()
    torch.set_num_threads(1)
    X = make_split(load(str(THYROID)), "split", ALPHA, 0).train.X.astype(np.float32)
    print(f"thyroid train {X.shape}, batch {BATCH}, {args.epochs} epochs, 1 thread, torch {torch.__version__}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'backbone':9} {'strategy':9} {'bare s':>7} {'ours s':>7} {'ratio':>6} {'no history s':>12} {'ratio':>6}")
    for name in args.backbones.split(","):
        ours(name, X, "blind", 1, True)  # warm-up
        for strategy in ("blind", "loe_hard"):
            times = {"bare": [], "ours": [], "lean": []}
            for _ in range(args.repeats):
                times["bare"].append(bare_loop(name, X, strategy, args.epochs))
                times["ours"].append(ours(name, X, strategy, args.epochs, True))
                times["lean"].append(ours(name, X, strategy, args.epochs, False))
            b, o, lean = (min(times[k]) for k in ("bare", "ours", "lean"))
            print(f"{name:9} {strategy:9} {b:7.3f} {o:7.3f} {o / b:5.2f}× {lean:12.3f} {lean / b:5.2f}×", flush=True)


if __name__ == "__main__":
    main()
