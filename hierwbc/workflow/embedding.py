"""04_embed: every evaluation set of the run's experiment embedded with every trained model and
baseline (:func:`hierwbc.experiment.runner.embed_models`: files newer than their model are
kept), listed as a table."""

from __future__ import annotations

import pandas as pd

from .folder import RunFolder


def embed_all(run: RunFolder, progress: bool = True) -> pd.DataFrame:
    """Embed (or keep) ``embeddings/<model>/<set>.h5ad``; one row per file and training seed:
    ``model, seed, set, source, path``."""
    from hierwbc.experiment.runner import embed_models, model_sources

    cfg = run.experiment()
    paths = embed_models(cfg, run.hierarchy(), progress=progress)
    return pd.DataFrame([{"model": m, "seed": seed, "set": s, "source": model_sources(cfg, seed)[m], "path": str(p)}
                         for seed, by_model in paths.items() for m, sets in by_model.items() for s, p in sets.items()])
