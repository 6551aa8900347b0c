"""Device-dependent parts of a run: precision, autocast, DDP / FSDP wrapping, gradient clipping.

- precision ``auto``: bf16 autocast on CUDA devices that support it; float32 on the CPU (a CPU
  without bf16 matrix units, such as AVX2-only x86, runs bf16 matmuls far slower than float32;
  ask for ``bf16`` explicitly on CPUs with AMX / AVX512-BF16);
- one process: nothing is wrapped; several: the student is wrapped in DDP, or (``fsdp`` on, or
  ``auto`` for vit_large and larger) each student and teacher module in FSDP with one unit per
  transformer block, as ``dinov2/fsdp`` does; the teacher EMA then runs on matching shards.
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


def _fsdp(module: nn.Module, device: torch.device) -> nn.Module:
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    from torch.distributed.fsdp import ShardingStrategy
    from torch.distributed.fsdp.wrap import ModuleWrapPolicy

    from ..models.layers import Block

    return FSDP(module, auto_wrap_policy=ModuleWrapPolicy({Block}), use_orig_params=True,
                sharding_strategy=ShardingStrategy.SHARD_GRAD_OP,
                device_id=device if device.type == "cuda" else None, sync_module_states=True)


def wrap_student(model, cfg, dist) -> None:
    """Wrap for multi-process training (no-op in one process); see the module docstring."""
    if dist.world_size == 1:
        return
    if use_fsdp(cfg, dist.world_size):
        for name in ("backbone", "dino_head", "ibot_head", "sup_head"):
            for part in (model.student, model.teacher):
                sub = getattr(part, name, None)
                if sub is not None:
                    setattr(part, name, _fsdp(sub, dist.device))
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
        if hasattr(sub, "clip_grad_norm_"):  # FSDP computes the norm across shards
            sub.clip_grad_norm_(max_norm)
        else:
            torch.nn.utils.clip_grad_norm_([p for p in sub.parameters() if p.grad is not None], max_norm)
