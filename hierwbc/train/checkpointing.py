"""Training checkpoints of a run folder: written atomically, read with ``weights_only=True``.

A checkpoint is a plain dict (tensors, numbers, strings, lists, dicts only)::

    {"format": "hierwbc.train", "version": 1, "step": int (steps done),
     "model": MetaArch.state_dict()  (student.*, teacher.*, loss buffers),
     "optimizer": optimizer state keyed by parameter name (hierwbc.train.state), "config": TrainConfig.to_dict(),
     "hierarchy": Hierarchy JSON text, "torch": str(torch.__version__)}

Its ``model`` entry is also what :func:`hierwbc.models.checkpoints.extract_backbone_state`
reads (the ``teacher.backbone.*`` keys), so a training checkpoint is a valid ``--checkpoint``
for ``hierwbc embed`` and ``model.pretrained`` for another run.

Folder: ``<run>/checkpoints/step_000123.pt``; the newest by step is resumed; the ``keep``
newest are kept.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..models.checkpoints import RUN_CHECKPOINT_FORMAT, CheckpointError, load_file, save_atomic

FORMAT, VERSION = RUN_CHECKPOINT_FORMAT, 1
_NAME = re.compile(r"step_(\d+)\.pt$")


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Checkpoints of a run, oldest first (by step)."""
    folder = checkpoint_dir(run_dir)
    found = [(int(m.group(1)), p) for p in folder.glob("step_*.pt") if (m := _NAME.search(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def save_checkpoint(run_dir: str | Path, step: int, model_state: dict, optimizer_state: dict, cfg, hierarchy,
                    keep: int = 2, trained_leaves: list[str] | None = None) -> Path:
    """Write ``step_{step}.pt`` atomically, then delete all but the ``keep`` newest.

    ``model_state`` / ``optimizer_state``: from :mod:`hierwbc.train.state` (full, name-keyed);
    ``trained_leaves``: the leaves the run's labels support (what its supervised head may predict,
    :func:`hierwbc.models.trained_leaves.checkpoint_trained_leaves`), stored when given."""
    state = {"format": FORMAT, "version": VERSION, "step": int(step), "model": model_state,
             "optimizer": optimizer_state, "config": cfg.to_dict(), "hierarchy": hierarchy.to_json(),
             "torch": str(torch.__version__)}
    if trained_leaves is not None:
        state["trained_leaves"] = list(trained_leaves)
    path = save_atomic(state, checkpoint_dir(run_dir) / f"step_{step:06d}.pt")
    for old in list_checkpoints(run_dir)[:-max(keep, 1)]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path) -> dict:
    """A training checkpoint (checked to be one), read with ``weights_only=True``."""
    state = load_file(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a hierwbc training checkpoint (no format {FORMAT!r})")
    if state.get("version") != VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint version {state.get('version')!r}")
    return state
