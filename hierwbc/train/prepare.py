"""From the config's data section to the training rows and their targets.

Order of operations (all seeded, all stratified by node):
1. read the sources (:func:`hierwbc.datasets.sources.read_sources`);
2. rows without a split get ``train`` / ``test`` (``test_fraction``); keep ``data.split``;
3. ``coarsen_fraction``: relabel that share of fine labels to their parent (paper: datasets of
   lower label precision);
4. ``limit``: a stratified subset of at most that many rows;
5. ``unlabelled_fraction``: hide the labels of that share (target -1), for semi-supervised runs.

Targets are node indices of the hierarchy (``-1`` = unlabelled); a label may be an internal node.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets import assign_splits, coarsen
from ..datasets.sources import read_sources
from ..hierarchy import Hierarchy


class TrainingDataError(ValueError):
    """The configured data cannot train this preset (named in the message)."""


def _stratified_keep(df: pd.DataFrame, fraction: float, seed: int, salt: str) -> np.ndarray:
    if fraction >= 1:
        return np.ones(len(df), dtype=bool)
    split = assign_splits(df, {"keep": fraction, "rest": 1 - fraction}, seed=seed, column=f"_{salt}")
    return (split[f"_{salt}"] == "keep").to_numpy()


def training_rows(cfg, hierarchy: Hierarchy) -> tuple[pd.DataFrame, np.ndarray]:
    """``(manifest, targets)`` of the rows this run trains on (see the module docstring)."""
    d = cfg.data
    m = read_sources(d.sources, d.root, hierarchy)
    unsplit = m["split"].astype(str) == ""
    if unsplit.any():
        assigned = assign_splits(m[unsplit], {"train": 1 - d.test_fraction, "test": d.test_fraction},
                                 seed=d.split_seed)
        m.loc[unsplit, "split"] = assigned["split"].to_numpy()
    if d.split is not None:
        m = m[m["split"] == d.split].reset_index(drop=True)
        if not len(m):
            raise TrainingDataError(f"no rows in split {d.split!r} of {d.sources}")
    if d.coarsen_fraction > 0:
        m = coarsen(m, d.coarsen_fraction, seed=cfg.seed, hierarchy=hierarchy)
    if d.limit is not None and d.limit < len(m):
        keep = np.nonzero(_stratified_keep(m, d.limit / len(m), cfg.seed, "limit"))[0]
        if len(keep) > d.limit:  # largest-remainder rounding may give a row or two more
            keep = np.sort(np.random.default_rng(cfg.seed).choice(keep, d.limit, replace=False))
        m = m.iloc[keep].reset_index(drop=True)
    targets = hierarchy.indices(m["node"])
    if d.unlabelled_fraction > 0:
        hide = _stratified_keep(m, d.unlabelled_fraction, cfg.seed + 1, "unlabelled")
        targets = np.where(hide, -1, targets)
    check_supervision(cfg, hierarchy, targets)
    return m, targets


def check_supervision(cfg, hierarchy: Hierarchy, targets: np.ndarray) -> None:
    """A supervised preset needs labelled images its loss can use; say which are missing."""
    loss = cfg.supervised.loss
    if loss is None:
        return
    labelled = targets >= 0
    if not labelled.any():
        raise TrainingDataError(f"preset {loss!r} needs labelled images, but none of the "
                                f"{len(targets)} training images has a label")
    leaf = hierarchy.is_leaf[np.where(labelled, targets, 0)] & labelled
    if loss in ("ce", "supcon") and not cfg.supervised.count_coarse and not leaf.any():
        raise TrainingDataError(f"preset {loss!r} uses leaf labels only, and all "
                                f"{int(labelled.sum())} labelled images are labelled at internal nodes")
