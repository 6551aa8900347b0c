"""The CNN baseline's training views, batched on uint8 ``[B, 3, S, S]`` copies (``S`` =
``recipe.cache_size``) -> float ``[B, 3, img_size, img_size]`` in [0, 1]:

random resized crop (area ``U(crop_scale)``, aspect 3/4-4/3) with flips and quarter turns;
per-channel gain ``U(1 - gain, 1 + gain)``; saturation ``U(1 - s, 1 + s)``; optionally a hue
shift ``U(-hue, hue)`` turns; grayscale with
``grayscale_p``; gaussian blur ``sigma ~ U(blur_sigma)`` with ``blur_p``; optionally the HED
stain jitter of Tellez et al. (2018) with ``stain_p``. Evaluation views are the whole image
resized, as :func:`hierwbc.embed.embed` feeds it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..datasets.model_input import to_float_images
from ..train.augment import (
    adjust_hue,
    adjust_saturation,
    crop_flip_rotate,
    gaussian_blur,
    random_resized_crop_boxes,
    rgb_to_grayscale,
)
from ..train.lab_shift import perturb_stains
from .recipe import CNNRecipe


def _u(n: int, lo: float, hi: float, gen: torch.Generator, *shape: int) -> Tensor:
    return torch.rand(n, *shape, generator=gen) * (hi - lo) + lo


def train_views(images: Tensor, recipe: CNNRecipe, gen: torch.Generator) -> Tensor:
    """Augmented training views of ``images`` (uint8 or float in [0, 1]; see the module docstring)."""
    x = to_float_images(images)
    n, _, h, w = x.shape
    boxes = random_resized_crop_boxes(n, h, w, tuple(recipe.crop_scale), (3 / 4, 4 / 3), gen)
    flips = torch.rand(n, 2, generator=gen) < 0.5
    turns = torch.randint(0, 4, (n,), generator=gen)
    x = crop_flip_rotate(x, boxes, recipe.img_size, flips[:, 0], flips[:, 1], turns)
    if recipe.stain_p > 0:
        apply = torch.rand(n, generator=gen) < recipe.stain_p
        alpha = _u(n, 1 - recipe.stain_sigma, 1 + recipe.stain_sigma, gen, 3)
        beta = _u(n, -recipe.stain_beta, recipe.stain_beta, gen, 3)
        x = torch.where(apply.view(-1, 1, 1, 1), perturb_stains(x, alpha, beta), x)
    x = (x * _u(n, 1 - recipe.gain, 1 + recipe.gain, gen, 3).view(n, 3, 1, 1)).clamp_(0, 1)
    x = adjust_saturation(x, _u(n, 1 - recipe.saturation, 1 + recipe.saturation, gen))
    if recipe.hue > 0:
        x = adjust_hue(x, _u(n, -recipe.hue, recipe.hue, gen))
    grey = torch.rand(n, generator=gen) < recipe.grayscale_p
    x = torch.where(grey.view(-1, 1, 1, 1), rgb_to_grayscale(x).expand_as(x), x)
    blur = torch.rand(n, generator=gen) < recipe.blur_p
    if blur.any():
        sigma = _u(n, *recipe.blur_sigma, gen)
        x = torch.where(blur.view(-1, 1, 1, 1), gaussian_blur(x, sigma), x)
    return x


def eval_views(images: Tensor, size: int) -> Tensor:
    """The whole image resized to ``size`` (antialiased bicubic, as the training crops)."""
    x = to_float_images(images)
    n, _, h, w = x.shape
    boxes = torch.tensor([[0.0, 0.0, float(w), float(h)]]).expand(n, 4)
    no = torch.zeros(n, dtype=torch.bool)
    return crop_flip_rotate(x, boxes, size, no, no, torch.zeros(n, dtype=torch.long))


__all__ = ["eval_views", "train_views"]
