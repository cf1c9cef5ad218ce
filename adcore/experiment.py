"""Experiments: a dataset, a protocol, one backbone and several strategies × seeds.

This is the one path the CLI, the app and the benchmarks use: it builds each
seed's contaminated split, trains all (strategy, seed) members of the backbone
as stacked models, and evaluates every member on its own test set.
"""
from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np
import torch

from adcore.data import Dataset, DataError, load, make_split
from adcore.metrics import evaluate
from adcore.registry import BACKBONES, STRATEGIES
from adcore.backbones import build_backbone
from adcore.device import resolve_device
from adcore.trainer import Member, TrainConfig, TrainResult, train
from adcore.validation import check_config, check_fields

STACK_BYTES = 256 * 2**20  # above this, members are stacked per seed instead of all at once
STACK_WORK = 6e8  # multiply-adds of one training step above which more members in a stack stop paying (BENCHMARKS)
ENSEMBLE_STRIDE = 1_000_000  # ensemble member j of seed s starts from seed s + j·ENSEMBLE_STRIDE


def split_seed(cfg, member_seed: int) -> int:
    """The seed of the split (and of ensemble member 0) that a member's seed belongs to."""
    return member_seed % ENSEMBLE_STRIDE if cfg.ensemble > 1 else member_seed


@dataclass
class ExperimentConfig:
    """Everything that defines a run; ``to_dict``/``from_dict`` round-trip through JSON."""

    data: str = "toy"
    method: str | None = None  # the named method this config was set up for (adcore.methods), a label
    data_options: dict = field(default_factory=dict)
    protocol: str | None = None  # None: 'fresh' for toy mixtures, 'split' otherwise
    protocol_options: dict = field(default_factory=dict)  # e.g. {"normal_class": 3} for one_vs_rest
    alpha0: float | None = 0.1  # true training contamination the protocol creates
    alpha: float | None = None  # contamination the strategies assume; None: α0 (or the natural ratio)
    backbone: str = "deepsvdd_rbf"
    backbone_params: dict = field(default_factory=dict)
    strategies: list = field(default_factory=lambda: ["blind", "loe_hard", "loe_soft"])
    strategy_params: dict = field(default_factory=dict)  # strategy name → {param: value}
    seeds: list = field(default_factory=lambda: [0])
    epochs: int = 50
    batch_size: int | None = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup: int = 2
    device: str = "auto"
    threads: int | str = "auto"
    shortage: str = "error"
    train_normal_frac: float = 0.5
    n_labeled: int = 0  # labelled anomalies on top of the unlabelled pool (whose contamination is alpha0)
    labeled_ratio: float | None = None  # or their ratio γ_l = N_labelled / N_train (DP-VAE Sec. 4.1)
    labeled_batch: int | None = None  # labelled anomalies added to every batch (balanced, EOE App. G); None: mixed in
    oe: str | None = None  # auxiliary outlier-exposure set: a data spec, or "class:C" (class C of the data)
    oe_n: int | None = None  # how many OE samples (None: all)
    oe_options: dict = field(default_factory=dict)
    standardize: bool | None = None  # None: yes for tabular files, no for toy mixtures
    test_every: int = 0
    record_every: int | None = None  # the history's per-sample records every n epochs; None: ~25 records
    lr_milestones: list = field(default_factory=list)  # epochs where lr is multiplied by lr_gamma (DP-VAE App. D.2)
    lr_gamma: float = 0.1
    grad_clip: float = 0.0  # each member's gradient norm clipped to this (DP-VAE App. D.2); 0: off
    precision: str = "float32"  # or "bfloat16": the training steps' matrix products (adcore.trainer.step_precision)
    ensemble: int = 1  # models per seed on the seed's split; > 1 adds a row scoring their mean (DP-VAE Sec. 4.3)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ExperimentConfig":
        """From JSON: each value's type is checked (``ConfigError`` names the field)."""
        return cls(**check_fields(cls, d))

    def validate(self) -> None:
        """Raise ``ValueError`` with a clear message for impossible settings."""
        check_config(self)
        BACKBONES.resolve_params(self.backbone, self.backbone_params)
        if not self.strategies:
            raise ValueError("choose at least one strategy")
        for s in self.strategies:
            size = STRATEGIES.resolve_params(s, self.strategy_params.get(s)).get("ensemble_size")
            if size is not None and size != self.ensemble:  # iad_ensemble: its ensembles are a seed's models
                raise ValueError(f"strategy {s!r} trains ensembles of {size} models on one split: set the ensemble "
                                 f"size to {size} (CLI --ensemble {size}), or its ensemble_size to {self.ensemble}")
        if not self.seeds:
            raise ValueError("give at least one seed")
        if self.epochs < 1:
            raise ValueError("epochs must be at least 1")
        if self.batch_size is not None and self.batch_size < 2:
            raise ValueError("batch size must be at least 2 (or None for full batch)")
        if self.alpha is not None and not 0 <= self.alpha < 1:
            raise ValueError(f"the assumed contamination α must lie in [0, 1); got {self.alpha}")
        if self.lr <= 0:
            raise ValueError("the learning rate must be positive")
        if getattr(BACKBONES.get(self.backbone), "shallow", False) and list(self.strategies) != ["blind"]:
            raise ValueError(f"{self.backbone!r} is a shallow baseline: it takes no strategy (use 'blind')")
        if self.labeled_batch is not None and self.labeled_batch < 1:
            raise ValueError("labeled_batch must be at least 1 (or None to mix labelled anomalies in)")
        if self.oe_n is not None and self.oe_n < 0:
            raise ValueError("oe_n, the number of outlier-exposure samples, must be 0 or more")
        if not isinstance(self.ensemble, int) or not 1 <= self.ensemble <= 100:
            raise ValueError(f"ensemble, the number of models per seed, must be a whole number from 1 to 100; "
                             f"got {self.ensemble!r}")
        if self.ensemble > 1 and any(s >= ENSEMBLE_STRIDE for s in self.seeds):
            raise ValueError(f"with an ensemble the seeds must be below {ENSEMBLE_STRIDE:,}")
        if not all(isinstance(m, int) and m > 0 for m in self.lr_milestones) or not self.lr_gamma > 0:
            raise ValueError("lr_milestones must be positive epoch numbers and lr_gamma positive")
        if not self.grad_clip >= 0:
            raise ValueError("grad_clip must be 0 (off) or a positive gradient norm")


@dataclass
class ExperimentResult:
    config: ExperimentConfig
    members: list[Member]
    runs: list[dict]
    summary: dict
    splits: list  # one Split per seed
    train_results: list[tuple[TrainResult, list[int]]]  # each stacked fit with the member indices it holds
    test_scores: list[np.ndarray]  # per member
    seconds: float

    def split_of(self, k: int):
        return self.splits[self.config.seeds.index(split_seed(self.config, self.members[k].seed))]

    def fit_of(self, k: int) -> tuple[TrainResult, int]:
        """The stacked fit holding member ``k`` and ``k``'s position in it."""
        for res, idx in self.train_results:
            if k in idx:
                return res, idx.index(k)
        raise IndexError(k)

    def history(self, k: int):
        res, j = self.fit_of(k)
        return res.history.member(j)

    def embed(self, k: int, X) -> np.ndarray:
        res, j = self.fit_of(k)
        return res.embed(X)[j]

    def score(self, k: int, X) -> np.ndarray:
        res, j = self.fit_of(k)
        return res.score(X)[j]

    def to_json(self) -> dict:
        return {"config": self.config.to_dict(), "runs": self.runs, "summary": self.summary,
                "splits": [s.info for s in self.splits], "seconds": self.seconds,
                "environment": {"torch": torch.__version__, "python": platform.python_version(),
                                "device": self.train_results[0][0].device,
                                "threads": self.train_results[0][0].threads}}


def outlier_exposure_set(cfg: ExperimentConfig, ds: Dataset) -> tuple[Dataset, Dataset | None]:
    """(data, OE set) for ``cfg.oe``: ``class:C`` moves class C out of the data into the OE set;
    any other spec is loaded (images at the data's size and channels)."""
    if not cfg.oe:
        return ds, None
    if cfg.oe.startswith("upload:"):
        raise DataError(f"the outlier-exposure set is the uploaded file {cfg.oe[len('upload:'):]!r}: upload it "
                        "again (or name a data spec or class:C)")
    if cfg.oe.startswith("class:"):
        from adcore.data.images import resolve_class_list

        if ds.classes is None:
            raise DataError(f"--oe {cfg.oe}: this data has no classes; name another data set as the OE source")
        picked = resolve_class_list(cfg.oe[len("class:"):], ds.meta.get("class_names"),
                                    sorted(np.unique(ds.classes).tolist()))
        inside = np.isin(ds.classes, picked)
        oe = ds.subset(np.flatnonzero(inside), f"{ds.name} class {cfg.oe[len('class:'):]}")
        return ds.subset(np.flatnonzero(~inside), ds.name), oe
    options = dict(cfg.oe_options)
    if ds.kind == "image":
        options.setdefault("size", tuple(ds.X.shape[2:]))
        options.setdefault("channels", ds.X.shape[1])
    oe = load(cfg.oe, **options)
    return ds, oe


def train_config(cfg: ExperimentConfig, **given) -> TrainConfig:
    """The trainer's settings of ``cfg`` (every TrainConfig field the experiment has), ``given`` on top."""
    shared = {f.name for f in fields(TrainConfig)} & {f.name for f in fields(ExperimentConfig)}
    values = {name: getattr(cfg, name) for name in shared}
    values["lr_milestones"] = tuple(values.get("lr_milestones", ()))
    return TrainConfig(**{**values, **given})


def member_groups(backbone: str, input_shape, params: dict, n_members: int, batch_size: int | None,
                  n_samples: int | None = None, device: str = "cpu") -> list[list[int]]:
    """Members ``0 … n_members-1`` in stacks trained one after another: small models gain from stacking
    (one step's overhead for all), but once a CPU step is compute-bound a larger stack only adds memory
    traffic, so a stack holds at most ⌊STACK_WORK / one member's work per step⌋ members, in groups of
    near-equal size (docs/BENCHMARKS.md, "Stacking"). This holds for the batched matrix products of
    tabular models; images stay in one stack (grouped convolutions gain from stacking, BENCHMARKS
    "Stacked convolutions"), and so does everything on a GPU."""
    if len(input_shape) != 1 or resolve_device(device).type != "cpu":
        return [list(range(n_members))]
    one = build_backbone(backbone, input_shape, [0], params)
    if getattr(one, "shallow", False):
        return [list(range(n_members))]
    rows = batch_size or n_samples or 1
    most = max(1, int(STACK_WORK // max(one.work_per_step(rows), 1.0)))
    n_groups = -(-n_members // most)
    return [list(part) for part in np.array_split(np.arange(n_members), n_groups)]


def resolve_protocol(cfg: ExperimentConfig, ds: Dataset) -> str:
    return cfg.protocol or ("fresh" if ds.sampler is not None else "split")


def run_experiment(cfg: ExperimentConfig, dataset: Dataset | None = None, *, eval_sets: dict | None = None,
                   progress=None, should_stop=None, oe_dataset: Dataset | None = None) -> ExperimentResult:
    """Run ``cfg``; ``dataset`` overrides ``cfg.data`` (e.g. an upload already loaded), ``oe_dataset``
    the outlier-exposure set ``cfg.oe`` names (an uploaded one: ``cfg.oe = "upload:NAME"``).

    ``progress(done, total)`` reports epochs over all stacked fits; training stops
    early when ``should_stop()`` is true (the result then holds what was trained).
    """
    cfg.validate()
    start = time.perf_counter()
    ds = dataset if dataset is not None else load(cfg.data, **cfg.data_options)
    protocol = resolve_protocol(cfg, ds)
    cfg = replace(cfg, protocol=protocol)
    standardize = cfg.standardize if cfg.standardize is not None else ds.sampler is None
    ds, oe = (ds, oe_dataset) if oe_dataset is not None else outlier_exposure_set(cfg, ds)
    splits = [make_split(ds, protocol, cfg.alpha0, seed, train_normal_frac=cfg.train_normal_frac,
                         shortage=cfg.shortage, n_labeled=cfg.n_labeled, labeled_ratio=cfg.labeled_ratio,
                         oe=oe, oe_n=cfg.oe_n, standardize=standardize, **cfg.protocol_options)
              for seed in cfg.seeds]
    if not any(STRATEGIES.get(s).uses_labels for s in cfg.strategies):
        for split in splits:  # nothing trains on labelled anomalies: they leave the data (they come last, so the
            if split.train.labeled is not None and split.train is not split.test:  # rest trains as without them)
                split.train = split.train.subset(np.flatnonzero(~split.train.labeled))
                split.train.labeled = None
    needs_labels = [s for s in cfg.strategies if STRATEGIES.get(s).needs_labels]
    if needs_labels and splits[0].train.y is None:
        raise DataError(f"strategy {needs_labels[0]!r} needs the true labels, and this data has none")
    alpha = cfg.alpha if cfg.alpha is not None else splits[0].info.get("alpha0_effective", cfg.alpha0 or 0.1)
    members = [Member(s, float(alpha), int(seed) + j * ENSEMBLE_STRIDE,
                      tuple(sorted(cfg.strategy_params.get(s, {}).items())))
               for seed in cfg.seeds for j in range(cfg.ensemble) for s in cfg.strategies]
    tcfg = train_config(cfg)

    shared = protocol == "transductive" and cfg.alpha0 is None or len(cfg.seeds) == 1
    n_bytes = len(members) * splits[0].train.X.nbytes
    if shared or n_bytes <= STACK_BYTES:
        groups = [list(range(len(members)))]
    else:
        groups = [[k for k, m in enumerate(members) if split_seed(cfg, m.seed) == seed] for seed in cfg.seeds]
    train_x = splits[0].train.X
    groups = [[idx[j] for j in part] for idx in groups
              for part in member_groups(cfg.backbone, train_x.shape[1:], cfg.backbone_params, len(idx),
                                        cfg.batch_size, len(train_x), cfg.device)]
    total = cfg.epochs * len(groups)
    fits = []
    for g, idx in enumerate(groups):
        per_seed = [splits[cfg.seeds.index(split_seed(cfg, members[k].seed))] for k in idx]
        one = len({id(s) for s in per_seed}) == 1 or shared
        pick = (lambda f: f(per_seed[0])) if one else (lambda f: [f(s) for s in per_seed])  # noqa: E731
        report = None if progress is None else (lambda e, E, info, g=g: progress(g * cfg.epochs + e, total))
        res = train(cfg.backbone, [members[k] for k in idx], pick(lambda s: s.train.X),
                    y_train=pick(lambda s: s.train.y) if splits[0].train.y is not None else None,
                    labeled=pick(lambda s: s.train.labeled) if splits[0].train.labeled is not None else None,
                    X_test=pick(lambda s: s.test.X) if cfg.test_every else None,
                    y_test=pick(lambda s: s.test.y) if cfg.test_every else None,
                    backbone_params=cfg.backbone_params, config=tcfg, eval_sets=eval_sets,
                    progress=report, should_stop=should_stop)
        fits.append((res, idx))
        if res.stopped:
            break

    runs, test_scores = [], [None] * len(members)
    for res, idx in fits:
        scores = res.score(pick_test(splits, cfg, members, idx))
        for j, k in enumerate(idx):
            m, split = members[k], splits[cfg.seeds.index(split_seed(cfg, members[k].seed))]
            test_scores[k] = scores[j]
            run = {"strategy": m.strategy, **({"method": cfg.method} if cfg.method else {}),
                   "seed": m.seed, **({"split_seed": split_seed(cfg, m.seed)} if cfg.ensemble > 1 else {}),
                   "alpha": m.alpha, "n_labeled": split.info.get("n_labeled", 0),
                   "fit_seconds": res.fit_seconds / len(idx), "stacked_with": len(idx),
                   "epochs_trained": res.history.n_epochs}
            if split.test.y is not None and 0 < split.test.y.sum() < len(split.test.y):
                run.update(evaluate(split.test.y, scores[j]))
            runs.append(run)
    runs += ensemble_runs(cfg, members, splits, test_scores, runs)
    return ExperimentResult(cfg, members, runs, summarize(runs), splits, fits, test_scores,
                            time.perf_counter() - start)


def pick_test(splits, cfg, members, idx):
    tests = [splits[cfg.seeds.index(split_seed(cfg, members[k].seed))].test.X for k in idx]
    if all(t is tests[0] for t in tests):
        return tests[0]
    if len({t.shape for t in tests}) == 1:
        return np.stack(tests)
    raise DataError("test sets of different sizes cannot be scored together")


def ensemble_runs(cfg, members, splits, test_scores, runs) -> list[dict]:
    """One row per seed and strategy scoring the mean of its ``cfg.ensemble`` members' test scores
    (DP-VAE Sec. 4.3: "the score to be the average over the ELBOs in the ensemble"). Its ``strategy``
    is ``"<strategy> ×K"``, so that tables grouping runs by strategy keep it apart from the single models."""
    if cfg.ensemble < 2:
        return []
    rows = []
    for seed, split in zip(cfg.seeds, splits):
        for s in cfg.strategies:
            ks = [k for k, m in enumerate(members)
                  if m.strategy == s and split_seed(cfg, m.seed) == seed and test_scores[k] is not None]
            if len(ks) < cfg.ensemble:
                continue  # stopped early
            picked = [test_scores[k] for k in ks]
            own = [r for r in runs if r["strategy"] == s and r.get("split_seed") == seed]
            row = {"strategy": f"{s} ×{cfg.ensemble}", "method": f"{cfg.method or s} (ensemble of {cfg.ensemble})",
                   "seed": seed, "alpha": members[ks[0]].alpha, "ensemble": cfg.ensemble,
                   "n_labeled": split.info.get("n_labeled", 0),
                   "fit_seconds": sum(r["fit_seconds"] for r in own), "stacked_with": own[0]["stacked_with"],
                   "epochs_trained": own[0]["epochs_trained"]}
            if split.test.y is not None and 0 < split.test.y.sum() < len(split.test.y):
                aggregate = getattr(STRATEGIES.get(s), "aggregate", None)  # e.g. IAD Table V's median scaling
                score = (np.mean(picked, axis=0) if aggregate is None
                         else aggregate(torch.as_tensor(np.stack(picked))).numpy())
                row.update(evaluate(split.test.y, score))
            rows.append(row)
    return rows


def summarize(runs: list[dict]) -> dict:
    """Mean and standard deviation over seeds of each metric, per method (or strategy)."""
    out = {}
    name = lambda r: r.get("method") or r["strategy"]  # noqa: E731
    for strategy in dict.fromkeys(name(r) for r in runs):
        rows = [r for r in runs if name(r) == strategy]
        out[strategy] = {"n_seeds": len(rows)}
        for key in ("auroc", "ap", "f1", "fit_seconds"):
            vals = [r[key] for r in rows if key in r]
            if vals:
                out[strategy][key] = {"mean": float(np.mean(vals)), "std": float(np.std(vals))}
    return out
