"""The decoded-image cache: the same pixels as decoding each time, read back from disk, and a
new cache when a file changes."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hierwbc.datasets.cache import cached_images
from hierwbc.datasets.manifest_images import ManifestImages


def _manifest(tmp_path, n=5):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        p = tmp_path / f"cell{i}.png"
        Image.fromarray(rng.integers(0, 256, (30 + i, 40, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    return pd.DataFrame({"path": paths, "node": ["monocyte"] * n})


def test_cache_equals_decoding_and_is_read_back(tmp_path):
    m = _manifest(tmp_path)
    first = cached_images(m, 16, tmp_path / "cache", num_workers=0, progress=False)
    direct = np.stack([ManifestImages(m, 16, np.zeros(len(m)))[i][0].numpy() for i in range(len(m))])
    np.testing.assert_array_equal(first.numpy(), direct)
    files = list((tmp_path / "cache").glob("*.npy"))
    assert len(files) == 1 and not list((tmp_path / "cache").glob("*.tmp*"))
    os.utime(files[0], (1, 1))  # untouched on the second call: it is read, not rewritten
    again = cached_images(m, 16, tmp_path / "cache", num_workers=0, progress=False)
    np.testing.assert_array_equal(again.numpy(), direct)
    assert files[0].stat().st_mtime == 1


def test_an_edited_image_gets_a_new_cache(tmp_path):
    m = _manifest(tmp_path)
    cached_images(m, 16, tmp_path / "cache", num_workers=0, progress=False)
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(m["path"][0])
    os.utime(m["path"][0], ns=(10**18, 10**18))
    new = cached_images(m, 16, tmp_path / "cache", num_workers=0, progress=False)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2
    assert new[0].max() == 0


def test_an_unreadable_file_is_named(tmp_path):
    m = _manifest(tmp_path)
    Path(m["path"][2]).write_bytes(b"not an image")
    with pytest.raises(Exception, match="cell2"):
        cached_images(m, 16, tmp_path / "cache", num_workers=0, progress=False)
