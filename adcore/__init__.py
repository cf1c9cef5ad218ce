"""AD Lab core: anomaly detection when the training data is contaminated.

Backbones give per-sample normal/anomaly losses; strategies (Blind, Refine, LOE,
IAD, …) decide how each sample weighs on them; one trainer runs any pair.
"""
from adcore.data import DataError, Dataset, load, make_split
from adcore.detector import Detector
from adcore.experiment import ExperimentConfig, ExperimentResult, run_experiment
from adcore.registry import BACKBONES, STRATEGIES, Param
from adcore.trainer import Member, TrainConfig, TrainResult, train

__all__ = ["Detector", "Dataset", "DataError", "load", "make_split", "ExperimentConfig", "ExperimentResult",
           "run_experiment", "BACKBONES", "STRATEGIES", "Param", "Member", "TrainConfig", "TrainResult", "train"]
