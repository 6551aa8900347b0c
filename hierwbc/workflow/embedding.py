"""04_embed: every evaluation set of the run's experiment embedded with every trained model and
baseline (:func:`hierwbc.experiment.runner.embed_models`: files newer than their model are
kept), listed as a table."""

from __future__ import annotations

import pandas as pd

from .folder import RunFolder


def embed_all(run: RunFolder, progress: bool = True) -> pd.DataFrame:
    """Embed (or keep) ``embeddings/<model>/<set>.h5ad``; one row per file: ``model, set,
    source, path``."""
    from hierwbc.experiment.runner import embed_models, model_sources

    cfg = run.experiment()
    paths = embed_models(cfg, run.hierarchy(), progress=progress)
    sources = model_sources(cfg)
    return pd.DataFrame([{"model": m, "set": s, "source": sources[m], "path": str(p)}
                         for m, sets in paths.items() for s, p in sets.items()])
