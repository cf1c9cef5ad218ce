"""MHRot: rotation and shift prediction with multiple heads (Hendrycks et al. 2019; LOE App. C)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from adcore.backbones.conv_base import ConvBackbone
from adcore.backbones.conv_layers import StackedBatchNorm2d, StackedConv2d, pack, unpack
from adcore.nn import StackedLinear
from adcore.registry import BACKBONES, Param

N_ROT, N_SHIFT = 4, 3
N_TRANSFORMS = N_ROT * N_SHIFT * N_SHIFT


def mhrot_labels() -> torch.Tensor:
    """Head labels ``(36, 3)`` of the composed transformations T_k = r ∘ s^v ∘ s^h (LOE App. C).

    Row k = (rotation index a, vertical-shift index b, horizontal-shift index c) with
    k = 9a + 3b + c; rotation a turns the image by a·90° counter-clockwise (0°, 90°,
    180°, 270° = −90°); shift index 0, 1, 2 moves it by 0, +s, −s pixels (down / right
    for positive s).
    """
    a, b, c = torch.meshgrid(torch.arange(N_ROT), torch.arange(N_SHIFT), torch.arange(N_SHIFT), indexing="ij")
    return torch.stack([a.flatten(), b.flatten(), c.flatten()], dim=1)


def _shift(x: torch.Tensor, pixels: int, dim: int, mode: str) -> torch.Tensor:
    if pixels == 0:
        return x
    if mode == "roll":
        return torch.roll(x, pixels, dims=dim)
    out = torch.zeros_like(x)
    n = x.shape[dim]
    p = min(abs(pixels), n)
    if pixels > 0:
        out.narrow(dim, p, n - p).copy_(x.narrow(dim, 0, n - p))
    else:
        out.narrow(dim, 0, n - p).copy_(x.narrow(dim, p, n - p))
    return out


def mhrot_transform(x: torch.Tensor, shift: int, mode: str = "roll") -> torch.Tensor:
    """All 36 transformations of images ``(..., C, H, W)`` → ``(..., 36, C, H, W)``, ordered as :func:`mhrot_labels`.

    T_k = r_a ∘ s^v_b ∘ s^h_c: shift first (vertically, then horizontally), then rotate.
    """
    views = []
    for a in range(N_ROT):
        for sv in (0, shift, -shift):
            xv = _shift(x, sv, -2, mode)
            for sh in (0, shift, -shift):
                views.append(torch.rot90(_shift(xv, sh, -1, mode), a, dims=(-2, -1)))
    return torch.stack(views, dim=-4)


class _WideBlock(nn.Module):
    """Pre-activation wide-ResNet basic block (BN → ReLU → conv3×3 → BN → ReLU → conv3×3, + shortcut)."""

    def __init__(self, gens, c_in, c_out, stride):
        super().__init__()
        K = len(gens)
        self.bn1 = StackedBatchNorm2d(K, c_in, eps=1e-5)
        self.conv1 = StackedConv2d(gens, c_in, c_out, 3, stride, 1, bias=False)
        self.bn2 = StackedBatchNorm2d(K, c_out, eps=1e-5)
        self.conv2 = StackedConv2d(gens, c_out, c_out, 3, 1, 1, bias=False)
        self.short = None
        if c_in != c_out or stride != 1:
            self.short = StackedConv2d(gens, c_in, c_out, 1, stride, 0, bias=False)

    def forward(self, h):
        o = F.relu(self.bn1(h))
        y = self.conv2(F.relu(self.bn2(self.conv1(o))))
        return y + (h if self.short is None else self.short(o))


class MHRotTrunk(nn.Module):
    """Shared feature network of MHRot: ``(K, B, C, H, W)`` → ``(K, B, features)``.

    ``small`` (our CPU size): conv3×3(w) → BN → ReLU → pool, conv3×3(2w) → BN → ReLU →
    pool, flatten, dense 4w → ReLU (flattening keeps where things are, which the shift
    heads need). ``wrn16-4`` (LOE App. C, Hendrycks et al. 2019): WideResNet-16-4 —
    conv3×3(16), three groups of two pre-activation blocks of 64, 128, 256 channels
    (stride 1, 2, 2), BN → ReLU → global average pool (256 features).
    """

    def __init__(self, gens, input_shape, net: str = "small", width: int = 16):
        super().__init__()
        K = len(gens)
        self.n_models, self.input_shape, self.net = K, tuple(input_shape), net
        C, H, W = self.input_shape
        if net == "small":
            self.conv1 = StackedConv2d(gens, C, width, 3, padding=1)
            self.bn1 = StackedBatchNorm2d(K, width, eps=1e-5)
            self.conv2 = StackedConv2d(gens, width, 2 * width, 3, padding=1)
            self.bn2 = StackedBatchNorm2d(K, 2 * width, eps=1e-5)
            if min(H, W) < 4:
                raise ValueError(f"MHRot's small net needs images of at least 4×4 pixels; got {H}×{W}")
            flat = 2 * width * (H // 4) * (W // 4)
            self.fc = StackedLinear(gens, flat, 4 * width)
            self.out_dim = 4 * width
        else:
            widths = (16, 64, 128, 256)
            self.conv1 = StackedConv2d(gens, C, widths[0], 3, padding=1, bias=False)
            blocks, c = [], widths[0]
            for g, (w, stride) in enumerate(zip(widths[1:], (1, 2, 2))):
                for i in range(2):
                    blocks.append(_WideBlock(gens, c, w, stride if i == 0 else 1))
                    c = w
            self.blocks = nn.Sequential(*blocks)
            self.bn = StackedBatchNorm2d(K, c, eps=1e-5)
            self.out_dim = c

    def forward(self, x):
        K = x.shape[0]
        h = pack(x)
        if self.net == "small":
            h = F.max_pool2d(F.relu(self.bn1(self.conv1(h))), 2)
            h = F.max_pool2d(F.relu(self.bn2(self.conv2(h))), 2)
            return F.relu(self.fc(unpack(h, K)))
        h = F.relu(self.bn(self.blocks(self.conv1(h))))
        return unpack(h.mean(dim=(-2, -1), keepdim=True), K)


@BACKBONES.register
class MHRot(ConvBackbone):
    """Multi-head RotNet (Hendrycks et al. 2019) with the LOE anomaly loss (LOE Sec. 3.4, App. C).

    Each image x is transformed by all 36 compositions T_k = r ∘ s^v ∘ s^h of a
    rotation r ∈ {0°, 90°, 180°, 270°} and vertical / horizontal shifts in
    {0, +s, −s} pixels (:func:`mhrot_labels`). A shared trunk f and three softmax
    heads predict (rotation, vertical shift, horizontal shift) of T_k(x):
    p_k^l(· | x), l = 1, 2, 3. With true labels t_k^l (LOE Sec. 3.4):

        L_n(x) = − Σ_k Σ_l log p_k^l(t_k^l | x)
        L_a(x) =   Σ_k Σ_l CE(U, p_k^l(· | x)) = − Σ_k Σ_l (1/|C_l|) Σ_c log p_k^l(c | x)

    Test score L_n (LOE App. C uses it for F-MNIST; GOAD's separate score, used
    there for CIFAR-10, is not implemented). ``embed``: the trunk features of
    the untransformed image. Shift s = ``shift`` px (0 = round(H/4), i.e. the
    paper's 8 px on 32×32 images); ``shift_mode`` ``roll`` wraps pixels around,
    ``zeros`` fills with 0. Needs square images (rotations keep the shape).

    Cost: every sample is 36 images, so a batch of B is a CNN batch of 36·B per
    member. ``net="small"`` (default, CPU) is a two-conv-block net of width 16
    (~0.5 M multiply-adds per 28×28 view); ``wrn16-4`` is the paper's
    WideResNet-16-4 (~2.7 M parameters, ~400 M multiply-adds per 32×32 view:
    a GPU size). LOE App. C trained with batch 10, lr 1e-4 (F-MNIST), 3 epochs.
    """

    name = "mhrot"
    description = "MHRot: predicts the rotation and shifts applied to an image (36 transformations, 3 heads)."
    paper = "Hendrycks et al. 2019; LOE Sec. 3.4 (losses), App. C (transformations, WRN-16-4)"
    data_kinds = ("image",)
    params = (
        Param("net", "small", str, choices=("small", "wrn16-4"),
              help="small: 2 conv blocks + dense, CPU-friendly (ours); wrn16-4: the paper's WideResNet-16-4"),
        Param("width", 16, int, 4, 256, help="small net: filters of the first conv block (2× in the second)"),
        Param("shift", 0, int, 0, 1024, help="shift in pixels; 0 = round(height / 4) (8 px on 32×32, LOE App. C)"),
        Param("shift_mode", "roll", str, choices=("roll", "zeros"),
              help="roll: pixels shifted out re-enter on the other side; zeros: vacated pixels are 0"),
    )

    def __init__(self, input_shape, seeds, **hp):
        ConvBackbone.__init__(self, input_shape, seeds, **hp)
        C, H, W = self.input_shape
        if H != W:
            raise ValueError(f"MHRot rotates images by 90°, so they must be square; got {H}×{W} "
                             "(choose a square image size when loading)")
        self.shift = hp["shift"] or max(1, round(H / 4))
        self.trunk = MHRotTrunk(self.gens, self.input_shape, hp["net"], hp["width"])
        self.heads = StackedLinear(self.gens, self.trunk.out_dim, N_ROT + 2 * N_SHIFT)
        self.register_buffer("labels", mhrot_labels().unsqueeze(0).expand(self.n_models, -1, -1).contiguous())

    def log_probs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """log p_k^l(· | x) per head: ``[(K, B, 36, 4), (K, B, 36, 3), (K, B, 36, 3)]``."""
        K, B = x.shape[:2]
        views = mhrot_transform(x, self.shift, self.hp["shift_mode"])  # (K, B, 36, C, H, W)
        logits = self.heads(self.trunk(views.reshape(K, B * N_TRANSFORMS, *self.input_shape)))
        logits = logits.view(K, B, N_TRANSFORMS, -1)
        return [F.log_softmax(part, dim=-1) for part in logits.split((N_ROT, N_SHIFT, N_SHIFT), dim=-1)]

    def losses(self, x, train=False):
        return self._losses(x)

    def _losses(self, x):
        logp = self.log_probs(x)
        K, B = x.shape[:2]
        ln = torch.zeros(K, B, device=x.device)
        la = torch.zeros(K, B, device=x.device)
        for head, lp in enumerate(logp):
            target = self.labels[:, None, :, head].expand(K, B, N_TRANSFORMS)
            ln = ln - lp.gather(-1, target.unsqueeze(-1)).squeeze(-1).sum(-1)
            la = la - lp.mean(-1).sum(-1)
        return ln, la

    def _embed(self, x):
        return self.trunk(x)

    def _profile_forward(self, x):
        self.log_probs(x)
