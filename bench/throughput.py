"""Training throughput (member-epochs per second) of K stacked members, K = 1, 4, 16, 64, per device.

One stacked ``train`` call of K LOE-hard members on ADBench thyroid (batch 64, ``--epochs`` epochs, the
history at its default), NTL at our default sizes and at DeepOD NeuTraL's; CPU with one thread, and
CUDA when there is one (the data lives on the device; the loop reads nothing back per step). Wall
seconds, best of ``--repeats``.

    PYTHONPATH=. .venv/bin/python bench/throughput.py [--epochs 5] [--ks 1,4,16,64] [--repeats 2]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from adcore.data import load, make_split
from adcore.trainer import Member, TrainConfig, train

THYROID = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "adbench" / "38_thyroid.npz"
SIZES = {"default": {}, "DeepOD": {"n_trans": 11, "trans_hidden": (50,), "enc_hidden": (100, 50), "rep_dim": 128,
                                   "bias": False, "activation": "leaky_relu"}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--ks", default="1,4,16,64")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--precision", default="float32")
    args = parser.parse_args()
    X = make_split(load(str(THYROID)), "split", 0.024, 0).train.X.astype(np.float32)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"thyroid train {X.shape}, NTL, LOE-hard, batch 64, {args.epochs} epochs, {args.precision}, "
          f"torch {torch.__version__}, load {os.getloadavg()[0]:.1f}"
          + ("" if "cuda" in devices else "; no CUDA device here, CPU only"))
    print(f"{'device':6} {'sizes':8} " + " ".join(f"{'K=' + k:>10}" for k in args.ks.split(",")) + "  (member-epochs/s)")
    for device in devices:
        for label, params in SIZES.items():
            cfg = TrainConfig(epochs=args.epochs, batch_size=64, device=device, threads=1, precision=args.precision)
            train("ntl", [Member("loe_hard", 0.024, 0)], X, backbone_params=params,
                  config=TrainConfig(epochs=1, device=device, threads=1))  # warm-up
            row = []
            for k in map(int, args.ks.split(",")):
                members = [Member("loe_hard", 0.024, s) for s in range(k)]
                best = min(_seconds(members, X, params, cfg, device) for _ in range(args.repeats))
                row.append(f"{k * args.epochs / best:>10.1f}")
            print(f"{device:6} {label:8} " + " ".join(row), flush=True)


def _seconds(members, X, params, cfg, device) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    train("ntl", members, X, backbone_params=params, config=cfg)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
