"""What the numbered notebooks call between the library's stages: the shared run folder,
datasets of a run, the experiment file, training with live curves, embedding every set, and
one cached evaluation. See :mod:`hierwbc.workflow.folder` for the run folder's layout."""

from .embedding import embed_all
from .evaluation import evaluation
from .folder import RunFolder
from .live import train_live, training_summary
from .setup import dataset_manifests, limit_threads, model_spec, notebook_experiment

__all__ = ["RunFolder", "dataset_manifests", "embed_all", "evaluation", "limit_threads", "model_spec",
           "notebook_experiment", "train_live", "training_summary"]
