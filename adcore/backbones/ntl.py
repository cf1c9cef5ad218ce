"""Neural Transformation Learning (NTL, Qiu et al. 2021) with the LOE anomaly loss (LOE Sec. 3.4, App. C)."""
from __future__ import annotations

import math

import torch
from torch import nn

from adcore.backbones.base import Backbone
from adcore.backbones.similarity import cosine_gram, cosine_gram_linear
from adcore.nn import ACTIVATIONS, StackedMLP, stacked_uniform
from adcore.registry import BACKBONES, Param

LOW_DIM = 32  # d <= LOW_DIM is "low-dimensional" for the tabular sizes of LOE App. C (our threshold)


class StackedTransforms(nn.Module):
    """``n_trans`` MLPs per member, all members and transformations in one set of weights.

    Layer ``i`` holds ``weight_i`` of shape ``(K, T, d_in, d_out)`` and ``bias_i``
    ``(K, T, 1, d_out)``; member k's slice is drawn from ``gens[k]`` only (nn.Linear
    initialisation). ``forward`` maps ``(K, B, d)`` to ``(K, T, B, d_out)`` with one
    broadcast matmul per layer (no loop over members or transformations). Optional
    batch-norm between layers normalises over the batch per member, transformation
    and unit (LOE App. C, image data).
    """

    def __init__(self, gens, n_trans, dims, bias=True, activation="relu", batch_norm=False, momentum=0.1):
        super().__init__()
        self.n_layers = len(dims) - 1
        self.batch_norm = batch_norm
        self.momentum = momentum
        self.act = ACTIVATIONS[activation]()
        K = len(gens)
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
            bound = 1.0 / math.sqrt(d_in)
            self.register_parameter(f"weight_{i}", nn.Parameter(stacked_uniform(gens, (n_trans, d_in, d_out), bound)))
            self.register_parameter(f"bias_{i}", nn.Parameter(stacked_uniform(gens, (n_trans, 1, d_out), bound))
                                    if bias else None)
            if batch_norm and i < self.n_layers - 1:
                self.register_parameter(f"bn_weight_{i}", nn.Parameter(torch.ones(K, n_trans, 1, d_out)))
                self.register_parameter(f"bn_bias_{i}", nn.Parameter(torch.zeros(K, n_trans, 1, d_out)))
                self.register_buffer(f"bn_mean_{i}", torch.zeros(K, n_trans, 1, d_out))
                self.register_buffer(f"bn_var_{i}", torch.ones(K, n_trans, 1, d_out))

    def _norm(self, h, i, train):
        if train:
            var, mean = torch.var_mean(h, dim=2, keepdim=True, unbiased=False)
            with torch.no_grad():
                n = h.shape[2]
                getattr(self, f"bn_mean_{i}").lerp_(mean, self.momentum)
                getattr(self, f"bn_var_{i}").lerp_(var * (n / max(n - 1, 1)), self.momentum)
        else:
            mean, var = getattr(self, f"bn_mean_{i}"), getattr(self, f"bn_var_{i}")
        h = (h - mean) * torch.rsqrt(var + 1e-5)
        return torch.addcmul(getattr(self, f"bn_bias_{i}"), h, getattr(self, f"bn_weight_{i}"))

    def forward(self, x, train=False):
        h = x.unsqueeze(1)  # (K, 1, B, d): broadcast over the T transformations
        for i in range(self.n_layers):
            w, b = getattr(self, f"weight_{i}"), getattr(self, f"bias_{i}")
            h = torch.matmul(h, w) if b is None else torch.matmul(h, w) + b
            if i < self.n_layers - 1:
                if self.batch_norm:
                    h = self._norm(h, i, train)
                h = self.act(h)
        return h


@BACKBONES.register
class NTL(Backbone):
    """Neural Transformation Learning (NeuTraL AD).

    ``T`` learnable transformations make views x_t = T_t(x) (``residual``:
    x + net_t(x); ``direct``: net_t(x)); a shared encoder f embeds the original
    and all views. With h(a, b) = exp(cos(f(a), f(b)) / τ) (LOE Sec. 3.4,
    footnote 3) and, for t = 1..T,

        p_t = h(x_t, x) / (h(x_t, x) + Σ_{l≠t} h(x_t, x_l))

    the losses are L_n = -Σ_t log p_t and L_a = -Σ_t log(1 - p_t) exactly as in
    LOE Sec. 3.4; test score L_n. Everything is computed in log space: with
    s_tl = cos(f(x_t), f(x_l)) / τ (l = 0 the original),
    log p_t = s_t0 - logsumexp_{l≠t} s_tl and
    log(1 - p_t) = logsumexp_{l∉{0,t}} s_tl - logsumexp_{l≠t} s_tl,
    which is exact (1 - p_t is the share of the other views in the denominator)
    and never needs a clamp; it needs T ≥ 2. The cosines come from the Gram matrix of each sample's
    T + 1 embeddings; behind a widening last encoder layer (e > its input width, e.g. DeepOD's
    50 → 128) from that layer's weights, without forming the embeddings (``cosine_gram_linear``).

    Sizes (LOE App. C). ``tabular``: 9 transformations, each a 2-layer MLP
    d → h → d; a 4-layer encoder d → h → h → h → e; h = 2d and e = 2d when d ≤ 32
    ("low-dimensional", our threshold), else h = 64 and e = 32. ``image`` (for
    pre-trained CNN features such as 512-d ResNet features; raw images are
    flattened): 15 transformations of 3 linear layers with batch-norm and ReLU
    between them, a one-layer encoder. The paper's transformation widths equal
    the feature dimension (2048 or 1024) and e = 256; our CPU-friendly defaults
    are min(d, 256) and e = 128 — set ``trans_hidden``/``rep_dim`` for the
    paper's sizes. ``embed``: f(x) of the original view.
    """

    name = "ntl"
    description = "NTL: learnable neural transformations + contrastive loss (views similar to x, unlike each other)."
    paper = "Qiu et al. 2021; LOE Sec. 3.4 (NTL losses), App. C (sizes)"
    data_kinds = ("tabular", "image")
    params = (
        Param("preset", "auto", str, choices=("auto", "tabular", "image"),
              help="defaults for sizes left at 0/empty: LOE App. C tabular or image-feature setting; "
                   "auto = image for image inputs, tabular otherwise"),
        Param("n_trans", 0, int, 0, 64,
              help="number of learnable transformations T (≥ 2); 0 = 9 (tabular) or 15 (image), LOE App. C"),
        Param("transform", "residual", str, choices=("residual", "direct"),
              help="x_t = x + net_t(x) (residual) or net_t(x) (direct); LOE App. C searched both per dataset"),
        Param("trans_hidden", (), tuple,
              help="hidden sizes of each transformation net; empty = (h,) tabular (2 layers, LOE App. C), "
                   "(min(d,256),)*2 image (paper: 3 layers of width d, e.g. 2048)"),
        Param("enc_hidden", (), tuple,
              help="hidden sizes of the encoder; empty = (h, h, h) tabular (4 layers, LOE App. C), "
                   "none for image (one linear layer, LOE App. C)"),
        Param("rep_dim", 0, int, 0, 4096,
              help="embedding size e; 0 = 2d if d ≤ 32 else 32 (tabular, LOE App. C), 128 for image (paper 256)"),
        Param("tau", 0.1, float, 1e-3, 10.0, help="temperature τ of h(a,b) = exp(cos(f(a),f(b))/τ) (LOE footnote 3)"),
        Param("batch_norm", "auto", str, choices=("auto", "on", "off"),
              help="batch-norm between transformation layers; auto = on for image (LOE App. C), off for tabular"),
        Param("bias", True, bool, help="bias terms in transformations and encoder"),
        Param("activation", "relu", str, choices=tuple(ACTIVATIONS)),
    )

    def __init__(self, input_shape, seeds, **hp):
        super().__init__(input_shape, seeds, **hp)
        d = self.n_features
        preset = hp["preset"]
        if preset == "auto":
            preset = "image" if len(self.input_shape) > 1 else "tabular"
        self.preset = preset
        if preset == "tabular":
            h = 2 * d if d <= LOW_DIM else 64
            n_trans = hp["n_trans"] or 9
            trans_hidden = hp["trans_hidden"] or (h,)
            enc_hidden = hp["enc_hidden"] or (h, h, h)
            rep_dim = hp["rep_dim"] or (2 * d if d <= LOW_DIM else 32)
        else:
            w = min(d, 256)
            n_trans = hp["n_trans"] or 15
            trans_hidden = hp["trans_hidden"] or (w, w)
            enc_hidden = hp["enc_hidden"] or ()
            rep_dim = hp["rep_dim"] or 128
        if n_trans < 2:
            raise ValueError("NTL needs at least 2 transformations (L_a = -Σ log(1 - p_t) is infinite for T = 1)")
        bn = hp["batch_norm"] == "on" or (hp["batch_norm"] == "auto" and preset == "image")
        self.n_trans, self.rep_dim = n_trans, rep_dim
        self.sizes = {"n_trans": n_trans, "trans_hidden": tuple(trans_hidden), "enc_hidden": tuple(enc_hidden),
                      "rep_dim": rep_dim, "batch_norm": bn, "preset": preset}
        self.residual = hp["transform"] == "residual"
        self.transforms = StackedTransforms(self.gens, n_trans, (d, *trans_hidden, d), bias=hp["bias"],
                                            activation=hp["activation"], batch_norm=bn)
        self.encoder = StackedMLP(self.gens, (d, *enc_hidden, rep_dim), bias=hp["bias"], activation=hp["activation"])
        self.gram_from_weights = rep_dim > (enc_hidden or (d,))[-1] + int(hp["bias"])
        # floats per sample of the largest intermediates: views through the nets, and the similarity products
        self._per_sample = (n_trans + 1) * (max(d, rep_dim, *trans_hidden, *enc_hidden) + n_trans + 1)

    def views(self, x: torch.Tensor, train: bool = False) -> torch.Tensor:
        """Original and transformed views ``(K, T+1, B, d)``; view 0 is x."""
        x = x.flatten(2)
        xt = self.transforms(x, train)
        if self.residual:
            xt = xt + x.unsqueeze(1)
        return torch.cat((x.unsqueeze(1), xt), dim=1)

    def similarities(self, x: torch.Tensor, train: bool = False) -> torch.Tensor:
        """s_tl = cos(f(x_t), f(x_l)) / τ for the T views (rows) against all T+1 views: ``(K, B, T, T+1)``."""
        v = self.views(x, train)
        K, V, B, d = v.shape
        # sample-major rows (the input is small): every later tensor is contiguous in (K, B, V, e); all
        # (T+1)² products, then the T rows of the views, and 1/τ on the products, not on the embeddings
        rows = v.transpose(1, 2).reshape(K, B * V, d)
        if self.gram_from_weights:  # a widening last layer: the Gram matrix from its weights (cosine_gram_linear)
            *body, last = self.encoder
            for layer in body:
                rows = layer(rows)
            s = cosine_gram_linear(rows.view(K, B, V, -1), last.weight, last.bias)
        else:
            s = cosine_gram(self.encoder(rows).view(K, B, V, -1))
        return s[:, :, 1:] * (1.0 / self.hp["tau"])

    def log_p(self, x: torch.Tensor, train: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """log p_t and log(1 - p_t), each ``(K, B, T)``."""
        s = self.similarities(x, train)
        eye = torch.eye(self.n_trans, dtype=torch.bool, device=s.device)
        pos = s[..., 0]  # log h(x_t, x)
        off = s[..., 1:].masked_fill(eye, float("-inf")).logsumexp(-1)  # log Σ_{l≠t} h(x_t, x_l)
        den = torch.logaddexp(pos, off)
        return pos - den, off - den

    def losses(self, x, train=False):
        log_p, log_q = self.log_p(x, train)
        return -log_p.sum(-1), -log_q.sum(-1)

    def embed(self, x):
        return self.encoder(x.flatten(2))

    def activation_elements(self) -> int:
        return self._per_sample

    def work_per_step(self, batch_size: int) -> float:
        trans = sum(p.numel() for p in self.transforms.parameters())
        enc = sum(p.numel() for p in self.encoder.parameters())
        return 6.0 * batch_size * (trans + (self.n_trans + 1) * enc)
