"""The side-by-side comparison job against the peer libraries (issue 15), ours and theirs interleaved.

The job: Blind, LOE-hard and LOE-soft × ``--seeds`` seeds on ADBench thyroid (split protocol, the
natural 2.4 % contamination in training, standardised features), 50 epochs, batch 64, lr 1e-3, one
torch thread for everybody, our model set to the peer's default sizes. Ours runs it as one experiment
(``run_experiment``: the members stacked as the engine groups them); the peer fits its model once per
member (3 × seeds fits; the peers have no LOE, so each fit is their blind model). Both are timed in wall
seconds around the whole job, data splitting and test scoring included, alternating ours and theirs
``--repeats`` times; the ratio is peer / ours of the medians.

Peers (``requirements-peers.txt``; DeepOD must go in with ``--no-deps``, its pins would replace torch):

    .venv/bin/pip install -r requirements-peers.txt && .venv/bin/pip install --no-deps deepod==0.4.1
    PYTHONPATH=. .venv/bin/python bench/compare_peers.py [--pairs ntl,icl,deepsvdd,pyod_deepsvdd,pyod_ae]
        [--seeds 5] [--repeats 2] [--epochs 50] [--precision float32,bfloat16] [--peer-fits N] [--device cuda]

``--peer-fits N`` times only N of the peer's fits and scales its time to the whole job (for the slow
ones: DeepOD ICL takes ~100 s a fit here); the output says so. Pairs whose library is missing are skipped.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from adcore.data import load, make_split
from adcore.experiment import ExperimentConfig, run_experiment

THYROID = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "adbench" / "38_thyroid.npz"
ALPHA0 = 0.024  # thyroid's largest training contamination with half the normals (93 anomalies)
STRATEGIES = ["blind", "loe_hard", "loe_soft"]


@dataclass
class Pair:
    """Our backbone at the peer's default sizes, and a function making the peer's model for a seed."""

    backbone: str
    params: dict
    library: str
    peer: str
    make: object  # (seed, n_features, epochs) -> model with fit(X) and decision_function(X)


DEVICE = "cpu"  # --device


def _deepod(name, **kw):
    def make(seed, d, epochs):
        from deepod.models import tabular
        return getattr(tabular, name)(epochs=epochs, batch_size=64, lr=1e-3, device=DEVICE, verbose=0,
                                      random_state=seed, **kw)
    return make


def _pyod_deepsvdd(seed, d, epochs):
    from pyod.models.deep_svdd import DeepSVDD
    return DeepSVDD(n_features=d, hidden_neurons=[64, 32], epochs=epochs, batch_size=64, learning_rate=1e-3,
                    dropout_rate=0.0, preprocessing=False, validation_size=0.0, verbose=0, random_state=seed)


def _pyod_ae(seed, d, epochs):
    from pyod.models.auto_encoder import AutoEncoder
    return AutoEncoder(epoch_num=epochs, batch_size=64, lr=1e-3, hidden_neuron_list=[64, 32], batch_norm=False,
                       dropout_rate=0.0, preprocessing=False, device=DEVICE, verbose=0, random_state=seed)


PAIRS = {
    "ntl": Pair("ntl", {"n_trans": 11, "trans_hidden": (50,), "enc_hidden": (100, 50), "rep_dim": 128,
                        "bias": False, "activation": "leaky_relu"}, "deepod", "DeepOD NeuTraL", _deepod("NeuTraL")),
    "icl": Pair("icl", {"window": 2, "hidden": (100, 50), "rep_dim": 128, "tau": 0.01, "bias": False},
                "deepod", "DeepOD ICL (one model)", _deepod("ICL", n_ensemble=1)),
    "deepsvdd": Pair("deepsvdd", {"hidden": (100, 50), "rep_dim": 128, "activation": "relu"}, "deepod",
                     "DeepOD DeepSVDD", _deepod("DeepSVDD")),
    "pyod_deepsvdd": Pair("deepsvdd", {"hidden": (64, 32), "rep_dim": 32, "activation": "relu"}, "pyod",
                          "PyOD DeepSVDD", _pyod_deepsvdd),
    "pyod_ae": Pair("ae", {"hidden": (64,), "latent_dim": 32, "activation": "relu"}, "pyod",
                    "PyOD AutoEncoder (no batch norm, no dropout)", _pyod_ae),
}


def ours(pair: Pair, seeds, epochs, precision) -> tuple[float, dict]:
    cfg = ExperimentConfig(data=str(THYROID), alpha0=ALPHA0, alpha=ALPHA0, backbone=pair.backbone,
                           backbone_params=pair.params, strategies=STRATEGIES, seeds=list(seeds), epochs=epochs,
                           batch_size=64, lr=1e-3, threads=1, precision=precision, device=DEVICE)
    start = time.perf_counter()
    result = run_experiment(cfg)
    return time.perf_counter() - start, {s: result.summary[s]["auroc"]["mean"] for s in STRATEGIES}


def theirs(pair: Pair, seeds, epochs, fits: int | None) -> tuple[float, float, int]:
    """Wall seconds of the peer's fits (scaled to the whole job when ``fits`` < the job's), mean AUROC."""
    jobs = [(seed, j) for seed in seeds for j in range(len(STRATEGIES))]
    timed = jobs[:fits] if fits else jobs
    start = time.perf_counter()
    aurocs = []
    for seed, j in timed:
        split = make_split(load(str(THYROID)), "split", ALPHA0, seed)
        model = pair.make(seed * len(STRATEGIES) + j, split.train.X.shape[1], epochs)
        model.fit(split.train.X.astype(np.float32))
        aurocs.append(roc_auc_score(split.test.y, model.decision_function(split.test.X.astype(np.float32))))
    seconds = (time.perf_counter() - start) * len(jobs) / len(timed)
    return seconds, float(np.mean(aurocs)), len(timed)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", default="ntl")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--precision", default="float32", help="comma-separated: float32, bfloat16")
    parser.add_argument("--peer-fits", type=int, default=None)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (ours and the peers on the same device)")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    torch.set_num_threads(1)
    seeds = range(args.seeds)
    precisions = args.precision.split(",")
    print(f"thyroid, {len(STRATEGIES)} strategies × {args.seeds} seeds = {len(STRATEGIES) * args.seeds} models, "
          f"{args.epochs} epochs, batch 64, 1 thread, device {DEVICE}, torch {torch.__version__}, "
          f"load {os.getloadavg()[0]:.1f}")
    for key in args.pairs.split(","):
        pair = PAIRS[key]
        if importlib.util.find_spec(pair.library) is None:
            print(f"{key}: {pair.library} is not installed (see requirements-peers.txt), skipped")
            continue
        ours(pair, [0], 1, "float32")  # warm-up: first Adam, imports
        mine = {p: [] for p in precisions}
        peer, peer_auroc, timed = [], None, 0
        for _ in range(args.repeats):
            for p in precisions:
                seconds, auroc = ours(pair, seeds, args.epochs, p)
                mine[p].append((seconds, auroc))
            seconds, peer_auroc, timed = theirs(pair, seeds, args.epochs, args.peer_fits)
            peer.append(seconds)
        peer_s = statistics.median(peer)
        scaled = f" (scaled from {timed} fits)" if timed < len(STRATEGIES) * args.seeds else ""
        print(f"\n{key}: ours {pair.backbone} {pair.params} vs {pair.peer}; load {os.getloadavg()[0]:.1f}")
        print(f"  {pair.peer:44} {peer_s:8.1f} s{scaled}   AUROC {peer_auroc:.3f} (its model, mean over fits)")
        for p, runs in mine.items():
            s = statistics.median(r[0] for r in runs)
            au = " ".join(f"{n} {v:.3f}" for n, v in runs[-1][1].items())
            print(f"  ours, {p:38} {s:8.1f} s   {peer_s / s:5.2f}× faster   AUROC {au}")


if __name__ == "__main__":
    main()
