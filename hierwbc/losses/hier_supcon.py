"""Hierarchical supervised contrastive loss (Zhang et al. 2022, "Use All The Labels"; paper 2.3.2).

SupCon (see :mod:`.supcon`) at every depth of the tree, finest first; at depth ``d`` the
positives of an anchor are the samples with the same ancestor at depth ``d``::

    L = 1/|active| sum_{l active} lambda_l * Lmax_l,   Lmax_l = max(L_l, Lmax_{l-1})

Levels. With D = ``h.max_depth``, level ``l = 1..D`` is tree depth ``d = D - l + 1``: ``l = 1``
is the deepest depth, ``l = D`` the lineages (depth 1); the root is never a level (every
sample would be positive). The numbering belongs to the tree, not the batch, so ``lambda_l``
does not change with the batch.

Participation. A sample takes part at depth ``d`` only if its label reaches it
(``depth(target) >= d``); elsewhere it is neither anchor, positive nor contrast. So a leaf at
depth 3 in a depth-5 tree is contrasted at depths 3, 2, 1, and an image labelled only
"neutrophil" takes part from the neutrophil's depth up. ``leaf_padding=True`` instead lets a
*leaf* stand for itself at every deeper depth (its own node as the label), so that all
leaf-labelled samples meet at level 1; internal-node labels never are padded.

Penalty. ``lambda_l = 1/l`` (``penalty="inverse"``, the paper) or ``2**(1/l)`` (``"pow2"``,
the ``pow_2`` default of the official code, salesforce/hierarchicalContrastiveLearning,
``HMLC`` with ``loss_type='hmce'``).

Max constraint. As in the official code, it compares *level means*: the scalar loss of a
level is replaced by the running maximum of the level losses from the finest level up to
it, so a coarser level's loss is never below a finer one's (the paper's per-pair notation
notwithstanding). Levels without any anchor that has a positive are skipped: they neither
count in ``|active|`` nor break the running maximum. The official code also keeps only one
sample per distinct label after each level; we keep every sample (all of them carry
information about coarser levels), which is also what makes it loop-free.

Vectorised: one similarity matrix and one [B, N] one-hot of the node labels for all levels
(node indices name the same samples at every level; :func:`.supcon_levels`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .supcon import supcon_levels
from .tree_ops import check_targets

PENALTIES = ("inverse", "pow2")


def level_labels(hierarchy, leaf_padding: bool = False) -> np.ndarray:
    """[N + 1, D] labels per target node: column ``l - 1`` holds the ancestor at depth
    ``D - l + 1`` (-1 where the node does not reach that depth). Row N (index -1) is all -1."""
    anc = hierarchy.ancestor_at_depth  # [N, D+1]
    d = hierarchy.max_depth
    depths = np.arange(d, 0, -1)  # level l = 1..D  ->  depth D..1
    table = anc[:, depths].copy()
    if leaf_padding:
        deeper = (depths[None, :] > hierarchy.depth[:, None]) & hierarchy.is_leaf[:, None]
        table = np.where(deeper, np.arange(len(hierarchy.nodes))[:, None], table)
    return np.concatenate([table, np.full((1, d), -1, dtype=table.dtype)]).astype(np.int64)


def level_penalty(n_levels: int, penalty: str = "inverse") -> np.ndarray:
    """``lambda_l`` for ``l = 1..n_levels``: ``1/l`` ("inverse") or ``2**(1/l)`` ("pow2")."""
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {PENALTIES}, got {penalty!r}")
    levels = np.arange(1, n_levels + 1, dtype=np.float64)
    return 1.0 / levels if penalty == "inverse" else 2.0 ** (1.0 / levels)


def hier_supcon_loss(features: Tensor, labels: Tensor, lam: Tensor, temperature: float = 0.07,
                max_constraint: bool = True, normalize: bool = True, num_classes: int | None = None) -> Tensor:
    """HierSupCon from per-level node labels [B, D] (:func:`level_labels` rows: finest level
    first, -1 = absent) and ``lam`` [D] (``lambda_l``); ``num_classes`` = N when known.
    Returns a scalar (0 when no level has a positive pair)."""
    loss, active = supcon_levels(features, labels, temperature, normalize, num_classes, shared_ids=True)
    with torch.no_grad():  # total = sum_j loss_j * route_j: where each level's max comes from
        share = torch.where(active, lam.to(loss.dtype), 0) / active.sum().clamp_min(1)
        if max_constraint:
            running = torch.where(active, loss, float("-inf"))
            source = torch.cummax(running, dim=0).indices  # finer level holding the running max
            share = torch.zeros_like(share).scatter_add_(0, source, share)
    return loss @ share


class HierSupConLoss(nn.Module):
    """HierSupCon with node-index targets: ``forward(features [B, F], targets [B]) -> loss``.

    Args: hierarchy; temperature (0.07); penalty ("inverse" = 1/l or "pow2" = 2^(1/l));
    max_constraint (True); leaf_padding (False, see the module docstring); normalize
    (L2-normalise the features inside, True).
    """

    input_kind = "embedding"

    def __init__(self, hierarchy, temperature: float = 0.07, penalty: str = "inverse",
                 max_constraint: bool = True, leaf_padding: bool = False, normalize: bool = True) -> None:
        super().__init__()
        self.temperature, self.penalty = float(temperature), penalty
        self.max_constraint, self.leaf_padding, self.normalize = bool(max_constraint), bool(leaf_padding), normalize
        self.register_buffer("labels", torch.as_tensor(level_labels(hierarchy, leaf_padding)), persistent=False)
        self.register_buffer("lam", torch.as_tensor(level_penalty(hierarchy.max_depth, penalty)), persistent=False)

    def forward(self, features: Tensor, targets: Tensor) -> Tensor:
        n_nodes = self.labels.shape[0] - 1
        targets = check_targets(targets, n_nodes, features.shape[0])
        rows = torch.where(targets >= 0, targets, n_nodes)  # -1 -> the all-absent row
        return hier_supcon_loss(features, self.labels.index_select(0, rows), self.lam, self.temperature,
                           self.max_constraint, self.normalize, num_classes=n_nodes)

    def extra_repr(self) -> str:
        return (f"temperature={self.temperature}, penalty={self.penalty!r}, "
                f"max_constraint={self.max_constraint}, leaf_padding={self.leaf_padding}")
