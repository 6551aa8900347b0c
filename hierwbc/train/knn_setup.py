"""The online kNN monitor of a run (:class:`~hierwbc.train.knn_monitor.KnnMonitor`): which rows it
matches (labelled training rows against held-out validation rows) and how they are decoded."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..config.training import TrainConfig
from ..datasets.cache import cached_images
from ..datasets.splits import stratified_subset
from ..hierarchy import Hierarchy
from .knn_monitor import KnnMonitor
from .lab_shift import lab_shifted
from .prepare import validation_rows


def knn_rows(cfg: TrainConfig, h: Hierarchy, manifest: pd.DataFrame, targets: np.ndarray
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(references, validation)`` rows of a run's kNN monitor: ``knn_references`` labelled
    training rows (stratified, ``target`` column) and the labelled held-out validation rows (at
    most ``knn_queries``, stratified), fixed by ``cfg.seed`` and ``data.split_seed``."""
    labeled = manifest.assign(target=targets)[targets >= 0].reset_index(drop=True)
    refs = stratified_subset(labeled, cfg.knn_references, cfg.seed)
    val = validation_rows(cfg, h)
    val = val[val["node"].astype(str) != ""].reset_index(drop=True)
    return refs, stratified_subset(val, cfg.knn_queries, cfg.seed)


def build_knn_monitor(cfg: TrainConfig, h: Hierarchy, manifest: pd.DataFrame, targets: np.ndarray,
                      progress: bool = True) -> KnnMonitor | None:
    """The online kNN monitor of a run on its :func:`knn_rows`, both decoded once at
    ``model.img_size`` (cached in ``data.cache_dir``); with ``knn_lab_shift`` also the
    validation rows as if from another lab (from their ``data.cache_size`` copies, else
    ``model.img_size``). None, with a warning saying why, when either side has no labelled row
    (the run goes on unmonitored)."""
    refs, val = knn_rows(cfg, h, manifest, targets)
    if not len(refs) or not len(val):
        warnings.warn(f"online kNN monitor off: {len(refs)} labelled training rows and {len(val)} labelled "
                      f"validation rows (data.val_fraction = {cfg.data.val_fraction} of {cfg.data.sources}); "
                      "both are needed", stacklevel=2)
        return None
    size, where = cfg.model.img_size, cfg.data.cache_dir
    shifted = (lab_shifted(cached_images(val, cfg.data.cache_size or size, where, progress=progress), size,
                           seed=cfg.seed) if cfg.knn_lab_shift else None)
    return KnnMonitor(h, cached_images(refs, size, where, progress=progress), refs["target"].to_numpy(),
                      cached_images(val, size, where, progress=progress), h.indices(val["node"]), k=cfg.knn_k,
                      shifted_queries=shifted)
