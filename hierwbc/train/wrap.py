"""Device-dependent parts of a run: precision, autocast, DDP / FSDP wrapping, gradient clipping.

- precision ``auto``: bf16 autocast on CUDA devices that support it; float32 on the CPU (a CPU
  without bf16 matrix units, such as AVX2-only x86, runs bf16 matmuls far slower than float32;
  ask for ``bf16`` explicitly on CPUs with AMX / AVX512-BF16);
- one process: nothing is wrapped; several: the student is wrapped in DDP, or (``fsdp`` on, or
  ``auto`` for vit_large and larger) each student and teacher module sharded with FSDP2
  (``fully_shard``), one unit per transformer block, as ``dinov2/fsdp`` wraps block chunks;
  the teacher EMA then runs on matching local shards.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext

import torch
from torch import nn

LARGE_ARCHS = ("vit_large", "vit_giant", "vit_giant2")


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision != "auto":
        return precision
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


def autocast_context(precision: str, device: torch.device):
    """A zero-argument factory of the autocast context for forward passes."""
    if precision == "bf16":
        return functools.partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)
    return nullcontext


def use_fsdp(cfg, world_size: int) -> bool:
    if cfg.fsdp == "on":
        return True
    return cfg.fsdp == "auto" and world_size > 1 and cfg.model.arch in LARGE_ARCHS


def _shard(module: nn.Module) -> None:
    """FSDP2 (``fully_shard``): one unit per transformer block, then the module itself; works on
    CUDA (nccl) and on the CPU (gloo)."""
    from torch.distributed.fsdp import fully_shard, register_fsdp_forward_method

    from ..models.layers import Block

    for sub in module.modules():
        if isinstance(sub, Block):
            fully_shard(sub)
    fully_shard(module)
    if hasattr(module, "forward_features"):  # the backbone is called through it, not forward()
        register_fsdp_forward_method(module, "forward_features")


def wrap_student(model, cfg, dist) -> None:
    """Wrap for multi-process training (no-op in one process); see the module docstring."""
    if dist.world_size == 1:
        return
    if use_fsdp(cfg, dist.world_size):
        for part in (model.student, model.teacher):
            for name in ("backbone", "dino_head", "ibot_head", "sup_head"):
                sub = getattr(part, name, None)
                if sub is not None:
                    _shard(sub)
        model.sharded = True
        return
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [dist.device.index] if dist.device.type == "cuda" else None
    model.set_student_wrapper(DDP(model.student, device_ids=ids))


def clip_gradients(model, max_norm: float) -> None:
    """Clip each student module's gradient norm to ``max_norm`` (as dinov2, per module)."""
    if not max_norm:
        return
    for name in ("backbone", "dino_head", "ibot_head", "sup_head"):
        sub = getattr(model.student, name, None)
        if sub is None:
            continue
        # with FSDP2 the parameters are DTensors and the norm is computed across shards
        torch.nn.utils.clip_grad_norm_([p for p in sub.parameters() if p.grad is not None], max_norm)
