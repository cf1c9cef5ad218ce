"""Internal Contrastive Learning (ICL, Shenkar & Wolf 2022) with the LOE anomaly loss (LOE Sec. 3.4)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from adcore.backbones.base import Backbone
from adcore.nn import ACTIVATIONS, StackedMLP
from adcore.registry import BACKBONES, Param

EVAL_ELEMENTS = 1 << 24  # largest intermediate (floats) of one no-grad forward before it is split


def default_window(d: int) -> int:
    """Window size k for d features (our rule, see :class:`ICL`); at most d - 1 so that ≥ 2 windows exist."""
    k = 2 if d < 40 else 10 if d <= 160 else d - 150
    return max(1, min(k, d - 1))


def _chunked(fn, x, per_sample: int):
    """``fn(x)`` on pieces of the batch so that no piece exceeds EVAL_ELEMENTS intermediates."""
    rows = max(1, EVAL_ELEMENTS // max(1, per_sample * x.shape[0]))
    if x.shape[1] <= rows:
        return fn(x)
    parts = [fn(x[:, i : i + rows]) for i in range(0, x.shape[1], rows)]
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(p, dim=1) for p in zip(*parts))
    return torch.cat(parts, dim=1)


@BACKBONES.register
class ICL(Backbone):
    """Internal Contrastive Learning for tabular data.

    For x with d features and window size k there are W = d - k + 1 windows
    a_j(x) = x[j : j+k] (k consecutive features, no wrap-around) and their
    complements b_j(x) (the other d - k features, in their original order).
    Two encoders embed them: f for windows (k → … → e) and g for complements
    (d - k → … → e); h(a, b) = exp(cos(f(a), g(b)) / τ). Losses (LOE Sec. 3.4):
    L_n = -Σ_j log p_j, L_a = -Σ_j log(1 - p_j); test score L_n.

    Ambiguity in p_j. LOE Sec. 3.4 writes p_k = h(a_k, b_k) / Σ_l h(a_l, b_l).
    Taken literally the denominator does not depend on k, so Σ_k p_k = 1 and
    L_n ≥ W log W with equality whenever all W matched similarities are equal
    (e.g. encoders with constant output): the loss never asks a window to match
    its own complement better than another window does, and it is not the
    "contrastive loss" the same sentence names. ICL's contrastive (InfoNCE)
    loss contrasts the matching window against the other windows of the same
    sample: p_j = h(a_j, b_j) / Σ_l h(a_l, b_j). ``denominator="windows"``
    (default) is that form; ``denominator="pairs"`` is the literal LOE formula.
    In log space with s_lj = cos(f(a_l), g(b_j)) / τ ("windows"):
    log p_j = s_jj - logsumexp_l s_lj and
    log(1 - p_j) = logsumexp_{l≠j} s_lj - logsumexp_l s_lj (exact, no clamp);
    "pairs" uses s_ll in place of s_lj.

    Our choices (the ICL paper is not part of our specification): window size
    k = 2 for d < 40, 10 for 40 ≤ d ≤ 160, d - 150 above (≤ 151 windows),
    capped at d - 1; τ = 0.1 (ICL used a smaller τ, 0.01 is in range); both
    encoders are MLPs with two hidden layers of width h = clip(2d, 32, 200) and
    e = h (ICL used embeddings of 200; our default is smaller on small data to
    stay fast on CPU). ``embed``: mean over windows of the normalised f(a_j).
    """

    name = "icl"
    description = "ICL: contrast each window of consecutive features against its complement (tabular)."
    paper = "Shenkar & Wolf 2022; LOE Sec. 3.4 (ICL losses)"
    data_kinds = ("tabular",)
    params = (
        Param("window", 0, int, 0, 100000,
              help="window size k (consecutive features); 0 = 2 for d<40, 10 for d≤160, d-150 above "
                   "(our rule; capped at d-1)"),
        Param("hidden", (), tuple, help="hidden sizes of both encoders; empty = two layers of clip(2d, 32, 200)"),
        Param("rep_dim", 0, int, 0, 4096, help="embedding size e; 0 = the hidden width (ICL used 200)"),
        Param("tau", 0.1, float, 1e-3, 10.0, help="temperature τ of h(a,b) = exp(cos(f(a),g(b))/τ)"),
        Param("denominator", "windows", str, choices=("windows", "complements", "pairs"),
              help="p_j = h(a_j,b_j)/Σ_l h(a_l,b_j) (windows: ICL's contrastive loss) or "
                   "h(a_j,b_j)/Σ_l h(a_l,b_l) (pairs: LOE Sec. 3.4 as printed, degenerate; see docstring)"),
        Param("bias", True, bool, help="bias terms in both encoders"),
        Param("activation", "leaky_relu", str, choices=tuple(ACTIVATIONS)),
    )

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        d = self.n_features
        if d < 2:
            raise ValueError("ICL needs at least 2 features (a window and a non-empty complement)")
        k = hp["window"] or default_window(d)
        if not 1 <= k <= d - 1:
            raise ValueError(f"ICL window size must lie in [1, d-1] = [1, {d - 1}], got {k}")
        width = min(200, max(32, 2 * d))
        hidden = tuple(hp["hidden"]) or (width, width)
        rep_dim = hp["rep_dim"] or hidden[-1]
        self.window, self.n_windows, self.rep_dim = k, d - k + 1, rep_dim
        self.sizes = {"window": k, "n_windows": self.n_windows, "hidden": hidden, "rep_dim": rep_dim}
        self.f = StackedMLP(self.gens, (k, *hidden, rep_dim), bias=hp["bias"], activation=hp["activation"])
        self.g = StackedMLP(self.gens, (d - k, *hidden, rep_dim), bias=hp["bias"], activation=hp["activation"])
        cols = torch.arange(d)
        self._complement = torch.stack([torch.cat((cols[:j], cols[j + k:])) for j in range(self.n_windows)])
        self._per_sample = self.n_windows * (d + 2 * max(rep_dim, *hidden) + self.n_windows)

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows ``(K, B, W, k)`` and complements ``(K, B, W, d-k)`` of ``x`` ``(K, B, d)``."""
        x = x.flatten(2)
        if self._complement.device != x.device:
            self._complement = self._complement.to(x.device)
        return x.unfold(-1, self.window, 1), x[..., self._complement]

    def _encode(self, net, parts):
        K, B, W, n = parts.shape
        return F.normalize(net(parts.reshape(K, B * W, n)).view(K, B, W, -1), dim=-1)

    def similarities(self, x: torch.Tensor) -> torch.Tensor:
        """s_lj = cos(f(a_l), g(b_j)) / τ, ``(K, B, W, W)`` (rows: windows l, columns: complements j)."""
        a, b = self.split(x)
        return torch.matmul(self._encode(self.f, a), self._encode(self.g, b).transpose(-1, -2)) / self.hp["tau"]

    def _losses(self, x, train=False):
        s = self.similarities(x)
        eye = torch.eye(self.n_windows, dtype=torch.bool, device=s.device)
        pos = s.diagonal(dim1=-2, dim2=-1)  # log h(a_j, b_j), (K, B, W)
        if self.hp["denominator"] == "windows":
            off = s.masked_fill(eye, float("-inf")).logsumexp(-2)  # log Σ_{l≠j} h(a_l, b_j)
        elif self.hp["denominator"] == "complements":
            off = s.masked_fill(eye, float("-inf")).logsumexp(-1)  # log Σ_{l≠j} h(a_j, b_l)
        else:
            off = pos.unsqueeze(-2).masked_fill(eye, float("-inf")).logsumexp(-1)  # log Σ_{l≠j} h(a_l, b_l)
        den = torch.logaddexp(pos, off)
        return (den - pos).sum(-1), (den - off).sum(-1)

    def losses(self, x, train=False):
        if train:
            return self._losses(x, True)
        return _chunked(self._losses, x, self._per_sample)

    def embed(self, x):
        return _chunked(lambda xx: self._encode(self.f, self.split(xx)[0]).mean(2), x, self._per_sample)

    def work_per_step(self, batch_size: int) -> float:
        return 6.0 * batch_size * self.n_windows * sum(p.numel() for p in self.parameters())
