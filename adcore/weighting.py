"""The training objective of every member of a stacked run: per-sample weights on L_n and L_a from
each member's strategy (LOE Eq. 1-2 and Alg. 1), or the strategy's own batch objective."""
from __future__ import annotations

import numpy as np
import torch

from adcore.registry import STRATEGIES
from adcore.strategies.base import Batch, EpochEnd, Strategy, flag_counts, flag_to_weights, top_n_mask


class Weighting:
    """The training objective of every member of a stacked run.

    Members whose strategy only flags samples (``flag_weights``) are handled in
    one vectorised step; any other strategy gets its own instance and is called
    for its rows, for weights (:meth:`Strategy.weights`) or for a whole batch
    objective (:meth:`Strategy.objective`). Strategies with ``uses_warmup``
    train blind before ``warmup``. Rows whose strategy has no ``uses_labels``
    leave labelled anomalies out: zero weight, never flagged, not counted in
    the batch mean or in ⌊αB⌋.
    """

    def __init__(self, members, n_samples, warmup, device):
        self.warmup = warmup
        groups = {}
        for k, m in enumerate(members):
            groups.setdefault((m.strategy, m.strategy_params), []).append(k)
        K = len(members)
        col = lambda: torch.zeros(K, 1, device=device)  # noqa: E731
        self.alpha, self.alpha_warm, self.wn_flag, self.wa_flag = col(), col(), col(), col()
        self.truth_rows = torch.zeros(K, 1, dtype=torch.bool, device=device)
        self.unlabeled_rows = torch.zeros(K, 1, dtype=torch.bool, device=device)
        self.strategies, self.custom, self.objectives = [], [], []
        for (name, params), idx in groups.items():
            cls = STRATEGIES.get(name)
            strat = cls(len(idx), n_samples, device=device, **STRATEGIES.resolve_params(name, dict(params)))
            rows = torch.tensor(idx, device=device)
            alpha = torch.tensor([[members[k].alpha] for k in idx], device=device)
            strat.alpha_max = max(members[k].alpha for k in idx)  # for Batch.alpha_max: bounds without device reads
            self.strategies.append((strat, rows))
            self.unlabeled_rows[rows] = not cls.uses_labels
            if cls.has_objective():
                self.objectives.append((strat, rows, alpha))
            elif cls.flag_weights is not None and cls.weights is Strategy.weights:
                if cls.uses_alpha and not cls.flags_from_truth:
                    self.alpha[rows] = alpha
                    self.alpha_warm[rows] = 0.0 if cls.uses_warmup else alpha
                self.truth_rows[rows] = cls.flags_from_truth
                self.wn_flag[rows], self.wa_flag[rows] = cls.flag_weights
            else:
                self.custom.append((strat, rows, alpha, len(idx) == K))
        self.any_truth = bool(self.truth_rows.any())
        self.any_unlabeled = bool(self.unlabeled_rows.any())
        self.max_alpha = max([m.alpha for m in members] + [0.0])
        self.all_objective = sum(len(r) for _, r, _ in self.objectives) == K
        self._counts, self._constant = {}, {}
        self.needs_labels = any(type(s).needs_labels for s, _ in self.strategies)

    def needs_anomaly_loss(self, epoch: int) -> bool:
        """Whether any member's objective (or ranking) uses L_a in ``epoch``; when none does, the
        trainer asks the backbone for L_n alone (:meth:`Backbone.normal_loss`)."""
        warm = epoch < self.warmup
        return any(type(s).uses_anomaly_loss and not (warm and type(s).uses_warmup) for s, _ in self.strategies)

    def loss(self, ln, la, idx, epoch, y, labeled):
        """Per-member objective ``(K,)`` of a batch from the losses ``(K, B)`` (with gradients),
        and the detached ``(w_n, w_a, flag)`` recorded for the plots."""
        leave_out = labeled & self.unlabeled_rows if labeled is not None and self.any_unlabeled else None
        if self.all_objective:
            wn, wa, flag = self._unflagged(ln)
            per_member = ln.new_zeros(ln.shape[0])
        elif leave_out is None and self._flags_none(ln.shape[1], epoch < self.warmup):
            wn, wa, flag = self._unflagged(ln)  # every row on L_n: Blind, and the warm-up of LOE (LOE App. C)
            per_member = ln.mean(dim=1)
        else:
            wn, wa, flag = self(ln.detach(), la.detach(), idx, epoch, y, leave_out)
            if leave_out is None:
                per_member = torch.addcmul(wn * ln, wa, la).mean(dim=1)
            else:
                keep = ~leave_out
                wn, wa, flag = wn * keep, wa * keep, flag & keep
                per_member = torch.addcmul(wn * ln, wa, la).sum(dim=1) / keep.sum(dim=1).clamp_min(1)
        warm = epoch < self.warmup
        for strat, rows, alpha in self.objectives:
            pick = lambda t: None if t is None else t[rows]  # noqa: E731
            ln_r, la_r = ln[rows], la[rows]
            batch = Batch(ln_r.detach() - la_r.detach(), ln_r.detach(), la_r.detach(), alpha, idx[rows], epoch,
                          pick(y), pick(labeled), warm, strat.alpha_max)
            obj, (w_n, w_a, fl) = strat.objective(batch, ln_r, la_r)
            per_member = per_member.index_copy(0, rows, obj)
            wn, wa, flag = wn.index_copy(0, rows, w_n), wa.index_copy(0, rows, w_a), flag.index_copy(0, rows, fl)
        return per_member, wn, wa, flag

    def _batch_counts(self, B: int, warm: bool):
        """⌊αB⌋ of the flag-weight rows in a batch of ``B`` and their maximum, known without reading
        the device after the first batch of that size; (None, 0) when no row flags any sample."""
        key = (B, warm)
        if key not in self._counts:
            counts = flag_counts(self.alpha_warm if warm else self.alpha, B)
            most = int(counts.max())
            self._counts[key] = (counts, most) if most > 0 else (None, 0)
        return self._counts[key]

    def _flags_none(self, B: int, warm: bool) -> bool:
        """Whether no weight-based row can flag a sample of a batch of ``B`` without labelled anomalies."""
        return (self._batch_counts(B, warm)[1] == 0 and not self.any_truth
                and all(warm and strat.uses_warmup for strat, *_ in self.custom))

    def _unflagged(self, ln):
        """(w_n, w_a, flag) = (1, 0, False) for every sample, shaped like ``ln``: one cached set per
        batch shape (the trainer only reads them)."""
        key = tuple(ln.shape)
        if key not in self._constant:
            self._constant[key] = (torch.ones_like(ln), torch.zeros_like(ln), torch.zeros_like(ln, dtype=torch.bool))
        return self._constant[key]

    def __call__(self, ln, la, idx, epoch, y, leave_out):
        """(w_n, w_a, flag) of the weight-based strategies; ``leave_out`` marks labelled anomalies
        that the unsupervised rows must not rank (None when there are none)."""
        warm = epoch < self.warmup
        s_train = ln - la
        B = s_train.shape[1]
        if leave_out is None:
            counts, most = self._batch_counts(B, warm)
            ranked = s_train
        else:
            counts = flag_counts(self.alpha_warm if warm else self.alpha, (~leave_out).sum(1, keepdim=True))
            most = min(B, int(self.max_alpha * B) + 1)  # an upper bound of the counts
            ranked = s_train.masked_fill(leave_out, float("-inf"))
        if counts is None or most == 0:
            flag = torch.zeros_like(s_train, dtype=torch.bool)
        else:
            flag = top_n_mask(ranked, counts, most)
        if self.any_truth:
            flag = torch.where(self.truth_rows, y > 0.5, flag)
        wn, wa, flag = flag_to_weights(flag, self.wn_flag, self.wa_flag)
        for strat, rows, alpha, whole in self.custom:
            if warm and strat.uses_warmup:
                continue
            pick = (lambda t: t) if whole else (lambda t: None if t is None else t[rows])  # noqa: E731
            w = strat.weights(Batch(pick(s_train), pick(ln), pick(la), alpha, pick(idx), epoch, pick(y),
                                    pick(leave_out), warm, strat.alpha_max))
            if whole:
                return w
            for dst, src in zip((wn, wa, flag), w):
                dst[rows] = src
        return wn, wa, flag

    def end_epoch(self, epoch, scores, model):
        for strat, rows in self.strategies:
            strat.end_epoch(EpochEnd(epoch, None if scores is None else scores[rows], model, rows.tolist()))

    def wants_scores(self, epoch: int) -> bool:
        return any(s.wants_scores(epoch) for s, _ in self.strategies)

    def finish(self, model):
        for strat, rows in self.strategies:
            strat.finish(model, rows.tolist())

    def extra_history(self, n_models: int) -> dict:
        """Per-member values of each strategy's own ``history`` dict (e.g. IAD rounds)."""
        extra = {}
        for strat, rows in self.strategies:
            for key, value in getattr(strat, "history", {}).items():
                slot = extra.setdefault(key, [None] * n_models)
                for j, k in enumerate(rows.tolist()):
                    slot[k] = value[j] if isinstance(value, (list, tuple, np.ndarray)) else value
        return extra
