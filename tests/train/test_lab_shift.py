"""The simulated other-lab view (train/lab_shift.py): stain perturbation worked by hand, framing
as a centred crop, determinism; and the kNN monitor's shifted score."""

import numpy as np
import pytest
import torch

from hierwbc.hierarchy import default_hierarchy
from hierwbc.train.augment import crop_flip_rotate
from hierwbc.train.knn_monitor import KnnMonitor
from hierwbc.train.lab_shift import centre_boxes, lab_shifted, perturb_stains, stain_basis

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
    assert centre_boxes(2, 100, 80, 0.5).tolist() == [[20.0, 25.0, 40.0, 50.0]] * 2


def test_lab_shifted_frames_tightly_perturbs_stains_and_is_deterministic():
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    plain = lab_shifted(images, 16, seed=0, zoom=0.5, sigma=0.0, beta_max=0.0)
    no = torch.zeros(6, dtype=torch.bool)
    crop = crop_flip_rotate(images.float() / 255, centre_boxes(6, 32, 32, 0.5), 16, no, no, torch.zeros(6))
    assert plain.shape == (6, 3, 16, 16) and plain.dtype == torch.uint8
    assert (plain.float() - crop.mul(255).round()).abs().max() <= 1  # the centre, unperturbed
    shifted = lab_shifted(images, 16, seed=0)
    assert torch.equal(shifted, lab_shifted(images, 16, seed=0))
    assert not torch.equal(shifted, lab_shifted(images, 16, seed=1))
    assert (shifted.float() - plain.float()).abs().mean() > 2  # stains moved


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
