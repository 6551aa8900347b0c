"""The simulated other-lab view (train/lab_shift.py): stain perturbation worked by hand, framing
as a centred crop, determinism; and the kNN monitor's shifted score."""

import numpy as np
import pytest
import torch

from hierwbc.hierarchy import default_hierarchy
from hierwbc.train.augment import crop_flip_rotate
from hierwbc.train.knn_monitor import KnnMonitor
from hierwbc.train.lab_shift import center_boxes, lab_shifted, perturb_stains, stain_basis

from .test_knn_monitor import CLASSES, MeanColour, _images


def test_stain_basis_rows_are_ruifroks_unit_vectors():
    basis = stain_basis(torch.float64)
    assert torch.allclose(basis.norm(dim=1), torch.ones(3, dtype=torch.float64))
    h = torch.tensor([0.65, 0.70, 0.29], dtype=torch.float64)
    assert torch.allclose(basis[0], h / h.norm())


def test_no_perturbation_is_the_identity():
    images = torch.rand(4, 3, 5, 5, generator=torch.Generator().manual_seed(0)).clamp(min=0.01)
    out = perturb_stains(images, torch.ones(4, 3), torch.zeros(4, 3))
    assert torch.allclose(out, images, atol=1e-5)


def test_doubling_haematoxylin_squares_a_pure_haematoxylin_pixel():
    # a pixel of haematoxylin alone at concentration c: I = exp(-c h); alpha_H = 2 gives exp(-2 c h) = I^2
    h = stain_basis(torch.float64)[0]
    pixel = torch.exp(-0.8 * h).view(1, 3, 1, 1)
    out = perturb_stains(pixel, torch.tensor([[2.0, 1.0, 1.0]]), torch.zeros(1, 3))
    assert torch.allclose(out, pixel ** 2, atol=1e-6)
    # an offset beta_E on a white pixel adds eosin: I = exp(-beta_E e)
    white = torch.ones(1, 3, 1, 1, dtype=torch.float64)
    out = perturb_stains(white, torch.ones(1, 3), torch.tensor([[0.0, 0.3, 0.0]]))
    assert torch.allclose(out.flatten(), torch.exp(-0.3 * stain_basis(torch.float64)[1]), atol=1e-6)


def test_centre_boxes_are_the_central_fraction():
    assert center_boxes(2, 100, 80, 0.5).tolist() == [[20.0, 25.0, 40.0, 50.0]] * 2


def test_lab_shifted_frames_tightly_perturbs_stains_and_is_deterministic():
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    plain = lab_shifted(images, 16, seed=0, zoom=0.5, sigma=0.0, beta_max=0.0, gain=0.0, blur=None)
    no = torch.zeros(6, dtype=torch.bool)
    crop = crop_flip_rotate(images.float() / 255, center_boxes(6, 32, 32, 0.5), 16, no, no, torch.zeros(6))
    assert plain.shape == (6, 3, 16, 16) and plain.dtype == torch.uint8
    assert (plain.float() - crop.mul(255).round()).abs().max() <= 1  # the centre, unperturbed
    shifted = lab_shifted(images, 16, seed=0)
    assert torch.equal(shifted, lab_shifted(images, 16, seed=0))
    assert not torch.equal(shifted, lab_shifted(images, 16, seed=1))
    assert (shifted.float() - plain.float()).abs().mean() > 2  # stains moved


def test_white_balance_scales_channels_and_blur_keeps_the_mean():
    flat = torch.full((50, 3, 32, 32), 200, dtype=torch.uint8)  # a flat grey field: the stain step leaves
    out = lab_shifted(flat, 16, seed=3, sigma=0.0, beta_max=0.0, gain=0.3, blur=(0.5, 1.5)).float() / 200
    per_channel = out.mean(dim=(2, 3))  # its concentrations (alpha 1, beta 0), so only the gains show
    assert (per_channel >= 0.7 - 0.01).all() and (per_channel <= 1.0 + 0.01).all()
    assert per_channel.std() > 0.05  # the casts differ between images and channels
    assert (out.std(dim=(2, 3)) < 0.01).all()  # blurring a flat field leaves it flat


def test_monitor_reports_the_shifted_queries_with_the_same_references():
    h = default_hierarchy()
    rng = np.random.default_rng(0)
    ref_cls, query_cls = rng.integers(0, 4, 400), rng.integers(0, 4, 400)
    nodes = h.indices(CLASSES)
    refs, queries = _images(ref_cls, rng, True), _images(query_cls, rng, True)
    same = KnnMonitor(h, refs, nodes[ref_cls], queries, nodes[query_cls], shifted_queries=queries)(MeanColour())
    assert same["knn_bacc_shifted"] == same["knn_bacc"] and same["knn_acc_shifted"] == same["knn_acc"]
    # a colour shift of 3 classes' grey-level spacing breaks a colour 'backbone': chance or worse
    dark = (queries.int() + 150).clamp(max=255).to(torch.uint8)
    shifted = KnnMonitor(h, refs, nodes[ref_cls], queries, nodes[query_cls], shifted_queries=dark)(MeanColour())
    assert shifted["knn_bacc"] > 0.99 and shifted["knn_bacc_shifted"] <= 0.3
    with pytest.raises(ValueError, match="must match the queries"):
        KnnMonitor(h, refs, nodes[ref_cls], queries, nodes[query_cls], shifted_queries=queries[:5])


def test_a_zoom_range_frames_each_image_within_it():
    boxes = center_boxes(3, 100, 100, torch.tensor([0.4, 0.6, 0.8]))
    expected = [[30.0, 30.0, 40.0, 40.0], [20.0, 20.0, 60.0, 60.0], [10.0, 10.0, 80.0, 80.0]]
    torch.testing.assert_close(boxes, torch.tensor(expected))
    ring = torch.zeros(1, 3, 40, 40, dtype=torch.uint8)
    ring[..., 8:32, 8:32] = 255  # a white square filling the central 60 %
    images = ring.expand(64, 3, 40, 40)
    out = lab_shifted(images, 20, seed=0, zoom=(0.4, 0.8), sigma=0.0, beta_max=0.0, gain=0.0, blur=None).float()
    white = (out.mean(dim=(1, 2, 3)) / 255).numpy()  # share of the view the square fills
    assert (white > 0.5).all() and white.max() - white.min() > 0.3  # zoom 0.4: all white; 0.8: ~56 %


class MeanColourWithWeights(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.embed_dim = 3

    def forward_features(self, x):
        return {"x_norm_clstoken": self.scale * x.mean(dim=(2, 3))}


def test_lab_views_are_view_major_and_seeded_per_view_and_chunk():
    from hierwbc.train.lab_shift import embed_lab_views

    images = torch.randint(0, 256, (5, 3, 24, 24), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    model = MeanColourWithWeights()
    X = embed_lab_views(model, images, 12, views=2, chunk=2, progress=False)
    assert X.shape == (10, 3)
    again = embed_lab_views(model, images, 12, views=2, chunk=2, progress=False)
    np.testing.assert_array_equal(X, again)
    # row v * n + i is cell i's view v: view 0, chunk 0 is lab_shifted(images[:2], seed=1)
    from hierwbc.datasets.model_input import normalize
    first = lab_shifted(images[:2], 12, seed=1, zoom=(0.4, 0.8)).float() / 255
    np.testing.assert_allclose(X[:2], normalize(first).mean(dim=(2, 3)).numpy(), atol=1e-5)
    assert not np.allclose(X[:5], X[5:])  # the two views differ
