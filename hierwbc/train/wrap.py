"""Device-dependent parts of a run: precision, autocast, DDP / FSDP wrapping, gradient clipping.

- precision ``auto``: bf16 autocast on CUDA devices that support it; on the CPU it is measured:
  :func:`matmul_rates` times a float32 and a bf16 matrix product, and bf16 is used only where it
  is faster (AMX / AVX512-BF16: 2.75x seen on one machine; an AVX2-only CPU runs bf16 matmuls
  up to 200x slower than float32);
- one process: nothing is wrapped; several: the student is wrapped in DDP, or (``fsdp`` on, or
  ``auto`` for vit_large and larger) each student and teacher module sharded with FSDP2
  (``fully_shard``), one unit per transformer block, as ``dinov2/fsdp`` wraps block chunks;
  the teacher EMA then runs on matching local shards.
"""

from __future__ import annotations

import functools
import time
from contextlib import nullcontext

import torch
from torch import nn

LARGE_ARCHS = ("vit_large", "vit_giant", "vit_giant2")


def matmul_rates(device: torch.device | None = None, n: int = 512,
                 min_seconds: float = 0.05) -> dict[str, float]:
    """Measured GFLOP/s of an ``n x n`` float32 and bfloat16 matrix product on ``device``
    (``{"fp32": ..., "bf16": ...}``; each timed over at least ``min_seconds`` after a warm-up)."""
    device = device if device is not None else torch.device("cpu")
    rates = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(n, n, device=device).to(dtype)
        b = torch.randn(n, n, device=device).to(dtype)
        a @ b  # warm-up (kernel selection, caches)
        reps, t0 = 0, time.perf_counter()
        while True:
            a @ b
            reps += 1
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            elapsed = time.perf_counter() - t0
            if elapsed >= min_seconds:
                break
        rates[name] = 2 * n ** 3 * reps / elapsed / 1e9
    return rates


def choose_precision(precision: str, device: torch.device) -> tuple[str, dict]:
    """``(precision, info)``: ``auto`` -> bf16 on CUDA with bf16 support; on other devices bf16
    where :func:`matmul_rates` finds it at least 1.2x faster than float32, else fp32. ``info``
    holds the measured rates (GFLOP/s) and the reason, for the run's log."""
    if precision != "auto":
        return precision, {"precision": precision, "reason": "asked for"}
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        return ("bf16" if ok else "fp32"), {"precision": "bf16" if ok else "fp32",
                                            "reason": f"CUDA device, bf16 supported: {ok}"}
    rates = matmul_rates(device)
    ratio = rates["bf16"] / max(rates["fp32"], 1e-9)
    chosen = "bf16" if ratio >= 1.2 else "fp32"
    return chosen, {"precision": chosen, "fp32_gflops": round(rates["fp32"], 2),
                    "bf16_gflops": round(rates["bf16"], 2), "bf16_over_fp32": round(ratio, 3),
                    "reason": f"measured bf16 matmul at {ratio:.2f}x float32 on this {device.type}"}


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision to train in (see :func:`choose_precision`)."""
    return choose_precision(precision, device)[0]


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
