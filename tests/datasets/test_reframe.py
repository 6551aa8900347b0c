"""Cell-centred re-framing on constructed smears: the same cell drawn at 2x scale, or cut with a
tight and a loose off-centre box, fills the same share of the re-framed square."""

import numpy as np
import pytest

from hierwbc.datasets.images import square_resize
from hierwbc.datasets.reframe import MARGIN, cell_box, otsu_threshold, reframe

BACKGROUND = (236, 222, 214)   # cream slide
RED_CELL = (214, 150, 150)     # pink erythrocytes
NUCLEUS = (95, 45, 140)        # violet


def _smear(size: int, scale: float, centre: tuple[float, float], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(float)
    img = np.empty((size, size, 3), np.float64)
    img[:] = BACKGROUND
    for _ in range(int(size * size / (900 * scale * scale))):  # red cells everywhere
        cy, cx = rng.uniform(0, size, 2)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= (7 * scale) ** 2] = RED_CELL
    cy, cx = centre
    img[(yy - cy) ** 2 + (xx - cx) ** 2 <= (16 * scale) ** 2] = (205, 190, 215)   # pale cytoplasm
    img[(yy - cy) ** 2 / (11 * scale) ** 2 + (xx - cx) ** 2 / (9 * scale) ** 2 <= 1] = NUCLEUS
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


def _nucleus_share(rgb: np.ndarray) -> float:
    out = square_resize(reframe(rgb), 64).astype(float)
    violet = (out[..., 2] - out[..., 1]) > 60
    rows = np.flatnonzero(violet.any(1))
    return (rows.max() - rows.min() + 1) / 64


def test_otsu_threshold_splits_two_modes():
    values = np.r_[np.random.default_rng(0).normal(10, 1, 500), np.random.default_rng(1).normal(50, 2, 300)]
    assert 13 < otsu_threshold(values) < 45


def test_cell_box_finds_the_nucleus():
    img = _smear(120, 1.0, (60, 50))
    box, _ = cell_box(img)
    assert box is not None
    x0, y0, x1, y1 = box
    assert abs((x0 + x1) / 2 - 50) <= 2 and abs((y0 + y1) / 2 - 60) <= 2
    assert abs((y1 - y0) - 22) <= 3 and abs((x1 - x0) - 18) <= 3


def test_same_cell_at_twice_the_scale_fills_the_same_share():
    small = _smear(120, 1.0, (60, 60), seed=1)
    large = _smear(240, 2.0, (120, 120), seed=2)
    a, b = _nucleus_share(small), _nucleus_share(large)
    assert a == pytest.approx(b, rel=0.10)
    assert a == pytest.approx(1 / MARGIN, rel=0.15)   # the nucleus' height is 1 / margin of the side


def test_tight_and_loose_off_centre_boxes_give_the_same_framing():
    field = _smear(300, 1.5, (150, 150), seed=3)
    tight = field[120:180, 125:175]          # the cell fills the crop
    loose = field[70:270, 60:260]            # four times wider, cell off-centre
    assert _nucleus_share(tight) == pytest.approx(_nucleus_share(loose), rel=0.10)


def test_no_cell_returns_the_image():
    blank = np.full((50, 50, 3), 200, np.uint8)
    assert reframe(blank) is blank
