"""Optimizer parameter groups with layer-wise lr decay, no weight decay on biases / norms /
LayerScale, a reduced lr for the patch embedding and a flag for the DINO heads' last layer,
as ``dinov2/utils/param_groups.py`` (``get_params_groups_with_decay``, ``fuse_params_groups``).
"""

from __future__ import annotations

import re
from collections import defaultdict

from torch import nn

_BLOCK = re.compile(r"(?:^|\.)blocks\.(\d+)\.(?:(\d+)\.)?")


def layer_id(name: str, num_layers: int, chunked: bool = False) -> int:
    """0 for embeddings (patch/pos/cls/mask/register tokens), ``i + 1`` for block ``i``,
    ``num_layers + 1`` for everything after the blocks (final norm, heads)."""
    if any(k in name for k in ("pos_embed", "patch_embed", "mask_token", "cls_token", "register_tokens")):
        return 0
    m = _BLOCK.search(name)
    if m:
        return int(m.group(2) if chunked and m.group(2) is not None else m.group(1)) + 1
    return num_layers + 1


def param_groups(module: nn.Module, layerwise_decay: float = 1.0, patch_embed_lr_mult: float = 1.0,
                 num_layers: int | None = None) -> list[dict]:
    """Fused groups ``{"params", "lr_multiplier", "wd_multiplier", "is_last_layer"}`` for a
    backbone or a head (a module without ``blocks`` gets multiplier 1 everywhere)."""
    if num_layers is None:
        num_layers = len(module.blocks) if hasattr(module, "blocks") else 0
    fused: dict[tuple, dict] = defaultdict(lambda: {"params": []})
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        lr_mult = layerwise_decay ** (num_layers + 1 - layer_id(name, num_layers)) if num_layers else 1.0
        if "patch_embed" in name:
            lr_mult *= patch_embed_lr_mult
        wd_mult = 0.0 if name.endswith(".bias") or "norm" in name or "gamma" in name else 1.0
        is_last = "last_layer" in name
        key = (lr_mult, wd_mult, is_last)
        g = fused[key]
        g.update(lr_multiplier=lr_mult, wd_multiplier=wd_mult, is_last_layer=is_last)
        g["params"].append(p)
    return list(fused.values())


def apply_schedule(optimizer, lr: float, wd: float, last_layer_lr: float) -> None:
    """Set each group's lr and weight decay from the scheduled values and its multipliers."""
    for g in optimizer.param_groups:
        g["weight_decay"] = wd * g["wd_multiplier"]
        g["lr"] = (last_layer_lr if g["is_last_layer"] else lr) * g["lr_multiplier"]
