"""LOE with the label constraint on the whole training set (LOE Sec. 3.2, Eq. 2-3 and footnote 2)."""
from __future__ import annotations

import torch

from adcore.registry import STRATEGIES
from adcore.strategies.base import Batch, Strategy, flag_counts, flag_to_weights, top_n_mask


class _DatasetLOE(Strategy):
    """Eq. 2 over all N training samples instead of each mini-batch (footnote 2: "an exact
    mini-batch version ... requiring memorization of y for the whole data set").

    Block coordinate descent with the y-step on the whole data set: the strategy memorises
    S_train = L_n − L_a (Eq. 4) of every sample when it passes in a mini-batch; at the start
    of each epoch it sets y = 1 for the ⌊α·N⌋ highest memorised scores (Eq. 2-3) and keeps
    these labels for the epoch's θ-steps, so every epoch flags exactly ⌊α·N⌋ samples, however
    they fall into batches. The memorised scores are from the previous epoch (each sample's
    own last batch). The first epoch after the warm-up has no memory yet and uses the
    mini-batch rule (LOE Alg. 1). Labelled anomalies that the trainer leaves out
    (``Batch.labeled``) are never ranked nor counted.
    """

    uses_warmup = True

    def __init__(self, n_members, n_samples, device=None, **hp):
        super().__init__(n_members, n_samples, device=device, **hp)
        self.memory = torch.full((n_members, n_samples), float("nan"), device=device)
        self.labels: torch.Tensor | None = None
        self._epoch = None

    def weights(self, batch: Batch):
        s = batch.s_train
        if batch.labeled is not None:
            s = s.masked_fill(batch.labeled, float("nan"))
        if batch.epoch != self._epoch:
            self._epoch = batch.epoch
            seen = ~torch.isnan(self.memory)
            if bool(seen.any()):
                counts = flag_counts(batch.alpha, seen.sum(1, keepdim=True))
                self.labels = top_n_mask(self.memory.masked_fill(~seen, float("-inf")), counts)
        self.memory.scatter_(1, batch.index, s)
        if self.labels is None:  # first epoch after the warm-up: the mini-batch rule
            valid = ~torch.isnan(s)
            flag = top_n_mask(s.masked_fill(~valid, float("-inf")),
                              flag_counts(batch.alpha, valid.sum(1, keepdim=True)), batch.most_flags()) & valid
        else:
            flag = self.labels.gather(1, batch.index) & ~torch.isnan(s)
        return flag_to_weights(flag, *self.flag_weights)


@STRATEGIES.register
class LOEHardDataset(_DatasetLOE):
    name = "loe_hard_dataset"
    description = ("LOE hard, dataset-wise: the top-α of the whole training set by remembered S_train "
                   "train the anomaly loss.")
    paper = "LOE Sec. 3.2, Eq. 2-4, footnote 2"
    flag_weights = (0.0, 1.0)


@STRATEGIES.register
class LOESoftDataset(_DatasetLOE):
    name = "loe_soft_dataset"
    description = "LOE soft, dataset-wise: the top-α of the whole training set by remembered S_train get label 0.5."
    paper = "LOE Sec. 3.3, Eq. 5, footnote 2"
    flag_weights = (0.5, 0.5)
