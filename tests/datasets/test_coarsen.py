"""coarsen: exactly round(fraction * n) rows of each node move to the parent, reproducibly."""

import numpy as np
import pandas as pd
import pytest

from hierwbc.datasets import coarsen
from hierwbc.hierarchy import default_hierarchy

SIZES = {"neutrophil_segmented": 40, "promyelocyte": 11, "myelocyte": 5, "immature_granulocyte": 9,
         "platelet": 6, "blast": 8, "wbc": 3}
PARENT = {"neutrophil_segmented": "neutrophil", "promyelocyte": "promyelocytes",
          "myelocyte": "immature_granulocyte", "immature_granulocyte": "granulocytic_immature",
          "platelet": "thrombopoiesis"}          # blast's parent is the root: never coarsened; wbc has none


def manifest():
    nodes = [n for n, k in SIZES.items() for _ in range(k)]
    return pd.DataFrame({"path": [f"/d/{i:03d}.png" for i in range(len(nodes))], "dataset": "t",
                         "raw_label": nodes, "node": nodes, "split": "", "fold": -1})


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.7, 1.0])
def test_fraction_exact_per_node(fraction):
    out = coarsen(manifest(), fraction, seed=1)
    assert (out["node_fine"] == manifest()["node"]).all()
    for node, n in SIZES.items():
        rows = out[out.node_fine == node]
        moved = rows[rows.node != node]
        want = int(np.floor(fraction * n + 0.5)) if node in PARENT else 0
        assert len(moved) == want, (node, fraction)
        if want:
            assert set(moved["node"]) == {PARENT[node]}
    assert out.attrs["coarsen"]["n_relabelled"] == (out.node != out.node_fine).sum()


def test_reproducible_seeded_and_order_free():
    df = manifest()
    a = coarsen(df, 0.5, seed=0)
    assert a["node"].tolist() == coarsen(df, 0.5, seed=0)["node"].tolist()
    assert a["node"].tolist() != coarsen(df, 0.5, seed=1)["node"].tolist()
    b = coarsen(df.sample(frac=1, random_state=0), 0.5, seed=0)
    assert dict(zip(b.path, b.node)) == dict(zip(a.path, a.node))


def test_second_call_goes_one_level_further_and_keeps_node_fine():
    h = default_hierarchy()
    once = coarsen(manifest(), 1.0, seed=0, hierarchy=h)
    twice = coarsen(once, 1.0, seed=0, hierarchy=h)
    seg = twice[twice.node_fine == "neutrophil_segmented"]
    assert set(seg["node"]) == {"granulocytic_mature"}
    assert set(twice.loc[twice.node_fine == "platelet", "node"]) == {"thrombopoiesis"}   # never the root


def test_min_parent_depth_zero_allows_root():
    out = coarsen(manifest(), 1.0, seed=0, min_parent_depth=0)
    assert set(out.loc[out.node_fine == "blast", "node"]) == {"wbc"}
    assert set(out.loc[out.node_fine == "wbc", "node"]) == {"wbc"}


def test_bad_fraction():
    with pytest.raises(ValueError, match="fraction"):
        coarsen(manifest(), 1.5)
