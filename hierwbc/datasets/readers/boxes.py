"""Boxes given as fractions of an image (YOLO centre/size, or corner fractions) to the
manifest's pixel boxes (0-based, end exclusive, PIL's ``Image.crop`` convention), with the
checks every box reader shares: a bad box is a :class:`BoxError` naming the file and line."""

from __future__ import annotations

import numpy as np
from PIL import Image

TOLERANCE = 1e-3  # fractions may overshoot [0, 1] by rounding in the publisher's files


class BoxError(ValueError):
    """A box that is not a box: wrong field count, not a number, outside the image, empty."""


def image_size(path: str) -> tuple[int, int]:
    """``(width, height)`` from the file header (no decoding)."""
    with Image.open(path) as im:
        return im.size


def check_fractions(corners: np.ndarray, where: list[str]) -> None:
    """Raise :class:`BoxError` for the first row of ``corners [n, 4]`` (``x0, y0, x1, y1`` as
    fractions) that is not finite, leaves ``[0, 1]`` or is empty; ``where[i]`` names row ``i``."""
    corners = np.asarray(corners, dtype=float).reshape(-1, 4)
    bad = ~np.isfinite(corners).all(1)
    outside = ((corners < -TOLERANCE) | (corners > 1 + TOLERANCE)).any(1)
    empty = (corners[:, 2] <= corners[:, 0]) | (corners[:, 3] <= corners[:, 1])
    for mask, why in ((bad, "not a number"), (outside, "outside the image (fractions must lie in [0, 1])"),
                      (empty, "empty (max <= min)")):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise BoxError(f"{where[i]}: box {tuple(float(v) for v in corners[i])} is {why}"
                           + (f" ({int(mask.sum())} such boxes)" if mask.sum() > 1 else ""))


def yolo_to_corners(yolo: np.ndarray) -> np.ndarray:
    """YOLO ``[n, 4]`` (``x_centre, y_centre, width, height`` fractions) -> corner fractions."""
    yolo = np.asarray(yolo, dtype=float).reshape(-1, 4)
    half = yolo[:, 2:] / 2
    return np.concatenate([yolo[:, :2] - half, yolo[:, :2] + half], 1)


def to_pixels(corners: np.ndarray, width: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Corner fractions ``[n, 4]`` times each row's image size, clipped to the image: ``[n, 4]``
    pixels ``xmin, ymin, xmax, ymax`` (floats; :func:`~hierwbc.datasets.load_image` rounds
    outwards)."""
    corners = np.clip(np.asarray(corners, dtype=float).reshape(-1, 4), 0.0, 1.0)
    scale = np.stack([width, height, width, height], 1).astype(float)
    return corners * scale


__all__ = ["BoxError", "check_fractions", "image_size", "to_pixels", "yolo_to_corners"]
