"""10_classify_new_cells' helpers: the reference atlas (PBC train split, stratified, cached), a
dataset's crops written as a folder of PNG files, the least certain cells, the joint AnnData of
atlas + new cells; and the prediction counts / cell grid figures they feed."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import hierwbc.plotting as hp
from hierwbc.datasets import read_dataset
from hierwbc.datasets.splits import split_rows
from hierwbc.hierarchy import default_hierarchy
from hierwbc.predict import predict
from hierwbc.workflow import (
    RunFolder,
    atlas_with_new_cells,
    least_certain,
    new_cells_folder,
    reference_atlas,
)


@pytest.mark.realdata
def test_atlas_folder_predict_and_figures(tmp_path, data_root):
    run = RunFolder(tmp_path / "run")
    ref = reference_atlas(run, "pixels", "pbc", str(data_root), limit=60, progress=False)
    train = set(split_rows(read_dataset("pbc", data_root), "train", 0.2, 0, "pbc")["path"])
    assert 55 <= ref.n_obs <= 60 and set(ref.obs["path"]) <= train
    assert ref.obs["node"].nunique() >= 8  # stratified: every class, not the first 60 files
    cached = next((run / "classify").glob("reference_*.h5ad"))
    mtime = cached.stat().st_mtime_ns
    again = reference_atlas(run, "pixels", "pbc", str(data_root), limit=60, progress=False)
    assert cached.stat().st_mtime_ns == mtime and list(again.obs_names) == list(ref.obs_names)
    assert reference_atlas(run, "pixels", "pbc", str(data_root), limit=50, progress=False).n_obs <= 50

    folder = new_cells_folder(run, "bccd", str(data_root), limit=20, progress=False)
    assert folder == run / "new_cells"
    files = sorted(folder.rglob("*.png"))
    bccd = read_dataset("bccd", data_root)
    assert 15 <= len(files) <= 20 and {f.parent.name for f in files} <= set(bccd["raw_label"])
    row = int(files[0].stem.rsplit("_", 1)[1])  # <image>_<row of the stratified subset>.png
    w, h = Image.open(files[0]).size
    assert w < 640 and h < 480  # a crop, not the whole 640 x 480 field
    assert new_cells_folder(run, str(folder)) == folder  # a folder (or CSV) is used as is
    assert row >= 0

    cells = predict(folder, model="pixels", reference=ref, threshold=0.8, label_map="bccd", progress=False)
    assert cells.n_obs == len(files) and cells.uns["predict"]["n_labelled"] == len(files)
    least = least_certain(cells, 5)
    assert len(least) == 5 and least["pred_leaf_proba"].is_monotonic_increasing
    assert least["pred_leaf_proba"].iloc[0] == cells.obs["pred_leaf_proba"].min()
    assert all("→" in c and "true: " in c for c in least["caption"])
    joint = atlas_with_new_cells(ref, cells, "atlas", "new")
    assert joint.n_obs == ref.n_obs + cells.n_obs and list(joint.obs["dataset"].cat.categories) == ["atlas", "new"]
    new = joint.obs["dataset"] == "new"
    assert (joint.obs.loc[new, "reference_lineage"].isna().all()
            and joint.obs.loc[~new, "predicted_lineage"].isna().all())
    np.testing.assert_array_equal(joint.obsm["X_cls"][new.to_numpy()], cells.obsm["X_cls"])
    assert atlas_with_new_cells(None, cells).n_obs == cells.n_obs
    fig = hp.cell_grid(least, n_cols=3, caption="caption", color="lineage")
    assert len([ax for ax in fig.axes if ax.images]) == 5 and fig.axes[0].get_xlabel() == least["caption"].iloc[0]


def _obs():
    h = default_hierarchy()
    leaf = next(n for n in h.leaves if h.lineage_of(n) == "granulopoiesis")
    lin = h.lineage_of(leaf)
    return h, pd.DataFrame({"pred_leaf": [leaf, leaf, leaf, "monocyte"],
                            "backoff_node": [leaf, lin, h.root, "monocyte"],
                            "lineage": [lin, lin, lin, "monopoiesis"],
                            "node": [leaf, "", "monocyte", "monocyte"]})


def test_prediction_counts_tables_and_figure():
    h, obs = _obs()
    by_lin = hp.predicted_by_lineage(obs, h)
    assert list(by_lin["lineage"]) == list(h.lineages) and by_lin["cells"].sum() == 4
    assert by_lin.set_index("lineage").loc["granulopoiesis", "cells"] == 3
    assert by_lin.set_index("lineage").loc["monopoiesis", "labelled"] == 2  # the two monocyte labels
    by_depth = hp.predicted_by_depth(obs, h).set_index("depth")
    assert by_depth["cells"].sum() == 4 and by_depth.loc[0, "cells"] == 1 and by_depth.loc[1, "cells"] == 1
    assert by_depth["at_leaf"].sum() == 2 and by_depth.loc[0, "level"] == "root (no call)"
    assert by_depth.loc[1, "nodes"] == "granulopoiesis (1)"
    fig = hp.prediction_counts(obs.drop(columns="node"), h)
    assert len(fig.axes) == 2 and "labelled" not in hp.predicted_by_lineage(obs.drop(columns="node"), h)
