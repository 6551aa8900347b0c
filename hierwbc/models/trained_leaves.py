"""The leaves a trained head may predict: those its run's labelled training rows support.

A head trained where some leaves never had a label (e.g. on five types, or on a lab labelled only
coarsely) gives those leaves probabilities that mean nothing; inference restricts the head to the
leaves :meth:`~hierwbc.hierarchy.Hierarchy.supported_leaves` names for its training labels.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..hierarchy import Hierarchy


def trained_leaves(run_dir: Path, hierarchy: Hierarchy | str) -> list[str] | None:
    """Names of the leaves the labelled rows of ``run_dir/train_manifest.csv`` support
    (:meth:`~hierwbc.hierarchy.Hierarchy.supported_leaves`; None without that file or without
    labelled rows). ``hierarchy``: the run's tree, or its JSON as a checkpoint stores it."""
    import pandas as pd

    path = Path(run_dir) / "train_manifest.csv"
    if not path.exists():
        return None
    rows = pd.read_csv(path, usecols=["node", "target"], dtype={"node": str}, keep_default_na=False)
    labels = rows.loc[rows["target"] >= 0, "node"].unique()
    if not len(labels):
        return None
    h = hierarchy if isinstance(hierarchy, Hierarchy) else Hierarchy.from_json(hierarchy, source=f"{run_dir}: tree")
    return h.leaf_names(h.supported_leaves(labels))


def checkpoint_trained_leaves(state: dict, checkpoint: str | os.PathLike) -> list[str] | None:
    """The leaves a training checkpoint's supervised head may predict: the list the checkpoint
    stores (``trained_leaves``, written since 2026-12), else, for older checkpoints, the one its run
    folder's ``train_manifest.csv`` gives (:func:`trained_leaves`); None when neither is there."""
    if state.get("trained_leaves") is not None:
        return list(state["trained_leaves"])
    return trained_leaves(Path(checkpoint).resolve().parent.parent, state["hierarchy"])
