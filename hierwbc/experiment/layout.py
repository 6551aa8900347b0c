"""The layout of an experiment's output folder, owned here once: ``hierwbc experiment``
(:mod:`.runner`, :mod:`.publishing`) writes it and the notebooks' run folder
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
    notebooks/                     the numbered notebooks as executed, their HTML, timings.json

An experiment with several training seeds (``multi_seed``) puts every seeded folder one level
down, ``models/<name>/seed<k>/`` and ``embeddings/<model>/seed<k>/<set>.h5ad`` (a model trained
with seed k; random_init drawn with seed k); what does not depend on the seed (pixels, a
weights file embedded as is) stays at ``embeddings/<model>/<set>.h5ad``, embedded once. One
seed keeps the paths above, so single-seed folders (and the notebooks) are unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

DONE_FILE = "DONE.json"  # in a model's run folder once its training finished


class RunLayout:
    """The paths of the folder ``root`` (nothing is created or read)."""

    def __init__(self, root: str | os.PathLike, multi_seed: bool = False):
        self.root = Path(root)
        self.multi_seed = multi_seed

    hierarchy_json = property(lambda self: self.root / "hierarchy.json")
    manifests = property(lambda self: self.root / "manifests")
    experiment_file = property(lambda self: self.root / "experiment.yaml")
    summary_file = property(lambda self: self.root / "summary.json")
    models = property(lambda self: self.root / "models")
    embeddings_dir = property(lambda self: self.root / "embeddings")
    evaluation_dir = property(lambda self: self.root / "evaluation")
    tables = property(lambda self: self.root / "tables")
    figures = property(lambda self: self.root / "figures")
    notebooks = property(lambda self: self.root / "notebooks")

    def _seeded(self, folder: Path, seed: int | None) -> Path:
        return folder / f"seed{int(seed)}" if self.multi_seed and seed is not None else folder

    def model_dir(self, name: str, seed: int | None = None) -> Path:
        """``models/<name>[/seed<k>]``: the training run folder of model ``name`` (and seed)."""
        return self._seeded(self.models / name, seed)

    def done_file(self, name: str, seed: int | None = None) -> Path:
        """``models/<name>[/seed<k>]/DONE.json``: the record of a finished training run."""
        return self.model_dir(name, seed) / DONE_FILE

    def finished_runs(self) -> list[Path]:
        """The run folders with a ``DONE.json`` (``models/<name>`` or ``models/<name>/seed<k>``)."""
        return sorted({p.parent for p in [*self.models.glob(f"*/{DONE_FILE}"),
                                          *self.models.glob(f"*/seed*/{DONE_FILE}")]})

    def embedding_file(self, model: str, set_name: str, seed: int | None = None) -> Path:
        """``embeddings/<model>[/seed<k>]/<set>.h5ad`` (``seed`` None: a seed-free embedding)."""
        return self._seeded(self.embeddings_dir / model, seed) / f"{set_name}.h5ad"
