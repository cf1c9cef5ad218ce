"""CNN Deep SVDD on the MNIST test set, one-vs-rest, α0 = α = 0.1: Blind vs LOE_H vs LOE_S.

    .venv/bin/python bench/mnist_loe.py [MNIST_DIR] [--classes 0,1,...] [--seeds 0,1] [--epochs 30]
                                        [--threads 2] [--json out.json]
    .venv/bin/python bench/mnist_loe.py --speed      # stacked-convolution variants, ms per training step

Data: the 10,000 MNIST test images (28×28, intensities / 255), the only MNIST
data shipped for development. Protocol ``one_vs_rest`` (LOE Sec. 4.2, IAD Sec.
V-A): for normal class c, half of class c's images train, contaminated with
images drawn at random from the nine other classes until α0 = 0.1 (≈ 500
normals + 56 anomalies); the test set is the other half of class c and all
remaining images of the other classes (≈ 500 normals vs ≈ 8,900 anomalies).
Backbone ``deepsvdd_cnn`` with the MNIST LeNet of IAD Sec. V-A (8×(5×5) → 4×(5×5)
filters, dense 32, bias-free, batch norm without affine parameters, leaky ReLU,
2×2 max-pool), no autoencoder pre-training; Adam lr 1e-4 (Ruff et al.), batch 128, 2 warm-up
epochs (LOE App. C) for the LOE strategies.

All strategies × seeds of one normal class train stacked in one model (K = 3 ×
seeds members). Seconds per epoch are wall-clock times between epoch ends
(training steps plus the trainer's per-epoch scoring of the training set),
median over the run.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # 2 threads on a busy machine: don't spin
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from adcore.data import load  # noqa: E402
from adcore.experiment import ExperimentConfig, run_experiment  # noqa: E402
from adcore.trainer import Member, TrainConfig, train  # noqa: E402

STRATEGIES = ("blind", "loe_hard", "loe_soft")


def speed(members: int = 6, batch: int = 128, reps: int = 5):
    """Forward + backward of the MNIST LeNet for ``members`` stacked models: grouped convolution in
    channels-last order (what adcore/backbones/conv_layers.py does), grouped NCHW, a Python loop over members, torch.func.vmap."""
    import statistics

    import torch
    import torch.nn.functional as F
    from torch.func import vmap

    K, B = members, batch
    g = torch.Generator().manual_seed(0)
    x = torch.rand(K, B, 1, 28, 28, generator=g)
    w1 = (torch.randn(K, 8, 1, 5, 5, generator=g) * 0.2).requires_grad_()
    w2 = (torch.randn(K, 4, 8, 5, 5, generator=g) * 0.1).requires_grad_()
    fc = (torch.randn(K, 196, 32, generator=g) * 0.1).requires_grad_()
    bn = lambda h: F.batch_norm(h, None, None, training=True, eps=1e-4)  # noqa: E731
    def block(h, w, groups=1):
        return F.max_pool2d(F.leaky_relu(bn(F.conv2d(h, w, padding=2, groups=groups))), 2)

    def grouped(channels_last):
        h = x.transpose(0, 1).reshape(B, K, 28, 28)
        if channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
        h = block(block(h, w1.flatten(0, 1), K), w2.flatten(0, 1), K)
        return torch.bmm(h.reshape(B, K, -1).transpose(0, 1), fc)

    def loop():
        return torch.stack([block(block(x[k], w1[k]), w2[k]).flatten(1) @ fc[k] for k in range(K)])

    one = lambda xk, a, b, c: block(block(xk, a), b).flatten(1) @ c  # noqa: E731
    variants = {"grouped, channels-last (ours)": lambda: grouped(True), "grouped, NCHW": lambda: grouped(False),
                "loop over members": loop, "torch.func.vmap": lambda: vmap(one)(x, w1, w2, fc)}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        times = {n: [] for n in variants}
        for _ in range(reps):
            for name, fn in variants.items():
                t = time.perf_counter()
                fn().pow(2).mean().backward()
                times[name].append(time.perf_counter() - t)
        for name, v in times.items():
            print(f"threads {threads}  K={K} B={B}  {name:30s} {1000 * statistics.median(v[1:]):6.0f} ms "
                  f"forward+backward (median of {reps - 1})", flush=True)

    # whole training steps (forward, backward, Adam) of the engine's backbones
    from adcore.backbones import build_backbone

    cases = [("deepsvdd_cnn", (1, 28, 28), K, B, {}), ("ae_cnn", (1, 28, 28), K, B, {}),
             ("vae_cnn", (1, 28, 28), K, B, {}), ("mhrot", (1, 28, 28), 1, 32, {}),
             ("mhrot", (1, 8, 8), K, 32, {})]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, shape, k, b, params in cases:
            model = build_backbone(name, shape, list(range(k)), params)
            xb = torch.rand(k, b, *shape, generator=g)
            model.setup(xb)
            model.train()
            opt = torch.optim.Adam(model.parameters(), lr=1e-4)
            v = []
            for _ in range(reps):
                t = time.perf_counter()
                ln, la = model.losses(xb, train=True)
                opt.zero_grad(set_to_none=True)
                (ln.mean(1).sum() + 0.0 * la.sum()).backward()
                opt.step()
                v.append(time.perf_counter() - t)
            print(f"threads {threads}  {name:12s} {'x'.join(map(str, shape)):8s} K={k} B={b}: "
                  f"{1000 * statistics.median(v[1:]):6.0f} ms per training step", flush=True)


def main():
    default = Path(__file__).resolve().parents[2] / "shared/datasets/mnist"
    parser = argparse.ArgumentParser()
    parser.add_argument("mnist_dir", nargs="?", default=str(default))
    parser.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", default="2")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--json", default=None)
    parser.add_argument("--speed", action="store_true", help="only time the stacked-convolution variants")
    args = parser.parse_args()
    if args.speed:
        speed()
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    strategies = args.strategies.split(",")
    ds = load(f"mnist:{args.mnist_dir}")
    # pay torch's one-off optimizer import (torch._dynamo, several seconds) before timing anything
    train("deepsvdd_cnn", [Member()], ds.X[:8], config=TrainConfig(epochs=1, threads=1))
    print(f"MNIST test set {ds.X.shape}; one_vs_rest, α0 = α = 0.1, deepsvdd_cnn (LeNet MNIST), seeds {seeds}, "
          f"{args.epochs} epochs, lr {args.lr}, batch 128, threads {args.threads}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    rows, start = {}, time.perf_counter()
    for c in [int(v) for v in args.classes.split(",")]:
        cfg = ExperimentConfig(data="mnist", protocol="one_vs_rest", protocol_options={"normal_class": c},
                               alpha0=0.1, alpha=0.1, backbone="deepsvdd_cnn", strategies=strategies, seeds=seeds,
                               epochs=args.epochs, lr=args.lr, batch_size=128, warmup=2, threads=args.threads)
        stamps = []
        res = run_experiment(cfg, dataset=ds, progress=lambda done, total: stamps.append(time.perf_counter()))
        fit, idx = res.train_results[0]
        per_epoch = float(np.median(np.diff(stamps))) if len(stamps) > 1 else float("nan")
        rows[c] = {"auroc": {s: [r["auroc"] for r in res.runs if r["strategy"] == s] for s in strategies},
                   "sec_per_epoch": per_epoch, "members": len(idx), "threads": fit.threads,
                   "n_train": res.splits[0].info["n_train"], "n_test": res.splits[0].info["n_test"]}
        print(f"class {c}: " + "  ".join(f"{s} {np.mean(rows[c]['auroc'][s]):.4f}" for s in strategies)
              + f"   ({rows[c]['n_train']} train / {rows[c]['n_test']} test; {len(idx)} members stacked, "
                f"{per_epoch:.2f} s/epoch, {fit.threads} threads)", flush=True)
    print("\nmean AUROC over normal classes (± std over classes of the seed-mean; ± mean seed std):")
    summary = {}
    for s in strategies:
        per_class = [np.mean(rows[c]["auroc"][s]) for c in rows]
        seed_std = [np.std(rows[c]["auroc"][s]) for c in rows]
        summary[s] = {"mean": float(np.mean(per_class)), "class_std": float(np.std(per_class)),
                      "seed_std": float(np.mean(seed_std))}
        print(f"  {s:9s} {np.mean(per_class):.4f} ± {np.std(per_class):.4f}  (seed std {np.mean(seed_std):.4f})")
    wins = {s: sum(np.mean(rows[c]["auroc"][s]) > np.mean(rows[c]["auroc"]["blind"]) for c in rows)
            for s in strategies if s != "blind"} if "blind" in strategies else {}
    for s, w in wins.items():
        print(f"  {s} beats blind on {w}/{len(rows)} normal classes")
    spe = [rows[c]["sec_per_epoch"] for c in rows]
    print(f"seconds per epoch (median over classes): {np.median(spe):.2f}; total {time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "summary": summary, "seeds": seeds, "epochs": args.epochs,
                                               "lr": args.lr, "threads": args.threads}, indent=1))


if __name__ == "__main__":
    main()
