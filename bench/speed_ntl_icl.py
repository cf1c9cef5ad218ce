"""Seconds per training epoch of NTL and ICL on ADBench thyroid (batch 128; 1 and 3 stacked members).

Run: ``PYTHONPATH=. .venv/bin/python bench/speed_ntl_icl.py [epochs] [threads]``. ``fit s/epoch`` is the
trainer's wall time per epoch (training steps plus its end-of-epoch scoring of the training set);
``step ms`` times forward + backward + Adam steps alone. The minimum over repeats is printed, as other
processes on the machine make single timings noisy.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from adcore.backbones import build_backbone
from adcore.trainer import Member, TrainConfig, train

PATH = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "adbench" / "38_thyroid.npz"


def step_ms(name, X, k, threads, repeats=3, steps=30):
    torch.set_num_threads(threads)
    m = build_backbone(name, X.shape[1:], list(range(k)))
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.as_tensor(X[:128]).unsqueeze(0).expand(k, -1, -1).contiguous()
    best = float("inf")
    for _ in range(repeats):
        for i in range(steps + 3):
            if i == 3:
                t = time.perf_counter()
            ln, _ = m.losses(x, train=True)
            opt.zero_grad(set_to_none=True)
            ln.mean(1).sum().backward()
            opt.step()
        best = min(best, (time.perf_counter() - t) / steps * 1e3)
    return best


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    threads = sys.argv[2] if len(sys.argv) > 2 else "auto"
    data = np.load(PATH, allow_pickle=False)
    X = data["X"].astype(np.float32)
    X = (X - X.mean(0)) / (X.std(0) + 1e-6)
    print(f"thyroid {X.shape}, batch 128, {epochs} epochs, threads={threads}, torch {torch.__version__}")
    print(f"{'backbone':8} {'K':>2} {'threads':>7} {'fit s/epoch':>11} {'step ms':>8}")
    for name in ("ntl", "icl"):
        for k in (1, 3):
            fits = []
            for _ in range(2):
                res = train(name, [Member("blind", 0.1, s) for s in range(k)], X,
                            config=TrainConfig(epochs=epochs, batch_size=128, threads=threads))
                fits.append(res.fit_seconds / epochs)
            ms = step_ms(name, X, k, res.threads)
            print(f"{name:8} {k:>2} {res.threads:>7} {min(fits):>11.3f} {ms:>8.2f}")


if __name__ == "__main__":
    main()
