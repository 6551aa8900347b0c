"""KoLeo: nearest-neighbour log-distance on the sphere, against a loop and a hand example."""
import math

import pytest
import torch

from hierwbc.losses.koleo import KoLeoLoss, koleo_loss, nearest_neighbor_indices


def loop_reference(x):
    x = x.double() / x.double().norm(dim=-1, keepdim=True)
    total = 0.0
    for i in range(len(x)):
        distances = [(x[i] - x[j]).norm() for j in range(len(x)) if j != i]
        total += -math.log(min(distances))
    return total / len(x)


def test_matches_per_sample_loop():
    torch.manual_seed(0)
    x = torch.randn(9, 5) * 3
    assert koleo_loss(x).item() == pytest.approx(loop_reference(x), rel=1e-5)
    assert KoLeoLoss()(x).item() == pytest.approx(loop_reference(x), rel=1e-5)


def test_square_on_circle_hand_example():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, -1.0]])  # norms are ignored
    assert koleo_loss(x).item() == pytest.approx(-math.log(math.sqrt(2)), abs=1e-6)


def test_neighbour_is_never_self():
    x = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), dim=-1)
    assert nearest_neighbor_indices(x).tolist() == [1, 0]


def test_gradient_step_spreads_points():
    torch.manual_seed(0)
    x = (torch.randn(16, 4) * 0.1 + torch.tensor([1.0, 0, 0, 0])).requires_grad_(True)

    def min_distance(t):
        t = torch.nn.functional.normalize(t.detach(), dim=-1)
        d = torch.cdist(t, t) + torch.eye(len(t)) * 10
        return d.min().item()

    before = min_distance(x)
    koleo_loss(x).backward()
    with torch.no_grad():
        x -= 0.01 * x.grad
    assert min_distance(x) > before


def test_bf16_autocast_computes_in_float32_and_small_batch_refused():
    x = torch.randn(6, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = koleo_loss(x.bfloat16())
    assert out.dtype == torch.float32 and torch.isfinite(out)
    with pytest.raises(ValueError):
        koleo_loss(torch.randn(1, 8))
