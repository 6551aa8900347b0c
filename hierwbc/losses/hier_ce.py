"""Hierarchical cross-entropy (HXE) of Bertinetto et al. 2020, paper eqs. 4-7, in log space.

For a target node ``t`` with path ``t = C_0, C_1, ..., C_h = root`` and leaf logits ``z`` [L]::

    HierCE(z, t) = - sum_{k=0}^{h-1} lambda(C_k) log P(C_k | C_{k+1}),   P(v) = sum_{l under v} softmax(z)_l
    lambda(v)    = exp(-alpha * depth(v)) / sum_{u in all nodes} exp(-alpha * depth(u))

``lambda(v)`` weighs the edge from ``v`` to its parent; the normalisation over all nodes (the
root included) is ``get_exponential_weighting(normalize=True)`` of fiveai/making-better-mistakes
(``better_mistakes/trees.py``), which names depth where the paper's eq. 6 says "height".
A leaf target is eq. 5. For an internal target the same sum runs over the path from that node
to the root (the issue's correction of eq. 7: edges below it carry no information and are not
counted once per descendant leaf). With ``alpha = 0`` every weight is ``1/N`` and the sum
telescopes to ``-log P(t) / N``: flat cross-entropy times ``1/N``.

How it is computed (no [B, N, D] one-hot gathers): for target ``t`` every leaf ``l`` falls in
one "ring" ``r(t, l) = depth(t) - depth(lca(t, l))``: ring 0 = the leaves under ``t``, ring
``k`` = leaves under ``C_k`` but not under ``C_{k-1}``. One segmented log-sum-exp over the
[B, L] logits gives each ring's log-mass ``R_k``; ``log P(C_k) + const = logcumsumexp(R)_k``
and ``-log P(C_k | C_{k+1}) = softplus(R_{k+1} - logcumsumexp(R)_k)``. A custom autograd
function supplies the closed-form gradient, so the whole loss is a few ops on [B, L] and
[B, D+1] tensors and finite for logits of any magnitude.

Tables (numpy, from the hierarchy's arrays): ``ring`` [N, L] int64, ``lam`` [N, D] with
``lam[t, k] = lambda(C_k)`` for ``k < depth(t)`` and 0 beyond; :func:`pack_weights` appends
the coefficients the backward needs ([N, 2D+1]), and the batch gathers one row per target.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from .tree_ops import check_targets, check_width, empty_segment_value


def edge_weights(hierarchy, alpha: float = 0.5, normalize: bool = True) -> np.ndarray:
    """``lambda(v) = exp(-alpha * depth(v))`` [N] (weight of the edge v -> parent), divided by
    its sum over all nodes (root included) when ``normalize`` (Bertinetto et al.)."""
    w = np.exp(-float(alpha) * hierarchy.depth.astype(np.float64))
    return w / w.sum() if normalize else w


def hier_ce_tables(hierarchy, alpha: float = 0.5, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(ring [N, L] int64, lam [N, D] float64)`` for :func:`hier_ce_loss` (see the module docstring).

    The root's row (also used for unlabelled samples) has ``lam = 0``: no edge, no loss."""
    depth, anc = hierarchy.depth, hierarchy.ancestor_at_depth
    ring = depth[:, None] - depth[hierarchy.lca[:, hierarchy.leaf_nodes]]
    d = max(hierarchy.max_depth, 1)
    k = np.arange(d)[None, :]
    on_path = k < depth[:, None]  # C_k exists below the root
    node_k = np.take_along_axis(anc, np.clip(depth[:, None] - k, 0, None), axis=1)  # C_k
    lam = np.where(on_path, edge_weights(hierarchy, alpha, normalize)[node_k], 0.0)
    return ring.astype(np.int64), lam


class _HierCE(torch.autograd.Function):
    """HierCE from logits [B, L], rings [B, L] and ``weights`` [B, 2D+1] (``lam`` [B, D] then
    the cumulative coefficients [B, D+1], each row already multiplied by the sample's share
    of the reduction): the sum over the batch, or per sample [B] when ``reduce`` is False.
    Closed-form backward."""

    @staticmethod
    def forward(ctx, logits: Tensor, ring: Tensor, weights: Tensor, reduce: bool) -> Tensor:
        d = (weights.shape[1] - 1) // 2
        # log-mass of each ring [B, K], every (row, ring) shifted by its own maximum (as
        # segment_logsumexp, inlined: an empty ring's -inf is harmless here, see below)
        shift = torch.full((logits.shape[0], d + 1), empty_segment_value(logits.dtype), dtype=logits.dtype,
                           device=logits.device).scatter_reduce_(1, ring, logits, "amax")
        mass = torch.zeros_like(shift).scatter_add_(1, ring, (logits - shift.gather(1, ring)).exp_())
        log_ring = mass.log_().add_(shift)  # -inf for rings beyond the target's depth
        cum = torch.logcumsumexp(log_ring, dim=1)  # log P(C_k) + logsumexp(logits); finite
        # -log P(C_k | C_{k+1}); 0 (softplus(-inf)) beyond the target's depth, where lam = 0
        neg_log_cond = F.softplus(log_ring[:, 1:] - cum[:, :-1]).mul_(weights[:, :d])
        ctx.save_for_backward(logits, ring, weights[:, d:], cum)
        return neg_log_cond.sum() if reduce else neg_log_cond.sum(1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        logits, ring, coef, cum = ctx.saved_tensors
        # loss = sum_j c_j cum_j and d cum_j / d z_l = [ring_l <= j] exp(z_l - cum_j), hence
        # grad_l = exp(z_l - cum_r) * sum_{j >= r} c_j exp(cum_r - cum_j), r = ring_l; every
        # exponent is <= 0 (j < r is masked by the upper triangle).
        diff = (cum.unsqueeze(2) - cum.unsqueeze(1)).clamp_(max=0)  # [B, r, j]
        per_ring = torch.exp_(diff).mul_(coef.unsqueeze(1)).triu_().sum(2)
        per_ring = per_ring.mul_(grad_out if grad_out.dim() == 0 else grad_out.unsqueeze(1))
        grad = torch.exp_(logits - cum.gather(1, ring)).mul_(per_ring.gather(1, ring))
        return grad, None, None, None


def hier_ce_loss(logits: Tensor, targets: Tensor, ring: Tensor, weights: Tensor, reduction: str = "mean") -> Tensor:
    """HierCE of leaf logits [B, L] against node-index targets [B] (-1 = unlabelled).

    ``ring`` [N, L] from :func:`hier_ce_tables` and ``weights`` = :func:`pack_weights` of its
    ``lam`` ([N, 2D+1]), as tensors on the logits' device. A root target counts as
    unlabelled (it has no edge). ``reduction``: "mean" over labelled rows (0 when none),
    "sum", "none" ([B], 0 for unlabelled rows). Half-precision logits run in float32.
    """
    targets = check_targets(targets, ring.shape[0], logits.shape[0])
    check_width(logits, ring.shape[1], "leaf logits", "one column per leaf, h.leaves order")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    idx = targets.clamp_min(0)  # unlabelled -> the root's row: lam = 0, zero loss and gradient
    w = weights.index_select(0, idx)
    if w.dtype != x.dtype:
        w = w.to(x.dtype)
    if reduction == "mean":
        w = w / (targets > 0).sum().clamp_min(1).to(x.dtype)
    return _HierCE.apply(x, ring.index_select(0, idx), w, reduction != "none")


def pack_weights(lam: Tensor) -> Tensor:
    """[N, D] -> [N, 2D+1]: ``lam`` then ``c_j = lam_{j-1} - lam_j`` (the weight of
    ``logcumsumexp(R)_j`` in the loss, used by the backward)."""
    return torch.cat([lam, F.pad(lam, (1, 0)) - F.pad(lam, (0, 1))], dim=1)


class HierCELoss(nn.Module):
    """HierCE over leaf logits: ``forward(logits [B, L], targets [B]) -> loss``.

    Args: hierarchy; alpha (0.5, paper); normalize (weights sum to 1 over all nodes, as
    Bertinetto et al.); reduction ("mean" over labelled samples, "sum", "none").
    """

    input_kind = "leaf_logits"

    def __init__(self, hierarchy, alpha: float = 0.5, normalize: bool = True, reduction: str = "mean") -> None:
        super().__init__()
        ring, lam = hier_ce_tables(hierarchy, alpha, normalize)
        self.alpha, self.normalize, self.reduction = float(alpha), bool(normalize), reduction
        self.register_buffer("ring", torch.as_tensor(ring), persistent=False)
        weights = pack_weights(torch.as_tensor(lam, dtype=torch.float64))
        self.register_buffer("weights", weights.float(), persistent=False)
        self.register_buffer("weights64", weights, persistent=False)  # exact for float64 logits

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        weights = self.weights64 if logits.dtype == torch.float64 else self.weights
        return hier_ce_loss(logits, targets, self.ring, weights, self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, normalize={self.normalize}, reduction={self.reduction!r}"
