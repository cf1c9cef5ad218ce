"""Named methods: the names users know, each a (backbone, strategy, parameters) preset.

Almost every method of the papers is a backbone trained with a strategy
(Deep SAD = ``deepsvdd`` + ``sad``, PUSVDD = ``deepsvdd`` + ``pu``, …). A
:class:`Method` names that pair, its parameters, the image backbone to use on
image data and any training settings the paper prescribes (balanced batches
for outlier exposure). ``python -m adcore list`` prints the table; the CLI's
``--method`` and the app's method lists read it.
"""
from __future__ import annotations

import os
import re
from dataclasses import MISSING, dataclass, field, fields, replace

from adcore.registry import BACKBONES, STRATEGIES


@dataclass(frozen=True)
class Method:
    name: str
    backbone: str
    strategy: str
    paper: str
    image_backbone: str | None = None
    backbone_params: dict = field(default_factory=dict)
    strategy_params: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)  # ExperimentConfig fields the method prescribes
    # per-dataset overrides, dataset key (see dataset_key) → {"backbone_params", "strategy_params", "settings",
    # "polluted": the same three, applied on top when the unlabelled pool is contaminated (α0 > 0)}
    presets: dict = field(default_factory=dict)
    tabular_params: dict = field(default_factory=dict)  # backbone parameters for tabular data only

    def params_for(self, kind: str) -> dict:
        """The backbone parameters of the method on ``kind`` data (before per-dataset presets)."""
        return {**self.backbone_params, **(self.tabular_params if kind != "image" else {})}

    @property
    def uses_labels(self) -> bool:
        """Whether the method trains on labelled anomalies (else they are left out of its training)."""
        return STRATEGIES.get(self.strategy).uses_labels

    def backbone_for(self, kind: str) -> str:
        return self.image_backbone if kind == "image" and self.image_backbone else self.backbone

    def describe(self) -> dict:
        return {"name": self.name, "backbone": self.backbone, "image_backbone": self.image_backbone,
                "strategy": self.strategy, "backbone_params": self.backbone_params,
                "tabular_params": self.tabular_params,
                "strategy_params": self.strategy_params, "settings": self.settings, "paper": self.paper,
                "uses_labels": self.uses_labels, "dataset_presets": sorted(self.presets)}

    def preset_for(self, data: str, polluted: bool = False) -> dict:
        """The per-dataset overrides for data spec ``data`` (empty when none)."""
        preset = self.presets.get(dataset_key(data), {})
        extra = preset.get("polluted", {}) if polluted else {}
        return {part: {**preset.get(part, {}), **extra.get(part, {})}
                for part in ("backbone_params", "strategy_params", "settings")}


def dataset_key(spec) -> str:
    """A data spec's preset key: the file name without extension and ADBench's number prefix, or the
    loader prefix (``/…/38_thyroid.npz`` → ``thyroid``, ``mnist:PATH`` → ``mnist``)."""
    spec = str(spec)
    head = spec.split(":", 1)[0] if ":" in spec and not os.path.exists(spec) else spec
    return re.sub(r"^\d+_", "", os.path.splitext(os.path.basename(head.rstrip("/")))[0].lower())


# Deep SVDD-based methods: c from autoencoder pre-training (PU paper Sec. 5.3) and, on tabular data, Ruff et al.'s
# bias-free MLP with batch norm (without it the MLP collapses on standardised data: docs/RESULTS.md, issue 12)
PRETRAINED = {"pretrain_epochs": 10}
SVDD_MLP = {"batch_norm": True}
BALANCED = {"labeled_batch": 128}  # EOE App. G: every batch 128 normal + 128 OE samples

# DP-VAE App. D: 150 epochs (200 for images), batch 128, lr × 0.1 every 50 epochs, gradient clipping (our norm: 10);
# labelled anomalies come 32 per batch and their loss is averaged apart from the normal one (reduction "separate"),
# so that ELBO(X_normal) and the outlier term each enter as a mean, as a VAE loss over a batch does
VAE_SCHEDULE = {"epochs": 150, "batch_size": 128, "lr_milestones": [50, 100], "grad_clip": 10.0}
ND_SETTINGS = {**VAE_SCHEDULE, "labeled_batch": 32}
VAE_TRAINING = {"recon": "mean", "kl_anneal": 20}  # App. D: 20-epoch KL annealing; β values on the per-feature scale
# App. D.2: γ = 1, outlier terms after a 50-epoch warm-up on normal data
ND_START = {"eta": 1.0, "start_epoch": 50, "reduction": "separate"}


def _vae_presets(table: dict, alpha_or_cubo: str) -> dict:
    """Per-dataset presets from DP-VAE App. D.1 (sizes) and Table 11 / 12 (interval, lr, β_KL, α or β_CUBO)."""
    sizes = {"arrhythmia": ((128, 64), 32), "cardio": ((32, 16), 8), "satellite": ((32, 16), 8),
             "satimage-2": ((32, 16), 8), "shuttle": ((32, 16), 8), "thyroid": ((32, 16), 4)}
    archs = {"mnist": "vae_mnist", "fashion-mnist": "vae_fmnist", "fmnist": "vae_fmnist", "cifar10": "cifar",
             "cifar-10": "cifar"}
    out = {}
    for key, row in table.items():
        interval, lr, beta_kl, last = row[:4]
        image = key in archs or key == "catsvsdogs"
        bp = {"beta_kl": beta_kl, alpha_or_cubo: last}
        if key in sizes:
            bp.update(hidden=sizes[key][0], latent_dim=sizes[key][1])
        if key in archs:
            bp["arch"] = archs[key]
        out[key] = {"backbone_params": bp, "strategy_params": {"every": interval},
                    "settings": {"lr": lr, **({"epochs": 200} if image else {})}}
        if len(row) > 4:  # Table 12's values in parentheses: the polluted setting
            lr_p, last_p = row[4]
            out[key]["polluted"] = {"settings": {"lr": lr_p}, "backbone_params": {alpha_or_cubo: last_p}}
    for a, b in (("fmnist", "fashion-mnist"), ("cifar10", "cifar-10")):
        if b in out:
            out[a] = out[b]
    return out


DPVAE_TABLE_11 = {  # ND update interval, learning rate, β_KL, α
    "mnist": (2, 1e-3, 0.005, 10), "fashion-mnist": (2, 1e-3, 0.005, 10), "cifar-10": (2, 1e-3, 0.005, 10),
    "catsvsdogs": (1, 1e-3, 0.005, 10), "arrhythmia": (1, 5e-4, 0.5, 2), "cardio": (1, 1e-3, 0.05, 5),
    "satellite": (1, 1e-3, 0.05, 5), "satimage-2": (1, 5e-4, 0.05, 10), "shuttle": (1, 1e-3, 0.05, 5),
    "thyroid": (1, 1e-4, 0.05, 10)}
MMLVAE_TABLE_12 = {  # ND update interval, learning rate, β_KL, β_CUBO, (polluted: learning rate, β_CUBO)
    "mnist": (2, 5e-4, 0.005, 0.005, (2e-4, 0.02)), "fashion-mnist": (2, 1e-3, 0.005, 0.005, (1e-3, 0.25)),
    "cifar-10": (2, 1e-3, 0.005, 0.005), "catsvsdogs": (1, 5e-4, 0.005, 0.005),
    "arrhythmia": (1, 5e-4, 0.5, 0.5), "cardio": (1, 1e-3, 0.05, 0.05), "satellite": (1, 1e-3, 0.05, 0.05),
    "satimage-2": (1, 1e-3, 0.05, 0.05), "shuttle": (1, 1e-3, 0.05, 0.05), "thyroid": (1, 1e-4, 0.05, 0.05)}

METHODS: dict[str, Method] = {m.name: m for m in (
    # unsupervised (labelled anomalies, if any, are left out)
    Method("DeepSVDD", "deepsvdd", "blind", "Ruff et al. 2018", "deepsvdd_cnn", PRETRAINED,
           tabular_params=SVDD_MLP),
    Method("AE", "ae", "blind", "PU paper Eq. 1-2", "ae_cnn"),
    Method("LOE", "deepsvdd", "loe_hard", "LOE Sec. 3.2 (Deep SVDD, as in PU paper Sec. 5.2)", "deepsvdd_cnn",
           PRETRAINED, tabular_params=SVDD_MLP),
    Method("LOE-soft", "deepsvdd", "loe_soft", "LOE Sec. 3.3", "deepsvdd_cnn", PRETRAINED,
           tabular_params=SVDD_MLP),
    Method("Refine", "deepsvdd", "refine", "LOE App. B", "deepsvdd_cnn", PRETRAINED,
           tabular_params=SVDD_MLP),
    Method("IAD", "deepsvdd", "iad", "IAD Sec. IV", "deepsvdd_cnn"),
    Method("IsolationForest", "iforest", "blind", "Liu et al. 2008; PU paper Sec. 5.2", "iforest"),
    Method("OCSVM", "ocsvm", "blind", "Schölkopf et al. 2001", "ocsvm"),
    Method("LOF", "lof", "blind", "Breunig et al. 2000", "lof"),
    # semi-supervised: labelled anomalies (or an OE set)
    Method("DeepSAD", "deepsvdd", "sad", "Ruff et al. 2019 Eq. 6; PU paper Eq. 15", "deepsvdd_cnn", PRETRAINED,
           tabular_params=SVDD_MLP),
    Method("ABC", "ae", "sad", "Yamanaka et al. 2019; PU paper Eq. 3-5", "ae_cnn",
           strategy_params={"reduction": "separate"}),
    Method("SOEL", "deepsvdd", "soel", "Li et al. 2023; PU paper Sec. 5.2", "deepsvdd_cnn", PRETRAINED,
           tabular_params=SVDD_MLP),
    Method("PUSVDD", "deepsvdd", "pu", "PU paper Sec. 3.2, Eq. 13-15", "deepsvdd_cnn", PRETRAINED,
           tabular_params=SVDD_MLP),
    Method("PUAE", "ae", "pu", "PU paper Sec. 3.1, Eq. 13, Alg. 1", "ae_cnn"),
    Method("nnPU", "bce", "pu", "Kiryo et al. 2017 (PU paper's PU baseline)", "bce_cnn",
           strategy_params={"correction": "nn"}),
    Method("HSC", "hsc", "sad", "EOE Sec. 3.2", "hsc_cnn", settings=BALANCED),
    Method("BCE", "bce", "sad", "EOE Sec. 4", "bce_cnn", settings=BALANCED),
    Method("Focal", "focal", "sad", "EOE Sec. 4, App. F", "focal_cnn", settings=BALANCED),
    Method("VAE", "vae", "blind", "DP-VAE Sec. 3, 4.4 (the γ = 0 baseline, same schedule)", "vae_cnn",
           VAE_TRAINING, settings=VAE_SCHEDULE, presets=_vae_presets(MMLVAE_TABLE_12, "beta_cubo")),
    Method("MML-VAE", "vae", "sad", "DP-VAE Sec. 4.1, App. D-E, Table 12", "vae_cnn", VAE_TRAINING, ND_START,
           ND_SETTINGS, _vae_presets(MMLVAE_TABLE_12, "beta_cubo")),
    Method("DP-VAE", "dpvae", "sad", "DP-VAE Sec. 4.2, App. D, F, Table 11", "dpvae_cnn", VAE_TRAINING, ND_START,
           ND_SETTINGS, _vae_presets(DPVAE_TABLE_11, "prior_alpha")),
)}


def get_method(name: str) -> Method:
    lookup = {k.lower(): m for k, m in METHODS.items()}
    if name.lower() not in lookup:
        raise ValueError(f"unknown method {name!r}; choose one of {list(METHODS)}")
    return lookup[name.lower()]


def _at_default(cfg, name: str) -> bool:
    """Whether field ``name`` of the dataclass ``cfg`` still has its default value (the user did not set it)."""
    f = next(f for f in fields(cfg) if f.name == name)
    default = f.default_factory() if f.default is MISSING else f.default
    return getattr(cfg, name) == default


def method_config(cfg, name: str, kind: str = "tabular"):
    """``cfg`` (an ExperimentConfig) set up for method ``name`` on ``kind`` data: its backbone, one strategy,
    the preset parameters (the config's own backbone parameters win where the backbone is the same) and the
    training settings the method prescribes, for the fields the config leaves at their defaults (a value the
    user set, e.g. ``--epochs 5``, wins)."""
    m = get_method(name)
    backbone = m.backbone_for(kind)
    own = cfg.backbone_params if cfg.backbone == backbone else {}
    valid = {p.name for p in BACKBONES.get(backbone).params}
    preset = m.preset_for(cfg.data, polluted=bool(cfg.alpha0))
    params = {k: v for k, v in {**m.params_for(kind), **preset["backbone_params"], **own}.items() if k in valid}
    strategy_params = {k: v for k, v in {**m.strategy_params, **preset["strategy_params"]}.items()
                       if k in {p.name for p in STRATEGIES.get(m.strategy).params}}
    settings = {k: v for k, v in {**m.settings, **preset["settings"]}.items() if _at_default(cfg, k)}
    return replace(cfg, method=m.name, backbone=backbone, backbone_params=params, strategies=[m.strategy],
                   strategy_params={m.strategy: {**strategy_params, **cfg.strategy_params.get(m.strategy, {})}},
                   **settings)


def compare_methods(cfg, names, dataset=None, *, progress=None, should_stop=None, oe_dataset=None) -> list:
    """One :class:`~adcore.experiment.ExperimentResult` per named method, all on the same splits
    (same data, protocol, α0, labelled anomalies and seeds). ``progress(done, total)`` counts epochs."""
    from adcore.data import load
    from adcore.experiment import run_experiment

    ds = dataset if dataset is not None else load(cfg.data, **cfg.data_options)
    results = []
    for i, name in enumerate(names):
        sub = method_config(cfg, name, ds.kind)
        report = None if progress is None else (lambda d, t, i=i: progress(i * t + d, len(names) * t))
        results.append(run_experiment(sub, ds, progress=report, should_stop=should_stop, oe_dataset=oe_dataset))
        if should_stop is not None and should_stop():
            break
    return results


def combine(results: list):
    """Several methods' results on the same splits as one :class:`~adcore.experiment.ExperimentResult`
    whose members (and runs) are named by their method, for leaderboards, ROC overlays and the views."""
    from adcore.experiment import ExperimentResult, summarize

    members, runs, fits, scores = [], [], [], []
    for res in results:
        offset = len(members)
        name = res.config.method or res.config.strategies[0]
        members += [replace(m, strategy=name) for m in res.members]
        runs += [{**r, "strategy": name} for r in res.runs]
        fits += [(fit, [k + offset for k in idx]) for fit, idx in res.train_results]
        scores += list(res.test_scores)
    names = [r.config.method or r.config.strategies[0] for r in results]
    cfg = replace(results[0].config, method=", ".join(names))
    return ExperimentResult(cfg, members, runs, summarize(runs), results[0].splits, fits, scores,
                            sum(r.seconds for r in results))
