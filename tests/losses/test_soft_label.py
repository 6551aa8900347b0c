"""Soft labels of Bertinetto et al.: softmax(-beta * normalised LCA height) as the target."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hierwbc.hierarchy import Hierarchy, default_hierarchy
from hierwbc.losses.soft_label import SoftLabelLoss, soft_label_table


def test_hand_example():
    h = Hierarchy.from_newick("((a,b)A,(c,d)B)r;")
    beta = 2.0
    y = soft_label_table(h, beta)
    # from a: b at LCA height 1, c and d at 2; normalised by the largest distance, 2
    w = np.array([1.0, math.exp(-beta * 0.5), math.exp(-beta), math.exp(-beta)])
    assert y[h.node_index["a"]] == pytest.approx(w / w.sum())
    # internal target A: a and b at distance 0, c and d at 2 -> normalised 1
    v = np.array([1.0, 1.0, math.exp(-beta), math.exp(-beta)])
    assert y[h.node_index["A"]] == pytest.approx(v / v.sum())


def test_matches_per_sample_loop(random_tree, rng, make_targets):
    h = random_tree
    beta = 5.0
    logits = rng.normal(0, 2, (30, len(h.leaves)))
    targets = make_targets(h, 30)
    got = SoftLabelLoss(h, beta=beta)(torch.tensor(logits), torch.tensor(targets))
    lca_height = h.lca_height
    top = max(lca_height[i, j] for i in h.leaf_nodes for j in h.leaf_nodes)
    total, count = 0.0, 0
    for row, t in zip(logits, targets):
        if t <= 0:
            continue
        under = set(h.leaves_under(h.nodes[t]))
        dist = [0.0 if leaf in under else lca_height[t, h.node_index[leaf]] / top for leaf in h.leaves]
        y = np.exp(-beta * np.array(dist))
        y /= y.sum()
        logp = row - row.max() - math.log(np.exp(row - row.max()).sum())
        total -= float((y * logp).sum())
        count += 1
    assert got.item() == pytest.approx(total / count, rel=1e-10)


def test_beta_large_tends_to_flat_ce(rng):
    h = default_hierarchy()
    logits = torch.tensor(rng.normal(size=(8, len(h.leaves))))
    targets = torch.tensor(h.leaf_nodes[:8])
    hard = torch.nn.functional.cross_entropy(logits, torch.arange(8))
    assert SoftLabelLoss(h, beta=200.0)(logits, targets).item() == pytest.approx(hard.item(), rel=1e-6)


def test_gradcheck_extremes_and_unlabelled(random_tree, rng, make_targets):
    h = random_tree
    loss = SoftLabelLoss(h, beta=4.0)
    logits = torch.tensor(rng.normal(size=(10, len(h.leaves))), requires_grad=True)
    targets = torch.tensor(make_targets(h, 10))
    assert torch.autograd.gradcheck(lambda x: loss(x, targets), (logits,))
    big = torch.tensor(rng.choice([-1e4, 1e4], (10, len(h.leaves))), dtype=torch.float32, requires_grad=True)
    value = loss(big, targets)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(big.grad).all()
    empty = torch.zeros(3, len(h.leaves), requires_grad=True)
    zero = loss(empty, torch.tensor([-1, 0, -1]))
    zero.backward()
    assert zero.item() == 0.0 and torch.equal(empty.grad, torch.zeros_like(empty))


def test_negative_beta():
    with pytest.raises(ValueError, match="beta"):
        SoftLabelLoss(default_hierarchy(), beta=-1.0)
