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


def test_a_multi_seed_experiment_folder_is_read_one_seed_at_a_time(tmp_path, sets):
    root = tmp_path / "exp"
    written = {}
    for seed in (3, 5):
        for s, m in sets.items():
            a = embed("vit_tiny", m, img_size=28, patch_size=14, seed=seed, name="random_init", progress=False)
            written[(seed, s)] = a
            write_h5ad(a, root / "embeddings" / "random_init" / f"seed{seed}" / f"{s}.h5ad")
    for s, m in sets.items():  # seed-free: embedded once for every seed
        write_h5ad(embed("pixels", m, pixel_size=4, name="pixels", progress=False),
                   root / "embeddings" / "pixels" / f"{s}.h5ad")
    run = RunFolder(root)
    assert run.seeds() == [3, 5] and run.seed == 3 and "seed=3" in repr(run)  # no experiment file: the first
    later = RunFolder(root, seed=5)
    files = later.embedding_files()
    assert files["random_init"] == {s: root / "embeddings" / "random_init" / "seed5" / f"{s}.h5ad" for s in sets}
    assert files["pixels"] == {s: root / "embeddings" / "pixels" / f"{s}.h5ad" for s in sets}
    got = later.embeddings()["random_init"]
    np.testing.assert_array_equal(got[got.obs["dataset"] == "test_a"].obsm["X_cls"],
                                  written[(5, "test_a")].obsm["X_cls"])
    assert not np.allclose(written[(3, "test_a")].obsm["X_cls"], written[(5, "test_a")].obsm["X_cls"])
    # what the notebooks write for one seed stays beside what the experiment wrote for all seeds
    assert later.evaluation_dir == root / "evaluation" / "seed5" and later.figures == root / "figures" / "seed5"
    assert later.tables == root / "tables" / "seed5"
    with pytest.raises(ValueError, match=r"no seed 4 \(seeds: \[3, 5\]\)"):
        RunFolder(root, seed=4)
    single = RunFolder(tmp_path / "single")
    assert single.seed is None and single.evaluation_dir == tmp_path / "single" / "evaluation"
