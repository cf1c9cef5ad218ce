"""Internal Contrastive Learning (ICL, Shenkar & Wolf 2022) with the LOE anomaly loss (LOE Sec. 3.4)."""
from __future__ import annotations

import torch

from adcore.backbones.base import Backbone
from adcore.backbones.similarity import cosine_matrix, unit_rows
from adcore.nn import ACTIVATIONS, StackedMLP, float32_region
from adcore.registry import BACKBONES, Param


def default_window(d: int) -> int:
    """Window size k for d features (our rule, see :class:`ICL`); at most d - 1 so that ≥ 2 windows exist."""
    k = 2 if d < 40 else 10 if d <= 160 else d - 150
    return max(1, min(k, d - 1))


@BACKBONES.register
class ICL(Backbone):
    """Internal Contrastive Learning for tabular data.

    For x with d features and window size k there are W = d - k + 1 windows
    a_j(x) = x[j : j+k] (k consecutive features, no wrap-around) and their
    complements b_j(x) (the other d - k features, in their original order).
    Two encoders embed them: f for windows (k → … → e) and g for complements
    (d - k → … → e); h(a, b) = exp(cos(f(a), g(b)) / τ) (LOE does not say which
    subset is a; we take a = window). Losses (LOE Sec. 3.4):
    L_n = -Σ_j log p_j, L_a = -Σ_j log(1 - p_j); test score L_n.

    p_j (default, ``denominator="windows"``, the contrastive form of ICL, which
    LOE ran with the authors' code): p_j = h(a_j, b_j) / Σ_l h(a_l, b_j) — the
    complement b_j has to pick its own window among all W windows (InfoNCE with
    the other windows as negatives; the peer implementation adapted from ICL's
    supplementary code, DeepOD ``ICL.cal_logit``, puts the complement as query
    against all windows in the same way). ``"complements"``:
    p_j = h(a_j, b_j) / Σ_l h(a_j, b_l), the transposed contrast.
    ``"pairs"``: p_j = h(a_j, b_j) / Σ_l h(a_l, b_l), the denominator as printed
    in LOE Sec. 3.4. It does not depend on j, so Σ_j p_j = 1 and L_n ≥ W log W,
    with equality whenever all W matched similarities are equal (including all
    pairs perfectly aligned, or encoders with constant output): it never
    contrasts a window with another window's complement, although the same
    sentence calls it a contrastive loss; kept to reproduce the earlier ICL
    rows of docs/RESULTS.md (issue 12: before/after there).
    In log space, with s_lj = cos(f(a_l), g(b_j)) / τ and D_j the set of
    denominator terms: log p_j = s_jj - logsumexp_{D_j} and
    log(1 - p_j) = logsumexp_{D_j without the matched pair} - logsumexp_{D_j},
    exact (1 - p_j is the share of the other terms) and free of clamps.

    Our choices (the ICL paper is not part of our specification): window size
    k = 2 for d < 40, 10 for 40 ≤ d ≤ 160, d - 150 above (≤ 151 windows),
    capped at d - 1; τ = 0.1; both encoders are MLPs with two hidden layers of
    width h = clip(d, 32, 128) and e = h (ICL used embeddings of 200; ours are
    smaller to stay fast on CPU, where the cost grows with W·h²).
    ``window_norm`` (used by the LOE Table 6 presets): the ICL authors' code, which LOE ran, first
    normalises each embedding unit across the W windows of a sample and only then each embedding, so
    a window's embedding depends on the other windows'; off, h is the plain cosine of LOE Sec. 3.4.
    ``embed``: mean over windows of the normalised f(a_j).
    """

    name = "icl"
    description = "ICL: contrast each window of consecutive features against its complement (tabular)."
    paper = "Shenkar & Wolf 2022; LOE Sec. 3.4 (ICL losses)"
    data_kinds = ("tabular",)
    params = (
        Param("window", 0, int, 0, 100000,
              help="window size k (consecutive features); 0 = 2 for d<40, 10 for d≤160, d-150 above "
                   "(our rule; capped at d-1)"),
        Param("hidden", (), tuple,
              help="hidden sizes of both encoders; empty = two layers of clip(d, 32, 128) (ICL used 200)"),
        Param("rep_dim", 0, int, 0, 4096, help="embedding size e; 0 = the hidden width (ICL used 200)"),
        Param("tau", 0.1, float, 1e-3, 10.0, help="temperature τ of h(a,b) = exp(cos(f(a),g(b))/τ)"),
        Param("denominator", "windows", str, choices=("windows", "complements", "pairs"),
              help="p_j = h(a_j,b_j) / Σ_l h(a_l,b_j) (windows: ICL's contrastive loss, each complement against "
                   "all windows), Σ_l h(a_j,b_l) (complements) or Σ_l h(a_l,b_l) (pairs: LOE Sec. 3.4 as "
                   "printed, contrasts nothing), see the class docstring"),
        Param("window_norm", False, bool,
              help="before each embedding is normalised, L2-normalise every embedding unit across the windows "
                   "(the ICL authors' code, which LOE ran; off: h = exp(cos(f(a), g(b))/τ) as LOE Sec. 3.4)"),
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
        width = min(128, max(32, d))
        hidden = tuple(hp["hidden"]) or (width, width)
        rep_dim = hp["rep_dim"] or hidden[-1]
        self.window, self.n_windows, self.rep_dim = k, d - k + 1, rep_dim
        self.sizes = {"window": k, "n_windows": self.n_windows, "hidden": hidden, "rep_dim": rep_dim}
        self.f = StackedMLP(self.gens, (k, *hidden, rep_dim), bias=hp["bias"], activation=hp["activation"])
        self.g = StackedMLP(self.gens, (d - k, *hidden, rep_dim), bias=hp["bias"], activation=hp["activation"])
        cols = torch.arange(d)
        # column indices of each complement; shared by all members, so not part of member_state (persistent=False)
        self.register_buffer("complement_index", torch.stack([torch.cat((cols[:j], cols[j + k:]))
                                                              for j in range(self.n_windows)]), persistent=False)
        # floats per sample of the largest intermediates: windows and complements through the encoders, similarities
        W = self.n_windows
        self._per_sample = W * (d + 2 * max(rep_dim, *hidden)) + W * W

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows ``(K, B, W, k)`` and complements ``(K, B, W, d-k)`` of ``x`` ``(K, B, d)``."""
        x = x.flatten(2)
        return x.unfold(-1, self.window, 1), x[..., self.complement_index]

    def _encode(self, net, parts):
        K, B, W, n = parts.shape
        h = net(parts.reshape(K, B * W, n)).view(K, B, W, -1)
        with float32_region(h):  # the similarities in float32 also under bfloat16 steps (1/τ scales their error)
            h = h.float()
            if self.hp["window_norm"]:  # each unit L2-normalised across the W windows first (the ICL authors' code)
                h = h * torch.rsqrt(h.pow(2).sum(-2, keepdim=True).clamp_min(1e-24))
            return unit_rows(h)

    def similarities(self, x: torch.Tensor) -> torch.Tensor:
        """s_lj = cos(f(a_l), g(b_j)) / τ, ``(K, B, W, W)`` (rows: windows l, columns: complements j)."""
        a, b = self.split(x)
        return cosine_matrix(self._encode(self.f, a), self._encode(self.g, b)) * (1.0 / self.hp["tau"])

    def log_p(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log p_j and log(1 - p_j), each ``(K, B, W)``."""
        eye = torch.eye(self.n_windows, dtype=torch.bool, device=x.device)
        mode = self.hp["denominator"]
        if mode == "pairs":  # only the matched pairs s_jj enter
            a, b = self.split(x)
            pos = (self._encode(self.f, a) * self._encode(self.g, b)).sum(-1) / self.hp["tau"]
            off = pos.unsqueeze(-2).masked_fill(eye, float("-inf")).logsumexp(-1)  # log Σ_{l≠j} h(a_l, b_l)
        else:
            s = self.similarities(x)
            pos = s.diagonal(dim1=-2, dim2=-1)  # log h(a_j, b_j), (K, B, W)
            # windows: log Σ_{l≠j} h(a_l, b_j) (over rows); complements: log Σ_{l≠j} h(a_j, b_l) (over columns)
            off = s.masked_fill(eye, float("-inf")).logsumexp(-2 if mode == "windows" else -1)
        den = torch.logaddexp(pos, off)
        return pos - den, off - den

    def losses(self, x, train=False):
        log_p, log_q = self.log_p(x)
        return -log_p.sum(-1), -log_q.sum(-1)

    def embed(self, x):
        return self._encode(self.f, self.split(x)[0]).mean(2)

    def activation_elements(self) -> int:
        return self._per_sample

    def work_per_step(self, batch_size: int) -> float:
        return 6.0 * batch_size * self.n_windows * sum(p.numel() for p in self.parameters())
