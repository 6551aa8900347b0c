"""DINOHead: dinov2 parameter names, weight-norm semantics, loading both weight-norm flavours."""
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hierwbc.models.heads import DINOHead, WeightNormLinear


def small_head(**kw):
    torch.manual_seed(0)
    return DINOHead(in_dim=32, out_dim=50, hidden_dim=40, bottleneck_dim=16, **kw)


def test_state_dict_has_dinov2_names_and_shapes():
    head = DINOHead(in_dim=384, out_dim=1000)
    shapes = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    assert shapes == {
        "mlp.0.weight": (2048, 384), "mlp.0.bias": (2048,),
        "mlp.2.weight": (2048, 2048), "mlp.2.bias": (2048,),
        "mlp.4.weight": (256, 2048), "mlp.4.bias": (256,),
        "last_layer.weight_g": (1000, 1), "last_layer.weight_v": (1000, 256),
    }
    assert isinstance(DINOHead(8, 10, nlayers=1).mlp, nn.Linear)


def test_forward_matches_torch_weight_norm_reference():
    head = small_head()
    torch.nn.init.normal_(head.last_layer.weight_g)  # not 1: the test would hide a missing g
    reference_last = nn.utils.parametrizations.weight_norm(nn.Linear(16, 50, bias=False))
    with torch.no_grad():
        reference_last.parametrizations.weight.original0.copy_(head.last_layer.weight_g)
        reference_last.parametrizations.weight.original1.copy_(head.last_layer.weight_v)
    x = torch.randn(5, 32)
    hidden = F.gelu(x @ head.mlp[0].weight.t() + head.mlp[0].bias)
    hidden = F.gelu(hidden @ head.mlp[2].weight.t() + head.mlp[2].bias)
    hidden = hidden @ head.mlp[4].weight.t() + head.mlp[4].bias
    expected = reference_last(hidden / hidden.norm(dim=-1, keepdim=True))
    torch.testing.assert_close(head(x), expected, atol=1e-5, rtol=1e-5)


def test_norm_fixed_to_one_gives_cosine_logits_and_no_grad_on_g():
    head = small_head()
    assert torch.equal(head.last_layer.weight_g, torch.ones(50, 1))
    assert not head.last_layer.weight_g.requires_grad
    logits = head(torch.randn(64, 32) * 10)
    assert logits.abs().max() <= 1.0 + 1e-5
    logits.sum().backward()
    assert head.last_layer.weight_g.grad is None
    assert head.last_layer.weight_v.grad is not None
    assert small_head(norm_last_layer=False).last_layer.weight_g.requires_grad


def test_loads_parametrizations_flavour_state_dict():
    head = small_head()
    source = nn.utils.parametrizations.weight_norm(nn.Linear(16, 50, bias=False))
    state = {f"last_layer.{k}": v for k, v in source.state_dict().items()}
    assert "last_layer.parametrizations.weight.original1" in state
    state.update({k: v for k, v in head.state_dict().items() if k.startswith("mlp.")})
    head.load_state_dict(state)
    x = torch.randn(3, 16)
    torch.testing.assert_close(head.last_layer(x), source(x))


def test_loads_legacy_weight_norm_state_dict():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        legacy = nn.utils.weight_norm(nn.Linear(16, 50, bias=False))
    layer = WeightNormLinear(16, 50)
    layer.load_state_dict(legacy.state_dict())
    x = torch.randn(3, 16)
    torch.testing.assert_close(layer(x), legacy(x))


def test_bf16_autocast_and_deepcopy():
    import copy

    head = small_head()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = head(torch.randn(4, 32))
    assert torch.isfinite(out).all()
    twin = copy.deepcopy(head)
    x = torch.randn(2, 32)
    torch.testing.assert_close(twin(x), head(x))


@pytest.mark.parametrize("nlayers", [1, 2, 4])
def test_nlayers(nlayers):
    head = DINOHead(8, 10, nlayers=nlayers, hidden_dim=12, bottleneck_dim=6)
    n_linear = sum(isinstance(m, nn.Linear) for m in head.mlp.modules())
    assert n_linear == nlayers
    assert head(torch.randn(2, 8)).shape == (2, 10)
