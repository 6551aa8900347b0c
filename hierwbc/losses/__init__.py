"""Losses: the supervised terms (one per file, picked by name with :func:`get_loss`) and the
self-supervised DINOv2 terms (DINO, iBOT, KoLeo).

Supervised losses take the :class:`~hierwbc.hierarchy.Hierarchy` (its arrays) and node-index
targets (``h.node_index``; -1 = unlabelled); see :mod:`.registry` for the head each needs.
"""

from .dino import DINOLoss
from .distance import DistanceLoss, leaf_distance_table
from .flat_ce import FlatCELoss
from .hier_ce import HierCELoss, edge_weights, hier_ce_loss, hier_ce_tables, pack_weights
from .hier_supcon import HierSupConLoss, hier_supcon_loss, level_labels, level_penalty
from .ibot import iBOTPatchLoss
from .koleo import KoLeoLoss, koleo_loss
from .multilevel_ce import MultilevelCELoss, depth_log_softmax
from .node_ce import NodeCELoss
from .registry import LOSSES, LossEntry, get_loss, input_kind, loss_options
from .soft_label import SoftLabelLoss, soft_label_table
from .supcon import SupConLoss, supcon_levels, supcon_loss
from .tree_ops import NodeLogProbs, check_targets, node_log_probs, segment_logsumexp

__all__ = [
    "LOSSES",
    "DINOLoss",
    "DistanceLoss",
    "FlatCELoss",
    "HierCELoss",
    "HierSupConLoss",
    "KoLeoLoss",
    "LossEntry",
    "MultilevelCELoss",
    "NodeCELoss",
    "NodeLogProbs",
    "SoftLabelLoss",
    "SupConLoss",
    "check_targets",
    "depth_log_softmax",
    "edge_weights",
    "get_loss",
    "hier_ce_loss",
    "hier_ce_tables",
    "hier_supcon_loss",
    "iBOTPatchLoss",
    "input_kind",
    "koleo_loss",
    "leaf_distance_table",
    "level_labels",
    "level_penalty",
    "loss_options",
    "node_log_probs",
    "pack_weights",
    "segment_logsumexp",
    "soft_label_table",
    "supcon_levels",
    "supcon_loss",
]
