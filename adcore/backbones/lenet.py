"""LeNet-type encoders and mirrored decoders for images (Ruff et al. 2018), with the papers' sizes.

LeNet-type encoders as in Ruff et al. (2018), with the sizes the papers give:

- ``mnist``  (IAD Sec. V-A, MNIST): 8×(5×5) → 4×(5×5) filters, dense 32.
- ``fmnist`` (IAD Sec. V-A, Fashion-MNIST): 16×(5×5) → 32×(5×5), dense 128 → 64.
- ``cifar``  (Ruff et al. 2018; DP-VAE App. D.1, CIFAR-10): 32 → 64 → 128 × (5×5), dense 128.
- ``vae_fmnist`` (DP-VAE App. D.1, F-MNIST): 16 → 32 × (5×5), dense 64 → 32, leaky slope 0.1.
- ``vae_mnist``  (DP-VAE App. D.1, MNIST): 64 → 128 × (4×4), ReLU, no batch norm, dense 1024 → 32,
  stride-2 convolutions instead of max-pooling (``downsample = "stride"``).

Each convolutional module is conv → batch norm → (leaky) ReLU → 2×2 max-pool
(IAD Sec. V-A; DP-VAE App. D.1). App. D.1 calls its MNIST network "different"
from the LeNet type and "standard": we read its even 4×4 kernels as the common
stride-2 convolutional VAE (28 → 14 → 7, padding 1; the decoder's transposed
convolutions 7 → 14 → 28), which also costs ~4× less than 4×4 convolutions at
full resolution followed by pooling. Convolutions are padded by ⌊k/2⌋. ``auto``
picks ``mnist`` for one channel and ``cifar`` for three. The decoder mirrors the
encoder (IAD Sec. V-A: "the max-pooling and convolutions are replaced with
simple upsampling and deconvolutions"): dense layers in reverse, then per block
upsampling (nearest, to the exact pre-pool size) and a transposed convolution
with the same kernel and padding, which inverts the convolution's size change.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from adcore.backbones.conv_layers import StackedBatchNorm2d, StackedConv2d, activation_fn, pack, unpack
from adcore.nn import StackedLinear

ARCHS = {
    "mnist": dict(channels=(8, 4), kernel=5, dense=(32,), batch_norm=True, activation="leaky_relu", slope=0.01,
                  ref="IAD Sec. V-A / Ruff et al. 2018, MNIST"),
    "fmnist": dict(channels=(16, 32), kernel=5, dense=(128, 64), batch_norm=True, activation="leaky_relu",
                   slope=0.01, ref="IAD Sec. V-A, Fashion-MNIST"),
    "cifar": dict(channels=(32, 64, 128), kernel=5, dense=(128,), batch_norm=True, activation="leaky_relu",
                  slope=0.01, ref="Ruff et al. 2018 / DP-VAE App. D.1, CIFAR-10"),
    "vae_fmnist": dict(channels=(16, 32), kernel=5, dense=(64, 32), batch_norm=True, activation="leaky_relu",
                       slope=0.1, ref="DP-VAE App. D.1, Fashion-MNIST"),
    "vae_mnist": dict(channels=(64, 128), kernel=4, dense=(1024, 32), batch_norm=False, activation="relu",
                      slope=0.0, downsample="stride", ref="DP-VAE App. D.1, MNIST"),
}
ARCH_CHOICES = ("auto", *ARCHS)


def resolve_arch(hp: dict, input_shape) -> dict:
    """The architecture dict of ``hp['arch']`` with the user's overrides applied."""
    name = hp.get("arch", "auto")
    if name == "auto":
        name = "mnist" if input_shape[0] == 1 else "cifar"
    arch = dict(ARCHS[name], name=name)
    for key in ("channels", "dense"):
        if hp.get(key):
            arch[key] = tuple(int(v) for v in hp[key])
    if hp.get("kernel"):
        arch["kernel"] = int(hp["kernel"])
    if hp.get("batch_norm", "auto") != "auto":
        arch["batch_norm"] = hp["batch_norm"] == "on"
    if hp.get("activation", "auto") != "auto":
        arch["activation"] = hp["activation"]
        arch["slope"] = arch["slope"] or 0.01
    if not arch["channels"] or not arch["dense"]:
        raise ValueError("the CNN needs at least one convolutional block and one dense layer")
    return arch


class LeNetEncoder(nn.Module):
    """Conv blocks (conv → BN → activation → 2×2 max-pool) then dense layers; ``(K, B, …)`` → ``(K, B, dense[-1])``.

    Accepts images ``(K, B, C, H, W)`` or their flattened form ``(K, B, C·H·W)``.
    No activation after the last dense layer.
    """

    def __init__(self, gens, input_shape, arch: dict, bias: bool = True, bn_affine: bool = True, out_dim=None):
        super().__init__()
        K = len(gens)
        self.n_models, self.input_shape = K, tuple(input_shape)
        C, H, W = self.input_shape
        k = arch["kernel"]
        self.stride = 2 if arch.get("downsample", "pool") == "stride" else 1
        pad = (k - 1) // 2 if self.stride == 2 else k // 2
        self.act = activation_fn(arch["activation"], arch["slope"])
        self.convs, self.norms = nn.ModuleList(), nn.ModuleList()
        self.pre_pool = []  # spatial size the decoder restores per block: before pooling (or the strided conv's input)
        c, h, w = C, H, W
        for c_out in arch["channels"]:
            conv = StackedConv2d(gens, c, c_out, k, stride=self.stride, padding=pad, bias=bias)
            size_in = (h, w)
            h, w = conv.out_size(h), conv.out_size(w)
            if min(h, w) < 2:
                raise ValueError(f"images of {H}×{W} pixels are too small for {len(arch['channels'])} conv + 2×2-pool "
                                 "blocks; choose fewer channels entries or a larger image size")
            self.convs.append(conv)
            self.norms.append(StackedBatchNorm2d(K, c_out, affine=bn_affine) if arch["batch_norm"] else nn.Identity())
            self.pre_pool.append(size_in if self.stride == 2 else (h, w))
            c = c_out
            if self.stride == 1:
                h, w = h // 2, w // 2
        self.out_shape = (c, h, w)
        dense = tuple(arch["dense"])
        if out_dim is not None:
            dense = (*dense[:-1], out_dim)
        self.dims = (c * h * w, *dense)
        self.dense = nn.ModuleList(StackedLinear(gens, a, b, bias=bias) for a, b in zip(self.dims[:-1], self.dims[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        K, B = x.shape[:2]
        h = pack(x.reshape(K, B, *self.input_shape))
        for conv, norm in zip(self.convs, self.norms):
            h = self.act(norm(conv(h)))
            if self.stride == 1:
                h = F.max_pool2d(h, 2)
        z = unpack(h, K)
        for i, layer in enumerate(self.dense):
            z = layer(z)
            if i < len(self.dense) - 1:
                z = self.act(z)
        return z


class LeNetDecoder(nn.Module):
    """Mirror of a :class:`LeNetEncoder`: ``(K, B, latent)`` → ``(K, B, C·H·W)`` (flattened images).

    Dense layers in reverse order, activation, reshape to the encoder's last
    feature map, then per block: upsample to the pre-pool size, transposed conv
    (same kernel and padding) to the previous block's channels (strided archs: a
    stride-2 transposed conv to the encoder conv's input size), BN and activation
    (none after the last one: a linear output).
    """

    def __init__(self, gens, encoder: LeNetEncoder, latent_dim: int, arch: dict, bias: bool = True):
        super().__init__()
        K = len(gens)
        self.n_models = K
        self.act = activation_fn(arch["activation"], arch["slope"])
        dims = (latent_dim, *encoder.dims[1:-1][::-1], encoder.dims[0])
        self.dense = nn.ModuleList(StackedLinear(gens, a, b, bias=bias) for a, b in zip(dims[:-1], dims[1:]))
        self.start_shape = encoder.out_shape
        chans = (encoder.input_shape[0], *arch["channels"])
        k = arch["kernel"]
        self.sizes = encoder.pre_pool[::-1]
        self.strided = encoder.stride == 2
        self.deconvs, self.norms = nn.ModuleList(), nn.ModuleList()
        n = len(arch["channels"])
        for j, i in enumerate(range(n, 0, -1)):
            self.deconvs.append(StackedConv2d(gens, chans[i], chans[i - 1], k, stride=encoder.stride,
                                              padding=(k - 1) // 2 if encoder.stride == 2 else k // 2, bias=bias,
                                              transposed=True))
            last = j == n - 1
            self.norms.append(StackedBatchNorm2d(K, chans[i - 1]) if arch["batch_norm"] and not last else nn.Identity())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        K, B = z.shape[:2]
        for layer in self.dense:
            z = self.act(layer(z))
        h = pack(z.reshape(K, B, *self.start_shape))
        n = len(self.deconvs)
        for j, (deconv, norm, size) in enumerate(zip(self.deconvs, self.norms, self.sizes)):
            if self.strided:  # transposed strided conv, then (odd sizes only) nearest resampling to the exact size
                h = deconv(h)
                h = h if tuple(h.shape[-2:]) == tuple(size) else F.interpolate(h, size=size, mode="nearest")
            else:
                h = deconv(F.interpolate(h, size=size, mode="nearest"))
            if j < n - 1:
                h = self.act(norm(h))
        return unpack(h, K)
