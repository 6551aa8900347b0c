"""Soft-label cross-entropy of Bertinetto et al. 2020 ("soft labels", hardness ``beta``).

The one-hot target is replaced by a distribution over leaves that decays with the tree
distance (``better_mistakes/model/labels.py``, ``make_all_soft_labels``)::

    y_t(c) = exp(-beta * D[t, c]) / sum_c' exp(-beta * D[t, c'])
    L(z, t) = -sum_c y_t(c) log softmax(z)_c

with ``D`` the :func:`.distance.leaf_distance_table` divided by its largest leaf-to-leaf
value, as Bertinetto et al. do (distance "lca_height" by default). An internal target spreads
its mass evenly over the leaves under it (distance 0) before the decay. ``L`` is the
cross-entropy with soft targets: KL(y_t || softmax(z)) plus the constant entropy of ``y_t``
(same gradient). Computed with ``log_softmax``, finite for any logits.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .distance import leaf_distance_table
from .tree_ops import check_targets, check_width, labeled_mean


def soft_label_table(hierarchy, beta: float, distance: str = "lca_height") -> np.ndarray:
    """``y`` [N, L] float64: the soft label of each target node (rows sum to 1)."""
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    scores = -float(beta) * leaf_distance_table(hierarchy, distance, normalize=True)
    scores -= scores.max(axis=1, keepdims=True)
    y = np.exp(scores)
    return y / y.sum(axis=1, keepdims=True)


class SoftLabelLoss(nn.Module):
    """``forward(logits [B, L], targets [B]) -> loss``. Args: hierarchy; beta (hardness, 10;
    Bertinetto et al. sweep 4-30); distance ("lca_height"); reduction ("mean" over labelled
    samples, -1 and the root counting as unlabelled; "sum"; "none")."""

    input_kind = "leaf_logits"

    def __init__(self, hierarchy, beta: float = 10.0, distance: str = "lca_height",
                 reduction: str = "mean") -> None:
        super().__init__()
        self.beta, self.distance, self.reduction = float(beta), distance, reduction
        self.register_buffer("soft", torch.as_tensor(soft_label_table(hierarchy, beta, distance)),
                             persistent=False)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        targets = check_targets(targets, self.soft.shape[0], logits.shape[0])
        check_width(logits, self.soft.shape[1], "leaf logits", "one column per leaf, h.leaves order")
        x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
        y = self.soft.index_select(0, targets.clamp_min(0)).to(x.dtype)
        per_sample = -(y * torch.log_softmax(x, dim=1)).sum(1)
        return labeled_mean(per_sample, targets > 0, self.reduction)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, distance={self.distance!r}, reduction={self.reduction!r}"
