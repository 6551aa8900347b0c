"""Back-off prediction: hand-worked node probabilities on the default tree."""
import numpy as np
import pytest

from hierwbc.evaluate.backoff import (
    backoff_curve,
    backoff_predict,
    class_to_node_proba,
    leaf_to_node_proba,
)
from hierwbc.hierarchy import default_hierarchy

H = default_hierarchy()
I = H.node_index


def _leaf(**p):
    out = np.zeros((1, len(H.leaves)))
    for k, v in p.items():
        out[0, H.leaf_index[k]] = v
    return out


def test_immature_granulocyte_rather_than_a_wrong_myelocyte():
    node_p = leaf_to_node_proba(H, _leaf(myelocyte=0.4, metamyelocyte=0.35, promyelocyte=0.2, monocyte=0.05))
    assert node_p[0, I["immature_granulocyte"]] == pytest.approx(0.95)
    assert node_p[0, I["promyelocytes"]] == pytest.approx(0.2)
    assert node_p[0, I["granulopoiesis"]] == pytest.approx(0.95) and node_p[0, 0] == pytest.approx(1)
    name = lambda t: H.nodes[backoff_predict(H, node_p, t)[0]]
    assert name(0.5) == "immature_granulocyte"
    assert name(0.3) == "myelocyte"  # deepest passing; same depth as metamyelocyte, more probable
    assert name(0.96) == "wbc"
    curve = backoff_curve(H, node_p, H.indices(["metamyelocyte"]), thresholds=(0.3, 0.5, 0.96)).set_index("threshold")
    assert curve["accuracy"].tolist() == [0, 1, 1]  # a wrong myelocyte; IG and the root are on the path
    assert curve["exact_accuracy"].tolist() == [0, 0, 0]
    assert curve["mean_depth"].tolist() == [4, 3, 0]
    assert curve["depth_coverage"].tolist() == pytest.approx([1, 3 / 4, 0])


def test_class_probabilities_with_internal_classes():
    classes = H.indices(["immature_granulocyte", "myelocyte", "monocyte"])
    node_p = class_to_node_proba(H, np.array([[0.3, 0.3, 0.4], [0.1, 0.1, 0.8]]), classes)
    # IG collects its own mass and myelocyte's; myelocyte only its own
    assert node_p[0, I["immature_granulocyte"]] == pytest.approx(0.6)
    assert node_p[0, I["myelocyte"]] == pytest.approx(0.3)
    assert node_p[:, 0] == pytest.approx([1, 1])
    pred = backoff_predict(H, node_p, 0.5)
    assert [H.nodes[i] for i in pred] == ["immature_granulocyte", "monocyte"]
    # a coarse label below a finer prediction is not contradicted: counted as on the path
    curve = backoff_curve(H, node_p, H.indices(["immature_granulocyte", "monocyte"]), thresholds=(0.25,))
    assert curve["accuracy"].item() == 1 and curve["exact_accuracy"].item() == 0.5


def test_shape_errors():
    with pytest.raises(ValueError, match="leaf probabilities"):
        leaf_to_node_proba(H, np.ones((2, 3)))
    with pytest.raises(ValueError, match="node probabilities"):
        backoff_predict(H, np.ones((2, 3)), 0.5)
