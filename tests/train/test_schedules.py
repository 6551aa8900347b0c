"""Schedules and parameter groups against hand-computed values."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from hierwbc.config import make_config
from hierwbc.train.param_groups import apply_schedule, layer_id, param_groups
from hierwbc.train.schedules import CosineSchedule, build_schedules, scaled_lr


def test_cosine_schedule_values():
    s = CosineSchedule(1.0, 0.0, total_iters=10, warmup_iters=2, start_warmup_value=0.5)
    assert len(s) == 10
    assert s[0] == 0.5 and s[1] == 1.0  # linear warm-up, inclusive
    assert math.isclose(s[2], 1.0)       # cosine starts at the base value
    assert math.isclose(s[6], 0.5 * (1 + math.cos(math.pi * 4 / 8)))
    assert s[100] == 0.0                 # the final value past the end
    assert np.all(np.diff(s.schedule[2:]) <= 0)


def test_run_schedules_follow_the_config():
    cfg = make_config("hierce", overrides={"batch_size": 64, "optim.base_lr": 0.004})
    s = build_schedules(cfg, total_steps=100)
    assert math.isclose(scaled_lr(0.004, 64), 0.001)
    assert s.lr[0] == 0.0 and math.isclose(s.lr[10], 0.001)
    assert s.last_layer_lr[0] == 0.0 and s.last_layer_lr[1] == s.lr[1]  # frozen for 1 % of 100 steps
    assert math.isclose(s.weight_decay[0], 0.04) and s.weight_decay[99] > 0.39
    assert math.isclose(s.momentum[0], 0.992) and s.momentum[100] == 1.0
    assert math.isclose(s.teacher_temp[0], 0.04) and math.isclose(s.teacher_temp[29], 0.07)
    assert s.teacher_temp[50] == 0.07


class TinyViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 4))
        self.patch_embed = nn.Linear(4, 4)
        self.blocks = nn.ModuleList([nn.ModuleDict({"norm1": nn.LayerNorm(4), "fc": nn.Linear(4, 4)})
                                     for _ in range(2)])
        self.norm = nn.LayerNorm(4)


def test_layer_ids_and_groups():
    assert layer_id("cls_token", 12) == 0 and layer_id("blocks.3.attn.qkv.weight", 12) == 4
    assert layer_id("blocks.0.5.mlp.fc1.weight", 12, chunked=True) == 6
    assert layer_id("norm.weight", 12) == 13
    groups = param_groups(TinyViT(), layerwise_decay=0.5, patch_embed_lr_mult=0.2)
    by = {(g["lr_multiplier"], g["wd_multiplier"]): len(g["params"]) for g in groups}
    assert by[(0.5 ** 3 * 0.2, 1.0)] == 1       # patch_embed.weight (layer 0)
    assert by[(0.5 ** 3 * 0.2, 0.0)] == 1       # patch_embed.bias
    assert by[(0.5 ** 3, 1.0)] == 1             # cls_token (decayed, as upstream)
    assert by[(0.5 ** 2, 1.0)] == 1 and by[(0.5, 1.0)] == 1  # block 0 / block 1 fc weights
    assert by[(1.0, 0.0)] == 2                  # final norm weight + bias
    opt = torch.optim.AdamW(groups)
    apply_schedule(opt, lr=1.0, wd=0.1, last_layer_lr=0.0)
    assert {round(g["lr"], 6) for g in opt.param_groups} == {0.025, 0.125, 0.25, 0.5, 1.0}


def test_absolute_schedule_lengths_do_not_follow_the_run_length():
    from hierwbc.config import make_config
    from hierwbc.train.schedules import build_schedules

    cfg = make_config("unsup", overrides={"optim.warmup_steps": 10, "teacher.warmup_teacher_temp_steps": 20,
                                          "teacher.momentum_steps": 50, "optim.freeze_last_layer_steps": 5,
                                          "teacher.momentum_teacher": 0.99, "teacher.final_momentum_teacher": 1.0})
    short, long = build_schedules(cfg, 100), build_schedules(cfg, 1000)
    for s in (short, long):
        assert s.at(4)["last_layer_lr"] == 0 and s.at(5)["last_layer_lr"] > 0
        assert s.at(10)["lr"] == pytest.approx(s.lr.schedule.max())  # warm-up ends at step 10
        assert s.at(20)["teacher_temp"] == pytest.approx(cfg.teacher.teacher_temp)
        assert s.at(0)["momentum"] == pytest.approx(0.99) and s.at(60)["momentum"] == 1.0
    for k in (3, 15, 30):  # the same teacher schedules at the same step
        assert short.at(k)["momentum"] == long.at(k)["momentum"]
        assert short.at(k)["teacher_temp"] == long.at(k)["teacher_temp"]
