"""From the config's data section to the training rows and their targets.

Order of operations (all seeded, all stratified by node):
1. read the sources (:func:`hierwbc.datasets.sources.read_sources`);
2. rows without a split get ``train`` / ``test`` (``test_fraction``); keep ``data.split``;
   ``val_fraction``: a stratified share of those rows (fixed by ``split_seed``) is held out as
   the validation rows of the online kNN monitor (:func:`validation_rows`) and never trained on;
3. ``coarsen_fraction``: relabel that share of fine labels to their parent (paper: datasets of
   lower label precision);
4. ``limit``: a stratified subset of at most that many rows;
5. ``unlabelled_fraction``: hide the labels of that share (target -1), for semi-supervised runs.

Targets are node indices of the hierarchy (``-1`` = unlabelled); a label may be an internal node.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets import coarsen
from ..datasets.sources import read_sources
from ..datasets.splits import split_rows, stratified_mask, stratified_subset
from ..hierarchy import Hierarchy


class TrainingDataError(ValueError):
    """The configured data cannot train this preset (named in the message)."""


def train_and_validation_rows(cfg, hierarchy: Hierarchy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, validation)``: the rows of ``data.split`` a run trains on and the
    ``data.val_fraction`` it holds out, both with their original labels (before any coarsening,
    ``data.limit`` or hiding; :func:`training_rows` applies those)."""
    d = cfg.data
    m = split_rows(read_sources(d.sources, d.root, hierarchy), d.split, d.test_fraction, d.split_seed, d.sources)
    if d.val_fraction <= 0:
        return m, m.iloc[:0]
    held = stratified_mask(m, d.val_fraction, d.split_seed, "validation")
    return m[~held].reset_index(drop=True), m[held].reset_index(drop=True)


def validation_rows(cfg, hierarchy: Hierarchy) -> pd.DataFrame:
    """The held-out validation rows (``data.val_fraction`` of ``data.split``; empty when 0), with
    their original labels (no coarsening, no hiding)."""
    return train_and_validation_rows(cfg, hierarchy)[1]


def training_rows(cfg, hierarchy: Hierarchy) -> tuple[pd.DataFrame, np.ndarray]:
    """``(manifest, targets)`` of the rows this run trains on (see the module docstring)."""
    d = cfg.data
    m = train_and_validation_rows(cfg, hierarchy)[0]
    if d.coarsen_fraction > 0:
        m = coarsen(m, d.coarsen_fraction, seed=cfg.seed, hierarchy=hierarchy)
    m = stratified_subset(m, d.limit, cfg.seed)
    targets = hierarchy.indices(m["node"])
    if d.unlabelled_fraction > 0:
        hide = stratified_mask(m, d.unlabelled_fraction, cfg.seed + 1, "unlabelled")
        targets = np.where(hide, -1, targets)
    check_supervision(cfg, hierarchy, targets)
    return m, targets


def check_supervision(cfg, hierarchy: Hierarchy, targets: np.ndarray) -> None:
    """A supervised preset needs labelled images its loss can use; say which are missing."""
    loss = cfg.supervised.loss
    if loss is None:
        return
    labeled = targets >= 0
    if not labeled.any():
        raise TrainingDataError(f"preset {loss!r} needs labelled images, but none of the "
                                f"{len(targets)} training images has a label")
    leaf = hierarchy.is_leaf[np.where(labeled, targets, 0)] & labeled
    if loss in ("ce", "supcon") and not cfg.supervised.count_coarse and not leaf.any():
        raise TrainingDataError(f"preset {loss!r} uses leaf labels only, and all "
                                f"{int(labeled.sum())} labelled images are labelled at internal nodes")
