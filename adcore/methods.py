"""Named methods: the names users know, each a (backbone, strategy, parameters) preset.

Almost every method of the papers is a backbone trained with a strategy
(Deep SAD = ``deepsvdd`` + ``sad``, PUSVDD = ``deepsvdd`` + ``pu``, …). A
:class:`Method` names that pair, its parameters, the image backbone to use on
image data and any training settings the paper prescribes (balanced batches
for outlier exposure). ``python -m adcore list`` prints the table; the CLI's
``--method`` and the app's method lists read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

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

    @property
    def uses_labels(self) -> bool:
        """Whether the method trains on labelled anomalies (else they are left out of its training)."""
        return STRATEGIES.get(self.strategy).uses_labels

    def backbone_for(self, kind: str) -> str:
        return self.image_backbone if kind == "image" and self.image_backbone else self.backbone

    def describe(self) -> dict:
        return {"name": self.name, "backbone": self.backbone, "image_backbone": self.image_backbone,
                "strategy": self.strategy, "backbone_params": self.backbone_params,
                "strategy_params": self.strategy_params, "settings": self.settings, "paper": self.paper,
                "uses_labels": self.uses_labels}


PRETRAINED = {"pretrain_epochs": 10}  # Deep SVDD-based methods: c from autoencoder pre-training (PU paper Sec. 5.3)
BALANCED = {"labeled_batch": 128}  # EOE App. G: every batch 128 normal + 128 OE samples

METHODS: dict[str, Method] = {m.name: m for m in (
    # unsupervised (labelled anomalies, if any, are left out)
    Method("DeepSVDD", "deepsvdd", "blind", "Ruff et al. 2018", "deepsvdd_cnn", PRETRAINED),
    Method("AE", "ae", "blind", "PU paper Eq. 1-2", "ae_cnn"),
    Method("LOE", "deepsvdd", "loe_hard", "LOE Sec. 3.2 (Deep SVDD, as in PU paper Sec. 5.2)", "deepsvdd_cnn",
           PRETRAINED),
    Method("LOE-soft", "deepsvdd", "loe_soft", "LOE Sec. 3.3", "deepsvdd_cnn", PRETRAINED),
    Method("Refine", "deepsvdd", "refine", "LOE App. B", "deepsvdd_cnn", PRETRAINED),
    Method("IAD", "deepsvdd", "iad", "IAD Sec. IV", "deepsvdd_cnn"),
    Method("IsolationForest", "iforest", "blind", "Liu et al. 2008; PU paper Sec. 5.2", "iforest"),
    Method("OCSVM", "ocsvm", "blind", "Schölkopf et al. 2001", "ocsvm"),
    Method("LOF", "lof", "blind", "Breunig et al. 2000", "lof"),
    # semi-supervised: labelled anomalies (or an OE set)
    Method("DeepSAD", "deepsvdd", "sad", "Ruff et al. 2019 Eq. 6; PU paper Eq. 15", "deepsvdd_cnn", PRETRAINED),
    Method("ABC", "ae", "sad", "Yamanaka et al. 2019; PU paper Eq. 3-5", "ae_cnn",
           strategy_params={"reduction": "separate"}),
    Method("SOEL", "deepsvdd", "soel", "Li et al. 2023; PU paper Sec. 5.2", "deepsvdd_cnn", PRETRAINED),
    Method("PUSVDD", "deepsvdd", "pu", "PU paper Sec. 3.2, Eq. 13-15", "deepsvdd_cnn", PRETRAINED),
    Method("PUAE", "ae", "pu", "PU paper Sec. 3.1, Eq. 13, Alg. 1", "ae_cnn"),
    Method("nnPU", "bce", "pu", "Kiryo et al. 2017 (PU paper's PU baseline)", "bce_cnn",
           strategy_params={"correction": "nn"}),
    Method("HSC", "hsc", "sad", "EOE Sec. 3.2", "hsc_cnn", settings=BALANCED),
    Method("BCE", "bce", "sad", "EOE Sec. 4", "bce_cnn", settings=BALANCED),
    Method("Focal", "focal", "sad", "EOE Sec. 4, App. F", "focal_cnn", settings=BALANCED),
)}


def get_method(name: str) -> Method:
    lookup = {k.lower(): m for k, m in METHODS.items()}
    if name.lower() not in lookup:
        raise ValueError(f"unknown method {name!r}; choose one of {list(METHODS)}")
    return lookup[name.lower()]


def method_config(cfg, name: str, kind: str = "tabular"):
    """``cfg`` (an ExperimentConfig) set up for method ``name`` on ``kind`` data: its backbone, one strategy,
    the preset parameters (the config's own backbone parameters win where the backbone is the same)."""
    m = get_method(name)
    backbone = m.backbone_for(kind)
    own = cfg.backbone_params if cfg.backbone == backbone else {}
    valid = {p.name for p in BACKBONES.get(backbone).params}
    params = {k: v for k, v in {**m.backbone_params, **own}.items() if k in valid}
    return replace(cfg, method=m.name, backbone=backbone, backbone_params=params, strategies=[m.strategy],
                   strategy_params={m.strategy: {**m.strategy_params, **cfg.strategy_params.get(m.strategy, {})}},
                   **m.settings)


def compare_methods(cfg, names, dataset=None, *, progress=None, should_stop=None) -> list:
    """One :class:`~adcore.experiment.ExperimentResult` per named method, all on the same splits
    (same data, protocol, α0, labelled anomalies and seeds). ``progress(done, total)`` counts epochs."""
    from adcore.data import load
    from adcore.experiment import run_experiment

    ds = dataset if dataset is not None else load(cfg.data, **cfg.data_options)
    results = []
    for i, name in enumerate(names):
        sub = method_config(cfg, name, ds.kind)
        report = None if progress is None else (lambda d, t, i=i: progress(i * t + d, len(names) * t))
        results.append(run_experiment(sub, ds, progress=report, should_stop=should_stop))
        if should_stop is not None and should_stop():
            break
    return results
