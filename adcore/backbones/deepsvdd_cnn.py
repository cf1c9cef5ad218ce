"""Deep SVDD on a bias-free LeNet-type CNN (Ruff et al. 2018; sizes IAD Sec. V-A)."""
from __future__ import annotations

import torch

from adcore.backbones.conv_base import ARCH_PARAMS, ConvBackbone
from adcore.backbones.conv_layers import calibrate_batch_norm
from adcore.backbones.deepsvdd import DeepSVDD
from adcore.backbones.lenet import LeNetDecoder, LeNetEncoder, resolve_arch
from adcore.registry import BACKBONES, Param

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
