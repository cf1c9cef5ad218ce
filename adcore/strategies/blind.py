"""Blind: every training sample treated as normal (LOE App. B)."""
from adcore.registry import STRATEGIES
from adcore.strategies.base import Strategy


@STRATEGIES.register
class Blind(Strategy):
    """y_i = 0 for all samples in LOE Eq. 1: plain training on the contaminated set."""

    name = "blind"
    description = "Blind: trains on all data as if it were normal (the usual baseline)."
    paper = "LOE App. B"
    uses_alpha = False
    uses_anomaly_loss = False
    flag_weights = (1.0, 0.0)
