"""Stacked convolutions and batch norm on the packed layout ``(B, K·C, H, W)``, for the CNN backbones.

K members share one set of stacked weights, as everywhere in adcore
(docs/ARCHITECTURE.md). Inside a CNN the activations use the *packed* layout
``(B, K·C, H, W)``: member k owns channels ``k·C … (k+1)·C − 1``, and a stacked
convolution is one grouped convolution ``conv2d(groups=K)`` whose weight
``(K, out, in, kh, kw)`` is viewed as ``(K·out, in, kh, kw)`` — no loop over
members, and the parameters keep the model dimension first. Batch norm over the
packed channels normalises each channel of each member with that member's own
batch statistics, so members stay independent (the running statistics are
``(K, C)`` buffers). Member k's initial weights come from ``gens[k]`` only.

Grouped convolution was measured against a Python loop over members and
``torch.func.vmap`` (docs/BENCHMARKS.md); it is the default because it is
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from adcore.nn import stacked_uniform


def pack(x: torch.Tensor) -> torch.Tensor:
    """``(K, B, C, H, W)`` → ``(B, K·C, H, W)`` in channels-last memory order (NHWC), which made
    the grouped convolutions 2-3× faster on CPU than NCHW (docs/BENCHMARKS.md)."""
    K, B, C = x.shape[:3]
    return x.transpose(0, 1).reshape(B, K * C, *x.shape[3:]).contiguous(memory_format=torch.channels_last)


def unpack(h: torch.Tensor, n_models: int) -> torch.Tensor:
    """``(B, K·C, H, W)`` → ``(K, B, C·H·W)`` (each member's features flattened in C, H, W order)."""
    return h.reshape(h.shape[0], n_models, -1).transpose(0, 1)


def activation_fn(name: str, slope: float = 0.01):
    if name == "leaky_relu":
        return lambda h: F.leaky_relu(h, slope)
    return {"relu": F.relu, "elu": F.elu, "tanh": torch.tanh}[name]


class StackedConv2d(nn.Module):
    """K 2-D (transposed) convolutions as one grouped convolution on the packed layout.

    ``weight`` is ``(K, out, in, k, k)`` (transposed: ``(K, in, out, k, k)``), ``bias``
    ``(K, out)``; initialised like ``torch.nn.Conv2d`` (U(±1/√fan_in)) from each member's
    generator.
    """

    def __init__(self, gens, c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0,
                 bias: bool = True, transposed: bool = False):
        super().__init__()
        self.n_models, self.c_in, self.c_out, self.kernel = len(gens), c_in, c_out, kernel
        self.stride, self.padding, self.transposed = stride, padding, transposed
        shape = (c_in, c_out, kernel, kernel) if transposed else (c_out, c_in, kernel, kernel)
        bound = 1.0 / math.sqrt(shape[1] * kernel * kernel)
        self.weight = nn.Parameter(stacked_uniform(gens, shape, bound))
        self.bias = nn.Parameter(stacked_uniform(gens, (c_out,), bound)) if bias else None

    def out_size(self, size: int) -> int:
        k, p, s = self.kernel, self.padding, self.stride
        return (size - 1) * s - 2 * p + k if self.transposed else (size + 2 * p - k) // s + 1

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        w = self.weight.flatten(0, 1)
        b = None if self.bias is None else self.bias.flatten()
        if self.transposed:
            return F.conv_transpose2d(h, w, b, self.stride, self.padding, groups=self.n_models)
        return F.conv2d(h, w, b, self.stride, self.padding, groups=self.n_models)


class StackedBatchNorm2d(nn.Module):
    """Batch norm of K members' channels on the packed layout, statistics per member and channel.

    Uses batch statistics in training mode (``self.training``) and the running
    ``(K, C)`` statistics in eval mode. While ``calibrating`` is a positive count,
    batches are normalised with their own statistics and the running statistics
    become the cumulative average over the calibration batches (used once before
    training, see :func:`calibrate_batch_norm`).
    """

    def __init__(self, n_models: int, channels: int, affine: bool = True, momentum: float = 0.1, eps: float = 1e-4):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(n_models, channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(n_models, channels)) if affine else None
        self.register_buffer("running_mean", torch.zeros(n_models, channels))
        self.register_buffer("running_var", torch.ones(n_models, channels))
        self.calibrating = 0

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        momentum = self.momentum
        if self.calibrating:
            momentum = 1.0 / self.calibrating
            self.calibrating += 1
        batch_stats = self.training or self.calibrating > 0
        w = None if self.weight is None else self.weight.flatten()
        b = None if self.bias is None else self.bias.flatten()
        # the flattened buffers are views: batch_norm updates the (K, C) running statistics in place
        return F.batch_norm(h, self.running_mean.view(-1), self.running_var.view(-1), w, b,
                            batch_stats, momentum, self.eps)


@torch.no_grad()
def calibrate_batch_norm(module: nn.Module, forward, x: torch.Tensor, rows: int) -> None:
    """Set every stacked batch norm's running statistics to the average batch statistics of
    ``forward`` over ``x`` (K, N, …) in pieces of ``rows`` samples."""
    norms = [m for m in module.modules() if isinstance(m, StackedBatchNorm2d)]
    if not norms:
        return
    for m in norms:
        m.calibrating = 1
    try:
        for i in range(0, x.shape[1], rows):
            forward(x[:, i : i + rows])
    finally:
        for m in norms:
            m.calibrating = 0
