"""Flat CE over leaves: coarse labels ignored (default) or counted by their marginal."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hierwbc.hierarchy import default_hierarchy
from hierwbc.losses.flat_ce import FlatCELoss


def naive_flat_ce(h, logits: np.ndarray, targets: np.ndarray, coarse: str) -> float:
    total, count = 0.0, 0
    for row, t in zip(logits, targets):
        if t <= 0:
            continue
        name = h.nodes[t]
        if not h.children(name):
            p_t = math.exp(row[h.leaf_index[name]] - row.max()) / np.exp(row - row.max()).sum()
        elif coarse == "marginal":
            p = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
            p_t = sum(p[h.leaf_index[leaf]] for leaf in h.leaves_under(name))
        else:
            continue
        total -= math.log(p_t)
        count += 1
    return total / max(count, 1)


@pytest.mark.parametrize("coarse", ["ignore", "marginal"])
def test_matches_per_sample_loop(random_tree, rng, make_targets, coarse):
    h = random_tree
    logits = rng.normal(0, 2, (40, len(h.leaves)))
    targets = make_targets(h, 40)
    got = FlatCELoss(h, coarse=coarse)(torch.tensor(logits), torch.tensor(targets))
    assert got.item() == pytest.approx(naive_flat_ce(h, logits, targets, coarse), rel=1e-10)


def test_ignore_equals_torch_cross_entropy_on_leaf_rows(rng):
    h = default_hierarchy()
    names = ["myelocyte", "neutrophil", "blast", "platelet", "granulopoiesis", "monocyte"]
    targets = torch.tensor(h.indices(names))
    logits = torch.tensor(rng.normal(size=(6, len(h.leaves))))
    leaf_rows = [0, 2, 3, 5]
    columns = torch.tensor([h.leaf_index[names[i]] for i in leaf_rows])
    expected = F.cross_entropy(logits[leaf_rows], columns)
    assert FlatCELoss(h)(logits, targets).item() == pytest.approx(expected.item(), rel=1e-12)
    per = FlatCELoss(h, reduction="none")(logits, targets)
    assert per[1] == 0 and per[4] == 0


def test_gradcheck_float64(random_tree, rng, make_targets):
    h = random_tree
    logits = torch.tensor(rng.normal(0, 2, (10, len(h.leaves))), requires_grad=True)
    targets = torch.tensor(make_targets(h, 10))
    for coarse in ("ignore", "marginal"):
        loss = FlatCELoss(h, coarse=coarse)
        assert torch.autograd.gradcheck(lambda x, loss=loss: loss(x, targets), (logits,))


@pytest.mark.parametrize("coarse", ["ignore", "marginal"])
def test_extreme_logits_and_unlabelled(random_tree, rng, make_targets, coarse):
    h = random_tree
    loss = FlatCELoss(h, coarse=coarse)
    logits = torch.tensor(rng.choice([-1e4, 1e4], (20, len(h.leaves))), dtype=torch.float32, requires_grad=True)
    value = loss(logits, torch.tensor(make_targets(h, 20)))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(logits.grad).all()
    empty = torch.zeros(5, len(h.leaves), requires_grad=True)
    zero = loss(empty, torch.full((5,), -1))
    zero.backward()
    assert zero.item() == 0.0 and torch.equal(empty.grad, torch.zeros_like(empty))


def test_only_coarse_labels_give_zero_when_ignored():
    h = default_hierarchy()
    logits = torch.randn(3, len(h.leaves), requires_grad=True)
    targets = torch.tensor(h.indices(["neutrophil", "lymphopoiesis", "granulopoiesis"]))
    value = FlatCELoss(h)(logits, targets)
    assert value.item() == 0.0
    marginal = FlatCELoss(h, coarse="marginal")(logits, targets)
    assert marginal.item() > 0
    assert FlatCELoss(h, coarse="count")(logits, targets).item() == marginal.item()


def test_bad_option_and_targets():
    h = default_hierarchy()
    with pytest.raises(ValueError, match="coarse"):
        FlatCELoss(h, coarse="drop")
    with pytest.raises(ValueError, match=r"\[-2\]"):
        FlatCELoss(h)(torch.zeros(2, len(h.leaves)), torch.tensor([-2, 3]))
