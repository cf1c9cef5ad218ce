"""The *Your data* page's settings as functions of an ExperimentConfig (no Streamlit here).

``WIDGETS`` maps each widget key to its value in a config, so that a link, a loaded JSON file or the
experiment shared by another page can set the widgets; ``DATA_WIDGETS`` are the ones that choose the data.
"""
from __future__ import annotations


def _given(value):
    """``value``, or a KeyError (the widget keeps its state) when the config does not set it."""
    if value is None or value == 0:
        raise KeyError("not set")
    return value


KNOWN_WIDGETS = {  # widget → its value in an ExperimentConfig (links and loaded JSON files set them)
    "data_known": lambda c: "count" if c.n_labeled else "ratio" if c.labeled_ratio else "oe" if c.oe else "none",
    "data_n_labeled": lambda c: int(_given(c.n_labeled)),
    "data_labeled_ratio": lambda c: float(_given(c.labeled_ratio)),
    "data_labeled_batch": lambda c: int(c.labeled_batch or 0),
    "data_oe_n": lambda c: int(_given(c.oe_n)),
}


BUILTIN = {"breast_cancer": "Breast cancer (benign normal, malignant anomalous)",
           "wine": "Wine (one class normal, the others anomalous)",
           "digits": "Digits as 64 features (one digit normal, the others anomalous)",
           "digits_images": "Digits as 8×8 images (choose the normal digits; CNN backbones)"}
LABEL_GUESS = ("label", "labels", "y", "class", "target", "outlier", "anomaly", "is_anomaly")


def is_builtin(data: str) -> bool:
    return data.startswith(("sklearn:", "images:digits"))


def builtin_of(cfg) -> str:
    return "digits_images" if cfg.data.startswith("images:") else cfg.data.split(":")[1]


WIDGETS = {  # widget → its value in a config: links, loaded JSON files and the shared experiment set them
    "data_source": lambda c: "Built-in" if is_builtin(c.data) else "Upload",
    "data_builtin": builtin_of, "data_normal_class": lambda c: int(c.data.split(":")[2]),
    "data_label_col": lambda c: upload_option(c, "label_col", "(no labels)"),
    "data_anomaly_value": lambda c: str(upload_option(c, "anomaly_value")),
    "data_onehot": lambda c: upload_option(c, "categorical", None) == "onehot",
    "data_known_value": lambda c: str(upload_option(c, "known_value", "(none)")),
    "data_protocol": lambda c: c.protocol, "data_alpha0": lambda c: float(c.alpha0),
    "data_alpha_same": lambda c: c.alpha is None, "data_alpha": lambda c: float(c.alpha or c.alpha0),
    "data_backbone": lambda c: c.backbone, "data_strategies": lambda c: list(c.strategies),
    "data_epochs": lambda c: int(c.epochs), "data_seeds": lambda c: ",".join(map(str, c.seeds)),
    "data_device": lambda c: c.device, "data_batch": lambda c: int(c.batch_size or 128),
    "data_lr": lambda c: float(c.lr), "data_shortage": lambda c: c.shortage, "data_precision": lambda c: c.precision,
    "data_img_size": lambda c: c.data_options["size"], "data_img_channels": lambda c: c.data_options["channels"],
    "data_img_l1": lambda c: c.data_options["l1_normalize"],
    "data_cls_normal": lambda c: list(c.protocol_options["normal_class"]),
    "data_cls_anomaly": lambda c: list(c.protocol_options["anomaly_class"]),
    "data_cls_one_normal": lambda c: c.protocol_options["normal_class"],
    "data_cls_unseen": lambda c: c.protocol_options["unseen_class"],
    **KNOWN_WIDGETS,
}
DATA_WIDGETS = ("data_source", "data_builtin", "data_normal_class", "data_label_col", "data_anomaly_value",
                "data_onehot", "data_known_value")


def upload_option(cfg, name, missing=KeyError):
    if is_builtin(cfg.data):
        raise KeyError(name)  # a built-in set has no CSV options: leave the upload widgets alone
    if name not in cfg.data_options and missing is KeyError:
        raise KeyError(name)
    return cfg.data_options.get(name, missing)
