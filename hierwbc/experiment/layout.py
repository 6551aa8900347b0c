"""The layout of an experiment's output folder, owned here once: ``hierwbc experiment``
(:mod:`.runner`, :mod:`.publish`) writes it and the notebooks' run folder
(:class:`hierwbc.workflow.folder.RunFolder`) reads and writes the same paths::

    hierarchy.json                 the tree (the notebooks' 01_hierarchy)
    manifests/<dataset>.csv        every dataset found (02_data)
    experiment.yaml                the experiment as run
    summary.json                   what ``hierwbc experiment`` did, per sitting
    models/<name>/                 one training run folder per model; DONE.json when finished
    embeddings/<model>/<set>.h5ad  every evaluation set x model / baseline
    evaluation/<table>.csv         :meth:`hierwbc.evaluate.EvaluationResult.write`
    tables/*.csv, *.md             counts, paper Tables 1-3, figure data
    figures/*.png                  every figure
"""

from __future__ import annotations

import os
from pathlib import Path

DONE_FILE = "DONE.json"  # in a model's run folder once its training finished


class RunLayout:
    """The paths of the folder ``root`` (nothing is created or read)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    hierarchy_json = property(lambda self: self.root / "hierarchy.json")
    manifests = property(lambda self: self.root / "manifests")
    experiment_file = property(lambda self: self.root / "experiment.yaml")
    summary_file = property(lambda self: self.root / "summary.json")
    models = property(lambda self: self.root / "models")
    embeddings_dir = property(lambda self: self.root / "embeddings")
    evaluation_dir = property(lambda self: self.root / "evaluation")
    tables = property(lambda self: self.root / "tables")
    figures = property(lambda self: self.root / "figures")

    def model_dir(self, name: str) -> Path:
        """``models/<name>``: the training run folder of model ``name``."""
        return self.models / name

    def done_file(self, name: str) -> Path:
        """``models/<name>/DONE.json``: the record of a finished training run."""
        return self.model_dir(name) / DONE_FILE

    def embedding_file(self, model: str, set_name: str) -> Path:
        """``embeddings/<model>/<set>.h5ad``."""
        return self.embeddings_dir / model / f"{set_name}.h5ad"
