"""Experiments: a grid of training runs, their embeddings, evaluation, tables and figures,
described by one YAML file (``experiments/*.yaml``) and rebuilt by ``hierwbc experiment``."""

from .config import ExperimentConfig, load_experiment
from .publish import publish, training_table
from .runner import STAGES, run_experiment

__all__ = ["STAGES", "ExperimentConfig", "load_experiment", "publish", "run_experiment", "training_table"]
