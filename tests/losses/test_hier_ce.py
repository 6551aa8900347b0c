"""HierCE (paper eqs. 4-7, internal targets over their own path) against a per-sample loop."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hierwbc.hierarchy import Hierarchy, default_hierarchy
from hierwbc.losses.flat_ce import FlatCELoss
from hierwbc.losses.hier_ce import HierCELoss, hier_ce_tables
from hierwbc.losses.tree_ops import node_log_probs


def naive_hier_ce(h: Hierarchy, logits: np.ndarray, targets: np.ndarray, alpha: float) -> float:
    """Loop over samples and path edges; weights from path lengths, normalised over all nodes."""
    depth = {n: len(h.path_to_root(n)) - 1 for n in h.nodes}
    z = sum(math.exp(-alpha * depth[n]) for n in h.nodes)
    lam = {n: math.exp(-alpha * depth[n]) / z for n in h.nodes}
    total, count = 0.0, 0
    for row, t in zip(logits, targets):
        if t <= 0:  # unlabelled or root
            continue
        p = np.exp(row - row.max())
        p /= p.sum()
        prob = {n: sum(p[h.leaf_index[leaf]] for leaf in h.leaves_under(n)) for n in h.nodes}
        path = h.path_to_root(h.nodes[t])
        total += sum(-lam[c] * math.log(prob[c] / prob[up]) for c, up in pairwise(path))
        count += 1
    return total / max(count, 1)


@pytest.mark.parametrize("alpha", [0.5, 0.1, 1.3])
def test_matches_per_sample_loop_on_random_trees(random_tree, rng, make_targets, alpha):
    h = random_tree
    logits = rng.normal(0, 3, (40, len(h.leaves)))
    targets = make_targets(h, 40)
    got = HierCELoss(h, alpha=alpha)(torch.tensor(logits), torch.tensor(targets))
    assert got.item() == pytest.approx(naive_hier_ce(h, logits, targets, alpha), rel=1e-10, abs=1e-12)


def test_internal_target_uses_only_its_own_path(random_tree, rng):
    """Edges below an internal target carry no information: shuffling the logits among its own
    leaves leaves its loss unchanged, but changes the loss of a leaf target below it."""
    h = random_tree
    internal = next(i for i in range(1, len(h.nodes)) if not h.is_leaf[i] and h.membership[i].sum() >= 2)
    under = np.nonzero(h.membership[internal])[0]
    logits = rng.normal(0, 1, (2, len(h.leaves)))
    logits[1] = logits[0]
    logits[1, under] = logits[0, np.roll(under, 1)]  # same mass under the node, moved between leaves
    loss = HierCELoss(h, reduction="none")
    x = torch.tensor(logits)
    same = loss(x, torch.tensor([internal, internal]))
    assert same[0].item() == pytest.approx(same[1].item(), rel=1e-12)
    assert same[0].item() == pytest.approx(naive_hier_ce(h, logits[:1], np.array([internal]), 0.5), rel=1e-10)
    leaf = int(h.leaf_nodes[under[0]])
    moved = loss(x, torch.tensor([leaf, leaf]))
    assert abs(moved[0].item() - moved[1].item()) > 1e-6


def test_figure7_example_by_hand():
    """Paper Fig. 7: P(A) = 0.90, P(B) = 0.02 under E; P(A|E) = 0.90 / 0.92."""
    h = Hierarchy.from_newick("((A,B)E,(C,D)F)R;")
    probs = torch.tensor([[0.90, 0.02, 0.05, 0.03]], dtype=torch.float64)
    logits = probs.log()
    lp = node_log_probs(logits, h)[0]
    idx = h.node_index
    assert math.exp(lp[idx["A"]] - lp[idx["E"]]) == pytest.approx(0.90 / 0.92, rel=1e-12)
    assert math.exp(lp[idx["E"]]) == pytest.approx(0.92, rel=1e-12)
    assert math.exp(lp[idx["R"]]) == pytest.approx(1.0, rel=1e-12)
    # alpha = 0.5, weights normalised over the 7 nodes: 1 root, 2 at depth 1, 4 at depth 2
    z = 1 + 2 * math.exp(-0.5) + 4 * math.exp(-1.0)  # 3.684581...
    lam_a, lam_e = math.exp(-1.0) / z, math.exp(-0.5) / z  # 0.0998435..., 0.1646126...
    expected_a = lam_a * -math.log(0.90 / 0.92) + lam_e * -math.log(0.92)
    assert expected_a == pytest.approx(0.0159203, abs=5e-7)  # worked out on paper
    loss = HierCELoss(h, alpha=0.5, reduction="none")
    got = loss(logits.expand(2, -1), torch.tensor([idx["A"], idx["E"]]))
    assert got[0].item() == pytest.approx(expected_a, rel=1e-12)
    assert got[1].item() == pytest.approx(lam_e * -math.log(0.92), rel=1e-12)  # internal E: one edge


def test_alpha_zero_is_flat_ce_times_one_over_n(random_tree, rng, make_targets):
    h = random_tree
    logits = torch.tensor(rng.normal(0, 2, (50, len(h.leaves))))
    targets = torch.tensor(make_targets(h, 50))
    hier = HierCELoss(h, alpha=0.0)(logits, targets)
    flat_marginal = FlatCELoss(h, coarse="marginal")(logits, targets)
    assert hier.item() == pytest.approx(flat_marginal.item() / len(h.nodes), rel=1e-12)
    leaf_rows = torch.tensor(h.is_leaf)[targets.clamp_min(0)] & (targets > 0)
    columns = torch.tensor([h.leaf_index[h.nodes[t]] for t in targets[leaf_rows].tolist()])
    hier_leaf = HierCELoss(h, alpha=0.0)(logits[leaf_rows], targets[leaf_rows])
    assert hier_leaf.item() == pytest.approx(F.cross_entropy(logits[leaf_rows], columns).item() / len(h.nodes),
                                             rel=1e-12)


def test_weights_normalised_over_all_nodes():
    h = default_hierarchy()
    _, lam = hier_ce_tables(h, alpha=0.5)
    z = np.exp(-0.5 * np.array([len(h.path_to_root(n)) - 1 for n in h.nodes])).sum()
    leaf = h.node_index["neutrophil_band"]  # depth 4
    assert lam[leaf, 0] == pytest.approx(math.exp(-2.0) / z)
    assert lam[leaf, 3] == pytest.approx(math.exp(-0.5) / z)
    assert lam[leaf, 4:].sum() == 0
    assert np.all(lam[0] == 0)  # the root has no edge


def test_gradcheck_float64(random_tree, rng, make_targets):
    h = random_tree
    logits = torch.tensor(rng.normal(0, 2, (12, len(h.leaves))), requires_grad=True)
    targets = torch.tensor(make_targets(h, 12))
    loss = HierCELoss(h, alpha=0.5)
    assert torch.autograd.gradcheck(lambda x: loss(x, targets), (logits,))
    per = HierCELoss(h, reduction="none")
    assert torch.autograd.gradcheck(lambda x: per(x, targets), (logits,))


def test_extreme_logits_and_unlabelled_batches(random_tree, rng, make_targets):
    h = random_tree
    loss = HierCELoss(h)
    logits = torch.tensor(rng.choice([-1e4, 1e4], (30, len(h.leaves))), dtype=torch.float32, requires_grad=True)
    targets = torch.tensor(make_targets(h, 30))
    value = loss(logits, targets)
    value.backward()
    assert torch.isfinite(value) and value > 0
    assert torch.isfinite(logits.grad).all()
    # a target whose leaves all sit at -1e4 while another leaf is at +1e4: loss ~ 2e4 * lambda
    row = torch.full((1, len(h.leaves)), -1e4)
    leaf_t = int(h.leaf_nodes[0])
    row[0, 1:] = -1e4
    row[0, -1] = 1e4
    one = HierCELoss(h, alpha=0.0, reduction="none")(row, torch.tensor([leaf_t]))
    assert one.item() == pytest.approx(2e4 / len(h.nodes), rel=1e-5)
    empty = logits.detach().clone().requires_grad_()
    zero = loss(empty, torch.full((30,), -1))
    zero.backward()
    assert zero.item() == 0.0 and torch.equal(empty.grad, torch.zeros_like(empty))


def test_reductions_and_errors(rng):
    h = default_hierarchy()
    logits = torch.tensor(rng.normal(size=(6, len(h.leaves))), dtype=torch.float32)
    targets = torch.tensor([h.node_index["myelocyte"], h.node_index["neutrophil"], -1, 0, 5, 7])
    per = HierCELoss(h, reduction="none")(logits, targets)
    assert per[2] == 0 and per[3] == 0  # unlabelled and root rows
    assert HierCELoss(h, reduction="sum")(logits, targets).item() == pytest.approx(per.sum().item(), rel=1e-6)
    assert HierCELoss(h)(logits, targets).item() == pytest.approx(per.sum().item() / 4, rel=1e-6)
    with pytest.raises(ValueError, match=r"\[49\]"):
        HierCELoss(h)(logits, torch.tensor([0, 1, 2, 3, 4, 49]))
    with pytest.raises(ValueError, match="one column per leaf"):
        HierCELoss(h)(logits[:, :-1], targets)
    with pytest.raises(ValueError, match="integer node indices"):
        HierCELoss(h)(logits, targets.float())


def test_meta_device_and_half_precision():
    h = default_hierarchy()
    loss = HierCELoss(h).to("meta")
    out = loss(torch.empty(4, len(h.leaves), device="meta"), torch.zeros(4, dtype=torch.long, device="meta"))
    assert out.device.type == "meta" and out.shape == ()
    x = torch.randn(8, len(h.leaves))
    t = torch.tensor(h.leaf_nodes[:8])
    assert HierCELoss(h)(x.bfloat16(), t).item() == pytest.approx(HierCELoss(h)(x.bfloat16().float(), t).item())
