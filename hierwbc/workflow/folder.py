"""The run folder the numbered notebooks share (``make demo``: ``runs/demo``).

Its layout is :mod:`hierwbc.experiment.layout`'s (``hierwbc experiment`` writes the same
paths). Each notebook reads what the earlier ones wrote::

    hierarchy.json, .nwk, .png     01_hierarchy   the tree (as edited)
    manifests/<dataset>.csv        02_data        every dataset found (or the synthetic set)
    experiment.yaml                03_train       the runs, as an experiment file
                                                  (``hierwbc experiment --config`` reruns it)
    models/<name>/                 03_train       one training run folder per model
    embeddings/<model>/<set>.h5ad  04_embed       every evaluation set x model / baseline
    evaluation/*.csv               05-09          evaluate()'s tidy tables, computed once
    tables/*.csv, *.md             02-09          counts, paper Tables 1-3, figure data
    figures/*.png                  02-09          every figure shown
    notebooks/*.ipynb, *.html      the runner     the executed notebooks

A folder of an experiment trained with several seeds (``embeddings/<model>/seed<k>/``) is read
one seed at a time: ``RunFolder(path, seed=k)`` (default: the experiment's first seed) sees
that seed's embeddings plus the seed-free ones (pixels, a weights file embedded as is), and
writes its own evaluation, tables and figures to ``evaluation/seed<k>/``, ``tables/seed<k>/``,
``figures/seed<k>/``, so the notebooks never overwrite what ``hierwbc experiment`` wrote for
all seeds together.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from hierwbc.experiment.layout import RunLayout
from hierwbc.hierarchy import Hierarchy, default_hierarchy


class RunFolder(RunLayout):
    """Paths (:class:`~hierwbc.experiment.layout.RunLayout`) and small readers / writers of one
    run folder (see the module docstring); the folder is created."""

    def __init__(self, path: str | os.PathLike, seed: int | None = None):
        super().__init__(Path(path).expanduser().resolve())
        self.root.mkdir(parents=True, exist_ok=True)
        declared = self.experiment().seeds if self.experiment_file.exists() else []
        seeds = sorted(set(self.seeds()) | set(declared if len(declared) > 1 else []))
        self.multi_seed = bool(seeds)  # embeddings per seed, or an experiment of several seeds
        if seed is not None and seed not in seeds:
            raise ValueError(f"{self.root}: no seed {seed} "
                             f"({'seeds: ' + str(seeds) if seeds else 'not a multi-seed experiment folder'})")
        self.seed = seed if seed is not None else (self._first_seed(seeds, declared) if seeds else None)

    def __repr__(self) -> str:
        seed = f", seed={self.seed}" if self.multi_seed else ""
        return f"RunFolder({str(self.root)!r}{seed})"

    def seeds(self) -> list[int]:
        """The training seeds with embeddings (``embeddings/<model>/seed<k>/``); [] for a
        single-seed folder."""
        found = {int(p.name[4:]) for p in self.embeddings_dir.glob("*/seed*") if p.is_dir() and p.name[4:].isdigit()}
        return sorted(found)

    @staticmethod
    def _first_seed(seeds: list[int], declared: list[int]) -> int:
        return next((s for s in declared if s in seeds), seeds[0])

    def _seed_folder(self, folder: Path) -> Path:
        return folder / f"seed{self.seed}" if self.multi_seed else folder

    evaluation_dir = property(lambda self: self._seed_folder(self.root / "evaluation"))
    tables = property(lambda self: self._seed_folder(self.root / "tables"))
    figures = property(lambda self: self._seed_folder(self.root / "figures"))

    def __truediv__(self, other) -> Path:
        return self.root / other

    def hierarchy(self) -> Hierarchy:
        """The tree saved by 01_hierarchy (``hierarchy.json``), else the default tree."""
        path = self.hierarchy_json
        return Hierarchy.read(path) if path.exists() else default_hierarchy()

    def hierarchy_file(self) -> str | None:
        path = self.hierarchy_json
        return str(path) if path.exists() else None

    def save_figure(self, fig, name: str, dpi: int = 110) -> Path:
        """``figures/<name>.png`` (atomic)."""
        from hierwbc.plotting import save_figure

        return save_figure(fig, self.figures / f"{name}.png", dpi=dpi)

    def save_table(self, df: pd.DataFrame, name: str) -> Path:
        """``tables/<name>.csv`` (atomic)."""
        from hierwbc.plotting import save_table

        return save_table(df, self.tables / f"{name}.csv")

    def read_manifests(self) -> dict[str, pd.DataFrame]:
        """``{dataset: manifest}`` written by 02_data."""
        from hierwbc.datasets import read_dataset

        files = sorted(self.manifests.glob("*.csv"))
        if not files:
            raise FileNotFoundError(f"no manifests in {self.manifests}: run 02_data first")
        return {f.stem: read_dataset("csv", f, hierarchy=self.hierarchy()) for f in files}

    def experiment(self):
        """The experiment file 03_train wrote (:class:`hierwbc.experiment.ExperimentConfig`)."""
        from hierwbc.experiment import load_experiment

        if not self.experiment_file.exists():
            raise FileNotFoundError(f"{self.experiment_file} does not exist: run 03_train first")
        return load_experiment(self.experiment_file)

    def embedding_files(self) -> dict[str, dict[str, Path]]:
        """``{model: {set: path}}`` of ``embeddings/<model>/<set>.h5ad``, models in the
        experiment's order (trained models, then baselines) when there is one."""
        found: dict[str, dict[str, Path]] = {}
        for path in sorted(self.embeddings_dir.glob("*/*.h5ad")):
            found.setdefault(path.parent.name, {})[path.stem] = path
        if self.multi_seed:  # this seed's trained models (and random_init) beside the seed-free files
            for path in sorted(self.embeddings_dir.glob(f"*/seed{self.seed}/*.h5ad")):
                found.setdefault(path.parent.parent.name, {})[path.stem] = path
        if not found:
            raise FileNotFoundError(f"no embeddings under {self.embeddings_dir}: run 04_embed first")
        order = []
        if self.experiment_file.exists():
            cfg = self.experiment()
            order = [*cfg.models, *cfg.baselines]
            sets = [s.name for s in cfg.sets]
            found = {m: dict(sorted(v.items(), key=lambda kv: sets.index(kv[0]) if kv[0] in sets else len(sets)))
                     for m, v in found.items()}
        return {m: found[m] for m in [*[o for o in order if o in found], *[m for m in found if m not in order]]}

    def embeddings(self, models=None):
        """``{model: AnnData}``: each model's sets concatenated (``obs["dataset"]`` = set name,
        obs_names ``<cell>-<set>``), as :func:`hierwbc.evaluate.evaluate` takes them."""
        from hierwbc.embed import join_sets

        files = self.embedding_files()
        models = list(files) if models is None else list(models)
        missing = [m for m in models if m not in files]
        if missing:
            raise KeyError(f"no embeddings of model(s) {missing} under {self.embeddings_dir} (have {list(files)})")
        return {m: join_sets(files[m]) for m in models}
