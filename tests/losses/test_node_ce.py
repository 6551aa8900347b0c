"""NodeCELoss and its head: every label its own class, coarse ones included."""

from __future__ import annotations

import math

import pytest
import torch

from hierwbc.hierarchy import default_hierarchy
from hierwbc.losses import NodeCELoss
from hierwbc.models.supervised_heads import NodeLogitHead, build_supervised_head


def test_hand_worked_value_for_a_leaf_and_a_coarse_label():
    h = default_hierarchy()
    n = len(h.nodes)
    logits = torch.zeros(2, n)
    band, neutrophil = h.node_index["neutrophil_band"], h.node_index["neutrophil"]
    logits[0, band] = math.log(3.0)  # softmax over the n - 1 non-root nodes: 3 / (3 + n - 2)
    logits[1, neutrophil] = math.log(5.0)
    logits[:, 0] = 100.0  # the root's column plays no part
    loss = NodeCELoss(h, reduction="none")(logits, torch.tensor([band, neutrophil]))
    want = [-math.log(3 / (3 + n - 2)), -math.log(5 / (5 + n - 2))]
    assert loss.tolist() == pytest.approx(want)


def test_equals_cross_entropy_over_the_non_root_columns_and_skips_unlabelled_rows():
    h = default_hierarchy()
    torch.manual_seed(0)
    x = torch.randn(6, len(h.nodes))
    t = torch.tensor([3, 7, -1, 0, 12, 20])  # -1 and the root: unlabelled
    keep = t > 0
    want = torch.nn.functional.cross_entropy(x[keep, 1:], t[keep] - 1)
    assert NodeCELoss(h)(x, t).item() == pytest.approx(want.item())
    assert NodeCELoss(h)(x, torch.full((6,), -1)).item() == 0.0


def test_node_probabilities_add_the_mass_of_every_node_under_it():
    h = default_hierarchy()
    head = build_supervised_head("ce_node", h, in_dim=8)
    assert isinstance(head, NodeLogitHead)
    torch.manual_seed(1)
    out = head(torch.randn(4, 8))
    p = head.node_probs(out)
    own = torch.softmax(out[:, 1:], dim=1)
    for name in ("neutrophil", "granulopoiesis", "monocyte"):
        v = h.node_index[name]
        under = [h.node_index[u] for u in h.descendants(name, include_self=True)]
        assert p[:, v].tolist() == pytest.approx(own[:, [u - 1 for u in under]].sum(1).tolist(), rel=1e-5)
    assert p[:, 0].tolist() == pytest.approx([1.0] * 4)
    leaves = torch.as_tensor(h.leaf_nodes)
    assert p[:, leaves].sum(1).tolist() != pytest.approx([1.0] * 4)  # coarse classes hold mass of their own
    head.restrict(h.supported_leaves(["monocyte", "eosinophil"]))
    q = head.node_probs(out)
    assert q[:, h.node_index["neutrophil_band"]].max().item() == 0.0 and q[:, 0].tolist() == pytest.approx([1.0] * 4)
