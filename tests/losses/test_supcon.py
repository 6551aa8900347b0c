"""SupCon (paper eq. 3): pytorch-metric-learning's SupConLoss and a per-anchor loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hierwbc.hierarchy import default_hierarchy
from hierwbc.losses.supcon import SupConLoss, supcon_levels, supcon_loss

pml_losses = pytest.importorskip("pytorch_metric_learning.losses")


def naive_supcon(features: np.ndarray, labels: np.ndarray, tau: float, normalize: bool = True) -> float:
    """Eq. 3 anchor by anchor: anchors need a positive; -1 takes no part."""
    z = features / np.linalg.norm(features, axis=1, keepdims=True) if normalize else features
    members = [i for i in range(len(labels)) if labels[i] >= 0]
    losses = []
    for i in members:
        pos = [p for p in members if p != i and labels[p] == labels[i]]
        if not pos:
            continue
        others = [a for a in members if a != i]
        sims = {a: float(z[i] @ z[a]) / tau for a in others}
        top = max(sims.values())
        log_den = top + math.log(sum(math.exp(s - top) for s in sims.values()))
        losses.append(-sum(sims[p] - log_den for p in pos) / len(pos))
    return sum(losses) / len(losses) if losses else 0.0


@pytest.mark.parametrize("tau", [0.07, 0.1, 0.5])
def test_equals_pytorch_metric_learning(rng, tau):
    features = torch.tensor(rng.normal(size=(64, 16)))
    labels = torch.tensor(rng.integers(0, 6, 64))
    expected = pml_losses.SupConLoss(temperature=tau)(features, labels)
    assert supcon_loss(features, labels, tau).item() == pytest.approx(expected.item(), rel=1e-9)


def test_unlabelled_rows_take_no_part(rng):
    features = torch.tensor(rng.normal(size=(40, 8)))
    labels = torch.tensor(rng.integers(-1, 4, 40))
    keep = labels >= 0
    expected = pml_losses.SupConLoss(temperature=0.07)(features[keep], labels[keep])
    assert supcon_loss(features, labels).item() == pytest.approx(expected.item(), rel=1e-9)


@pytest.mark.parametrize("tau,normalize", [(0.07, True), (0.01, True), (0.2, False)])
def test_matches_per_anchor_loop_on_both_paths(rng, tau, normalize):
    """tau = 0.01 and unnormalised features take the masked log-sum-exp path."""
    features = rng.normal(size=(30, 5)) * (0.3 if not normalize else 1.0)
    labels = rng.integers(-1, 5, 30)
    labels[:3] = [7, 8, 8]  # a singleton class (no positive) and a pair
    got = supcon_loss(torch.tensor(features), torch.tensor(labels), tau, normalize)
    assert got.item() == pytest.approx(naive_supcon(features, labels, tau, normalize), rel=1e-9)


def test_levels_are_independent_supcons(rng):
    features = torch.tensor(rng.normal(size=(24, 6)))
    labels = torch.tensor(rng.integers(-1, 3, (24, 3)))
    labels[:, 2] = -1  # a level nobody takes part in
    loss, active = supcon_levels(features, labels, 0.1)
    for k in range(2):
        assert loss[k].item() == pytest.approx(naive_supcon(features.numpy(), labels[:, k].numpy(), 0.1), rel=1e-9)
    assert active.tolist() == [True, True, False] and loss[2] == 0


def test_module_uses_leaves_and_ignores_coarse_labels(rng):
    h = default_hierarchy()
    names = ["myelocyte", "myelocyte", "blast", "blast", "neutrophil", "neutrophil", None, "monocyte"]
    targets = torch.tensor(h.indices(names))
    features = torch.tensor(rng.normal(size=(8, 12)))
    leaf_only = np.array([0, 0, 1, 1, -1, -1, -1, 2])
    expected = naive_supcon(features.numpy(), leaf_only, 0.07)
    assert SupConLoss(h)(features, targets).item() == pytest.approx(expected, rel=1e-9)
    own = np.array([0, 0, 1, 1, 3, 3, -1, 2])
    assert SupConLoss(h, coarse="own_class")(features, targets).item() == pytest.approx(
        naive_supcon(features.numpy(), own, 0.07), rel=1e-9)


def test_gradcheck_float64(rng):
    features = torch.tensor(rng.normal(size=(10, 4)), requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, -1, 2, 3, 0])
    for tau, normalize in [(0.07, True), (0.01, True), (0.3, False)]:
        assert torch.autograd.gradcheck(lambda x, t=tau, n=normalize: supcon_loss(x, labels, t, n), (features,))


def test_extreme_features_and_unlabelled_batch(rng):
    h = default_hierarchy()
    loss = SupConLoss(h)
    targets = torch.tensor(h.leaf_nodes[rng.integers(0, 5, 32)])
    features = torch.tensor(rng.choice([-1e4, 1e4], (32, 8)), dtype=torch.float32, requires_grad=True)
    features.data[0] = 0.0  # a zero vector must not give NaN either
    value = loss(features, targets)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(features.grad).all()
    empty = torch.randn(6, 8, requires_grad=True)
    zero = loss(empty, torch.full((6,), -1))
    zero.backward()
    assert zero.item() == 0.0 and torch.isfinite(empty.grad).all() and empty.grad.abs().sum() == 0
    lone = supcon_loss(torch.randn(1, 3), torch.tensor([0]))
    assert lone.item() == 0.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="temperature"):
        supcon_loss(torch.randn(4, 3), torch.tensor([0, 0, 1, 1]), temperature=0.0)
    with pytest.raises(ValueError, match="labels must be"):
        supcon_levels(torch.randn(4, 3), torch.zeros(3, 1, dtype=torch.long))


def test_sparse_label_values_take_the_compact_path(rng):
    """Label values far above the batch size use only the columns present; same value."""
    features = torch.tensor(rng.normal(size=(20, 4)))
    small = torch.tensor(rng.integers(-1, 4, 20))
    big = torch.where(small >= 0, small * 1_000_003 + 17, -1)
    assert supcon_loss(features, big).item() == pytest.approx(supcon_loss(features, small).item(), rel=1e-12)
    levels = torch.stack([small, torch.where(small >= 0, small // 2, -1)], 1)
    ref, _ = supcon_levels(features, levels, 0.1)
    got, _ = supcon_levels(features, torch.where(levels >= 0, levels * 999_983, -1), 0.1)
    assert torch.allclose(got, ref, rtol=1e-12)


def test_autocast_keeps_full_precision(rng):
    """Under CPU bfloat16 autocast the similarities must still be computed in float32."""
    features = torch.tensor(rng.normal(size=(32, 16)), dtype=torch.float32)
    labels = torch.tensor(rng.integers(0, 4, 32))
    expected = supcon_loss(features, labels)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        got = supcon_loss(features, labels)
    assert got.dtype == torch.float32 and got.item() == pytest.approx(expected.item(), rel=1e-6)
