"""Process-group set-up for one process, ``torchrun`` (DDP/FSDP) and SLURM.

Everything here also works without an initialised process group (one process): the helpers
then return rank 0, world size 1 and reduce nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..distributed import (
    all_reduce_mean,
    all_reduce_sum,
    barrier,
    get_rank,
    get_world_size,
    is_initialized,
)

__all__ = ["DistInfo", "all_reduce_mean", "all_reduce_sum", "barrier", "cleanup", "gather_with_grad",
           "get_rank", "get_world_size", "init_distributed", "is_initialized", "pick_device"]


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0








def pick_device(device: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto``: the local GPU when CUDA is available, else the CPU."""
    if device == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    return torch.device(device)


def init_distributed(device: str = "auto", backend: str | None = None) -> DistInfo:
    """Initialise the process group when launched by torchrun (``WORLD_SIZE`` > 1) or by SLURM's
    srun without torchrun (``SLURM_NTASKS`` > 1, ``MASTER_ADDR`` set); else a one-process run.

    Backend: nccl on CUDA, gloo on CPU, unless given.
    """
    env = os.environ
    if "WORLD_SIZE" not in env and int(env.get("SLURM_NTASKS", "1")) > 1 and "MASTER_ADDR" in env:
        env["WORLD_SIZE"], env["RANK"] = env["SLURM_NTASKS"], env["SLURM_PROCID"]
        env["LOCAL_RANK"] = env.get("SLURM_LOCALID", "0")
    world = int(env.get("WORLD_SIZE", "1"))
    local_rank = int(env.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if world > 1 and not is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend or ("nccl" if dev.type == "cuda" else "gloo"))
    return DistInfo(get_rank(), get_world_size(), local_rank, dev)








def cleanup() -> None:
    """Leave the process group after a run: wait for every rank (none tears down while another is
    still in a collective), then destroy it; nothing in a one-process run."""
    if is_initialized():
        dist.barrier()
        dist.destroy_process_group()



class _GatherWithGrad(torch.autograd.Function):
    """all_gather along dim 0; backward sums the gradient over processes (all-reduce of a
    contiguous copy: gloo's all-to-all path in ``torch.distributed.nn`` mishandles the
    non-contiguous gradient chunks that slicing or transposing the gathered tensor produces)
    and returns this process's rows."""

    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        t = t.contiguous()
        parts = [torch.empty_like(t) for _ in range(get_world_size())]
        dist.all_gather(parts, t)
        ctx.rows, ctx.rank = t.shape[0], get_rank()
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows]


def gather_with_grad(t: torch.Tensor) -> torch.Tensor:
    """Concatenate ``t`` [B, ...] (same B everywhere) from every process along dim 0, keeping the
    autograd graph: each process's rows receive the sum over processes of the gradients of
    their losses. ``t`` itself in one process."""
    if not is_initialized():
        return t
    if not t.requires_grad:
        parts = [torch.empty_like(t.contiguous()) for _ in range(get_world_size())]
        dist.all_gather(parts, t.contiguous())
        return torch.cat(parts, dim=0)
    return _GatherWithGrad.apply(t)
