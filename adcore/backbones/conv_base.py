"""The machinery every CNN backbone shares: the LeNet size parameters and :class:`ConvBackbone`."""
from __future__ import annotations

import torch

from adcore.backbones.base import Backbone
from adcore.backbones.conv_layers import StackedConv2d
from adcore.backbones.lenet import ARCH_CHOICES
from adcore.nn import StackedLinear
from adcore.registry import Param

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
