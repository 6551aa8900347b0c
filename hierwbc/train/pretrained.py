"""Continued training: a run that starts from a weights file takes its architecture (and its
image size unless one is given) and its weights, DINO / iBOT heads included when they fit."""

from __future__ import annotations

import copy

from ..config.training import TrainConfig, check_img_size, settle_img_size, validate
from ..models.checkpoints import load_backbone_state
from .meta_arch import MetaArch


def adopt_pretrained_architecture(cfg: TrainConfig) -> TrainConfig:
    """When ``model.pretrained`` is a weights file with metadata (a shipped short name such as
    ``hierwbc-tiny-pbc``, :mod:`hierwbc.models.shipped`), its architecture, patch size,
    LayerScale and register tokens replace the config's (they must match the weights), and its
    image size too unless ``model.img_size`` was given (then the position embedding is resampled).
    ``model.img_size`` is settled here (:func:`hierwbc.config.training.settle_img_size`)."""
    from ..models.shipped import FORMAT, is_safetensors, read_metadata, resolve_weights

    if not cfg.model.pretrained:
        return cfg if cfg.model.img_size is not None else settle_img_size(copy.deepcopy(cfg))  # built by hand
    path = resolve_weights(cfg.model.pretrained)
    meta = read_metadata(path) if is_safetensors(path) else {}  # the tensors are loaded once, later
    cfg = copy.deepcopy(cfg)
    ours = meta.get("format") == FORMAT
    if ours:
        cfg.model.arch = meta["arch"]
        cfg.model.patch_size = int(meta["patch_size"])
        cfg.model.layerscale = float(meta.get("layerscale", 0) or 0)
        cfg.model.num_register_tokens = int(meta.get("num_register_tokens", 0))
    settle_img_size(cfg, meta.get("img_size") if ours else None)  # the one given, else the file's, else 224
    check_img_size(cfg)  # against the file's patch size
    validate(cfg)
    return cfg


def load_pretrained(model: MetaArch, path: str) -> list[str]:
    """Pretrained backbone (DINOv2 hub / DinoBloom / ours) into student and teacher; a file of
    another architecture raises :class:`~hierwbc.models.checkpoints.CheckpointError` listing
    the mismatched keys before any training.

    A weights file that also carries the teacher's DINO / iBOT heads (``dino_head.*``,
    ``ibot_head.*``: :func:`hierwbc.train.export.export_weights` with ``ssl_heads``) gives them
    to student and teacher too, when their shapes fit this run's heads, so that continued
    training starts from targets the backbone already matches instead of random prototypes.
    Returns the names of the heads carried over."""
    from ..models.checkpoints import load_file

    obj = load_file(path)
    load_backbone_state(obj, model.student.backbone)
    model.teacher.backbone.load_state_dict(model.student.backbone.state_dict())
    carried = []
    for name in ("dino_head", "ibot_head"):
        prefix = name + "."
        state = {k[len(prefix):]: v.float() for k, v in obj.items() if k.startswith(prefix)} \
            if isinstance(obj, dict) else {}
        target = getattr(model.student, name).state_dict()
        if state and state.keys() == target.keys() and all(state[k].shape == target[k].shape for k in state):
            getattr(model.student, name).load_state_dict(state)
            getattr(model.teacher, name).load_state_dict(state)
            carried.append(name)
    return carried
