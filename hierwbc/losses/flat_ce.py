"""Flat cross-entropy over the leaves (paper eq. 2) with node-index targets.

``forward(logits [B, L], targets [B]) -> loss``. A leaf target ``t`` gives
``-log softmax(logits)[leaf column of t]``. Samples labelled only at an internal node are
handled by ``coarse``:

- ``"ignore"`` (default, the paper's "coarsely labelled images are not used"): they do not
  count, neither in the sum nor in the mean's denominator;
- ``"marginal"`` (alias ``"count"``): they count with
  ``-log P(t) = -log sum_{l under t} softmax(logits)_l`` (a masked log-sum-exp, exact for
  any logits); for leaf targets this is the usual CE.

``-1`` (unlabelled) and the root (node 0, no information) are always ignored.
``reduction``: "mean" over counted rows (0 when none, never NaN), "sum", "none" ([B], 0
for rows not counted).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .tree_ops import check_targets, check_width, empty_segment_value, labeled_mean

COARSE_MODES = ("ignore", "marginal", "count")


class FlatCELoss(nn.Module):
    """Cross-entropy over leaf logits; see the module docstring for ``coarse``."""

    input_kind = "leaf_logits"

    def __init__(self, hierarchy, coarse: str = "ignore", reduction: str = "mean") -> None:
        super().__init__()
        if coarse not in COARSE_MODES:
            raise ValueError(f"coarse must be one of {COARSE_MODES}, got {coarse!r}")
        self.coarse, self.reduction = ("marginal" if coarse == "count" else coarse), reduction
        leaf_column = np.full(len(hierarchy.nodes), -1, dtype=np.int64)
        leaf_column[hierarchy.leaf_nodes] = np.arange(len(hierarchy.leaf_nodes))
        self.register_buffer("leaf_column", torch.as_tensor(leaf_column), persistent=False)
        self.register_buffer("membership", torch.as_tensor(hierarchy.membership.copy()), persistent=False)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        n_nodes, n_leaves = self.membership.shape
        targets = check_targets(targets, n_nodes, logits.shape[0])
        check_width(logits, n_leaves, "leaf logits", "one column per leaf, h.leaves order")
        x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
        idx = targets.clamp_min(0)
        if self.coarse == "ignore":
            column = torch.where(targets >= 0, self.leaf_column.index_select(0, idx), -1)
            counted = column >= 0
            per_sample = F.cross_entropy(x, column.clamp_min(0), reduction="none")
        else:
            counted = targets > 0  # the root (index 0) carries no information
            inside = self.membership.index_select(0, idx)  # [B, L] leaves under the target
            masked = x.masked_fill(~inside, empty_segment_value(x.dtype))
            per_sample = torch.logsumexp(x, 1) - torch.logsumexp(masked, 1)
        return labeled_mean(per_sample, counted, self.reduction)

    def extra_repr(self) -> str:
        return f"coarse={self.coarse!r}, reduction={self.reduction!r}"
