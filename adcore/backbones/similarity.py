"""Cosine similarities between embeddings, the inner loop of NTL and ICL, with hand-written gradients.

Autograd's backward of ``bmm(u, v.transpose(1, 2))`` multiplies by transposed views and, for a Gram
matrix, adds two products; on the CPU that costs 3× the forward for the many small per-sample
matrices these models make (docs/BENCHMARKS.md, "NTL and ICL similarity products"). The functions
below give the same values and gradients with one contiguous product per operand. The cosines among
one set of rows (NTL's views) come from the raw Gram matrix and its diagonal, so the embeddings are read
once forward and once backward and never normalised as a whole (``cosine_gram``), or, behind a widening
last layer, are never formed at all (``cosine_gram_linear``).
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
    similarities are divided by a temperature, which scales their rounding error)."""
    lead, n, m = u.shape[:-2], u.shape[-2], v.shape[-2]
    with float32_region(u):
        out = _Cross.apply(u.float().reshape(-1, n, u.shape[-1]).contiguous(),
                           v.float().reshape(-1, m, v.shape[-1]).contiguous())
    return out.view(*lead, n, m)


def _cosine_from_gram(gram: torch.Tensor) -> torch.Tensor:
    """Cosines from Gram matrices ``(..., n, n)``: G_ij / (‖h_i‖ ‖h_j‖), the norms from the diagonal,
    clamped at 1e-12 like ``F.normalize``."""
    r = gram.diagonal(dim1=-2, dim2=-1).clamp_min(1e-24).rsqrt()
    return gram * r.unsqueeze(-1) * r.unsqueeze(-2)


def cosine_gram(h: torch.Tensor) -> torch.Tensor:
    """cos(h_i, h_j) among the rows of each ``(n, e)`` matrix of ``h`` ``(..., n, e)`` → ``(..., n, n)``, as
    ``unit_rows(h) @ unit_rows(h).T``, in float32: the Gram matrix G = H Hᵀ scaled by its diagonal, so
    all element-wise work is on the n × n products."""
    lead, n = h.shape[:-2], h.shape[-2]
    with float32_region(h):
        gram = _Gram.apply(h.float().reshape(-1, n, h.shape[-1]).contiguous())
        return _cosine_from_gram(gram).view(*lead, n, n)


def cosine_gram_linear(a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``cosine_gram(a @ weight + bias)`` without forming the embeddings, for the last layer of K stacked
    encoders: ``a`` ``(K, ..., n, h)``, ``weight`` ``(K, h, e)``, ``bias`` ``(K, 1, e)`` or None.

    With H = A W + 1 bᵀ, the Gram matrix is H Hᵀ = A (W Wᵀ) Aᵀ + q 1ᵀ + 1 qᵀ + ‖b‖² with q = A W b,
    so the products are h wide instead of e: fewer operations and smaller tensors when e > h (an
    encoder widening into its embedding, e.g. DeepOD NeuTraL's 50 → 128). Exact up to rounding."""
    K, lead, n, h = a.shape[0], a.shape[1:-2], a.shape[-2], a.shape[-1]
    with float32_region(a):
        rows = a.float().reshape(K, -1, h)
        w = weight.float()
        projected = torch.bmm(rows, torch.bmm(w, w.transpose(1, 2)))  # A (W Wᵀ)
        gram = _Cross.apply(projected.view(-1, n, h), rows.view(-1, n, h)).view(K, -1, n, n)
        if bias is not None:
            b = bias.float()
            q = torch.bmm(rows, torch.bmm(w, b.transpose(1, 2))).view(K, -1, n)  # a_i · (W b)
            gram = gram + q.unsqueeze(-1) + q.unsqueeze(-2) + b.pow(2).sum(-1).view(K, 1, 1, 1)
        return _cosine_from_gram(gram).view(K, *lead, n, n)
