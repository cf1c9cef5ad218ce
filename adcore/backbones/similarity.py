"""Cosine similarities between embeddings, the inner loop of NTL and ICL, with hand-written gradients.

Autograd's backward of ``bmm(u, v.transpose(1, 2))`` multiplies by transposed views and, for a Gram
matrix, adds two products; on the CPU that costs 3× the forward for the many small per-sample
matrices these models make (docs/BENCHMARKS.md, "NTL and ICL similarity products"). The functions
below give the same values and gradients with one contiguous product per operand.
"""
from __future__ import annotations

import torch

from adcore.nn import float32_region


class _Gram(torch.autograd.Function):
    """S = Z Zᵀ per batch entry; dZ = (G + Gᵀ) Z."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return torch.bmm(z, z.transpose(1, 2))

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return torch.bmm(g + g.transpose(1, 2), z)


class _Cross(torch.autograd.Function):
    """S = U Vᵀ per batch entry; dU = G V, dV = Gᵀ U."""

    @staticmethod
    def forward(ctx, u, v):
        ctx.save_for_backward(u, v)
        return torch.bmm(u, v.transpose(1, 2))

    @staticmethod
    def backward(ctx, g):
        u, v = ctx.saved_tensors
        return torch.bmm(g, v), torch.bmm(g.transpose(1, 2).contiguous(), u)


def unit_rows(h: torch.Tensor) -> torch.Tensor:
    """``h / max(‖h‖, 1e-12)`` over the last dim, as ``F.normalize``; this rsqrt form's backward is
    3-4× faster on the CPU."""
    return h * torch.rsqrt(h.pow(2).sum(-1, keepdim=True).clamp_min(1e-24))


def cosine_matrix(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``u @ v.T`` over the last two dims: ``(..., n, e) × (..., m, e) → (..., n, m)``, one batched
    product over the flattened leading dims, always in float32 (under bfloat16 steps too: the
    similarities are divided by a temperature, which scales their rounding error). ``u is v`` (a
    Gram matrix) takes one product in the backward pass instead of two."""
    lead, n, m = u.shape[:-2], u.shape[-2], v.shape[-2]
    with float32_region(u):
        u3 = u.float().reshape(-1, n, u.shape[-1]).contiguous()
        out = _Gram.apply(u3) if v is u else _Cross.apply(u3, v.float().reshape(-1, m, v.shape[-1]).contiguous())
    return out.view(*lead, n, m)
