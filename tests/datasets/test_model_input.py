"""The network's input: uint8 -> [0, 1] -> ImageNet-normalised, against the plain formula."""

import torch

from hierwbc.datasets.model_input import IMAGENET_MEAN, IMAGENET_STD, normalize, to_float_images


def test_to_float_images_scales_uint8_and_keeps_float():
    x = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 3, 1, 1)
    torch.testing.assert_close(to_float_images(x).flatten(), torch.tensor([0.0, 0.2, 1.0]))
    f = torch.rand(2, 3, 4, 4)
    torch.testing.assert_close(to_float_images(f), f)


def test_normalize_is_per_channel_standardisation():
    x = torch.rand(4, 3, 5, 6, generator=torch.Generator().manual_seed(0))
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(normalize(x), (x - mean) / std)
    grey = torch.full((1, 3, 1, 1), 0.5)  # a hand-worked pixel: (0.5 - 0.485) / 0.229 = 0.0655
    assert abs(float(normalize(grey)[0, 0]) - 0.015 / 0.229) < 1e-6
