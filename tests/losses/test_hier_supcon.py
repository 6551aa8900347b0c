"""HierSupCon (Zhang et al. 2022): per-depth SupCon loop, max constraint, one-level tree = SupCon."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hierwbc.hierarchy import Hierarchy, default_hierarchy
from hierwbc.losses.hier_supcon import HierSupConLoss, level_labels
from hierwbc.losses.supcon import supcon_loss


def naive_level_supcon(z: np.ndarray, labels: list, tau: float) -> float | None:
    """Mean over anchors with a positive (None if there is none); None labels take no part."""
    members = [i for i, lab in enumerate(labels) if lab is not None]
    losses = []
    for i in members:
        pos = [p for p in members if p != i and labels[p] == labels[i]]
        if not pos:
            continue
        sims = {a: float(z[i] @ z[a]) / tau for a in members if a != i}
        top = max(sims.values())
        log_den = top + math.log(sum(math.exp(s - top) for s in sims.values()))
        losses.append(sum(log_den - sims[p] for p in pos) / len(pos))
    return sum(losses) / len(losses) if losses else None


def naive_hier_supcon(h: Hierarchy, features: np.ndarray, targets: np.ndarray, tau: float = 0.07,
                      penalty: str = "inverse", max_constraint: bool = True, leaf_padding: bool = False) -> float:
    z = features / np.linalg.norm(features, axis=1, keepdims=True)
    paths = [None if t < 0 else h.path_to_root(h.nodes[t])[::-1] for t in targets]  # root first
    max_depth = max(len(h.path_to_root(n)) - 1 for n in h.nodes)
    total, n_active, running = 0.0, 0, -math.inf
    for level in range(1, max_depth + 1):
        d = max_depth - level + 1
        labels = []
        for path in paths:
            if path is None:
                labels.append(None)
            elif len(path) > d:
                labels.append(path[d])
            elif leaf_padding and not h.children(path[-1]):
                labels.append(path[-1])
            else:
                labels.append(None)
        value = naive_level_supcon(z, labels, tau)
        if value is None:
            continue
        if max_constraint:
            running = max(running, value)
            value = running
        lam = 1.0 / level if penalty == "inverse" else 2.0 ** (1.0 / level)
        total += lam * value
        n_active += 1
    return total / max(n_active, 1)


@pytest.mark.parametrize("penalty,max_constraint,leaf_padding",
                         [("inverse", True, False), ("pow2", True, False), ("inverse", False, False),
                          ("inverse", True, True)])
def test_matches_per_level_loop_on_random_trees(random_tree, rng, make_targets, penalty, max_constraint,
                                                leaf_padding):
    h = random_tree
    features = rng.normal(size=(48, 6))
    targets = make_targets(h, 48)
    loss = HierSupConLoss(h, penalty=penalty, max_constraint=max_constraint, leaf_padding=leaf_padding)
    got = loss(torch.tensor(features), torch.tensor(targets))
    expected = naive_hier_supcon(h, features, targets, 0.07, penalty, max_constraint, leaf_padding)
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_max_constraint_binds():
    """Features clustered by lineage but mixed inside it: the fine level is hard, so the
    coarse level's loss is raised to the fine one's."""
    h = Hierarchy.from_newick("((a,b)A,(c,d)B)r;")
    g = torch.Generator().manual_seed(0)
    lineage = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    features = torch.nn.functional.one_hot(lineage, 2).double() * 5 + 0.3 * torch.randn(8, 2, generator=g).double()
    targets = torch.tensor(h.indices(["a", "b", "a", "b", "c", "d", "c", "d"]))
    with_max = HierSupConLoss(h, max_constraint=True)(features, targets)
    without = HierSupConLoss(h, max_constraint=False)(features, targets)
    fine = supcon_loss(features, targets, 0.07)
    coarse = supcon_loss(features, torch.tensor([int(h.lineage[t]) for t in targets]), 0.07)
    assert fine > coarse  # the situation the constraint is for
    assert without.item() == pytest.approx((fine + coarse / 2).item() / 2, rel=1e-9)
    assert with_max.item() == pytest.approx((fine + fine / 2).item() / 2, rel=1e-9)


def test_one_level_tree_equals_supcon(rng):
    h = Hierarchy.from_newick("(a,b,c,d,e)root;")
    features = torch.tensor(rng.normal(size=(40, 8)))
    targets = torch.tensor(h.leaf_nodes[rng.integers(0, 5, 40)])
    targets[:4] = -1
    expected = supcon_loss(features, targets, 0.07)
    assert HierSupConLoss(h)(features, targets).item() == pytest.approx(expected.item(), rel=1e-12)


def test_level_numbering_on_default_tree():
    h = default_hierarchy()
    table = level_labels(h)
    band = h.node_index["neutrophil_band"]  # depth 4 in a depth-5 tree
    assert table[band].tolist() == [-1, band, h.node_index["neutrophil"], h.node_index["granulocytic_mature"],
                                    h.node_index["granulopoiesis"]]
    assert table[-1].tolist() == [-1] * 5  # the row used for unlabelled samples
    padded = level_labels(h, leaf_padding=True)
    assert padded[band, 0] == band
    neutrophil = h.node_index["neutrophil"]  # internal labels are never padded
    assert padded[neutrophil, :2].tolist() == [-1, -1]


def test_gradcheck_float64(random_tree, rng, make_targets):
    h = random_tree
    features = torch.tensor(rng.normal(size=(14, 3)), requires_grad=True)
    targets = torch.tensor(make_targets(h, 14, p_unlabelled=0.0))
    for penalty in ("inverse", "pow2"):
        loss = HierSupConLoss(h, temperature=0.5, penalty=penalty)
        assert torch.autograd.gradcheck(lambda x, loss=loss: loss(x, targets), (features,))


def test_extreme_features_and_unlabelled_batch(random_tree, rng, make_targets):
    h = random_tree
    loss = HierSupConLoss(h)
    features = torch.tensor(rng.choice([-1e4, 1e4], (32, 5)), dtype=torch.float32, requires_grad=True)
    value = loss(features, torch.tensor(make_targets(h, 32)))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(features.grad).all()
    empty = torch.randn(7, 5, requires_grad=True)
    zero = loss(empty, torch.full((7,), -1))
    zero.backward()
    assert zero.item() == 0.0 and torch.isfinite(empty.grad).all() and empty.grad.abs().sum() == 0


def test_bad_penalty():
    with pytest.raises(ValueError, match="penalty"):
        HierSupConLoss(default_hierarchy(), penalty="exp")
