"""Collective primitives that also work in one process (no initialised process group): then
rank 0, world size 1, and every reduction is the identity. Shared by the losses (Sinkhorn-Knopp,
iBOT centring) and the trainer; process-group set-up lives in :mod:`hierwbc.train.distributed`."""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    return dist.get_rank() if is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_initialized() else 1


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """In-place sum over processes (identity in one process); returns ``t``."""
    if is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_reduce_max(t: torch.Tensor) -> torch.Tensor:
    """In-place max over processes (identity in one process); returns ``t``."""
    if is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t


def all_reduce_mean(t: torch.Tensor) -> torch.Tensor:
    """In-place mean over processes (identity in one process); returns ``t``."""
    if is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        t /= get_world_size()
    return t


def barrier() -> None:
    if is_initialized():
        dist.barrier()
