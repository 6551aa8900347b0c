"""RunFolder: the tree of the run, embeddings of every set joined per model."""

import numpy as np
import pandas as pd
import pytest

from hierwbc.datasets.synthetic import make_synthetic
from hierwbc.embed import embed, write_h5ad
from hierwbc.hierarchy import default_hierarchy
from hierwbc.workflow import RunFolder

LEAVES = ["monocyte", "myelocyte", "eosinophil", "platelet"]


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    h = default_hierarchy()
    base = tmp_path_factory.mktemp("sets")
    a = make_synthetic(base / "a", h, n_per_leaf=3, size=16, leaves=LEAVES, progress=False)
    b = make_synthetic(base / "b", h, n_per_leaf=2, size=16, leaves=LEAVES, seed=1, progress=False)
    return {"test_a": a, "other_b": b}


def test_embeddings_are_joined_per_model_in_set_order(tmp_path, sets):
    run = RunFolder(tmp_path / "run")
    with pytest.raises(FileNotFoundError, match="run 04_embed first"):
        run.embeddings()
    written = {}
    for model in ("pixels", "vit_tiny"):
        name = "random_init" if model == "vit_tiny" else model
        for s, m in sets.items():
            a = embed(model, m, img_size=28, patch_size=14, pixel_size=4, name=name, progress=False)
            written[(name, s)] = a
            write_h5ad(a, run.embeddings_dir / name / f"{s}.h5ad")
    got = run.embeddings()
    assert list(got) == ["pixels", "random_init"]  # no experiment file: sorted
    joined = got["pixels"]
    assert set(joined.obs["dataset"].cat.categories) == set(sets)
    assert joined.n_obs == sum(len(m) for m in sets.values()) and joined.obs_names.is_unique
    for s in sets:
        part = joined[joined.obs["dataset"] == s]
        np.testing.assert_array_equal(part.obsm["X_cls"], written[("pixels", s)].obsm["X_cls"])
        assert list(part.obs_names) == [f"{i}-{s}" for i in written[("pixels", s)].obs_names]
        assert part.obs["path"].tolist() == sets[s]["path"].tolist()
    assert "hierarchy" in joined.uns and joined.uns["provenance"]["model"] == "pixels"
    with pytest.raises(KeyError, match="'hierce'"):
        run.embeddings(["hierce"])


def test_tree_figures_and_tables(tmp_path):
    run = RunFolder(tmp_path / "r")
    assert run.hierarchy() == default_hierarchy()
    path = run.save_table(pd.DataFrame({"a": [1, 2]}), "t")
    assert path == run.tables / "t.csv" and pd.read_csv(path)["a"].tolist() == [1, 2]
    from hierwbc.plotting.common import figure

    fig = figure(1, 1)
    fig.subplots()
    assert run.save_figure(fig, "f").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(FileNotFoundError, match="run 03_train first"):
        run.experiment()
    assert not list(tmp_path.glob("r/**/*.tmp"))
