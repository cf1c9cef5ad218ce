"""Device and thread selection."""
from __future__ import annotations

import contextlib
import os

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then CPU; anything else is passed to torch."""
    if str(device) != "auto":
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was requested but CUDA is not available here")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("device 'mps' was requested but Apple MPS is not available here")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def choose_threads(work_per_step: float, requested: int | str = "auto") -> int:
    """Torch CPU threads for a training run.

    Small models are overhead-bound: one thread is faster than two and far steadier
    when another process is busy (docs/BENCHMARKS.md: ICL with 5e7 multiply-adds per
    step ran 7× slower on 2 threads than on 1). Only steps of billions of
    multiply-adds (``work_per_step``) are worth spreading over every core.
    """
    if requested != "auto":
        return max(1, int(requested))
    return 1 if work_per_step < 2e9 else (os.cpu_count() or 1)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run a block with ``n`` torch intra-op threads, restoring the previous value after."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def available_devices() -> list[str]:
    """The device names a user can choose here: auto and cpu, and cuda / mps where present."""
    opts = ["auto", "cpu"]
    if torch.cuda.is_available():
        opts.append("cuda")
    if torch.backends.mps.is_available():
        opts.append("mps")
    return opts
