"""Distance-aware classification loss (paper 3.7.2): the expected tree distance of the prediction.

For leaf logits ``z`` [L] and target node ``t``::

    L(z, t) = sum_c softmax(z)_c * D[t, c]

``D[t, c]`` comes from the hierarchy's arrays: ``h.lca_height`` (default; edges from the LCA
down to the deeper of the two nodes, the mistake severity of Bertinetto et al.) or
``h.tree_distance`` (path length). For an internal target, every leaf under it is a correct
answer (distance 0); leaves elsewhere keep their distance to the target node. ``normalize``
divides D by its largest leaf-to-leaf value (so L lies in [0, 1]). The softmax is finite for
any logits, so the loss and its gradient are too.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .tree_ops import check_targets, check_width, labeled_mean

DISTANCES = ("lca_height", "tree_distance")


def leaf_distance_table(hierarchy, distance: str = "lca_height", normalize: bool = False) -> np.ndarray:
    """``D`` [N, L] float64: distance from each node to each leaf, 0 for the leaves under it."""
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
    full = getattr(hierarchy, distance).astype(np.float64)
    table = np.where(hierarchy.membership, 0.0, full[:, hierarchy.leaf_nodes])
    if normalize:
        top = table[hierarchy.leaf_nodes].max()
        table = table / top if top > 0 else table
    return table


class DistanceLoss(nn.Module):
    """``forward(logits [B, L], targets [B]) -> loss``: mean expected distance over labelled
    samples (-1 and the root count as unlabelled). Args: hierarchy; distance ("lca_height" or
    "tree_distance"); normalize (False); reduction ("mean", "sum", "none")."""

    input_kind = "leaf_logits"

    def __init__(self, hierarchy, distance: str = "lca_height", normalize: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__()
        self.distance, self.normalize, self.reduction = distance, bool(normalize), reduction
        table = leaf_distance_table(hierarchy, distance, normalize)
        self.register_buffer("table", torch.as_tensor(table), persistent=False)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        targets = check_targets(targets, self.table.shape[0], logits.shape[0])
        check_width(logits, self.table.shape[1], "leaf logits", "one column per leaf, h.leaves order")
        x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
        dist = self.table.index_select(0, targets.clamp_min(0)).to(x.dtype)  # [B, L]
        per_sample = (torch.softmax(x, dim=1) * dist).sum(1)
        return labeled_mean(per_sample, targets > 0, self.reduction)

    def extra_repr(self) -> str:
        return f"distance={self.distance!r}, normalize={self.normalize}, reduction={self.reduction!r}"
