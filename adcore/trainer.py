"""One training loop for every backbone × strategy, on K stacked members at once.

Each member has its own seed (initial weights and data order), strategy,
assumed contamination α and, optionally, its own training set of equal size.
The loss summed over members has independent gradients per member, and Adam
is element-wise, so member k trains as it would alone (LOE Alg. 1 per member).
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from adcore.backbones import Backbone, build_backbone
from adcore.batching import BatchPlan
from adcore.device import choose_threads, resolve_device, torch_threads
from adcore.history import History
from adcore.validation import TrainingDiverged, diverged_text
from adcore.weighting import Weighting

RECORDS = 25  # per-sample records of a run by default (every few epochs: the history costs a scoring pass each)


@dataclass(frozen=True)
class Member:
    """One model of a stacked run."""

    strategy: str = "blind"
    alpha: float = 0.1
    seed: int = 0
    strategy_params: tuple = ()  # sorted (name, value) pairs, hashable for grouping


@dataclass
class TrainConfig:
    epochs: int = 50
    batch_size: int | None = 128  # None: full batch
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup: int = 2  # epochs trained blind by strategies that use warm-up (LOE App. C)
    device: str = "auto"
    threads: int | str = "auto"
    record_every: int | None = None  # per-sample history every n epochs (the last always); None: ~RECORDS records
    max_recorded_samples: int = 1000  # per-sample history of at most this many training samples per member
    test_every: int = 0  # test AUROC every n epochs; 0: never during training
    labeled_batch: int | None = None  # labelled anomalies added to each batch (adcore.batching.BatchPlan); None: mixed in
    lr_milestones: tuple = ()  # epochs at which the learning rate is multiplied by lr_gamma (DP-VAE App. D.2)
    lr_gamma: float = 0.1
    grad_clip: float = 0.0  # clip each member's gradient norm to this (DP-VAE App. D.2); 0: off
    precision: str = "float32"  # "bfloat16": the training steps' matrix products in bfloat16 (autocast)


@dataclass
class TrainResult:
    backbone: Backbone
    history: History
    members: list[Member]
    config: TrainConfig
    fit_seconds: float
    device: str
    threads: int
    stopped: bool = False

    @torch.no_grad()
    def score(self, x) -> np.ndarray:
        """Test scores ``(K, N)`` of ``x`` (shared ``(N, …)`` or per member ``(K, N, …)``)."""
        self.backbone.eval()
        return _apply(self.backbone.score, _as_member_tensor(x, self.backbone)).cpu().numpy()

    @torch.no_grad()
    def embed(self, x) -> np.ndarray:
        self.backbone.eval()
        return _apply(self.backbone.embed, _as_member_tensor(x, self.backbone)).cpu().numpy()


def _stack(values, n_models: int, dtype=torch.float32):
    """``(K, N, …)`` tensor from one array shared by all members or a list of K arrays."""
    if values is None:
        return None
    if isinstance(values, (list, tuple)):
        if len(values) != n_models:
            raise ValueError(f"got {len(values)} per-member arrays for {n_models} members")
        return torch.stack([torch.as_tensor(np.asarray(v), dtype=dtype) for v in values])
    t = torch.as_tensor(np.asarray(values), dtype=dtype)
    return t.unsqueeze(0).expand(n_models, *t.shape)


def _as_member_tensor(x, backbone: Backbone) -> torch.Tensor:
    device = next(iter([*backbone.buffers(), *backbone.parameters()])).device
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if x.dim() == len(backbone.input_shape) + 1:
        x = x.unsqueeze(0).expand(backbone.n_models, *x.shape)
    return x.to(device)


def _apply(fn, x: torch.Tensor):
    """``fn`` (a bound backbone method) on ``x`` in pieces of the backbone's ``eval_rows()``;
    a tuple result is concatenated element-wise."""
    rows = fn.__self__.eval_rows()
    if x.shape[1] <= rows:
        return fn(x)
    parts = [fn(x[:, i : i + rows]) for i in range(0, x.shape[1], rows)]
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(p, dim=1) for p in zip(*parts))
    return torch.cat(parts, dim=1)


PRECISIONS = ("float32", "bfloat16")
PRECISION_HELP = ("bfloat16 runs the training steps' matrix products in bfloat16: 2-3× faster on CPUs with AVX-512 "
                  "BF16 or AMX and on recent GPUs, with AUROC within the seeds' noise in our tests (docs/BENCHMARKS.md); "
                  "weights, optimizer and scores stay float32")


def step_precision(precision: str, device: torch.device):
    """The autocast context of the training steps: ``bfloat16`` runs their matrix products in bfloat16
    (2-3× the float32 rate on CPUs with AVX-512 BF16 or AMX and on recent GPUs), with float32 weights,
    optimizer and scores; ``float32`` changes nothing."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}; got {precision!r}")
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def clip_member_grads(model: torch.nn.Module, max_norm: float) -> None:
    """Scale each member's gradient to norm ≤ ``max_norm`` (its own norm over all its parameters,
    so that clipping never couples stacked members)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return
    norm = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
    coef = (max_norm / (norm + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))


def _sample_subset(n: int, n_models: int, limit: int, seeds) -> torch.Tensor:
    if n <= limit:
        return torch.arange(n).expand(n_models, n)
    return torch.stack([torch.randperm(n, generator=torch.Generator().manual_seed(s + 7))[:limit].sort().values
                        for s in seeds])


def _auroc_rows(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return np.array([roc_auc_score(yk, sk) if 0 < yk.sum() < len(yk) else np.nan for yk, sk in zip(y, scores)])


def _fit_shallow(model, members, x_tr, lab, config, device) -> TrainResult:
    """Fit each member of a shallow baseline once on its unlabelled training samples."""
    start = time.perf_counter()
    model.fit([x_tr[k] if lab is None else x_tr[k][~lab[k]] for k in range(len(members))])
    history = History.empty([m.strategy for m in members], [m.alpha for m in members], [m.seed for m in members])
    return TrainResult(model, history, list(members), config, time.perf_counter() - start, str(device), 1)


def train(backbone: str, members: list[Member], X_train, *, y_train=None, labeled=None,
          X_test=None, y_test=None, backbone_params: dict | None = None, config: TrainConfig | None = None,
          eval_sets: dict | None = None, progress: Callable | None = None,
          should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train ``len(members)`` stacked copies of ``backbone``.

    ``X_train`` (and ``y_train``, ``labeled``, ``X_test``, ``y_test``) is one
    array shared by all members or a list with one array per member.
    ``eval_sets`` maps names to arrays scored at every recorded epoch (e.g. a
    contour grid). ``progress(epoch, epochs, losses)`` is called after each
    epoch; training stops early when ``should_stop()`` returns True.
    """
    config = config or TrainConfig()
    K = len(members)
    device = resolve_device(config.device)
    seeds = [m.seed for m in members]
    torch.manual_seed(seeds[0])
    x_tr = _stack(X_train, K).to(device)
    N = x_tr.shape[1]
    y_tr = _stack(y_train, K).to(device) if y_train is not None else None
    lab = _stack(labeled, K, torch.bool).to(device) if labeled is not None else None
    x_te = _stack(X_test, K).to(device) if X_test is not None else None
    y_te = _stack(y_test, K).cpu().numpy() if y_test is not None else None
    evals = {n: torch.as_tensor(np.asarray(v), dtype=torch.float32).to(device) for n, v in (eval_sets or {}).items()}

    model = build_backbone(backbone, x_tr.shape[2:], seeds, backbone_params).to(device)
    if getattr(model, "shallow", False):
        return _fit_shallow(model, members, x_tr, lab, config, device)
    weighting = Weighting(members, N, config.warmup, device)
    if y_tr is None and weighting.needs_labels:
        raise ValueError("strategy 'gtruth' needs the true labels of the training data")
    B = min(config.batch_size or N, N)
    plan = BatchPlan(lab, N, B, config.labeled_batch, seeds, device)
    threads = choose_threads(model.work_per_step(plan.step_size), config.threads) if device.type == "cpu" else torch.get_num_threads()

    autocast = step_precision(config.precision, device)
    E = config.epochs
    every = config.record_every or max(1, -(-E // RECORDS))
    rec_epochs = [e for e in range(E) if (e + 1) % every == 0 or e == E - 1]
    rec_pos = {e: i for i, e in enumerate(rec_epochs)}
    sub = _sample_subset(N, K, config.max_recorded_samples, seeds).to(device)
    S = sub.shape[1]
    kk = torch.arange(K, device=device)[:, None]
    rec = {n: torch.zeros(len(rec_epochs), K, S) for n in ("train_scores", "weight_normal", "weight_anomaly")}
    rec["flags"] = torch.zeros(len(rec_epochs), K, S, dtype=torch.bool)
    losses = torch.full((3, E, K), float("nan"))
    prec = torch.full((E, K), float("nan"))
    recall = torch.full((E, K), float("nan"))
    test_auroc = np.full((len(rec_epochs), K), np.nan)
    eval_rec = {n: torch.zeros(len(rec_epochs), K, v.shape[0]) for n, v in evals.items()}
    stopped = False
    epochs_run = 0

    start = time.perf_counter()
    with torch_threads(threads):
        model.setup(x_tr)
        state = [t for t in model.state_dict().values() if t.is_floating_point()]
        params = list(model.parameters())
        diverged, last_good = None, [t.detach().clone() for t in state]
        # not the fused CPU kernel: its vector lanes round differently by position, so a member's numbers
        # depended on K (stacked vs alone, ~5e-4 AUROC after 100s of epochs); foreach is as fast here
        opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                               fused=device.type == "cuda", foreach=device.type != "cuda")
        for epoch in range(E):
            if should_stop is not None and should_stop():
                stopped = True
                break
            model.train()
            model.start_epoch(epoch)
            for group in opt.param_groups:
                group["lr"] = config.lr * config.lr_gamma ** sum(epoch >= m for m in config.lr_milestones)
            recording = epoch in rec_pos
            wn_ep = torch.ones(K, N, device=device)
            wa_ep = torch.zeros(K, N, device=device)
            fl_ep = torch.zeros(K, N, dtype=torch.bool, device=device)
            with_la = weighting.needs_anomaly_loss(epoch)
            steps = []
            for idx in plan.epoch():
                with autocast:
                    if with_la:
                        ln, la = model.losses(x_tr[kk, idx], train=True)
                    else:
                        ln = model.normal_loss(x_tr[kk, idx], train=True)
                        la = torch.zeros_like(ln)
                ln, la = ln.float(), la.float()
                per_member, wn, wa, flag = weighting.loss(ln, la, idx, epoch,
                                                          y_tr[kk, idx] if y_tr is not None else None,
                                                          lab[kk, idx] if lab is not None else None)
                opt.zero_grad(set_to_none=True)
                per_member.sum().backward()
                if config.grad_clip > 0:
                    clip_member_grads(model, config.grad_clip)
                opt.step()
                steps.append((idx, wn, wa, flag, per_member.detach(), ln.detach(), la.detach()))
            with torch.no_grad():  # the epoch's curves from what the steps computed: no pass of their own
                losses[0, epoch] = torch.stack([st[4] for st in steps]).mean(0).cpu()
                losses[1, epoch] = torch.cat([st[5] for st in steps], dim=1).mean(1).cpu()
                losses[2, epoch] = torch.cat([st[6] for st in steps], dim=1).mean(1).cpu() if with_la else float("nan")
                idx_all = torch.cat([st[0] for st in steps], dim=1)
                if recording or y_tr is not None:
                    fl_ep.scatter_(1, idx_all, torch.cat([st[3] for st in steps], dim=1))
                if recording:
                    wn_ep.scatter_(1, idx_all, torch.cat([st[1] for st in steps], dim=1))
                    wa_ep.scatter_(1, idx_all, torch.cat([st[2] for st in steps], dim=1))
            bad = ~torch.isfinite(losses[0, epoch])
            if bad.any() or not bool(torch.stack(torch._foreach_norm(params)).isfinite().all()):
                torch._foreach_copy_(state, last_good)  # divergence: keep the last finite epoch, raise after the history
                diverged = (epoch, [k for k in range(K) if bad[k]] or list(range(K)))
                break
            torch._foreach_copy_(last_good, state)
            if y_tr is not None:
                truth = y_tr > 0.5
                hits = (fl_ep & truth).sum(1).float()
                prec[epoch] = (hits / fl_ep.sum(1)).cpu()
                recall[epoch] = (hits / truth.sum(1)).cpu()
            model.eval()
            with torch.no_grad():
                # every training sample is scored only where a strategy needs it (and at the last epoch);
                # the history's other records score its subsample alone
                full = weighting.wants_scores(epoch) or epoch == E - 1
                scores = _apply(model.score, x_tr) if full else None
                weighting.end_epoch(epoch, scores, model)
                if recording:
                    r = rec_pos[epoch]
                    if scores is not None:
                        rec["train_scores"][r] = scores[kk, sub].cpu()
                    else:
                        rec["train_scores"][r] = _apply(model.score, x_tr if S == N else x_tr[kk, sub]).cpu()
                    for name, src in (("weight_normal", wn_ep), ("weight_anomaly", wa_ep), ("flags", fl_ep)):
                        rec[name][r] = src[kk, sub].cpu()
                    for name, v in evals.items():
                        eval_rec[name][r] = _apply(model.score, v.unsqueeze(0).expand(K, *v.shape)).cpu()
                    if x_te is not None and y_te is not None and config.test_every and \
                            ((epoch + 1) % config.test_every == 0 or epoch == E - 1):
                        test_auroc[r] = _auroc_rows(y_te, _apply(model.score, x_te).cpu().numpy())
            epochs_run = epoch + 1
            if progress is not None:
                progress(epoch + 1, E, {"loss": losses[0, epoch].tolist()})
        weighting.finish(model)
    fit_seconds = time.perf_counter() - start

    n_rec = sum(1 for e in rec_epochs if e < epochs_run)
    history = History(
        strategies=[m.strategy for m in members], alphas=[m.alpha for m in members], seeds=seeds,
        loss_total=losses[0, :epochs_run].numpy(), loss_normal=losses[1, :epochs_run].numpy(),
        loss_anomaly=losses[2, :epochs_run].numpy(), precision=prec[:epochs_run].numpy(),
        recall=recall[:epochs_run].numpy(), recorded_epochs=np.array(rec_epochs[:n_rec]),
        sample_index=sub.cpu().numpy(), test_auroc=test_auroc[:n_rec],
        eval={n: a[:n_rec].numpy() for n, a in eval_rec.items()},
        **{n: a[:n_rec].numpy() for n, a in rec.items()},
    )
    history.extra.update(weighting.extra_history(K))
    if diverged is not None:
        raise TrainingDiverged(diverged_text(config, members, *diverged), TrainResult(
            model, history, list(members), config, fit_seconds, str(device), threads, True))
    return TrainResult(model, history, list(members), config, fit_seconds, str(device), threads, stopped)

