"""Mini-batch plans: each member's sample order, with labelled anomalies drawn alongside the rest."""
from __future__ import annotations

import torch


class BatchPlan:
    """Per-member sample indices ``(K, b)`` of every mini-batch of an epoch.

    Without ``labeled_batch`` (or without labelled anomalies) an epoch is one
    pass over all N samples in batches of ``batch_size``, each member in its own
    random order (LOE Alg. 1); labelled anomalies then come up as often as any
    sample (Deep SAD, Ruff et al. 2019, trains on the joint set this way).

    With ``labeled_batch = L`` an epoch is one pass over the *unlabelled*
    samples in batches of ``batch_size``, and every batch adds L labelled
    anomalies, cycled in a fresh random order per member whenever the labelled
    set runs out (repeating within a batch when L exceeds it). This is the PU
    paper's Alg. 1 (each mini-batch sampled from both U and A) and EOE App. G's
    balanced batches (128 normal + 128 OE samples: ``batch_size = L = 128``).
    Member k's order depends only on its seed, so it trains the same stacked or alone.
    """

    def __init__(self, labeled: torch.Tensor | None, n_samples: int, batch_size: int, labeled_batch: int | None,
                 seeds, device):
        self.n, self.batch_size, self.device = n_samples, batch_size, device
        self.order_gens = [torch.Generator().manual_seed(s + 1_000_003) for s in seeds]
        self.labeled_batch = 0
        if labeled_batch and labeled is not None and bool(labeled.any()):
            counts = labeled.sum(dim=1)
            if bool((counts != counts[0]).any()):
                raise ValueError("balanced batches need the same number of labelled anomalies in every member")
            if int(counts[0]) == n_samples:
                raise ValueError("every training sample is a labelled anomaly: there is no unlabelled data to train on")
            order = torch.argsort(labeled.to(torch.int8), dim=1, stable=True)  # unlabelled first, then labelled
            n_lab = int(counts[0])
            self.unlabeled, self.labeled = order[:, : n_samples - n_lab], order[:, n_samples - n_lab :]
            self.labeled_batch = int(labeled_batch)
            self.label_gens = [torch.Generator().manual_seed(s + 2_000_003) for s in seeds]
            self._queue = self.labeled[:, :0]

    @property
    def step_size(self) -> int:
        """Samples per member in one training step."""
        n = self.n if not self.labeled_batch else self.unlabeled.shape[1]
        return min(self.batch_size, n) + self.labeled_batch

    def _perm(self, gens, n: int) -> torch.Tensor:
        return torch.stack([torch.randperm(n, generator=g) for g in gens]).to(self.device)

    def epoch(self):
        """Yield the index tensor of each mini-batch of one epoch."""
        B = self.batch_size
        if not self.labeled_batch:
            perm = self._perm(self.order_gens, self.n)
            for i in range(0, self.n, B):
                yield perm[:, i : i + B]
            return
        pool = self.unlabeled.gather(1, self._perm(self.order_gens, self.unlabeled.shape[1]))
        for i in range(0, pool.shape[1], B):
            yield torch.cat([pool[:, i : i + B], self._next_labeled(self.labeled_batch)], dim=1)

    def _next_labeled(self, count: int) -> torch.Tensor:
        while self._queue.shape[1] < count:
            fresh = self.labeled.gather(1, self._perm(self.label_gens, self.labeled.shape[1]))
            self._queue = torch.cat([self._queue, fresh], dim=1)
        out, self._queue = self._queue[:, :count], self._queue[:, count:]
        return out
