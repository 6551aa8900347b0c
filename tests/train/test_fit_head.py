"""fit_head: a head fitted on frozen embeddings learns what the embeddings carry (a toy where
the features encode the label: near-perfect; noise: chance on held-out cells), coarse labels
included, and save_classifier writes a file hierwbc.predict reads as its classifier."""

import json

import numpy as np
import pytest
import torch

from hierwbc.hierarchy import default_hierarchy
from hierwbc.models.shipped import read_weights, save_weights
from hierwbc.train.fit_head import fit_head, save_classifier


def _toy(n_per=40, signal=True, seed=0):
    h = default_hierarchy()
    leaves = list(h.leaves)[:6]
    rng = np.random.default_rng(seed)
    nodes = np.repeat(leaves, n_per)
    X = rng.normal(size=(len(nodes), 16)).astype(np.float32)
    if signal:
        X[np.arange(len(nodes)), h.indices(nodes) % 16] += 6.0
    return h, X, nodes


def test_a_head_learns_what_the_embeddings_carry_and_not_noise():
    h, X, nodes = _toy()
    _, report = fit_head(X, nodes, h, epochs=30, batch_size=16, progress=False)
    assert report["holdout_leaf_accuracy"] >= 0.95 and report["n_holdout"] == 24  # 10 % of each of 6 leaves
    assert report["loss_per_epoch"][-1] < report["loss_per_epoch"][0]
    _, noise = fit_head(*_toy(signal=False)[1:], h, epochs=30, batch_size=16, progress=False)
    assert noise["holdout_leaf_accuracy"] <= 0.45  # chance 1/6; the fitted cells are memorised, not these


def test_coarse_labels_count_for_any_leaf_below_them():
    h, X, nodes = _toy()
    parents = np.array([h.parent_of(n) for n in nodes], dtype=object)
    coarse = np.where(np.arange(len(nodes)) % 2 == 0, parents, nodes)  # half the labels one level up
    _, report = fit_head(X, coarse, h, epochs=30, batch_size=16, progress=False)
    assert report["holdout_leaf_accuracy"] >= 0.95


def test_save_classifier_is_read_by_predict_as_a_head(tmp_path):
    from hierwbc.models.registry import create_model
    from hierwbc.models.vit import build_vit

    h, X, nodes = _toy()
    vit = build_vit("vit_tiny", img_size=28, patch_size=14, init_values=None)
    backbone = save_weights({f"backbone.{k}": v for k, v in vit.state_dict().items()}, tmp_path / "b.safetensors",
                            {"arch": "vit_tiny", "img_size": "28", "patch_size": "14", "layerscale": "0",
                             "num_register_tokens": "0"})
    head, _ = fit_head(np.pad(X, ((0, 0), (0, 192 - 16))), nodes, h, epochs=5, progress=False)
    path = save_classifier(backbone, head, "hierce", h, tmp_path / "c.safetensors", {"head_fit": "toy"})
    tensors, meta = read_weights(path)
    assert json.loads(meta["trained_leaves"]) == list(h.leaves)[:6]  # the toy's labels
    assert {k.split(".")[0] for k in tensors} == {"backbone", "sup_head"}  # no DINO / iBOT heads
    assert meta["sup_loss"] == "hierce" and meta["head_fit"] == "toy" and meta["arch"] == "vit_tiny"
    model = create_model(path)
    loaded, tree = model.head, model.hierarchy
    assert tree == h
    x = torch.randn(4, 192)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.node_probs(loaded(x)), head.node_probs(head(x)), atol=2e-2, rtol=0)
    with pytest.raises(ValueError, match="labels"):
        fit_head(X[:5], nodes[:4], h, progress=False)


def test_leaves_without_training_cells_are_never_predicted():
    h, X, nodes = _toy()
    head, report = fit_head(X, nodes, h, epochs=5, progress=False)
    assert report["trained_leaves"] == list(h.leaves)[:6]
    far = torch.as_tensor(np.random.default_rng(1).normal(scale=50, size=(200, 16)), dtype=torch.float32)
    with torch.inference_mode():
        p = head.node_probs(head(far)).numpy()  # far off the training cells: logits extrapolate
    leaves = h.indices(h.leaves)
    assert (p[:, leaves[6:]] == 0).all()
    np.testing.assert_allclose(p[:, leaves[:6]].sum(1), 1, atol=1e-5)


def test_views_of_one_cell_are_held_out_together_and_scored_per_view():
    # noise embeddings, each cell twice (an exact copy as its second view): with groups the copy of a
    # held-out cell is held out too, so nothing memorised helps (chance); without, the copy leaks
    h, _, nodes = _toy(signal=False)
    X = np.random.default_rng(3).normal(size=(len(nodes), 192)).astype(np.float32)  # separable: memorised
    X2, nodes2 = np.concatenate([X, X]), np.concatenate([nodes, nodes])
    groups, views = np.tile(np.arange(len(X)), 2), np.repeat(["plain", "copy"], len(X))
    _, grouped = fit_head(X2, nodes2, h, epochs=60, batch_size=16, groups=groups, views=views, progress=False)
    _, leaky = fit_head(X2, nodes2, h, epochs=60, batch_size=16, progress=False)
    assert grouped["n_holdout"] == 48  # 24 cells, both views
    assert grouped["holdout_leaf_accuracy"] <= 0.45 and leaky["holdout_leaf_accuracy"] >= 0.8
    assert grouped["holdout_leaf_accuracy_plain"] == grouped["holdout_leaf_accuracy_copy"]
    with pytest.raises(ValueError, match="groups"):
        fit_head(X2, nodes2, h, groups=groups[:5], progress=False)
