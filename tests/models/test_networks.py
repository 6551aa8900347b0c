"""The networks of a TrainConfig: the same modules training builds and a checkpoint reader
rebuilds, and the supervised head's keys found in a MetaArch state."""

import torch

from hierwbc.hierarchy import default_hierarchy
from hierwbc.models.networks import (
    backbone_from_config,
    sup_head_state,
    supervised_head_from_config,
)
from hierwbc.train.meta_arch import MetaArch

from ..train.helpers import tiny_config


def _shapes(module_or_state):
    state = module_or_state if isinstance(module_or_state, dict) else module_or_state.state_dict()
    return {k: tuple(v.shape) for k, v in state.items()}


def test_a_checkpoint_reader_rebuilds_what_training_built():
    h, cfg = default_hierarchy(), tiny_config("hierce", **{"supervised.head_hidden_dim": 8})
    torch.manual_seed(0)
    model = MetaArch(cfg, h)
    backbone = backbone_from_config(cfg)
    assert _shapes(backbone) == _shapes(model.teacher.backbone)
    head = supervised_head_from_config(cfg, h, backbone.embed_dim)
    state = sup_head_state(model.state_dict())
    assert state and _shapes(state) == _shapes(head)
    head.load_state_dict(state)


def test_no_head_without_a_supervised_loss():
    h, cfg = default_hierarchy(), tiny_config("unsup")
    assert supervised_head_from_config(cfg, h, 192) is None
    assert sup_head_state(MetaArch(cfg, h).state_dict()) == {}
