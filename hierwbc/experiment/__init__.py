"""Experiments: a grid of training runs, their embeddings, evaluation, tables and figures,
described by one YAML file (``experiments/*.yaml``) and rebuilt by ``hierwbc experiment``."""

from .config import ExperimentConfig, load_experiment
from .runner import STAGES, run_experiment

__all__ = ["STAGES", "ExperimentConfig", "load_experiment", "run_experiment"]
