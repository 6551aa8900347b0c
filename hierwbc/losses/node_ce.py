"""Flat cross-entropy over the tree's nodes: every label is its own class, coarse ones included.

Input: node logits [B, N] in ``h.nodes`` order (the ``node_logits`` head,
:class:`hierwbc.models.supervised_heads.NodeLogitHead`; the root's column is ignored). For a
target node ``t`` (a leaf or an internal node)::

    loss(t) = -log softmax_{v != root}(logits)[t]

one softmax over all N - 1 non-root nodes, so a cell labelled only "neutrophil" is a class of
its own beside "neutrophil_band" and "neutrophil_segmented", with no tie between them: the
flat reading of a label set that mixes precisions (issue 30's "its own class"). Contrast
:class:`.flat_ce.FlatCELoss`, whose default ``coarse="ignore"`` drops such cells (the paper's
section 3.8: "coarsely labeled images are not used"). ``-1`` and the root are unlabelled.
``reduction``: "mean" over labelled rows (0 when none), "sum", "none" ([B], 0 for unlabelled).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .tree_ops import check_targets, check_width, labeled_mean


class NodeCELoss(nn.Module):
    """``forward(node_logits [B, N], targets [B]) -> loss``; see the module docstring."""

    input_kind = "node_logits"

    def __init__(self, hierarchy, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.n_nodes, self.reduction = len(hierarchy.nodes), reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        targets = check_targets(targets, self.n_nodes, logits.shape[0])
        check_width(logits, self.n_nodes, "node logits", "one column per node, h.nodes order")
        x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
        log_p = torch.log_softmax(x[:, 1:], dim=1)  # the root's column left out
        labeled = targets > 0
        picked = log_p.gather(1, (targets.clamp_min(1) - 1)[:, None])[:, 0]
        return labeled_mean(-picked, labeled, self.reduction)
