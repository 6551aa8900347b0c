"""Reinhard colour normalisation: the lαβ transform, the statistics it matches, the reference."""

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from hierwbc.datasets.manifest_images import ManifestImages
from hierwbc.datasets.stain import (
    PBC_TRAIN,
    ColorStats,
    color_stats,
    lab_to_rgb,
    reference_stats,
    reinhard,
    rgb_to_lab,
    stain_normalizer,
)


def smooth_image(seed=0, size=40, tint=(200, 150, 170)):
    """A stained-looking image: a tinted background with a darker disc and some noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    disc = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (size / 4) ** 2
    img = np.array(tint, float)[None, None] * np.ones((size, size, 1))
    img[disc] *= np.array([0.45, 0.35, 0.7])
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def test_lab_round_trip_is_exact_to_one_level():
    rgb = np.random.default_rng(0).integers(0, 256, (50, 60, 3), dtype=np.uint8)
    assert np.abs(lab_to_rgb(rgb_to_lab(rgb)).astype(int) - rgb).max() <= 1


def test_lab_by_hand_for_one_pixel():
    """Reinhard's equations written out for one pixel: LMS = M rgb, log10, then the lαβ rotation."""
    v = (np.array([120, 60, 200]) + 0.5) / 256
    lms = np.log10(np.array([[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]]) @ v)
    l_ = (lms[0] + lms[1] + lms[2]) / np.sqrt(3)
    a_ = (lms[0] + lms[1] - 2 * lms[2]) / np.sqrt(6)
    b_ = (lms[0] - lms[1]) / np.sqrt(2)
    np.testing.assert_allclose(rgb_to_lab(np.array([120, 60, 200], np.uint8)), [l_, a_, b_], rtol=1e-12)


def test_grey_is_achromatic():
    """Grey pixels have (nearly) no colour: alpha, beta ~ 0 (the LMS rows sum to 0.997-1.000)."""
    lab = rgb_to_lab(np.array([[30, 30, 30], [128, 128, 128], [240, 240, 240]], np.uint8))
    assert np.abs(lab[:, 1:]).max() < 2e-3


def test_reinhard_moves_the_statistics_to_the_target():
    img = smooth_image(tint=(170, 200, 230))  # a bluish lab
    target = color_stats(smooth_image(seed=1, tint=(235, 200, 190)))
    out = color_stats(reinhard(img, target))
    np.testing.assert_allclose(out.mean, target.mean, atol=2e-3)
    np.testing.assert_allclose(out.std, target.std, rtol=0.05, atol=1e-3)
    assert not np.allclose(color_stats(img).mean, target.mean, atol=2e-2)  # it had to move


def test_an_image_already_at_the_target_is_unchanged():
    img = smooth_image()
    assert np.abs(reinhard(img, color_stats(img)).astype(int) - img).max() <= 1


def test_a_flat_image_is_only_shifted():
    flat = np.full((8, 8, 3), 90, np.uint8)
    out = reinhard(flat, PBC_TRAIN)
    assert (out == out[0, 0]).all()  # still flat, no division by a zero spread
    np.testing.assert_allclose(color_stats(out).mean, PBC_TRAIN.mean, atol=0.02)


def test_stain_normaliser_methods():
    img = smooth_image()
    assert stain_normalizer(None) is None
    np.testing.assert_array_equal(stain_normalizer("reinhard")(img), reinhard(img, PBC_TRAIN))
    with pytest.raises(ValueError, match="unknown stain normalisation 'macenko'; known: reinhard"):
        stain_normalizer("macenko")
    with pytest.raises(ValueError, match="macenko"):  # at construction, not in a DataLoader worker
        ManifestImages(pd.DataFrame({"path": ["x.png"]}), 16, np.array([-1]), stain_norm="macenko")


def test_manifest_images_normalise_before_resizing(tmp_path):
    img = smooth_image(size=32, tint=(170, 200, 230))
    Image.fromarray(img).save(tmp_path / "c.png")
    m = pd.DataFrame({"path": [str(tmp_path / "c.png")]})
    plain = ManifestImages(m, 32, np.array([-1]))[0][0]
    normed = ManifestImages(m, 32, np.array([-1]), stain_norm="reinhard")[0][0]
    torch.testing.assert_close(plain, torch.from_numpy(img).permute(2, 0, 1))
    torch.testing.assert_close(normed, torch.from_numpy(reinhard(img)).permute(2, 0, 1))


def test_pbc_train_reference_is_what_the_pbc_train_split_gives(data_root):
    """PBC_TRAIN was measured on 1,000 cells; 300 others of the same split agree closely."""
    from hierwbc.datasets import read_dataset
    from hierwbc.datasets.splits import split_rows
    from hierwbc.hierarchy import default_hierarchy

    h = default_hierarchy()
    train = split_rows(read_dataset("pbc", data_root, hierarchy=h), "train", 0.2, 0)
    got = reference_stats(train, n=300, seed=1)
    assert isinstance(got, ColorStats)
    np.testing.assert_allclose(got.mean, PBC_TRAIN.mean, atol=0.01)  # BCCD sits 0.09 lower in l
    np.testing.assert_allclose(got.std, PBC_TRAIN.std, rtol=0.1)
