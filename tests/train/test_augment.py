"""Batched global-crop augmentation: each op against an independent reference, rates, seeds."""
import math
from dataclasses import replace

import kornia.color
import pytest
import torch
import torch.nn.functional as F

from hierwbc.datasets.model_input import IMAGENET_MEAN, IMAGENET_STD
from hierwbc.train import augment as A

NO_COLOUR = A.AugmentConfig(jitter_p=0.0, grayscale_p=0.0, blur_p=(0.0, 0.0), solarize_p=(0.0, 0.0))


def rand_images(n=3, h=12, w=12, seed=0):
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


def full_boxes(n, h, w):
    return torch.tensor([[0.0, 0.0, w, h]]).repeat(n, 1)


def no(n):
    return torch.zeros(n, dtype=torch.bool)


@pytest.mark.parametrize("mode", ["bicubic", "bilinear"])
def test_full_box_at_same_size_is_identity(mode):
    x = rand_images()
    out = A.crop_flip_rotate(x, full_boxes(3, 12, 12), 12, no(3), no(3), torch.zeros(3), mode)
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_integer_box_at_native_resolution_is_a_slice():
    x = rand_images(h=20, w=16)
    boxes = torch.tensor([[3.0, 5.0, 8.0, 8.0]]).repeat(3, 1)
    out = A.crop_flip_rotate(x, boxes, 8, no(3), no(3), torch.zeros(3))
    torch.testing.assert_close(out, x[..., 5:13, 3:11], atol=1e-5, rtol=0)


def test_flips_and_quarter_turns_match_torch():
    x = rand_images(n=8)
    hflip = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1], dtype=torch.bool)
    vflip = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1], dtype=torch.bool)
    turns = torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])
    out = A.crop_flip_rotate(x, full_boxes(8, 12, 12), 12, hflip, vflip, turns)
    for i in range(8):
        ref = x[i]
        if hflip[i]:
            ref = ref.flip(-1)
        if vflip[i]:
            ref = ref.flip(-2)
        ref = torch.rot90(ref, int(turns[i]), dims=(-2, -1))
        torch.testing.assert_close(out[i], ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_antialiased_downscale_matches_torch_interpolate(mode):
    x = rand_images(h=24, w=36)
    out = A.crop_flip_rotate(x, full_boxes(3, 24, 36), 12, no(3), no(3), torch.zeros(3), mode)
    ref = F.interpolate(x, size=(12, 12), mode=mode, antialias=True, align_corners=False)
    torch.testing.assert_close(out, ref.clamp(0, 1), atol=2e-5, rtol=0)


def test_crop_boxes_respect_image_scale_and_ratio():
    gen = torch.Generator().manual_seed(0)
    boxes = A.random_resized_crop_boxes(2000, 30, 40, (0.32, 1.0), (3 / 4, 4 / 3), gen)
    x0, y0, w, h = boxes.unbind(1)
    assert (x0 >= 0).all() and (y0 >= 0).all()
    assert (x0 + w <= 40 + 1e-4).all() and (y0 + h <= 30 + 1e-4).all()
    area = w * h / (30 * 40)
    assert area.min() >= 0.32 - 1e-4 and area.max() <= 1.0 + 1e-4
    aspect = w / h
    assert aspect.min() >= 3 / 4 - 1e-4 and aspect.max() <= 4 / 3 + 1e-4
    # impossible requests fall back to the central crop clamped to the ratio range
    wide = A.random_resized_crop_boxes(50, 10, 100, (0.95, 1.0), (3 / 4, 4 / 3), gen)
    assert (wide[:, 2] <= 100).all() and (wide[:, 3] <= 10 + 1e-4).all()
    fallback = wide[(wide[:, 2] - 10 * 4 / 3).abs() < 1e-4]
    assert len(fallback) > 0 and torch.allclose(fallback[:, 3], torch.tensor(10.0))


def test_colour_ops_against_formulas_and_kornia():
    x = rand_images(n=4, h=6, w=5)
    f = torch.tensor([0.5, 1.0, 1.3, 0.0])
    gray = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    torch.testing.assert_close(A.rgb_to_grayscale(x)[:, 0], gray)
    torch.testing.assert_close(A.adjust_brightness(x, f), (x * f.view(-1, 1, 1, 1)).clamp(0, 1))
    mean = gray.mean(dim=(1, 2)).view(-1, 1, 1, 1)
    torch.testing.assert_close(A.adjust_contrast(x, f),
                               (f.view(-1, 1, 1, 1) * x + (1 - f.view(-1, 1, 1, 1)) * mean).clamp(0, 1))
    sat = f.view(-1, 1, 1, 1) * x + (1 - f.view(-1, 1, 1, 1)) * gray.unsqueeze(1)
    torch.testing.assert_close(A.adjust_saturation(x, f), sat.clamp(0, 1))
    shift = torch.tensor([0.1, -0.1, 0.5, 0.0])
    hsv = kornia.color.rgb_to_hsv(x)
    hue = torch.remainder(hsv[:, :1] + shift.view(-1, 1, 1, 1) * 2 * math.pi, 2 * math.pi)
    ref = kornia.color.hsv_to_rgb(torch.cat((hue, hsv[:, 1:]), 1))
    torch.testing.assert_close(A.adjust_hue(x, shift), ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(A.solarize(torch.tensor([0.2, 0.5, 0.9])), torch.tensor([0.2, 0.5, 0.1]))


def test_gaussian_blur_against_explicit_2d_kernel():
    x = rand_images(n=3, h=11, w=13)
    sigma = torch.tensor([0.1, 1.0, 2.0])
    out = A.gaussian_blur(x, sigma, 9)
    t = torch.arange(-4, 5, dtype=torch.float32)
    for i in range(3):
        k1 = torch.exp(-t ** 2 / (2 * sigma[i] ** 2))
        k1 = k1 / k1.sum()
        k2 = torch.outer(k1, k1).expand(3, 1, 9, 9)
        ref = F.conv2d(F.pad(x[i:i + 1], (4, 4, 4, 4), mode="reflect"), k2, groups=3)
        torch.testing.assert_close(out[i:i + 1], ref, atol=1e-5, rtol=0)


def test_global_crops_shapes_determinism_and_uint8():
    x = rand_images(n=4, h=40, w=32)
    x8 = (x * 255).round().to(torch.uint8)
    cfg = A.AugmentConfig(size=28)
    a1, a2 = A.global_crops(x8, cfg, generator=7)
    b1, b2 = A.global_crops(x8, cfg, generator=torch.Generator().manual_seed(7))
    assert a1.shape == a2.shape == (4, 3, 28, 28) and a1.dtype == torch.float32
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    c1, _ = A.global_crops(x8, cfg, generator=8)
    assert not torch.equal(a1, c1) and not torch.equal(a1, a2)
    f1, _ = A.global_crops(x8.float() / 255, cfg, generator=7)
    torch.testing.assert_close(f1, a1)
    assert torch.isfinite(a1).all() and torch.isfinite(a2).all()


def _unnormalize(y):
    return y * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)


def test_solarize_only_on_crop_two_at_its_rate():
    x = torch.full((1000, 3, 8, 8), 0.9)
    cfg = replace(NO_COLOUR, size=8, solarize_p=(0.0, 0.2))
    c1, c2 = A.global_crops(x, cfg, generator=0)
    assert torch.allclose(_unnormalize(c1), torch.tensor(0.9), atol=1e-4)
    solarized = (_unnormalize(c2).mean(dim=(1, 2, 3)) < 0.5).float().mean().item()
    assert abs(solarized - 0.2) < 0.04


def test_blur_rates_per_crop_and_grayscale_rate():
    board = ((torch.arange(16).view(-1, 1) + torch.arange(16)) % 2).float()
    x = board.expand(600, 3, 16, 16).clone()
    cfg = replace(NO_COLOUR, size=16, scale=(1.0, 1.0), ratio=(1.0, 1.0), blur_p=(1.0, 0.1),
                  blur_sigma=(2.0, 2.0))
    c1, c2 = A.global_crops(x, cfg, generator=0)
    blurred1 = (_unnormalize(c1).std(dim=(1, 2, 3)) < 0.2).float().mean().item()
    blurred2 = (_unnormalize(c2).std(dim=(1, 2, 3)) < 0.2).float().mean().item()
    assert blurred1 == 1.0 and abs(blurred2 - 0.1) < 0.04
    color = torch.rand(600, 3, 1, 1).expand(600, 3, 8, 8)
    g1, _ = A.global_crops(color, replace(NO_COLOUR, size=8, grayscale_p=0.2), generator=1)
    rgb = _unnormalize(g1)
    is_gray = ((rgb[:, 0] - rgb[:, 1]).abs().amax(dim=(1, 2)) < 1e-4).float().mean().item()
    assert abs(is_gray - 0.2) < 0.05


def test_jitter_rate_and_identity_when_off():
    x = torch.rand(400, 3, 1, 1).expand(400, 3, 8, 8)
    cfg = replace(NO_COLOUR, size=8, jitter_p=0.8)
    c1, _ = A.global_crops(x, cfg, generator=2)
    changed = ((_unnormalize(c1) - x).abs().amax(dim=(1, 2, 3)) > 1e-3).float().mean().item()
    assert abs(changed - 0.8) < 0.06
    plain, _ = A.global_crops(x, replace(NO_COLOUR, size=8), generator=2)
    torch.testing.assert_close(_unnormalize(plain), x, atol=1e-4, rtol=0)
