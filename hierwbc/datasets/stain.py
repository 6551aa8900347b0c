"""Colour (stain) normalisation of a cell image to the colours of the training data: Reinhard et
al. 2001, "Color transfer between images", in Ruderman's decorrelated lαβ space.

Another lab's stain, lamp and camera shift every colour (``../shared/data``: BCCD bluish-grey,
segmentation_wbc yellow); a model that learned PBC's colours reads such cells as other types (the
shipped classifier calls 277 of segmentation_wbc's 300 cells eosinophils). Reinhard's transfer
moves each channel of the image's lαβ values to the reference's mean and standard deviation:

    lab = log10(M_lms @ rgb) -> lαβ (:data:`_LMS_TO_LAB`)          per pixel, rgb in (0, 1)
    lab' = (lab - mean(lab)) / std(lab) * std_ref + mean_ref         per channel over the image
    rgb' = inverse of the first line                                  clipped to [0, 255]

The statistics are those of the whole image as loaded (its crop box cut out): the cell and its
surroundings. :data:`PBC_TRAIN` is the reference for the shipped models (measured on the PBC
train split, :func:`reference_stats`). Applied by :class:`~hierwbc.datasets.manifest_images.ManifestImages`
when asked (``embed(..., stain_norm="reinhard")``, ``hierwbc predict --stain-norm reinhard``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..deprecation import renamed_attributes

_RGB_TO_LMS = np.array([[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]])
_LMS_TO_LAB = np.diag([1 / np.sqrt(3), 1 / np.sqrt(6), 1 / np.sqrt(2)]) @ np.array(
    [[1.0, 1.0, 1.0], [1.0, 1.0, -2.0], [1.0, -1.0, 0.0]])
_LMS_TO_RGB = np.linalg.inv(_RGB_TO_LMS)
_LAB_TO_LMS = np.linalg.inv(_LMS_TO_LAB)


@dataclass(frozen=True)
class ColorStats:
    """Per-channel ``mean`` and ``std`` (3 each) of an image's lαβ values."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


# reference_stats(<PBC train split>, n=1000, seed=0), the split the shipped models trained on
PBC_TRAIN = ColorStats(mean=(-0.2258, 0.01632, 0.01047), std=(0.1856, 0.06436, 0.004792))


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``[..., 3]`` -> float64 lαβ ``[..., 3]`` (pixel values mapped to (0, 1) as (v + 0.5) / 256)."""
    x = (np.asarray(rgb, dtype=np.float64) + 0.5) / 256.0
    return np.log10(x @ _RGB_TO_LMS.T) @ _LMS_TO_LAB.T


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_lab`, rounded and clipped to uint8."""
    x = (10.0 ** (np.asarray(lab, dtype=np.float64) @ _LAB_TO_LMS.T)) @ _LMS_TO_RGB.T
    return np.clip(np.rint(x * 256.0 - 0.5), 0, 255).astype(np.uint8)


def _lab_stats(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = lab.reshape(-1, 3)
    return flat.mean(0), flat.std(0)


def color_stats(rgb: np.ndarray) -> ColorStats:
    """lαβ mean and standard deviation of one uint8 image ``[H, W, 3]``."""
    mean, std = _lab_stats(rgb_to_lab(rgb))
    return ColorStats(tuple(mean.tolist()), tuple(std.tolist()))


FEATURE_SIZE = 64  # colour statistics on a pixel grid of about this side: cheap beside decoding
_STD_FLOOR = 1e-4  # a flat channel's log std stays finite


def color_features(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``[H, W, 3]`` -> float64 [6]: :func:`color_stats` as six numbers, the lαβ means then
    the log standard deviations (what :mod:`.color_domain` compares), over every k-th pixel of
    every k-th row, ``k = min(H, W) // FEATURE_SIZE`` (an unbiased sample of the pixels: no
    smoothing, so the spread does not depend on the image's resolution)."""
    step = max(1, min(rgb.shape[:2]) // FEATURE_SIZE)
    mean, std = _lab_stats(rgb_to_lab(rgb[::step, ::step].reshape(-1, 3)))  # [n, 3]: one matmul
    return np.concatenate([mean, np.log(np.maximum(std, _STD_FLOOR))])


def reinhard(rgb: np.ndarray, target: ColorStats = PBC_TRAIN) -> np.ndarray:
    """``rgb`` uint8 ``[H, W, 3]`` with its lαβ channels moved to ``target``'s mean and std
    (a channel without spread is only shifted)."""
    lab = rgb_to_lab(rgb)
    mean, std = _lab_stats(lab)
    scale = np.where(std > 1e-8, np.asarray(target.std) / np.where(std > 1e-8, std, 1.0), 1.0)
    return lab_to_rgb((lab - mean) * scale + np.asarray(target.mean))


STAIN_NORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"reinhard": reinhard}  # to PBC_TRAIN


def stain_normalizer(method: str | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """The function ``uint8 [H, W, 3] -> uint8 [H, W, 3]`` a method name stands for (None: none);
    an unknown name raises, naming the known ones."""
    if method is None:
        return None
    if method not in STAIN_NORMS:
        raise ValueError(f"unknown stain normalisation {method!r}; known: {', '.join(STAIN_NORMS)} (or None)")
    return STAIN_NORMS[method]


def reference_stats(manifest: pd.DataFrame, n: int = 1000, seed: int = 0) -> ColorStats:
    """Mean over ``n`` rows of ``manifest`` (drawn with ``seed``) of each image's
    :func:`color_stats`: the reference a model's training images define."""
    from .images import load_image
    from .manifest import boxes

    rows = manifest.sample(min(n, len(manifest)), random_state=seed)
    bx = boxes(rows)
    paths = rows["path"].astype(str)
    stats = [color_stats(load_image(p, None if bx is None else bx[i]))
             for i, p in enumerate(tqdm(paths, desc="colour statistics", leave=False))]
    return ColorStats(tuple(np.mean([s.mean for s in stats], 0).tolist()),
                       tuple(np.mean([s.std for s in stats], 0).tolist()))

__getattr__ = renamed_attributes(__name__, {"ColourStats": "ColorStats", "colour_stats": "color_stats",
                                            "colour_features": "color_features",
                                            "stain_normaliser": "stain_normalizer"})
