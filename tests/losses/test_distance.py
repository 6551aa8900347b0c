"""Distance-aware loss (paper 3.7.2): expected tree distance of the prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hierwbc.hierarchy import Hierarchy, default_hierarchy
from hierwbc.losses.distance import DistanceLoss, leaf_distance_table


def naive_distance(h, target: str, leaf: str, kind: str) -> int:
    """From root paths: LCA = deepest common node; 0 for leaves under the target."""
    a, b = h.path_to_root(target)[::-1], h.path_to_root(leaf)[::-1]
    if target in b:
        return 0
    common = sum(1 for x, y in zip(a, b) if x == y) - 1  # depth of the LCA
    da, db = len(a) - 1, len(b) - 1
    return max(da, db) - common if kind == "lca_height" else da + db - 2 * common


@pytest.mark.parametrize("kind", ["lca_height", "tree_distance"])
def test_matches_per_sample_loop(random_tree, rng, make_targets, kind):
    h = random_tree
    logits = rng.normal(0, 2, (30, len(h.leaves)))
    targets = make_targets(h, 30)
    got = DistanceLoss(h, distance=kind)(torch.tensor(logits), torch.tensor(targets))
    total, count = 0.0, 0
    for row, t in zip(logits, targets):
        if t <= 0:
            continue
        p = np.exp(row - row.max())
        p /= p.sum()
        total += sum(p[h.leaf_index[leaf]] * naive_distance(h, h.nodes[t], leaf, kind) for leaf in h.leaves)
        count += 1
    assert got.item() == pytest.approx(total / count, rel=1e-10)


def test_hand_example():
    h = Hierarchy.from_newick("((a,b)A,(c,(d)D)B)r;")
    table = leaf_distance_table(h)
    col = h.leaf_index
    assert table[h.node_index["a"], col["b"]] == 1
    assert table[h.node_index["a"], col["c"]] == 2
    assert table[h.node_index["a"], col["d"]] == 3  # d sits at depth 3
    assert table[h.node_index["A"], col["a"]] == 0 and table[h.node_index["A"], col["c"]] == 2
    probs = torch.tensor([[0.5, 0.25, 0.25, 0.0]], dtype=torch.float64)
    logits = torch.log(probs.clamp_min(1e-300))
    got = DistanceLoss(h)(logits, torch.tensor([h.node_index["a"]]))
    assert got.item() == pytest.approx(0.25 * 1 + 0.25 * 2, rel=1e-9)
    normed = DistanceLoss(h, normalize=True)(logits, torch.tensor([h.node_index["a"]]))
    assert normed.item() == pytest.approx((0.25 * 1 + 0.25 * 2) / 3, rel=1e-9)


def test_gradcheck_float64(random_tree, rng, make_targets):
    h = random_tree
    logits = torch.tensor(rng.normal(size=(10, len(h.leaves))), requires_grad=True)
    targets = torch.tensor(make_targets(h, 10))
    loss = DistanceLoss(h)
    assert torch.autograd.gradcheck(lambda x: loss(x, targets), (logits,))


def test_extreme_logits_and_unlabelled(rng):
    h = default_hierarchy()
    loss = DistanceLoss(h)
    logits = torch.tensor(rng.choice([-1e4, 1e4], (16, len(h.leaves))), dtype=torch.float32, requires_grad=True)
    value = loss(logits, torch.tensor(h.leaf_nodes[:16]))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(logits.grad).all()
    empty = torch.zeros(3, len(h.leaves), requires_grad=True)
    zero = loss(empty, torch.full((3,), -1))
    zero.backward()
    assert zero.item() == 0.0 and torch.equal(empty.grad, torch.zeros_like(empty))


def test_unknown_distance():
    with pytest.raises(ValueError, match="distance"):
        DistanceLoss(default_hierarchy(), distance="euclid")
