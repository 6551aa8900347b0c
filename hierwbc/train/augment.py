"""Batched DINOv2 global-crop augmentation on the device, in plain torch.

Semantics follow facebookresearch/dinov2 ``dinov2/data/augmentations.py``
(DataAugmentationDINO, global crops) and ``dinov2/data/transforms.py`` (GaussianBlur,
ImageNet normalisation); the code is our own and works on a whole batch at once:

    random resized crop (scale (0.32, 1), ratio (3/4, 4/3)) + horizontal flip
    (+ vertical flip and rot90: cells have no canonical orientation)
    -> colour jitter (0.4, 0.4, 0.2, 0.1) with p 0.8 -> grayscale p 0.2
    -> gaussian blur (kernel 9, sigma U(0.1, 2)): p 1.0 on crop 1, 0.1 on crop 2
    -> solarize (threshold 128/255) p 0.2 on crop 2 only -> ImageNet mean / std;
    local crops (:func:`local_crops`): scale (0.05, 0.32), the same colour jitter, blur p 0.5.

Crop, flips and rotation are two batched matmuls with per-image antialiased bicubic
resampling matrices (PIL's kernel, as torchvision on PIL images). Differences from
torchvision: crop boxes are continuous (sub-pixel); the jitter order is random per batch
(torchvision: per image); the hue shift uses the closed-form HSV rotation below.

Reproducibility: every random number is drawn from ``generator`` (a ``torch.Generator``
or an int seed) on the generator's device (CPU by default) in a fixed order, then moved
to the images' device, so a seed gives the same crop parameters on CPU and GPU.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..datasets.model_input import IMAGENET_MEAN, IMAGENET_STD, normalize, to_float_images

_GRAY_WEIGHTS = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class AugmentConfig:
    """Parameters of the two global crops; pairs ``(crop 1, crop 2)`` where they differ."""

    size: int = 224
    scale: tuple[float, float] = (0.32, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    hflip_p: float = 0.5
    vflip_p: float = 0.5
    rot90: bool = True
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.2, 0.1)
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    blur_p: tuple[float, float] = (1.0, 0.1)
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    blur_kernel: int = 9
    solarize_p: tuple[float, float] = (0.0, 0.2)
    solarize_threshold: float = 128 / 255
    interpolation: str = "bicubic"
    antialias: bool = True
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


def make_generator(generator: torch.Generator | int | None) -> torch.Generator | None:
    """A torch Generator from a seed (CPU), a Generator (as is) or None (global RNG)."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    return torch.Generator().manual_seed(int(generator))


def _device(gen: torch.Generator | None) -> torch.device:
    return gen.device if gen is not None else torch.device("cpu")


def _rand(n: int, gen: torch.Generator | None, *shape: int) -> Tensor:
    """U(0, 1) numbers [n, *shape] from ``gen`` on the generator's device."""
    return torch.rand((n, *shape), generator=gen, device=_device(gen))


def random_resized_crop_boxes(n: int, height: int, width: int, scale: tuple[float, float],
                              ratio: tuple[float, float], gen: torch.Generator | None,
                              tries: int = 10) -> Tensor:
    """torchvision's RandomResizedCrop boxes, batched: [n, 4] = (x0, y0, w, h) in pixels.

    Up to ``tries`` candidates (area fraction U(scale), log-uniform aspect ratio) per
    image, the first that fits wins; otherwise the central crop clamped to ``ratio``.
    """
    area = _rand(n, gen, tries) * (scale[1] - scale[0]) + scale[0]
    log_r = _rand(n, gen, tries) * (math.log(ratio[1]) - math.log(ratio[0])) + math.log(ratio[0])
    aspect = torch.exp(log_r)
    w = torch.sqrt(area * height * width * aspect)
    h = torch.sqrt(area * height * width / aspect)
    fits = (w <= width) & (h <= height)
    first = fits.float().argmax(dim=1, keepdim=True)
    w, h = w.gather(1, first).squeeze(1), h.gather(1, first).squeeze(1)
    in_ratio = width / height
    fb_w = width if in_ratio <= ratio[1] else height * ratio[1]
    fb_h = height if in_ratio >= ratio[0] else width / ratio[0]
    any_fit = fits.any(dim=1)
    w = torch.where(any_fit, w, torch.full_like(w, fb_w))
    h = torch.where(any_fit, h, torch.full_like(h, fb_h))
    offsets = _rand(n, gen, 2)
    x0 = offsets[:, 0] * (width - w)
    y0 = offsets[:, 1] * (height - h)
    return torch.stack((x0, y0, w, h), dim=1)


def _cubic(x: Tensor, a: float = -0.5) -> Tensor:
    """Keys cubic convolution kernel (a = -0.5 as PIL's bicubic)."""
    x = x.abs()
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return torch.where(x <= 1, near, torch.where(x < 2, far, torch.zeros_like(x)))


def _linear(x: Tensor) -> Tensor:
    return (1 - x.abs()).clamp(min=0)


def resample_matrix(start: Tensor, length: Tensor, in_size: int, out_size: int,
                    mode: str = "bicubic", antialias: bool = True) -> Tensor:
    """Per-image 1-D resampling weights of the interval ``[start, start + length)``: [B, out, in].

    Output pixel j samples input position ``c_j = start + (j + 0.5) * length / out`` (pixel
    i covers ``[i, i + 1)``). When shrinking, the kernel is widened by the scale factor
    (antialiasing, as PIL and ``F.interpolate(antialias=True)``); weights falling outside
    the image are dropped and each row renormalised (PIL's edge handling). Only the taps
    within the kernel's support are evaluated, then scattered into the dense matrix.
    """
    kernel, support = (_cubic, 2.0) if mode == "bicubic" else (_linear, 1.0)
    start, length = start.float(), length.float()
    scale = (length / out_size).view(-1, 1, 1)  # input pixels per output pixel
    stretch = scale.clamp(min=1.0) if antialias else torch.ones_like(scale)
    arange_out = torch.arange(out_size, device=start.device, dtype=torch.float32)
    centers = start.view(-1, 1, 1) + (arange_out.view(1, -1, 1) + 0.5) * scale  # [B, out, 1]
    n_taps = math.ceil(2 * support * float(stretch.max())) + 2
    first = torch.floor(centers - support * stretch - 0.5)
    taps = first + torch.arange(n_taps, device=start.device, dtype=torch.float32)  # [B, out, T]
    weights = kernel((taps + 0.5 - centers) / stretch)
    weights = torch.where((taps >= 0) & (taps < in_size), weights, torch.zeros_like(weights))
    weights = weights / weights.sum(dim=-1, keepdim=True).clamp(min=1e-12)
    matrix = weights.new_zeros(start.shape[0], out_size, in_size)
    return matrix.scatter_add_(2, taps.clamp(0, in_size - 1).long(), weights)


def crop_flip_rotate(images: Tensor, boxes: Tensor, size: int, hflip: Tensor, vflip: Tensor,
                     quarter_turns: Tensor, mode: str = "bicubic",
                     antialias: bool = True) -> Tensor:
    """Resample boxes [B, 4] of ``images`` [B, C, H, W] to [B, C, size, size], flipped and rotated.

    Separable: ``Ry @ image @ Rx^T`` with per-image antialiased resampling matrices (two
    batched matmuls, no per-image loop). The flips (``hflip``/``vflip`` [B] bool) and the
    rotation by ``quarter_turns`` [B] x 90 degrees (counter-clockwise, as ``torch.rot90``)
    are folded in as row reversals of the matrices and a per-image transpose.
    """
    height, width = images.shape[-2:]
    device, dtype = images.device, images.dtype
    boxes = boxes.to(device, torch.float32)
    turns = quarter_turns.to(device).long() % 4
    hflip, vflip = hflip.to(device), vflip.to(device)
    # flip then rotate == (flip rows fr, flip cols fc) then optionally transpose:
    transpose = turns % 2 == 1
    flip_rows = vflip ^ (turns >= 2)
    flip_cols = hflip ^ ((turns == 1) | (turns == 2))
    rows = resample_matrix(boxes[:, 1], boxes[:, 3], height, size, mode, antialias)  # [B, S, H]
    cols = resample_matrix(boxes[:, 0], boxes[:, 2], width, size, mode, antialias)  # [B, S, W]
    rows = torch.where(flip_rows.view(-1, 1, 1), rows.flip(1), rows).to(dtype)
    cols = torch.where(flip_cols.view(-1, 1, 1), cols.flip(1), cols).to(dtype)
    batch, channels = images.shape[:2]
    out = torch.bmm(images.reshape(batch, channels * height, width), cols.transpose(1, 2))
    out = torch.bmm(rows.repeat_interleave(channels, 0), out.view(batch * channels, height, size))
    out = out.view(batch, channels, size, size)
    out = torch.where(transpose.view(-1, 1, 1, 1), out.transpose(-1, -2), out)
    return out.clamp_(0.0, 1.0)


def rgb_to_grayscale(images: Tensor) -> Tensor:
    """[B, 3, H, W] -> [B, 1, H, W] luma (0.299 R + 0.587 G + 0.114 B)."""
    weights = images.new_tensor(_GRAY_WEIGHTS).view(1, 3, 1, 1)
    return (images * weights).sum(dim=1, keepdim=True)


def _blend(a: Tensor, b: Tensor, factor: Tensor) -> Tensor:
    """``factor * a + (1 - factor) * b`` per image (factor [B]), clamped to [0, 1]."""
    return torch.lerp(b, a, factor.to(a).view(-1, 1, 1, 1)).clamp_(0.0, 1.0)


def adjust_brightness(images: Tensor, factor: Tensor) -> Tensor:
    return (images * factor.to(images).view(-1, 1, 1, 1)).clamp_(0.0, 1.0)


def adjust_contrast(images: Tensor, factor: Tensor) -> Tensor:
    mean = rgb_to_grayscale(images).mean(dim=(1, 2, 3), keepdim=True)
    return _blend(images, mean.expand_as(images), factor)


def adjust_saturation(images: Tensor, factor: Tensor) -> Tensor:
    return _blend(images, rgb_to_grayscale(images).expand_as(images), factor)


def adjust_hue(images: Tensor, shift: Tensor) -> Tensor:
    """Rotate the HSV hue of RGB ``images`` [B, 3, H, W] by ``shift`` [B] turns (in [-0.5, 0.5]).

    Closed form of rgb -> hsv -> (h + shift) -> rgb: value (max) and chroma (max - min)
    are unchanged, channel n in (R, G, B) = max - chroma * clamp(min(k, 4 - k), 0, 1) with
    ``k = (n + 6 h) mod 6``, n = 5, 3, 1 (the standard hsv -> rgb formula).
    """
    r, g, b = images.unbind(1)
    maxc, minc = images.amax(dim=1), images.amin(dim=1)
    chroma = maxc - minc
    safe = torch.where(chroma > 0, chroma, torch.ones_like(chroma))
    hue6 = torch.where(maxc == r, torch.remainder((g - b) / safe, 6.0),
                       torch.where(maxc == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    hue6 = hue6 + 6.0 * shift.to(images).view(-1, 1, 1)
    n = images.new_tensor((5.0, 3.0, 1.0)).view(1, 3, 1, 1)
    k = torch.remainder(n + hue6.unsqueeze(1), 6.0)
    ramp = torch.minimum(k, 4.0 - k).clamp_(0.0, 1.0)
    return (maxc.unsqueeze(1) - chroma.unsqueeze(1) * ramp).clamp_(0.0, 1.0)


def gaussian_blur(images: Tensor, sigma: Tensor, kernel_size: int = 9) -> Tensor:
    """Separable gaussian blur with a per-image ``sigma`` [B], reflect padding: [B,C,H,W] -> same."""
    batch, channels, height, width = images.shape
    radius = kernel_size // 2
    x = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype)
    kernel = torch.exp(-(x ** 2) / (2 * sigma.to(images).view(-1, 1) ** 2))
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(channels, dim=0)
    flat = images.reshape(1, batch * channels, height, width)
    flat = F.pad(flat, (radius, radius, radius, radius), mode="reflect")
    flat = F.conv2d(flat, kernel.view(-1, 1, 1, kernel_size), groups=batch * channels)
    flat = F.conv2d(flat, kernel.view(-1, 1, kernel_size, 1), groups=batch * channels)
    return flat.view(batch, channels, height, width)


def solarize(images: Tensor, threshold: float = 128 / 255) -> Tensor:
    """Invert pixels at or above ``threshold`` (torchvision ``solarize``)."""
    return torch.where(images >= threshold, 1.0 - images, images)


def _on_subset(images: Tensor, apply: Tensor, fn) -> Tensor:
    """``fn(images[apply], apply)`` written back into ``images`` (only selected images computed)."""
    if not bool(apply.any()):
        return images
    if bool(apply.all()):
        return fn(images, apply)
    index = apply.nonzero().flatten().to(images.device)
    return images.index_copy(0, index, fn(images.index_select(0, index), apply))


def _where(apply: Tensor, new: Tensor, old: Tensor) -> Tensor:
    return torch.where(apply.to(old.device).view(-1, 1, 1, 1), new, old)


def color_distort(images: Tensor, cfg: AugmentConfig, gen: torch.Generator | None) -> Tensor:
    """Colour jitter (prob ``jitter_p``, random op order per batch) then grayscale (``grayscale_p``).

    Factors per image as torchvision ``ColorJitter``: brightness, contrast and saturation
    in ``[max(0, 1 - a), 1 + a]``, hue shift in ``[-h, h]`` turns.
    """
    n = images.shape[0]
    u = (2 * _rand(n, gen, 4) - 1) * torch.tensor(cfg.jitter, device=_device(gen))
    factors = [(1 + u[:, 0]).clamp(min=0), (1 + u[:, 1]).clamp(min=0),
               (1 + u[:, 2]).clamp(min=0), u[:, 3]]
    order = torch.randperm(4, generator=gen, device=_device(gen)).tolist()
    apply_jitter = _rand(n, gen) < cfg.jitter_p
    apply_gray = _rand(n, gen) < cfg.grayscale_p
    ops = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
    jittered = images
    for index in order:  # four ops, each on the whole batch
        if cfg.jitter[index] > 0:
            jittered = ops[index](jittered, factors[index].to(images.device))
    images = _where(apply_jitter, jittered, images)
    return _where(apply_gray, rgb_to_grayscale(images).expand_as(images), images)


def augment_view(images: Tensor, cfg: AugmentConfig, view: int,
                 gen: torch.Generator | None) -> Tensor:
    """One global crop (``view`` 0 or 1) of float images [B, 3, H, W] in [0, 1] -> normalised."""
    n, height, width = images.shape[0], images.shape[-2], images.shape[-1]
    boxes = random_resized_crop_boxes(n, height, width, cfg.scale, cfg.ratio, gen)
    hflip, vflip = _rand(n, gen) < cfg.hflip_p, _rand(n, gen) < cfg.vflip_p
    turns = (_rand(n, gen) * 4).floor().clamp(max=3) if cfg.rot90 else torch.zeros(n)
    out = crop_flip_rotate(images, boxes, cfg.size, hflip, vflip, turns, cfg.interpolation,
                           cfg.antialias)
    out = color_distort(out, cfg, gen)
    blur_u = _rand(n, gen, 2)
    apply_blur = blur_u[:, 0] < cfg.blur_p[view]
    sigma = cfg.blur_sigma[0] + blur_u[:, 1] * (cfg.blur_sigma[1] - cfg.blur_sigma[0])
    out = _on_subset(out, apply_blur, lambda x, keep: gaussian_blur(x, sigma[keep], cfg.blur_kernel))
    apply_solarize = _rand(n, gen) < cfg.solarize_p[view]
    out = _on_subset(out, apply_solarize, lambda x, _: solarize(x, cfg.solarize_threshold))
    return normalize(out, cfg.mean, cfg.std)


def global_crops(images: Tensor, cfg: AugmentConfig = AugmentConfig(),
                 generator: torch.Generator | int | None = None) -> tuple[Tensor, Tensor]:
    """Two DINOv2 global crops of a batch: uint8/float [B, 3, H, W] -> 2 x float32 [B, 3, S, S].

    Runs on ``images.device``; deterministic given ``generator`` (seed or Generator).
    """
    gen = make_generator(generator)
    base = to_float_images(images)
    return augment_view(base, cfg, 0, gen), augment_view(base, cfg, 1, gen)


def local_crops(images: Tensor, cfg: AugmentConfig, n_crops: int,
                generator: torch.Generator | int | None = None) -> Tensor:
    """``n_crops`` dinov2 local crops of a batch (``cfg``: the local crops' parameters, e.g.
    scale (0.05, 0.32), blur p 0.5 and no solarisation in both ``blur_p`` / ``solarize_p``
    entries): uint8/float [B, 3, H, W] -> float32 [n_crops B, 3, S, S], crop-major."""
    if n_crops <= 0:
        return images.new_zeros((0, 3, cfg.size, cfg.size), dtype=torch.float32)
    gen = make_generator(generator)
    base = to_float_images(images)
    return torch.cat([augment_view(base, cfg, 0, gen) for _ in range(n_crops)])
