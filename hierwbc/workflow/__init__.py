"""What the numbered notebooks call between the library's stages: the shared run folder,
datasets of a run, the experiment file, training with live curves, embedding every set,
one cached evaluation, and labelling new cells (10). See :mod:`hierwbc.workflow.folder` for the run folder's layout."""

from .cached_evaluation import evaluation
from .classify import atlas_with_new_cells, least_certain, new_cells_folder, reference_atlas
from .embedding import embed_all
from .folder import RunFolder
from .live import train_live, training_summary
from .setup import dataset_manifests, limit_threads, model_spec, notebook_experiment

__all__ = ["RunFolder", "atlas_with_new_cells", "dataset_manifests", "embed_all", "evaluation", "least_certain",
           "limit_threads", "model_spec", "new_cells_folder", "notebook_experiment", "reference_atlas", "train_live",
           "training_summary"]
