"""Backbones: networks that give per-sample normal and anomaly losses.

Every module in this package is imported by the registry; a module registers its
class with ``@BACKBONES.register``. See :class:`adcore.backbones.base.Backbone`.
"""
from adcore.backbones.base import Backbone, build_backbone

__all__ = ["Backbone", "build_backbone"]
