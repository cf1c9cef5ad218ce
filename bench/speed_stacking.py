"""Stacked members vs the same members trained one after another, for every tabular backbone.

The job of issue 15: blind, LOE-hard and LOE-soft × 5 seeds (K = 15) on ADBench thyroid, batch 64,
one torch thread. For each backbone at our default sizes (and NTL also at DeepOD NeuTraL's sizes,
where stacking stops paying), it prints the CPU seconds of one stacked fit of the K members, of one
member alone (× K = "one after another"), their ratio, and each fit's cost of the per-sample history
(the same fit recording only its last epoch). CPU time (``time.process_time``) is less disturbed than
wall time by other processes; the minimum over ``--repeats`` is printed.

    PYTHONPATH=. .venv/bin/python bench/speed_stacking.py [--epochs 10] [--repeats 3] [--backbones ntl,ae]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from adcore.data import load, make_split
from adcore.experiment import member_groups
from adcore.registry import BACKBONES
from adcore.trainer import Member, TrainConfig, train

THYROID = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "adbench" / "38_thyroid.npz"
STRATEGIES = ("blind", "loe_hard", "loe_soft")
DEEPOD_NTL = {"n_trans": 11, "trans_hidden": (50,), "enc_hidden": (100, 50), "rep_dim": 128, "bias": False,
              "activation": "leaky_relu"}


def tabular_backbones() -> list[str]:
    return [n for n in BACKBONES.names()
            if "tabular" in BACKBONES.get(n).data_kinds and not getattr(BACKBONES.get(n), "shallow", False)]


def cpu_seconds(backbone, members, X, params, config) -> float:
    start = time.process_time()
    for group in member_groups(backbone, X.shape[1:], params, len(members), config.batch_size):
        train(backbone, [members[k] for k in group], X, backbone_params=params, config=config)
    return time.process_time() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--backbones", default=None, help="comma-separated; default: every tabular backbone")
    args = parser.parse_args()
    torch.set_num_threads(1)
    split = make_split(load(str(THYROID)), "split", 0.024, 0)
    X = split.train.X.astype(np.float32)
    members = [Member(s, 0.024, seed) for seed in range(args.seeds) for s in STRATEGIES]
    K = len(members)
    cases = [(b, {}) for b in (args.backbones.split(",") if args.backbones else tabular_backbones())]
    if args.backbones is None or "ntl" in args.backbones.split(","):
        cases.append(("ntl", DEEPOD_NTL))
    print(f"thyroid train {X.shape}, K = {K} members, batch 64, {args.epochs} epochs, 1 thread, "
          f"torch {torch.__version__}, load {os.getloadavg()[0]:.1f}")
    print(f"{'backbone':22} {'groups':>6} {'stacked s':>9} {'1 member s':>10} {'K after another':>15} "
          f"{'speed-up':>8} {'history %':>9}")
    for name, params in cases:
        cfg = TrainConfig(epochs=args.epochs, batch_size=64, threads=1)
        last_only = TrainConfig(epochs=args.epochs, batch_size=64, threads=1, record_every=args.epochs)
        train(name, members[:1], X, backbone_params=params, config=TrainConfig(epochs=1, threads=1))  # warm-up
        stacked, single, bare = [], [], []
        for _ in range(args.repeats):  # interleaved, so that load changes hit all three alike
            stacked.append(cpu_seconds(name, members, X, params, cfg))
            single.append(cpu_seconds(name, members[:1], X, params, cfg))
            bare.append(cpu_seconds(name, members[:1], X, params, last_only))
        n_groups = len(member_groups(name, X.shape[1:], params, K, 64))
        label = name + (" (DeepOD sizes)" if params else "")
        s, one = min(stacked), min(single)
        print(f"{label:22} {n_groups:>6} {s:>9.2f} {one:>10.2f} {K * one:>15.2f} {K * one / s:>7.1f}× "
              f"{100 * (one - min(bare)) / one:>8.0f}%")


if __name__ == "__main__":
    main()
