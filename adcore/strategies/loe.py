"""Latent Outlier Exposure, hard and soft (LOE Sec. 3.2-3.3, Alg. 1)."""
from adcore.registry import STRATEGIES
from adcore.strategies.base import Strategy


@STRATEGIES.register
class LOEHard(Strategy):
    """LOE_H: y_i = 1 for the top α fraction of S_train = L_n - L_a in each
    mini-batch (Eq. 2-4), y_i = 0 for the rest; minimises Eq. 1."""

    name = "loe_hard"
    description = "LOE hard: the top-α scored samples of each batch train the anomaly loss."
    paper = "LOE Sec. 3.2, Eq. 1-4, Alg. 1"
    uses_warmup = True
    flag_weights = (0.0, 1.0)


@STRATEGIES.register
class LOESoft(Strategy):
    """LOE_S: y_i = 0.5 for the top α fraction (Eq. 5), so a flagged sample
    minimises 0.5 (L_n + L_a)."""

    name = "loe_soft"
    description = "LOE soft: the top-α scored samples of each batch get label 0.5 (half normal, half anomaly)."
    paper = "LOE Sec. 3.3, Eq. 5"
    uses_warmup = True
    flag_weights = (0.5, 0.5)
