"""Multilevel cross-entropy (paper 3.7.1): one classifier per depth, CE per depth, averaged.

Input: node logits [B, N] in ``h.nodes`` order, as the multilevel head produces them (one
linear head per depth d = 1..D; column ``n`` is node ``n``'s logit within its depth's
softmax; the root's column is ignored). For a target ``t`` at depth ``d_t``::

    loss(t) = 1/d_t sum_{d=1}^{d_t} -log softmax_{nodes at depth d}(logits)[ancestor of t at depth d]

so a sample counts only at the depths its label reaches (a coarse label trains the coarse
heads only). Levels are weighted equally (the paper averages the heads' losses); the
per-sample mean is then averaged over labelled samples (-1 and the root count as unlabelled).
The per-depth normalisers are one segmented log-sum-exp over the node columns, exact for any
logits.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .tree_ops import check_targets, check_width, labeled_mean, segment_logsumexp


def depth_log_softmax(logits: Tensor, depth: Tensor, max_depth: int) -> Tensor:
    """Per-depth log-softmax of node logits [B, N] (``depth`` [N], root column -> 0)."""
    lse = segment_logsumexp(logits[:, 1:], depth[1:] - 1, max_depth)  # [B, D]
    out = logits[:, 1:] - lse.index_select(1, depth[1:] - 1)
    return torch.cat([torch.zeros_like(logits[:, :1]), out], dim=1)


class MultilevelCELoss(nn.Module):
    """``forward(node_logits [B, N], targets [B]) -> loss``; see the module docstring."""

    input_kind = "depth_logits"

    def __init__(self, hierarchy, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction
        self.max_depth = hierarchy.max_depth
        self.register_buffer("depth", torch.as_tensor(hierarchy.depth.copy()), persistent=False)
        self.register_buffer("ancestor_at_depth", torch.as_tensor(hierarchy.ancestor_at_depth[:, 1:].copy()),
                             persistent=False)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        n_nodes = self.depth.shape[0]
        targets = check_targets(targets, n_nodes, logits.shape[0])
        check_width(logits, n_nodes, "node logits", "one column per node, h.nodes order")
        x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
        idx = targets.clamp_min(0)
        anc = self.ancestor_at_depth.index_select(0, idx)  # [B, D], -1 beyond the target's depth
        reached = (anc >= 0) & (targets >= 0).unsqueeze(1)
        lse = segment_logsumexp(x[:, 1:], self.depth[1:] - 1, self.max_depth)  # [B, D]
        picked = x.gather(1, anc.clamp_min(0))  # logit of the ancestor at each depth
        per_depth = torch.where(reached, lse - picked, torch.zeros_like(lse))
        n_depths = reached.sum(1)
        per_sample = per_depth.sum(1) / n_depths.clamp_min(1).to(x.dtype)
        return labeled_mean(per_sample, n_depths > 0, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
