"""The backbone interface shared by every model."""
from __future__ import annotations

import math

import torch
from torch import nn

from adcore.nn import make_generators
from adcore.registry import BACKBONES

EVAL_ELEMENTS = 1 << 24  # most intermediate floats of one no-grad forward pass before the data is split
EVAL_CACHE_ELEMENTS = 1 << 20  # pieces whose intermediates fit the CPU caches score ~2.7× faster (BENCHMARKS)
EVAL_MIN_ROWS = 256  # but not smaller than this, so that per-call overhead stays small


class Backbone(nn.Module):
    """K stacked anomaly-detection models (K = ``len(seeds)``).

    Subclasses declare ``name``, ``description``, ``paper``, ``params`` and
    ``data_kinds`` and implement :meth:`losses` and :meth:`embed`. Every
    parameter and buffer carries the model dimension first, so member ``k`` is
    the ``[k]`` slice of each tensor. Inputs are ``(K, batch, *input_shape)``.
    """

    name = ""
    description = ""
    paper = ""
    params: tuple = ()
    data_kinds: tuple = ("tabular",)

    def __init__(self, input_shape, seeds, **hp):
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        self.n_models = len(seeds)
        self.hp = hp
        self.gens = make_generators(seeds)

    @property
    def n_features(self) -> int:
        return math.prod(self.input_shape)

    def setup(self, x: torch.Tensor) -> None:
        """Data-dependent initialisation on the training set ``x`` (K, N, ...), before training."""

    def start_epoch(self, epoch: int) -> None:
        """Called by the trainer before each training epoch (e.g. the VAEs' KL annealing)."""

    def losses(self, x: torch.Tensor, train: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample normal loss L_n and anomaly loss L_a, each ``(K, batch)``."""
        raise NotImplementedError

    def normal_loss(self, x: torch.Tensor, train: bool = False) -> torch.Tensor:
        """L_n alone, for epochs in which no member's objective uses L_a; backbones whose L_a
        costs a pass of its own (the VAEs' outlier terms) override it."""
        return self.losses(x, train)[0]

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """Test anomaly score (higher = more anomalous): L_n, as in LOE Eq. 6."""
        return self.losses(x, train=False)[0]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Latent representation ``(K, batch, e)`` for the latent-space plots."""
        raise NotImplementedError

    def activation_elements(self) -> int:
        """Rough count of intermediate floats one sample needs in a forward pass (per member)."""
        return 16 * max(64, self.n_features)

    def eval_rows(self) -> int:
        """How many samples to score at once: pieces of about EVAL_CACHE_ELEMENTS intermediates (at
        least EVAL_MIN_ROWS samples), never above EVAL_ELEMENTS."""
        per_sample = self.n_models * self.activation_elements()
        return max(1, min(EVAL_ELEMENTS // per_sample, max(EVAL_MIN_ROWS, EVAL_CACHE_ELEMENTS // per_sample)))

    def work_per_step(self, batch_size: int) -> float:
        """Rough multiply-adds of one training step, used to choose CPU threads."""
        return 6.0 * batch_size * sum(p.numel() for p in self.parameters())

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Copy of member ``k``'s parameters and buffers."""
        return {n: t[k].detach().clone() for n, t in self.state_dict().items()}

    def load_member_state(self, k: int, state: dict[str, torch.Tensor]) -> None:
        """Overwrite member ``k`` with a state from :meth:`member_state`."""
        own = self.state_dict()
        with torch.no_grad():
            for n, t in state.items():
                own[n][k].copy_(t)


def build_backbone(name: str, input_shape, seeds, params: dict | None = None) -> Backbone:
    """Instantiate backbone ``name`` for ``len(seeds)`` stacked members."""
    cls = BACKBONES.get(name)
    return cls(input_shape, list(seeds), **BACKBONES.resolve_params(name, params))
