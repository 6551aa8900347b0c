"""A user's labelled cells as a reference (folder or CSV, node names or a label map), and the
adapted classifier file: same calls as the reference it was made from; named errors."""

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from hierwbc.adapt import adapt
from hierwbc.baselines.train import export_cnn
from hierwbc.datasets.manifest import ManifestError
from hierwbc.hierarchy import default_hierarchy
from hierwbc.models.cnn import ConvNet
from hierwbc.models.supervised_heads import LeafLogitHead
from hierwbc.predict import predict

# classes told apart by shape (the CNN standardises each image's colours away): big disc, small
# disc, square ring
COLORS = {"monocyte": "big", "eosinophil": "small", "granulocytic_mature": "ring"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HIERWBC_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def model(tmp_path):
    h = default_hierarchy()
    torch.manual_seed(0)
    net = ConvNet((8, 16), img_size=32).eval()
    head = LeafLogitHead(h, net.embed_dim, nlayers=1).restrict(h.leaf_mask(["monocyte", "eosinophil"]))
    return export_cnn(net, head.eval(), h, tmp_path / "cnn.safetensors")


def _cells(folder, shape, n, seed):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[:32, :32]
    for k in range(n):
        img = np.full((32, 32, 3), 235, np.uint8)
        c = rng.integers(13, 19, 2)
        d2 = (yy - c[0]) ** 2 + (xx - c[1]) ** 2
        cheb = np.maximum(abs(yy - c[0]), abs(xx - c[1]))
        mask = {"big": d2 <= 100, "small": d2 <= 16, "ring": (cheb <= 9) & (cheb >= 6)}[shape]
        img[mask] = (90, 40, 140)
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"{seed}_{k}.png")


def _reference(root, names, n=6):
    for k, (name, color) in enumerate(zip(names, COLORS.values())):
        _cells(root / name, color, n, seed=10 * k + n)  # the same cells whatever the folder's name
    return root


def test_node_named_folders_and_a_label_map_give_the_same_calls(tmp_path, model):
    by_node = _reference(tmp_path / "ref_nodes", list(COLORS))
    by_name = _reference(tmp_path / "ref_raw", ["MONO", "EOS", "GRAN"])
    (tmp_path / "map.yaml").write_text("MONO: monocyte\nEOS: eosinophil\nGRAN: granulocytic_mature\n")
    new = tmp_path / "new"
    for node, color in COLORS.items():
        _cells(new / node, color, 3, seed=99 + len(node))
    a = predict(str(new), model=model, reference=str(by_node), progress=False, color_domain=None, k=3)
    b = predict(str(new), model=model, reference=str(by_name), reference_label_map=str(tmp_path / "map.yaml"),
                progress=False, color_domain=None, k=3)
    assert a.obs["pred_leaf"].tolist() == b.obs["pred_leaf"].tolist()
    assert np.allclose(a.obsm["node_proba"], b.obsm["node_proba"])
    assert a.uns["predict"]["mode"] == "reference_knn"


def test_internal_node_label_backs_off_to_that_node(tmp_path, model):
    ref = _reference(tmp_path / "ref", list(COLORS))
    new = tmp_path / "new"
    _cells(new / "x", COLORS["granulocytic_mature"], 4, seed=7)
    out = predict(str(new), model=model, reference=str(ref), progress=False, color_domain=None, k=3)
    h = default_hierarchy()
    assert (out.obs["backoff_node"] == "granulocytic_mature").all()        # known only that far
    assert all(h.ancestors[h.node_index[leaf], h.node_index["granulocytic_mature"]]
               for leaf in out.obs["pred_leaf"])                              # its leaf lies under it
    p = out.obsm["node_proba"][:, h.node_index["granulocytic_mature"]]
    assert np.allclose(p, 1.0)


def test_bad_reference_folders_are_named_errors(tmp_path, model):
    new = tmp_path / "new"
    _cells(new / "a", COLORS["monocyte"], 2, seed=1)
    bad = _reference(tmp_path / "bad", ["monocyte", "eosinophi"])
    with pytest.raises(ManifestError, match="eosinophi.*eosinophil"):
        predict(str(new), model=model, reference=str(bad), progress=False, color_domain=None)
    empty = _reference(tmp_path / "empty", ["monocyte"])
    (empty / "eosinophil").mkdir()
    with pytest.raises(ManifestError, match="eosinophil.*holds no image"):
        predict(str(new), model=model, reference=str(empty), progress=False, color_domain=None)
    broken = _reference(tmp_path / "broken", ["monocyte", "eosinophil"])
    (broken / "eosinophil" / "bad.png").write_bytes(b"not an image")
    with pytest.raises(Exception, match="bad.png"):
        predict(str(new), model=model, reference=str(broken), progress=False, color_domain=None)


@pytest.mark.parametrize("method", ["logreg", "knn"])
def test_adapted_file_predicts_as_its_reference(tmp_path, model, method):
    ref = _reference(tmp_path / "ref", list(COLORS))
    new = tmp_path / "new"
    for node, color in COLORS.items():
        _cells(new / node, color, 3, seed=50 + len(node))
    path = adapt(str(ref), model=model, out=tmp_path / "lab.safetensors", method=method, progress=False)
    a = predict(str(new), model=path, progress=False, color_domain=None)
    b = predict(str(new), model=model, reference=str(ref), reference_method=method, progress=False,
                color_domain=None)
    assert a.obs["pred_leaf"].tolist() == b.obs["pred_leaf"].tolist()
    assert np.allclose(a.obsm["node_proba"], b.obsm["node_proba"], atol=1e-6)
    assert a.uns["predict"]["mode"] == f"reference_{method}"
    from hierwbc.models.shipped import read_metadata

    meta = read_metadata(path)
    assert pd.Series(eval(meta["reference_counts"])).to_dict() == {n: 6 for n in sorted(COLORS)}


def test_reference_estimate_cross_validates_the_adapted_classifier_and_scores_the_base_call():
    from hierwbc.adapt import reference_estimate

    h = default_hierarchy()
    rng = np.random.default_rng(0)
    n = 30  # per class: predict's 20 neighbours fit inside a class's training cells
    nodes = np.repeat(["monocyte", "eosinophil", "granulocytic_mature"], n)
    y = h.indices(nodes)
    X = (np.eye(3, 16) * 20)[np.repeat(np.arange(3), n)] + rng.normal(0, 1, (3 * n, 16))  # tight, far clusters
    # the base model calls: every monocyte a monocyte (right), every eosinophil a monocyte (wrong),
    # every granulocyte an eosinophil (under granulocytic_mature: right) -> (1 + 0 + 1) / 3
    called = np.repeat(["monocyte", "monocyte", "eosinophil"], n)
    proba = np.zeros((3 * n, len(h.nodes)))
    proba[np.arange(3 * n), h.indices(called)] = 1.0
    for method in ("logreg", "knn"):
        est = reference_estimate(X, y, h, method, node_proba=proba, head_hierarchy=h)
        assert (est["balanced_accuracy"], est["folds"], est["cells"]) == (1.0, 5, 3 * n), method
        assert est["base_balanced_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    shuffled = reference_estimate(rng.normal(0, 1, (3 * n, 16)), y, h)  # no signal: about chance (1/3)
    assert shuffled["balanced_accuracy"] < 0.6 and shuffled["base_balanced_accuracy"] is None
    assert reference_estimate(X[:2 * n + 1], y[:2 * n + 1], h) is None  # granulocytic_mature: one labelled cell
    assert reference_estimate(X[:2 * n + 3], y[:2 * n + 3], h)["folds"] == 3  # its three cells: three folds
    # predict's k-NN votes over 20 neighbours: with 6 cells per class that is most of the
    # reference, and the estimate says so (a 1.0 from logreg on the same cells)
    six = np.r_[0:6, n:n + 6, 2 * n:2 * n + 6]
    assert reference_estimate(X[six], y[six], h, "logreg")["balanced_accuracy"] == 1.0
    assert reference_estimate(X[six], y[six], h, "knn")["balanced_accuracy"] < 0.9


def test_adapt_records_its_estimate_and_says_when_the_base_model_does_better(tmp_path, model):
    from hierwbc.adapt import estimate_line, estimate_of

    ref = _reference(tmp_path / "ref", list(COLORS))
    path = adapt(str(ref), model=model, out=tmp_path / "lab.safetensors", progress=False)
    est = estimate_of(path)
    assert est["cells"] == 18 and est["folds"] == 5
    assert est["balanced_accuracy"] > 0.9  # three shapes the CNN's features tell apart
    assert est["base_balanced_accuracy"] is not None  # the CNN has a head: its own calls are scored too
    better = estimate_line({"folds": 3, "balanced_accuracy": 0.6, "base_balanced_accuracy": 0.72})
    assert "adapted 60.0 %" in better and "72.0 %" in better and "predict without it" in better
    assert "predict without it" not in estimate_line({"folds": 3, "balanced_accuracy": 0.8,
                                                      "base_balanced_accuracy": 0.72})
    assert "single labelled cell" in estimate_line(None)
