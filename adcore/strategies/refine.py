"""Refine: drop the likely anomalies of each mini-batch (LOE App. B)."""
from adcore.registry import STRATEGIES
from adcore.strategies.base import Strategy


@STRATEGIES.register
class Refine(Strategy):
    """Ranks the mini-batch by S_train (LOE Alg. 1, Eq. 4) and removes the top α
    fraction from the update; the remaining samples train L_n, L_a is never used."""

    name = "refine"
    description = "Refine: removes the top-α scored samples of each mini-batch from the update."
    paper = "LOE App. B"
    uses_warmup = True
    flag_weights = (0.0, 0.0)
