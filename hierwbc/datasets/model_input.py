"""From decoded images to the network's input: uint8 ``[B, 3, H, W]`` -> float in [0, 1] ->
per-channel ``(x - mean) / std`` with ImageNet's statistics (as DINOv2 and every backbone here
were trained). Training (:mod:`hierwbc.train.augment`), the online kNN, embedding and
prediction all feed the network through these two functions."""

from __future__ import annotations

import torch
from torch import Tensor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_float_images(images: Tensor) -> Tensor:
    """uint8 [B, 3, H, W] -> float32 in [0, 1]; float input is assumed in [0, 1] already."""
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


def normalize(images: Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> Tensor:
    """Per-channel ``(x - mean) / std`` (one fused multiply-add)."""
    scale = 1.0 / images.new_tensor(std).view(1, -1, 1, 1)
    return torch.addcmul(-images.new_tensor(mean).view(1, -1, 1, 1) * scale, images, scale)
