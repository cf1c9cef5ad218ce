"""Refine: drop the likely anomalies of each mini-batch (LOE App. B)."""
import torch

from adcore.registry import STRATEGIES
from adcore.strategies.base import Batch, Strategy, flag_counts, top_n_mask


@STRATEGIES.register
class Refine(Strategy):
    """LOE App. B: rank the mini-batch by the training loss L_n ("the anomaly scores
    given the current detection model"; L_a is removed from Eq. 1), drop the top
    ⌊αB⌋ and update on the remaining samples only.

    The trainer minimises the batch mean of w_n L_n, so the kept samples get
    w_n = B / (B − n_dropped): the step is then the mean of L_n over the kept
    samples, not that mean scaled by (1 − α).
    """

    name = "refine"
    description = "Refine: removes the top-α samples of each mini-batch by L_n and trains on the rest."
    paper = "LOE App. B"
    uses_warmup = True
    uses_anomaly_loss = False

    def weights(self, batch: Batch):
        ln = batch.loss_normal
        out = batch.labeled  # labelled anomalies the trainer leaves out of this unsupervised objective
        if out is None:
            n = torch.full_like(batch.alpha, ln.shape[1])
            ranked = ln
        else:
            n = (~out).sum(1, keepdim=True).to(ln.dtype)
            ranked = ln.masked_fill(out, float("-inf"))
        counts = flag_counts(batch.alpha, n)
        drop = top_n_mask(ranked, counts, batch.most_flags())
        keep_weight = n / (n - counts.to(ln.dtype)).clamp_min(1.0)
        w_n = torch.where(drop, 0.0, keep_weight.expand_as(ln))
        return w_n, torch.zeros_like(w_n), drop
