"""Convolutional backbones for images: LeNet-type Deep SVDD, (denoising) autoencoder and MHRot (the VAEs: vae_cnn.py).

Stacked convolutions
--------------------
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
one kernel call per layer and keeps the parameter layout of the other backbones.

Architectures (``arch``)
------------------------
LeNet-type encoders as in Ruff et al. (2018), with the sizes the papers give:

- ``mnist``  (IAD Sec. V-A, MNIST): 8×(5×5) → 4×(5×5) filters, dense 32.
- ``fmnist`` (IAD Sec. V-A, Fashion-MNIST): 16×(5×5) → 32×(5×5), dense 128 → 64.
- ``cifar``  (Ruff et al. 2018; DP-VAE App. D.1, CIFAR-10): 32 → 64 → 128 × (5×5), dense 128.
- ``vae_fmnist`` (DP-VAE App. D.1, F-MNIST): 16 → 32 × (5×5), dense 64 → 32, leaky slope 0.1.
- ``vae_mnist``  (DP-VAE App. D.1, MNIST): 64 → 128 × (4×4), ReLU, no batch norm, dense 1024 → 32.

Each convolutional module is conv → batch norm → (leaky) ReLU → 2×2 max-pool
(IAD Sec. V-A; DP-VAE App. D.1). Convolutions are padded by ⌊k/2⌋. ``auto``
picks ``mnist`` for one channel and ``cifar`` for three. The decoder mirrors the
encoder (IAD Sec. V-A: "the max-pooling and convolutions are replaced with
simple upsampling and deconvolutions"): dense layers in reverse, then per block
upsampling (nearest, to the exact pre-pool size) and a transposed convolution
with the same kernel and padding, which inverts the convolution's size change.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from adcore.backbones.autoencoder import AutoEncoder, DenoisingAutoEncoder
from adcore.backbones.base import Backbone
from adcore.backbones.deepsvdd import DeepSVDD
from adcore.nn import StackedLinear, stacked_uniform
from adcore.registry import BACKBONES, Param


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
                      slope=0.0, ref="DP-VAE App. D.1, MNIST"),
}
ARCH_CHOICES = ("auto", *ARCHS)


# ---------------------------------------------------------------------------------------------
# Stacked layers on the packed layout (B, K·C, H, W)
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# LeNet encoder and mirrored decoder
# ---------------------------------------------------------------------------------------------
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
        pad = k // 2
        self.act = activation_fn(arch["activation"], arch["slope"])
        self.convs, self.norms = nn.ModuleList(), nn.ModuleList()
        self.pre_pool = []  # spatial size after each convolution, before pooling
        c, h, w = C, H, W
        for c_out in arch["channels"]:
            conv = StackedConv2d(gens, c, c_out, k, padding=pad, bias=bias)
            h, w = conv.out_size(h), conv.out_size(w)
            if min(h, w) < 2:
                raise ValueError(f"images of {H}×{W} pixels are too small for {len(arch['channels'])} conv + 2×2-pool "
                                 "blocks; choose fewer channels entries or a larger image size")
            self.convs.append(conv)
            self.norms.append(StackedBatchNorm2d(K, c_out, affine=bn_affine) if arch["batch_norm"] else nn.Identity())
            self.pre_pool.append((h, w))
            c, h, w = c_out, h // 2, w // 2
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
            h = F.max_pool2d(self.act(norm(conv(h))), 2)
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
    (same kernel and padding) to the previous block's channels, BN and activation
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
        self.deconvs, self.norms = nn.ModuleList(), nn.ModuleList()
        n = len(arch["channels"])
        for j, i in enumerate(range(n, 0, -1)):
            self.deconvs.append(StackedConv2d(gens, chans[i], chans[i - 1], k, padding=k // 2, bias=bias,
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
            h = deconv(F.interpolate(h, size=size, mode="nearest"))
            if j < n - 1:
                h = self.act(norm(h))
        return unpack(h, K)


# ---------------------------------------------------------------------------------------------
# Shared backbone machinery
# ---------------------------------------------------------------------------------------------
ARCH_PARAMS = (
    Param("arch", "auto", str, choices=ARCH_CHOICES,
          help="LeNet sizes from the papers: mnist (IAD Sec. V-A), fmnist (IAD Sec. V-A), cifar (Ruff et al.), "
               "vae_fmnist / vae_mnist (DP-VAE App. D.1); auto = mnist for grey, cifar for colour images"),
    Param("channels", (), tuple, help="filters per conv block, overriding the arch (e.g. 8,4)"),
    Param("kernel", 0, int, 0, 11, help="square kernel size; 0 = the arch's (5, or 4 for vae_mnist)"),
    Param("dense", (), tuple, help="dense layer sizes after the conv blocks, the last is the representation; "
                                   "empty = the arch's"),
    Param("batch_norm", "auto", str, choices=("auto", "on", "off"), help="batch norm after each convolution"),
    Param("activation", "auto", str, choices=("auto", "leaky_relu", "relu", "elu", "tanh"),
          help="auto = the arch's (leaky ReLU; ReLU for vae_mnist)"),
)


class ConvBackbone(Backbone):
    """Common parts of the CNN backbones: image-shape check, the activation size that
    sets the trainer's evaluation pieces (``activation_elements``) and a multiply-add
    count for thread selection. Batch norm follows the module's
    train/eval mode, which the trainer sets."""

    data_kinds = ("image",)

    def __init__(self, input_shape, seeds, **hp):
        Backbone.__init__(self, input_shape, seeds, **hp)  # not the MLP parents' __init__ (they build MLPs)
        if len(self.input_shape) != 3:
            raise ValueError(f"backbone {self.name!r} needs images (n × channels × height × width); got samples "
                             f"of shape {self.input_shape} — use an MLP backbone for tabular data")
        self._profile_cache = None

    # subclasses: the deterministic forward path of ``x`` (used to count work and activations)
    def _profile_forward(self, x: torch.Tensor) -> None:
        self._embed(x)

    def profile(self) -> tuple[float, int]:
        """(multiply-adds, largest activation in floats) per sample and member, from one dummy forward."""
        if self._profile_cache is None:
            n, stats = 2, {"macs": 0.0, "act": 1}

            def hook(mod, inp, out):
                if isinstance(mod, StackedConv2d):
                    src = inp[0] if mod.transposed else out  # a transposed conv meets each weight once per input pixel
                    stats["macs"] += mod.weight[0].numel() * src.shape[0] * src.shape[-2] * src.shape[-1]
                elif isinstance(mod, StackedLinear):
                    stats["macs"] += mod.weight[0].numel() * out.shape[1]
                stats["act"] = max(stats["act"], out.numel() // self.n_models)

            handles = [m.register_forward_hook(hook) for m in self.modules()
                       if isinstance(m, (StackedConv2d, StackedLinear))]
            mode = self.training
            self.eval()
            try:
                with torch.no_grad():
                    dev = next(self.parameters()).device
                    self._profile_forward(torch.zeros(self.n_models, n, *self.input_shape, device=dev))
            finally:
                for h in handles:
                    h.remove()
                self.train(mode)
            self._profile_cache = (stats["macs"] / n, max(1, stats["act"] // n))
        return self._profile_cache

    def activation_elements(self) -> int:
        return self.profile()[1]

    def work_per_step(self, batch_size: int) -> float:
        """Multiply-adds of a training step (forward + backward ≈ 3 forwards) for thread selection."""
        return 3.0 * batch_size * self.n_models * self.profile()[0]

    def embed(self, x):
        return self._embed(x)

    def _embed(self, x):
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Deep SVDD
# ---------------------------------------------------------------------------------------------
_SVDD_OBJECTIVE = tuple(p for p in DeepSVDD.params
                        if p.name in ("center_eps", "eps", "objective", "nu", "radius_warmup"))


@BACKBONES.register
class DeepSVDDCNN(ConvBackbone, DeepSVDD):
    """Deep SVDD on a bias-free LeNet-type CNN (Ruff et al. 2018; sizes IAD Sec. V-A).

    Losses, test score and the soft-boundary objective are those of
    :class:`~adcore.backbones.deepsvdd.DeepSVDD`: L_n = ||φ(x) − c||²,
    L_a = 1/(||φ(x) − c||² + eps) (LOE Sec. 3.1). As Ruff et al. prescribe, no
    layer has a bias and batch norm has no affine shift/scale, which rules out
    the constant (collapsed) solution. Before training (``setup``): optional
    autoencoder pre-training (``pretrain_epochs``, mirrored LeNet decoder, squared
    error, as Ruff et al.), then the batch-norm running statistics are set to the
    training set's statistics, and c is the mean representation computed with
    them in eval mode (coordinates nearer 0 than ``center_eps`` moved to ±center_eps).
    """

    name = "deepsvdd_cnn"
    description = "Deep SVDD on a LeNet-type CNN (images): distance to a hypersphere center."
    paper = "Ruff et al. 2018; IAD Sec. V-A (LeNet sizes); LOE Sec. 3.1 (L_a)"
    data_kinds = ("image",)
    params = ARCH_PARAMS + _SVDD_OBJECTIVE + (
        Param("pretrain_epochs", 0, int, 0, 100000,
              help="epochs of autoencoder pre-training of the CNN before c is set (Ruff et al.); 0 = none"),
        Param("pretrain_lr", 1e-3, float, 1e-6, 1.0, help="Adam learning rate of the pre-training"),
    )

    def __init__(self, input_shape, seeds, **hp):
        ConvBackbone.__init__(self, input_shape, seeds, **hp)
        self.arch = resolve_arch(hp, self.input_shape)
        self.net = LeNetEncoder(self.gens, self.input_shape, self.arch, bias=False, bn_affine=False)
        self.init_svdd_state(self.net.dims[-1])

    def _embed(self, x):
        return self.net(x)

    def setup(self, x):
        if self.hp["pretrain_epochs"] > 0:
            self._pretrain(x)
        mode = self.training
        with torch.no_grad():
            calibrate_batch_norm(self, self.net, x, max(128, self.eval_rows()))
            self.eval()
            c = self.embed(x).mean(dim=1, keepdim=True)
            self.train(mode)
        eps = self.hp["center_eps"]
        self.center.copy_(torch.where(c.abs() < eps, torch.where(c < 0, -eps, eps), c))
        if self.soft:
            self._n_train, self._seen = x.shape[1], 0

    def _pretrain(self, x: torch.Tensor, batch_size: int = 128) -> None:
        """Autoencoder pre-training of ``net`` on ``x`` (K, N, C, H, W); the decoder is discarded afterwards."""
        decoder = LeNetDecoder(self.gens, self.net, self.net.dims[-1], self.arch, bias=False).to(x.device)
        opt = torch.optim.Adam(list(self.net.parameters()) + list(decoder.parameters()), lr=self.hp["pretrain_lr"])
        K, N = x.shape[:2]
        B = min(batch_size, N)
        order = [torch.Generator().manual_seed(int(torch.randint(2**31 - 1, (1,), generator=g))) for g in self.gens]
        kk = torch.arange(K, device=x.device)[:, None]
        mode = self.training
        self.train()
        decoder.train()
        with torch.enable_grad():
            for _ in range(self.hp["pretrain_epochs"]):
                perm = torch.stack([torch.randperm(N, generator=g) for g in order]).to(x.device)
                for i in range(0, N, B):
                    xb = x[kk, perm[:, i : i + B]]
                    loss = (decoder(self.net(xb)) - xb.flatten(2)).pow(2).sum(-1).mean(1).sum()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
        self.train(mode)
        for p in self.net.parameters():
            p.grad = None


# ---------------------------------------------------------------------------------------------
# Autoencoders
# ---------------------------------------------------------------------------------------------
@BACKBONES.register
class AutoEncoderCNN(ConvBackbone, AutoEncoder):
    """Convolutional autoencoder: LeNet-type encoder, mirrored decoder (IAD Sec. V-A).

    Losses as :class:`~adcore.backbones.autoencoder.AutoEncoder`: L_n = ||D(E(x)) − x||₂
    (PU Eq. 1, the test score), L_a = −log(1 − exp(−L_n)) (ABC, PU Eq. 3-4).
    The bottleneck is the encoder's last dense layer. Biases on (``bias``).
    """

    name = "ae_cnn"
    description = "Convolutional autoencoder (images): reconstruction error; anomalies pushed to reconstruct badly."
    paper = "IAD Sec. V-A (LeNet AE, Ruff et al.); PU Eq. 1-4 (ABC anomaly loss)"
    data_kinds = ("image",)
    params = ARCH_PARAMS + (Param("bias", True, bool, help="bias terms (Ruff et al.'s AE has none)"),)

    def __init__(self, input_shape, seeds, **hp):
        ConvBackbone.__init__(self, input_shape, seeds, **hp)
        self.arch = resolve_arch(hp, self.input_shape)
        self.encoder = LeNetEncoder(self.gens, self.input_shape, self.arch, bias=hp["bias"])
        self.decoder = LeNetDecoder(self.gens, self.encoder, self.encoder.dims[-1], self.arch, bias=hp["bias"])

    def _embed(self, x):
        return self.encoder(x)

    def _profile_forward(self, x):
        self.decoder(self.encoder(x))


@BACKBONES.register
class DenoisingAutoEncoderCNN(AutoEncoderCNN):
    """:class:`AutoEncoderCNN` trained on Gaussian-noised inputs (as ``dae``)."""

    name = "dae_cnn"
    description = "Convolutional denoising autoencoder (images)."
    paper = "PU paper Sec. 1 (DAE); IAD Sec. V-A (LeNet AE)"
    params = AutoEncoderCNN.params + tuple(p for p in DenoisingAutoEncoder.params if p.name == "noise_std")
    corrupt = DenoisingAutoEncoder.corrupt


# ---------------------------------------------------------------------------------------------
# MHRot
# ---------------------------------------------------------------------------------------------
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
