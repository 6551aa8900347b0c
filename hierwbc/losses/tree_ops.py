"""Tensor operations on the hierarchy shared by the supervised losses and heads.

Everything here reads the :class:`~hierwbc.hierarchy.Hierarchy`'s arrays; nothing re-derives
tree facts. Shapes: B batch, L leaves, N nodes (``h.nodes`` order), S segments.

- :func:`check_targets`: targets are node indices (``h.node_index``) or ``-1`` (unlabelled).
- :func:`segment_logsumexp`: ``log sum exp`` of the entries of each row that share a segment
  id, stable for any finite input (each segment is shifted by its own maximum).
- :func:`node_log_probs`: ``log P(node) = logsumexp_{leaves under node} log_softmax(logits)``
  ([B, L] -> [B, N]), the node probabilities of the paper's eq. 4 in log space.
- :func:`full_precision`: autocast off inside a loss (mixed-precision training).
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import Tensor

from ..deprecation import renamed_attributes


def full_precision(device: torch.device):
    """Context that turns autocast off on ``device`` (the losses' matmuls and exps stay in
    float32 under mixed precision); a no-op for device types without autocast (meta)."""
    if device.type in ("cpu", "cuda", "xpu", "mps", "hpu"):
        return torch.autocast(device_type=device.type, enabled=False)
    return contextlib.nullcontext()


def empty_segment_value(dtype: torch.dtype) -> float:
    """Value :func:`segment_logsumexp` gives an empty segment: a finite stand-in for ``-inf``."""
    return torch.finfo(dtype).min / 2


def check_targets(targets: Tensor, n_nodes: int, batch: int | None = None, what: str = "targets") -> Tensor:
    """Validate node-index targets and return them as int64.

    ``targets`` [B] integer; each in ``[-1, n_nodes)`` (``-1`` = unlabelled). Raises
    ``ValueError`` naming the offending values, or the shape mismatch with ``batch``.
    """
    if targets.dim() != 1:
        raise ValueError(f"{what} must be a 1-D tensor of node indices, got shape {tuple(targets.shape)}")
    if targets.dtype.is_floating_point or targets.dtype == torch.bool or targets.is_complex():
        raise ValueError(f"{what} must be integer node indices (h.node_index), got dtype {targets.dtype}")
    if batch is not None and targets.shape[0] != batch:
        raise ValueError(f"{what} has {targets.shape[0]} entries but the batch has {batch} rows")
    targets = targets.long()
    if targets.device.type == "meta" or targets.numel() == 0:  # nothing to check
        return targets
    low, high = torch.aminmax(targets)
    if low.item() < -1 or high.item() >= n_nodes:
        bad = (targets < -1) | (targets >= n_nodes)
        values = sorted(set(targets[bad].tolist()))[:10]
        raise ValueError(
            f"{what} {values} are not node indices of the hierarchy ({n_nodes} nodes, "
            "valid 0..N-1, -1 = unlabelled)"
        )
    return targets


def check_width(x: Tensor, width: int, what: str, expected: str) -> None:
    """Raise ``ValueError`` unless ``x`` is [B, width] (``expected`` names the width)."""
    if x.dim() != 2 or x.shape[1] != width:
        raise ValueError(f"{what} must be [B, {width}] ({expected}), got shape {tuple(x.shape)}")


def labeled_mean(per_sample: Tensor, labeled: Tensor, reduction: str) -> Tensor:
    """Reduce per-sample losses [B] over the ``labelled`` [B] bool rows.

    ``"mean"``: sum / max(#labelled, 1) (0 for a batch without labels, never NaN);
    ``"sum"``: sum over labelled rows; ``"none"``: [B] with 0 for unlabelled rows.
    """
    per_sample = torch.where(labeled, per_sample, torch.zeros_like(per_sample))
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "mean":
        return per_sample.sum() / labeled.sum().clamp_min(1).to(per_sample.dtype)
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def segment_logsumexp(x: Tensor, segment: Tensor, num_segments: int) -> Tensor:
    """Row-wise log-sum-exp over segments: [B, C] -> [B, S].

    ``out[b, s] = log sum_{c : segment[b, c] == s} exp(x[b, c])``. ``segment`` is [C] (same
    segments for every row) or [B, C], int64 in ``[0, num_segments)``. Each (row, segment) is
    shifted by its own maximum, so the result is finite and exact for any finite ``x``; an
    empty segment gets :func:`empty_segment_value` (``exp`` of it is 0). Differentiable in ``x``.
    Vectorised with ``scatter_reduce_``/``scatter_add`` along dim 1 (no [B, S, C] masks).
    """
    b, c = x.shape
    if segment.dim() == 1:
        segment = segment.expand(b, c)
    with torch.no_grad():
        shift = x.new_full((b, num_segments), empty_segment_value(x.dtype))
        shift.scatter_reduce_(1, segment, x.detach(), "amax")
    e = torch.exp(x - shift.gather(1, segment))
    total = x.new_zeros(b, num_segments).scatter_add(1, segment, e)
    if not torch.is_grad_enabled():  # inside custom autograd functions: reuse the buffers
        return total.clamp_min_(torch.finfo(x.dtype).tiny).log_().add_(shift)
    return shift + torch.log(total.clamp_min(torch.finfo(x.dtype).tiny))


class NodeLogProbs:
    """``log P(node)`` for every node from leaf logits: [B, L] -> [B, N] (paper eq. 4, log space).

    ``P(node) = sum of the softmax probabilities of the leaves under it`` (``h.membership``).
    Computed as a :func:`segment_logsumexp` over the (node, leaf) pairs of the membership
    matrix, so it is finite for logits of any magnitude (the root's value is 0 up to rounding).
    """

    def __init__(self, hierarchy) -> None:
        node, leaf = np.nonzero(hierarchy.membership)
        self.n_nodes, self.n_leaves = len(hierarchy.nodes), len(hierarchy.leaves)
        self._pairs = (torch.as_tensor(node, dtype=torch.long), torch.as_tensor(leaf, dtype=torch.long))
        self._on: dict[torch.device, tuple[Tensor, Tensor]] = {}

    def __call__(self, logits: Tensor) -> Tensor:
        check_width(logits, self.n_leaves, "leaf logits", "one column per leaf, h.leaves order")
        if logits.device not in self._on:
            self._on[logits.device] = tuple(p.to(logits.device) for p in self._pairs)
        node, leaf = self._on[logits.device]
        lsm = torch.log_softmax(logits, dim=1)
        return segment_logsumexp(lsm.index_select(1, leaf), node, self.n_nodes)


def node_log_probs(logits: Tensor, hierarchy) -> Tensor:
    """Functional form of :class:`NodeLogProbs`: leaf logits [B, L] -> log P(node) [B, N]."""
    return NodeLogProbs(hierarchy)(logits)

__getattr__ = renamed_attributes(__name__, {"labelled_mean": "labeled_mean"})
