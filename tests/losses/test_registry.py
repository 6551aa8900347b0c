"""get_loss: every name builds its loss with options; input kinds; unknown names fail clearly."""

from __future__ import annotations

import pytest
import torch

from hierwbc.hierarchy import default_hierarchy
from hierwbc.losses import (
    DistanceLoss,
    FlatCELoss,
    HierCELoss,
    HierSupConLoss,
    MultilevelCELoss,
    NodeCELoss,
    SoftLabelLoss,
    SupConLoss,
    get_loss,
    input_kind,
)

EXPECTED = {
    "ce": (FlatCELoss, "leaf_logits"),
    "hierce": (HierCELoss, "leaf_logits"),
    "supcon": (SupConLoss, "embedding"),
    "hiersupcon": (HierSupConLoss, "embedding"),
    "multilevel": (MultilevelCELoss, "depth_logits"),
    "ce_node": (NodeCELoss, "node_logits"),
    "distance": (DistanceLoss, "leaf_logits"),
    "softlabel": (SoftLabelLoss, "leaf_logits"),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_name(name):
    h = default_hierarchy()
    cls, kind = EXPECTED[name]
    loss = get_loss(name, h)
    assert type(loss) is cls and input_kind(name) == kind
    width = {"leaf_logits": len(h.leaves), "depth_logits": len(h.nodes), "node_logits": len(h.nodes),
             "embedding": 16}[kind]
    x = torch.randn(12, width, requires_grad=True)
    targets = torch.tensor(list(h.leaf_nodes[:6]) * 2)
    value = loss(x, targets)
    value.backward()
    assert value.item() > 0 and torch.isfinite(x.grad).all()


def test_options_reach_the_loss():
    h = default_hierarchy()
    assert get_loss("hierce", h, alpha=0.1).alpha == 0.1
    assert get_loss("HierSupCon", h, penalty="pow2").penalty == "pow2"
    assert get_loss("softlabel", h, beta=4).beta == 4.0
    with pytest.raises(TypeError, match="hierce"):
        get_loss("hierce", h, beta=3)


def test_unknown_name_lists_known():
    with pytest.raises(KeyError, match="hiersupcon"):
        get_loss("focal", default_hierarchy())


@pytest.mark.parametrize("name", list(EXPECTED))
def test_no_hard_coded_device(name):
    """Every loss follows its buffers and inputs: it runs shape-only on the meta device."""
    h = default_hierarchy()
    loss = get_loss(name, h).to("meta")
    width = {"leaf_logits": len(h.leaves), "depth_logits": len(h.nodes), "node_logits": len(h.nodes),
             "embedding": 16}[input_kind(name)]
    x = torch.empty(8, width, device="meta", requires_grad=True)
    value = loss(x, torch.zeros(8, dtype=torch.long, device="meta"))
    value.backward()
    assert value.device.type == "meta" and value.shape == () and x.grad.shape == x.shape


def test_the_registry_is_the_list_of_presets_and_of_their_config_fields():
    from dataclasses import fields

    from hierwbc.config import PRESETS, SUPERVISED_PRESETS, SupervisedConfig, make_config
    from hierwbc.losses import LOSSES, loss_options

    assert SUPERVISED_PRESETS == tuple(LOSSES) and PRESETS == ("unsup", *LOSSES)
    known = {f.name for f in fields(SupervisedConfig)}
    for name, entry in LOSSES.items():
        assert set(entry.fields) <= known, name
        assert type(get_loss(name, default_hierarchy(), **loss_options(make_config(name).supervised))) is entry.cls
    s = make_config("hierce", overrides=["alpha=0.2"]).supervised
    assert loss_options(s) == {"alpha": 0.2}
    s = make_config("ce", overrides=["supervised.count_coarse=true"]).supervised
    assert loss_options(s) == {"coarse": "count"}
    s = make_config("hiersupcon", overrides=["supervised.level_penalty=pow2"]).supervised
    assert loss_options(s) == {"temperature": 0.07, "penalty": "pow2"}
