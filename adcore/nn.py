"""Layers with a leading *model* dimension.

K independent small networks are stored as one set of stacked weights and run
with batched matrix products, so K seeds or K strategies train in one optimizer
step at about the cost of one model (docs/BENCHMARKS.md). Inputs and outputs
carry the model dimension first: ``(K, batch, features)``. Member ``k`` is
initialised from its own generator only, so its starting weights do not depend
on which other members share the stack.
"""
from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh, "elu": nn.ELU}


def float32_region(t: torch.Tensor):
    """A context that turns autocast off where it is on (``precision="bfloat16"``): for the few
    products whose precision matters more than their cost, e.g. NTL's and ICL's cosine similarities."""
    if torch.is_autocast_enabled(t.device.type):
        return torch.autocast(t.device.type, enabled=False)
    return contextlib.nullcontext()


def make_generators(seeds) -> list[torch.Generator]:
    """One CPU generator per member, seeded with that member's seed."""
    return [torch.Generator().manual_seed(int(s)) for s in seeds]


def stacked_uniform(gens, shape, bound) -> torch.Tensor:
    """``(K, *shape)`` tensor whose slice k is U(-bound, bound) drawn from ``gens[k]``."""
    return torch.stack([(torch.rand(shape, generator=g) * 2 - 1) * bound for g in gens])


class StackedLinear(nn.Module):
    """K linear maps ``x[k] @ W[k] + b[k]``, initialised like ``torch.nn.Linear``."""

    def __init__(self, gens, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(stacked_uniform(gens, (in_features, out_features), bound))
        self.bias = nn.Parameter(stacked_uniform(gens, (1, out_features), bound)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(x, self.weight)
        return torch.baddbmm(self.bias, x, self.weight)


class StackedMLP(nn.Sequential):
    """K multi-layer perceptrons ``dims[0] → … → dims[-1]``; no activation after the last layer."""

    def __init__(self, gens, dims, bias: bool = True, activation: str = "leaky_relu"):
        layers = []
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(StackedLinear(gens, d_in, d_out, bias=bias))
            if i < len(dims) - 2:
                layers.append(ACTIVATIONS[activation]())
        super().__init__(*layers)


class StackedBatchNorm(nn.Module):
    """Batch norm without affine parameters for K members, over the batch dimension of ``(K, B, d)``:
    batch statistics in training mode (running averages updated), running averages in evaluation mode."""

    def __init__(self, n_models: int, dim: int, momentum: float = 0.1, eps: float = 1e-4):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.register_buffer("running_mean", torch.zeros(n_models, 1, dim))
        self.register_buffer("running_var", torch.ones(n_models, 1, dim))

    def moments(self, h: torch.Tensor, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, variance) to normalise ``h`` with; ``train`` uses (and records) the batch's."""
        if not train or h.shape[1] < 2:
            return self.running_mean, self.running_var
        var, mean = torch.var_mean(h, dim=1, keepdim=True, unbiased=False)
        with torch.no_grad():
            n = h.shape[1]
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * (n / (n - 1)), self.momentum)
        return mean, var

    def forward(self, h):
        mean, var = self.moments(h, self.training)
        return (h - mean) * torch.rsqrt(var + self.eps)


def hidden_dims(spec: tuple, d: int) -> tuple:
    """Hidden layer sizes; an empty ``spec`` means two layers sized from the input dimension."""
    if spec:
        return tuple(int(h) for h in spec)
    width = max(8, min(128, 2 * d))
    return (width, max(4, width // 2))
