"""Cosine schedules for lr (with linear warm-up), weight decay, teacher momentum and teacher
temperature, and the frozen last layer, as ``dinov2/train/train.py`` (``build_schedulers``) and
``dinov2/utils/utils.py`` (``CosineScheduler``) define them, with lengths given either in absolute
steps (``optim.warmup_steps``, ``optim.freeze_last_layer_steps``, ``teacher.warmup_teacher_temp_steps``,
``teacher.momentum_steps``: a schedule that does not stretch or squeeze with the run length, so
a short trial and a long run see the same teacher at the same step) or, when those are None,
as fractions of the run (DINOv2's 1,250-iteration "official epochs" scaled to our runs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class CosineSchedule:
    """``freeze_iters`` zeros, a linear warm-up from ``start_warmup_value`` to ``base_value``,
    then a half cosine from ``base_value`` to ``final_value``; ``final_value`` past the end."""

    def __init__(self, base_value: float, final_value: float, total_iters: int, warmup_iters: int = 0,
                 start_warmup_value: float = 0.0, freeze_iters: int = 0):
        total_iters = max(int(total_iters), 1)
        warmup_iters = min(int(warmup_iters), total_iters - freeze_iters)
        n_cos = total_iters - warmup_iters - freeze_iters
        cos = final_value + 0.5 * (base_value - final_value) * (1 + np.cos(np.pi * np.arange(n_cos) / max(n_cos, 1)))
        self.final_value = final_value
        self.schedule = np.concatenate([np.zeros(freeze_iters),
                                        np.linspace(start_warmup_value, base_value, warmup_iters), cos])

    def __getitem__(self, it: int) -> float:
        return float(self.schedule[it]) if it < len(self.schedule) else float(self.final_value)

    def __len__(self) -> int:
        return len(self.schedule)


@dataclass
class Schedules:
    lr: CosineSchedule
    last_layer_lr: CosineSchedule
    weight_decay: CosineSchedule
    momentum: CosineSchedule
    teacher_temp: CosineSchedule

    def at(self, step: int) -> dict[str, float]:
        return {"lr": self.lr[step], "last_layer_lr": self.last_layer_lr[step], "wd": self.weight_decay[step],
                "momentum": self.momentum[step], "teacher_temp": self.teacher_temp[step]}


def scaled_lr(base_lr: float, batch_size: int) -> float:
    """DINOv2's ``sqrt_wrt_1024`` scaling rule: ``base_lr * sqrt(batch / 1024)``."""
    return base_lr * math.sqrt(batch_size / 1024.0)


def build_schedules(cfg, total_steps: int) -> Schedules:
    """All schedules of a run of ``total_steps`` optimizer steps (``cfg``: a TrainConfig)."""
    o, t = cfg.optim, cfg.teacher

    def steps(absolute: int | None, fraction: float) -> int:
        return int(absolute) if absolute is not None else round(fraction * total_steps)

    lr = scaled_lr(o.base_lr, cfg.batch_size)
    warmup = steps(o.warmup_steps, o.warmup_fraction)
    lr_kw = {"base_value": lr, "final_value": o.min_lr, "total_iters": total_steps, "warmup_iters": warmup}
    last = CosineSchedule(**lr_kw)
    last.schedule[: steps(o.freeze_last_layer_steps, o.freeze_last_layer_fraction)] = 0.0
    temp_iters = max(steps(t.warmup_teacher_temp_steps, t.warmup_teacher_temp_fraction), 1)
    momentum_iters = t.momentum_steps if t.momentum_steps is not None else total_steps
    return Schedules(
        lr=CosineSchedule(**lr_kw),
        last_layer_lr=last,
        weight_decay=CosineSchedule(o.weight_decay, o.weight_decay_end, total_steps),
        momentum=CosineSchedule(t.momentum_teacher, t.final_momentum_teacher, momentum_iters),
        teacher_temp=CosineSchedule(t.teacher_temp, t.teacher_temp, temp_iters, warmup_iters=temp_iters,
                                    start_warmup_value=t.warmup_teacher_temp),
    )
