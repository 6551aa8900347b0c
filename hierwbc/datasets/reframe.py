"""Cell-centred re-framing: every lab's crop becomes a square in which the white blood cell
fills the same share, whatever the lab's box or field of view.

PBC centres a cell in a wide CellaVision field (the cell spans ~40 % of the side); Raabin's
and Aslan's boxes are tight (the cell fills the frame); LISC's windows are loose and shifted;
BCCD's boxes are loose. A network trained on one framing reads cell size and context from it.

Finding the cell: in Romanowsky stains the WBC (its nucleus, and the cytoplasm of monocytes and
basophils) is the only blue-violet object; red cells are pink and the background white, cream or
yellow. On the map ``v = B - G`` (float RGB, black borders set to its minimum), smoothed with a
gaussian of ``sigma = side / 100``, Otsu's threshold applied twice (the upper class of the
first cut split again: red cells tinted violet in some labs fall below the nucleus) marks the
nucleus (and the darkest cytoplasm); closed with a disk of
radius ``side / 40`` and holes filled (a nucleus' lobes become one object), of its connected
components the one with the largest ``area * exp(-d^2 / (2 (side / 3)^2))`` (``d``: distance
of its centroid from the image centre) is the cell. Output: the square of side
``margin * max(w, h)`` (``w, h``: the component's bounding box; default :data:`MARGIN`)
centred on the box; outside the image it is filled with the median colour of the pixels
below the threshold (the slide's background). When nothing stands out (``B - G`` spans less
than :data:`MIN_CONTRAST` levels) or no pixel clears the threshold, the image is returned as it is.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

MARGIN = 2.0
MIN_SIDE = 8
WORK_SIDE = 96  # px: the cell is found on a copy this size (a 575 px field costs what a 96 px crop does)
MIN_CONTRAST = 10.0  # grey levels of B - G between the most and least violet pixels


def otsu_threshold(values: np.ndarray, bins: int = 128) -> float:
    """Otsu's threshold of a 1-d array (between-class variance maximised over ``bins`` cuts)."""
    hist, edges = np.histogram(values, bins=bins)
    p = hist.astype(np.float64) / max(hist.sum(), 1)
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centers)
    mean = m0[-1]
    w1 = 1 - w0
    between = np.where((w0 > 0) & (w1 > 0), (mean * w0 - m0) ** 2 / np.maximum(w0 * w1, 1e-12), -1)
    return float(edges[1:][np.argmax(between)])


def cell_box(rgb: np.ndarray, work_side: int = WORK_SIDE) -> tuple[np.ndarray, np.ndarray] | tuple[None, np.ndarray]:
    """``(box [4] float (x0, y0, x1, y1), background mask)`` of the cell (module docstring);
    ``box`` None when nothing clears the threshold. The search runs on a copy whose longer side
    is at most ``work_side`` px (box-filtered down); the box is in ``rgb``'s pixels, the mask at
    the working size."""
    h0, w0 = rgb.shape[:2]
    scale = max(h0, w0) / work_side
    if scale > 1:
        small = Image.fromarray(rgb).resize((max(1, round(w0 / scale)), max(1, round(h0 / scale))), Image.BOX)
        box, background = cell_box(np.asarray(small), work_side)
        if box is None:
            return None, background
        sx, sy = w0 / small.width, h0 / small.height
        return box * np.array([sx, sy, sx, sy]), background
    x = rgb.astype(np.float32)
    h, w = x.shape[:2]
    v = x[..., 2] - x[..., 1]
    border = x.max(axis=2) <= 10
    if border.all():
        return None, np.ones((h, w), bool)
    v[border] = v[~border].min()
    v = ndimage.gaussian_filter(v, sigma=max(h, w) / 100)
    if np.ptp(v[~border]) < MIN_CONTRAST:  # nothing violet stands out: no cell to frame
        return None, np.ones((h, w), bool)
    t = otsu_threshold(v[~border])
    upper = v[(v > t) & ~border]
    if upper.size > 16:  # Otsu again within the violet class: the nucleus above tinted red cells
        t = otsu_threshold(upper)
    fg = (v > t) & ~border
    if not fg.any():
        return None, ~fg
    r = max(1, round(max(h, w) / 40))
    disk = np.hypot(*np.mgrid[-r:r + 1, -r:r + 1]) <= r
    fg = ndimage.binary_fill_holes(ndimage.binary_closing(fg, structure=disk)) & ~border  # a nucleus' lobes as one
    labels, n = ndimage.label(fg)
    index = np.arange(1, n + 1)
    area = ndimage.sum_labels(fg, labels, index)
    cy, cx = np.asarray(ndimage.center_of_mass(fg, labels, index)).reshape(-1, 2).T
    d2 = (cy - h / 2) ** 2 + (cx - w / 2) ** 2
    best = index[np.argmax(area * np.exp(-d2 / (2 * (max(h, w) / 3) ** 2)))]
    ys, xs = np.nonzero(labels == best)
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float64)
    return box, ~fg & ~border


def reframe(rgb: np.ndarray, margin: float = MARGIN) -> np.ndarray:
    """The square around the cell, ``[S, S, 3]`` uint8 (module docstring; not resized)."""
    box, background = cell_box(rgb)
    if box is None:
        return rgb
    side = max(round(float(margin * max(box[2] - box[0], box[3] - box[1]))), MIN_SIDE)
    cx, cy = float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    small = np.asarray(Image.fromarray(rgb).resize(background.shape[::-1], Image.BOX)) if (
        background.shape != rgb.shape[:2]) else rgb
    fill = np.median(small[background], axis=0) if background.any() else np.full(3, 255.0)
    out = np.empty((side, side, 3), np.uint8)
    out[:] = np.round(fill).astype(np.uint8)
    h, w = rgb.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    return out


REFRAMES = ("cell",)


def reframer(method: str | None):
    """The re-framing function of ``method`` (``"cell"``), or None for ``None`` / ``"none"``."""
    if method in (None, "none"):
        return None
    if method == "cell":
        return reframe
    raise ValueError(f"unknown re-framing {method!r}; choose from {REFRAMES} or none")


__all__ = ["MARGIN", "REFRAMES", "cell_box", "otsu_threshold", "reframe", "reframer"]
