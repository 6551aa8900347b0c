"""From a training checkpoint to a shippable weights file (:mod:`hierwbc.models.shipped`).

The *teacher* backbone is exported (the EMA model the DINO targets come from, and the one the
online kNN monitor measures), with the student's supervised head when asked for (the teacher has
none: a supervised head is trained on the student's cls token). Tensors are stored in float16:
a ViT-Tiny is ~11 MB, well within the 25 MiB that may be committed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..config import from_dict
from ..models.checkpoints import CheckpointError
from ..models.networks import sup_head_state
from ..models.shipped import save_weights
from ..models.trained_leaves import checkpoint_trained_leaves
from .checkpointing import load_checkpoint

MAX_BYTES = 25 * 2 ** 20


def export_weights(checkpoint: str | os.PathLike, out: str | os.PathLike, head: bool = False,
                   ssl_heads: bool = False, extra_metadata: dict[str, Any] | None = None) -> Path:
    """Write the teacher backbone (``backbone.*``) of a ``hierwbc.train`` checkpoint, with
    ``head`` the supervised head (``sup_head.*``, with the hierarchy it predicts), and with
    ``ssl_heads`` the teacher's DINO / iBOT heads (``dino_head.*``, ``ibot_head.*``: continued
    training carries them, :func:`hierwbc.train.pretrained.load_pretrained`), as float16 safetensors
    with the architecture in the metadata. Raises if the file would exceed 25 MiB.

    With ``head``, the leaves the head may predict (``trained_leaves``: those the run's labelled
    training rows support, :func:`checkpoint_trained_leaves`) go to the metadata."""
    state = load_checkpoint(checkpoint)
    cfg = from_dict(state["config"])
    model = state["model"]
    tensors = {f"backbone.{k[len('teacher.backbone.'):]}": v for k, v in model.items()
               if k.startswith("teacher.backbone.")}
    if not tensors:
        raise CheckpointError(f"{checkpoint}: no teacher backbone in this checkpoint")
    if ssl_heads:
        tensors.update({k[len("teacher."):]: v for k, v in model.items()
                        if k.startswith(("teacher.dino_head.", "teacher.ibot_head."))})
    m = cfg.model
    meta: dict[str, Any] = {"arch": m.arch, "img_size": str(m.img_size), "patch_size": str(m.patch_size),
                            "num_register_tokens": str(m.num_register_tokens), "layerscale": str(m.layerscale or 0),
                            "steps": str(state["step"]), "source_checkpoint": Path(checkpoint).name,
                            "config": json.dumps(state["config"], sort_keys=True)}
    if head:
        head_state = {f"sup_head.{k}": v for k, v in sup_head_state(model).items()}
        if not head_state or cfg.supervised.loss is None:
            raise CheckpointError(f"{checkpoint}: trained without a supervised head (preset {cfg.preset!r})")
        tensors.update(head_state)
        meta.update(sup_loss=cfg.supervised.loss, sup_head_hidden_dim=str(cfg.supervised.head_hidden_dim),
                    hierarchy=state["hierarchy"])
        leaves = checkpoint_trained_leaves(state, checkpoint)
        if leaves is not None:
            meta["trained_leaves"] = leaves
    meta.update(extra_metadata or {})
    path = save_weights(tensors, out, meta)
    size = path.stat().st_size
    if size > MAX_BYTES:
        path.unlink()
        raise CheckpointError(f"{out}: {size / 2**20:.1f} MiB exceeds the 25 MiB limit for shipped weights")
    return path
