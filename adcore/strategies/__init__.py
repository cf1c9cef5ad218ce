"""Strategies: how each training sample weighs on the normal and the anomaly loss.

Every module in this package is imported by the registry; a module registers its
class with ``@STRATEGIES.register``. See :class:`adcore.strategies.base.Strategy`.
"""
from adcore.strategies.base import Batch, Strategy, flag_counts, flag_to_weights, top_alpha_mask, top_n_mask

__all__ = ["Batch", "Strategy", "flag_counts", "flag_to_weights", "top_alpha_mask", "top_n_mask"]
