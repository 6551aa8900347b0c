"""The colour-domain check: features of a flat image, Mahalanobis distance against a naive
reference, the threshold as the quantile of a known distribution, the JSON file, and on real
images: PBC test cells in the shipped PBC domain, BCCD / segmentation_wbc cells out of it."""

import numpy as np
import pytest

from hierwbc.datasets import read_dataset
from hierwbc.datasets.color_domain import ColorDomain, image_features, pbc_train_domain
from hierwbc.datasets.splits import split_rows
from hierwbc.datasets.stain import color_features, rgb_to_lab
from hierwbc.hierarchy import default_hierarchy


def test_a_flat_image_has_its_pixels_colour_and_no_spread():
    rgb = np.zeros((40, 30, 3), np.uint8) + np.array([200, 120, 180], np.uint8)
    f = color_features(rgb)
    np.testing.assert_allclose(f[:3], rgb_to_lab(rgb[:1, :1])[0, 0], atol=1e-9)
    np.testing.assert_allclose(f[3:], np.log(1e-4))


def test_distance_is_mahalanobis_and_the_threshold_its_quantile():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    cov = A @ A.T + 0.5 * np.eye(6)
    X = rng.multivariate_normal(np.arange(6.0), cov, size=20000)
    d = ColorDomain.fit(X, "toy", quantile=0.99)
    assert d.distance(np.asarray(d.mean))[0] == pytest.approx(0.0, abs=1e-9)
    q = X[:5]
    P = np.linalg.inv(np.cov(X, rowvar=False))
    naive = [float(np.sqrt((x - X.mean(0)) @ P @ (x - X.mean(0)))) for x in q]
    np.testing.assert_allclose(d.distance(q), naive, rtol=1e-9)
    assert d.threshold == pytest.approx(np.sqrt(16.812), rel=0.03)  # chi-square, 6 dof, 0.99: 16.812
    assert (d.distance(X) > d.threshold).mean() == pytest.approx(0.01, abs=1e-3)


def test_the_json_file_round_trips_and_a_bad_one_names_itself(tmp_path):
    X = np.random.default_rng(1).normal(size=(50, 6))
    d = ColorDomain.fit(X, "toy")
    (tmp_path / "d.json").write_text(d.to_json())
    assert ColorDomain.read(tmp_path / "d.json") == d
    (tmp_path / "bad.json").write_text('{"name": "x"}')
    with pytest.raises(ValueError, match="bad.json"):
        ColorDomain.read(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="n > 6"):
        ColorDomain.fit(X[:5], "too few")


@pytest.mark.realdata
def test_pbc_test_cells_are_in_the_shipped_domain_and_other_labs_cells_are_not(data_root):
    h, domain = default_hierarchy(), pbc_train_domain()
    assert domain.n == 1000 and domain.quantile == 0.99
    pbc = split_rows(read_dataset("pbc", data_root, hierarchy=h), "test", 0.2, 0).sample(60, random_state=0)
    sets = {"pbc_test": pbc, "bccd": read_dataset("bccd", data_root, hierarchy=h).head(40),
            "segmentation_wbc": read_dataset("segmentation_wbc", data_root, hierarchy=h).head(40)}
    off = {name: (domain.distance(image_features(m, progress=False)) > domain.threshold).mean()
           for name, m in sets.items()}
    assert off["pbc_test"] <= 0.05 and off["bccd"] == 1.0 and off["segmentation_wbc"] == 1.0


@pytest.mark.realdata
def test_colour_features_come_from_the_decoding_embed_does(data_root, monkeypatch):
    """embed(color_features=True) reads each image once: the features are those of the box-cut
    image as decoded (BCCD boxes), the same as image_features, and before stain normalisation."""
    import hierwbc.datasets.manifest_images as mi
    from hierwbc.datasets import load_image
    from hierwbc.datasets.manifest import boxes
    from hierwbc.embed import embed

    m = read_dataset("bccd", data_root, hierarchy=default_hierarchy()).head(12).reset_index(drop=True)
    bx = boxes(m)
    expected = np.stack([color_features(load_image(p, box=bx[i])) for i, p in enumerate(m["path"])])
    calls = []
    real = mi.load_image
    monkeypatch.setattr(mi, "load_image", lambda *a, **kw: calls.append(a[0]) or real(*a, **kw))
    a = embed("pixels", m, color_features=True, stain_norm="reinhard", progress=False)
    assert len(calls) == len(m)  # one decode per image for the embedding and the colours
    np.testing.assert_allclose(a.obsm["colour_features"], expected, rtol=1e-12)
    np.testing.assert_allclose(image_features(m, progress=False), expected, rtol=1e-12)
    assert "colour_features" not in embed("pixels", m, progress=False).obsm
