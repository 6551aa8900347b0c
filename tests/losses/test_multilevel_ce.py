"""Multilevel CE (paper 3.7.1): per-depth CE on the ancestor, averaged over reached depths."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hierwbc.hierarchy import default_hierarchy
from hierwbc.losses.multilevel_ce import MultilevelCELoss, depth_log_softmax


def naive_multilevel(h, logits: np.ndarray, targets: np.ndarray) -> float:
    depth = {n: len(h.path_to_root(n)) - 1 for n in h.nodes}
    total, count = 0.0, 0
    for row, t in zip(logits, targets):
        if t <= 0:
            continue
        path = h.path_to_root(h.nodes[t])[:-1]  # target .. depth-1 ancestor
        terms = []
        for node in path:
            same_depth = [h.node_index[n] for n in h.nodes if depth[n] == depth[node]]
            lse = math.log(sum(math.exp(row[j]) for j in same_depth))
            terms.append(lse - row[h.node_index[node]])
        total += sum(terms) / len(terms)
        count += 1
    return total / max(count, 1)


def test_matches_per_sample_loop(random_tree, rng, make_targets):
    h = random_tree
    logits = rng.normal(0, 2, (40, len(h.nodes)))
    targets = make_targets(h, 40)
    got = MultilevelCELoss(h)(torch.tensor(logits), torch.tensor(targets))
    assert got.item() == pytest.approx(naive_multilevel(h, logits, targets), rel=1e-10)


def test_coarse_label_trains_only_its_depths(rng):
    h = default_hierarchy()
    logits = torch.tensor(rng.normal(size=(1, len(h.nodes))), requires_grad=True)
    target = torch.tensor([h.node_index["lymphoid_mature"]])  # depth 2
    MultilevelCELoss(h)(logits, target).backward()
    touched = logits.grad[0].abs() > 0
    assert set(np.asarray(h.depth)[touched.numpy()].tolist()) == {1, 2}


def test_depth_log_softmax_sums_to_one_per_depth(rng):
    h = default_hierarchy()
    out = depth_log_softmax(torch.tensor(rng.normal(size=(3, len(h.nodes)))), torch.tensor(h.depth), h.max_depth)
    for d in range(1, h.max_depth + 1):
        cols = np.nonzero(h.depth == d)[0]
        assert torch.allclose(out[:, cols].exp().sum(1), torch.ones(3, dtype=torch.float64))
    assert torch.all(out[:, 0] == 0)


def test_gradcheck_float64(random_tree, rng, make_targets):
    h = random_tree
    logits = torch.tensor(rng.normal(size=(10, len(h.nodes))), requires_grad=True)
    targets = torch.tensor(make_targets(h, 10))
    loss = MultilevelCELoss(h)
    assert torch.autograd.gradcheck(lambda x: loss(x, targets), (logits,))


def test_extreme_logits_and_unlabelled(random_tree, rng, make_targets):
    h = random_tree
    loss = MultilevelCELoss(h)
    logits = torch.tensor(rng.choice([-1e4, 1e4], (20, len(h.nodes))), dtype=torch.float32, requires_grad=True)
    value = loss(logits, torch.tensor(make_targets(h, 20)))
    value.backward()
    assert torch.isfinite(value) and value > 0 and torch.isfinite(logits.grad).all()
    empty = torch.zeros(4, len(h.nodes), requires_grad=True)
    zero = loss(empty, torch.tensor([-1, -1, 0, -1]))
    zero.backward()
    assert zero.item() == 0.0 and torch.equal(empty.grad, torch.zeros_like(empty))


def test_wrong_width():
    h = default_hierarchy()
    with pytest.raises(ValueError, match="one column per node"):
        MultilevelCELoss(h)(torch.zeros(2, len(h.leaves)), torch.tensor([1, 2]))
