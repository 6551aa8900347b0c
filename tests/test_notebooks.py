"""The numbered notebooks: committed stripped and parametrised, and ALL of them executed with
papermill (as ``make demo`` does, through hierwbc.notebooks.run_all) on real PBC + external
images with tiny parameters; a failing cell fails the test. The run folder they leave is then
checked against values computed here independently."""

import ast
import json
from pathlib import Path

import anndata as ad
import nbformat
import numpy as np
import pandas as pd
import pytest

from hierwbc.datasets import assign_splits, read_dataset
from hierwbc.hierarchy import Hierarchy, default_hierarchy
from hierwbc.notebooks import DEMO_PARAMETERS, declared_parameters, numbered_notebooks, run_all

NOTEBOOKS = numbered_notebooks()
EXPECTED = ["01_hierarchy", "02_data", "03_train", "04_embed", "05_umap", "06_confusion_by_lineage", "07_lca",
            "08_alpha_ablation", "09_compare_losses", "10_classify_new_cells", "11_adapt_to_your_lab"]
MODELS = ["unsup", "hierce", "hierce_a0.1"]
TINY = {"models": MODELS, "steps": 3, "img_size": 28, "batch_size": 8, "train_limit": 48, "eval_limit": 40,
        "head_prototypes": 32, "head_hidden_dim": 32, "head_bottleneck_dim": 16, "cv": 2, "n_boot": 20,
        "live_every": 1.0, "gallery_n": 2, "thumbnails": 8, "threads": 1,
        "reference_limit": 60, "new_limit": 40, "uncertain_n": 6, "curve_draws": 2}
SETS = ["pbc_test", "bccd", "lisc", "segmentation_wbc"]  # raabin and aslan: type unknown, nothing to score


def _parameters(nb) -> dict:
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    return {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(cells[0].source).body}


def test_notebooks_are_numbered_stripped_and_parametrised():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED
    declared = set()
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), f"{path.name} has outputs"
        params = _parameters(nb)
        assert params["run_dir"] == "runs/demo", path.name
        assert set(params) == declared_parameters(path), path.name  # the runner sees every parameter
        longest = max(len(c.source.splitlines()) for c in code)
        assert longest <= 15, f"{path.name}: a {longest}-line cell belongs in the library"
        assert nb.metadata["kernelspec"]["name"] == "python3"
        declared |= set(params)
    assert set(DEMO_PARAMETERS) <= declared, (
        f"DEMO_PARAMETERS not declared by any notebook: {set(DEMO_PARAMETERS) - declared}")
    assert set(TINY) <= declared
    assert _parameters(nbformat.read(NOTEBOOKS[0], as_version=4)) == {"run_dir": "runs/demo", "hierarchy_path": None}


def _outputs(path: Path) -> list:
    return [o for c in nbformat.read(path, as_version=4).cells for o in c.get("outputs", [])]


@pytest.mark.slow
@pytest.mark.realdata
def test_all_notebooks_run_on_real_data(tmp_path, data_root, capsys):
    run = tmp_path / "run"
    assert run_all(run, data=str(data_root), parameters=TINY) == 0
    printed = capsys.readouterr().out
    assert f"figures ({len(list((run / 'figures').glob('*.png')))} PNG)" in printed
    timings = json.loads((run / "notebooks" / "timings.json").read_text())
    assert list(timings) == EXPECTED and all(t > 0 for t in timings.values())
    h = default_hierarchy()

    # every notebook executed, exported, without an error output; figures shown as images
    for name in EXPECTED:
        outputs = _outputs(run / "notebooks" / f"{name}.ipynb")
        assert not [o for o in outputs if o.output_type == "error"], name
        assert (run / "notebooks" / f"{name}.html").read_text().startswith("<!DOCTYPE html>")
        mimes = {m for o in outputs for m in o.get("data", {})}
        assert name == "04_embed" or "image/png" in mimes, f"{name} shows no figure"
        if name in ("01_hierarchy", "05_umap", "06_confusion_by_lineage", "07_lca", "08_alpha_ablation",
                    "09_compare_losses", "11_adapt_to_your_lab"):
            assert "application/vnd.jupyter.widget-view+json" in mimes, f"{name}: no widget displayed"

    # 01: the tree, unedited
    assert Hierarchy.read(run / "hierarchy.json") == h
    assert (run / "hierarchy.nwk").read_text() == h.to_newick() + "\n"
    assert (run / "hierarchy.png").read_bytes().startswith(b"\x89PNG")

    # 02: every real dataset's manifest and the counts per node
    manifests = {n: pd.read_csv(run / "manifests" / f"{n}.csv")
                 for n in ("pbc", "bccd", "segmentation_wbc", "lisc", "raabin", "aslan")}
    pbc = read_dataset("pbc", data_root, hierarchy=h)
    assert len(manifests["pbc"]) == len(pbc) == 17092 and len(manifests["segmentation_wbc"]) == 300
    assert (len(manifests["lisc"]), len(manifests["raabin"]), len(manifests["aslan"])) == (1287, 517, 103)
    assert (manifests["raabin"]["node"] == "wbc").all() and manifests["lisc"]["group"].nunique() < 298
    counts = pd.read_csv(run / "tables" / "02_counts_by_node.csv")
    assert counts["total"].sum() == sum(len(m) for m in manifests.values())
    assert counts.set_index("node").loc["neutrophil", "pbc"] == 50  # the coarse NEUTROPHIL label

    # 03: each model trained the asked steps; the experiment file reruns it
    for m in MODELS:
        done = json.loads((run / "models" / m / "DONE.json").read_text())
        assert done["steps"] == 3 and done["config"]["model"]["img_size"] == 28
    assert (json.loads((run / "models" / "hierce_a0.1" / "DONE.json").read_text())
            ["config"]["supervised"]["alpha"] == 0.1)
    curve = pd.read_json(run / "models" / "hierce" / "metrics.jsonl", lines=True)
    assert curve["loss"].notna().sum() == 3  # one line per step, plus the online kNN checks:
    assert list(curve.dropna(subset=["knn_bacc"])["step"]) == [0, 1, 2, 3]  # knn_every = steps // 2

    # 04: every set x model / baseline; the PBC test split is the one training left out
    test_rows = assign_splits(pbc, {"train": 0.8, "test": 0.2}, seed=0).query("split == 'test'")
    trained_on = set(pd.read_csv(run / "models" / "hierce" / "train_manifest.csv")["path"])
    models = [*MODELS, "starter", "random_init", "pixels"]  # starter: the shipped backbone as it is
    cells = {}
    for s in SETS:
        paths = {m: ad.read_h5ad(run / "embeddings" / m / f"{s}.h5ad").obs["path"].tolist() for m in models}
        assert all(p == paths["pixels"] for p in paths.values())  # every model embeds the same cells
        cells[s] = len(paths["pixels"])
        assert 30 <= cells[s] <= 40  # eval_limit, stratified (rounding per class may give a few less)
    pbc_cells = set(ad.read_h5ad(run / "embeddings" / "hierce" / "pbc_test.h5ad").obs["path"])
    assert pbc_cells <= set(test_rows["path"]) and not pbc_cells & trained_on

    # 05-09: one evaluation, cached; figures and tables from it
    evaluation = pd.read_csv(run / "evaluation" / "predictions.csv")
    assert set(evaluation["model"]) == set(models) and set(evaluation["dataset"]) == set(SETS)
    for s in SETS:  # each cell tested once per probe: the confusion table holds every cell of the set
        table = pd.read_csv(run / "tables" / f"06_confusion_hierce_{s}_20nn.csv").set_index("true")
        assert table.to_numpy().sum() == cells[s]
        sub = evaluation[(evaluation.model == "hierce") & (evaluation.dataset == s) & (evaluation.probe == "20nn")]
        assert np.trace(table.loc[table.index, table.index].to_numpy()) == int(sub["correct"].sum())
    ablation = pd.read_csv(run / "tables" / "08_alpha_ablation_pbc_test.csv")
    assert sorted(set(zip(ablation["model"], ablation["alpha"]))) == [("hierce", 0.5), ("hierce_a0.1", 0.1)]
    fig10 = pd.read_csv(run / "tables" / "09_fig10.csv")
    metrics = pd.read_csv(run / "evaluation" / "metrics.csv")
    m = metrics[(metrics.model == "pixels") & (metrics.dataset == "bccd") & (metrics.probe == "logreg")
                & (metrics.metric == "balanced_accuracy") & (metrics.fold >= 0)]["value"]
    row = fig10[(fig10.model == "pixels") & (fig10.dataset == "bccd") & (fig10.probe == "logreg")].iloc[0]
    assert row["mean"] == pytest.approx(m.mean()) and row["std"] == pytest.approx(m.std(ddof=1))
    assert (run / "tables" / "table_pbc_test.md").read_text().count("| hierce |") == 3
    figures = {p.stem for p in (run / "figures").glob("*.png")}
    expected = {"02_class_counts", "02_gallery_pbc", "02_gallery_lisc", "02_gallery_raabin", "02_gallery_aslan",
                "03_training_curves", "05_umap_hierce", "05_umap_explorer",
                "05_selected_cell", "05_umap_thumbnails_hierce", "06_confusion_pbc_test_20nn", "06_confusion_explorer",
                "07_lca_bccd_20nn", "07_lca_explorer", "08_alpha_ablation_segmentation_wbc", "08_alpha_explorer",
                "09_compare_losses_fig10", "09_compare_losses_fig11", "09_compare_explorer",
                "10_least_certain", "10_counts", "10_umap", "11_learning_curve", "11_least_certain"}
    assert expected <= figures, expected - figures
    assert all((run / "figures" / f"{f}.png").read_bytes().startswith(b"\x89PNG") for f in figures)
    check_classify(run, data_root)
    check_adapt(run)


def check_adapt(run: Path, per_type: int = 5, new_limit: int = 40):
    """11: five BCCD cells per type (at most half of a type) labelled, the rest labelled by the
    adapted classifier; no labelled cell among the new ones; the table and curve written."""
    counts = pd.Series([p.parent.name for p in (run / "adapt" / "labelled").rglob("*.png")]).value_counts()
    assert counts.max() <= per_type and {"neutrophil", "eosinophil", "lymphoid_mature"} <= set(counts.index)
    new = pd.read_csv(run / "adapt" / "new_cells.csv")
    assert new_limit - 5 <= len(new) <= new_limit
    stems = {p.stem.rsplit("_", 1)[0] for p in (run / "adapt" / "labelled").rglob("*.png")}
    assert not stems & {Path(p).stem.rsplit("_", 1)[0] for p in new["path"]}  # no labelled field scored
    scores = pd.read_csv(run / "tables" / "11_adapted_vs_zero_shot.csv").set_index("model")
    assert list(scores.index) == ["zero-shot", "adapted"] and (scores["cells"] == len(new)).all()
    curve = pd.read_csv(run / "tables" / "11_learning_curve.csv")
    assert curve["k"].tolist() == [1, 3, 5, 10] and curve["mean"].between(0, 1).all()


def check_classify(run: Path, data_root: Path, reference_limit: int = 60, new_limit: int = 40, shown: int = 6):
    """10: the BCCD crops written as a class folder, each predicted once by kNN transfer from an
    atlas of PBC *train* cells embedded by the starter; the tables agree with the predictions."""
    ref = ad.read_h5ad(run / "classify" / "reference_hierwbc-tiny-pbc.h5ad")
    pbc = read_dataset("pbc", data_root)
    train = set(assign_splits(pbc, {"train": 0.8, "test": 0.2}, seed=0).query("split == 'train'")["path"])
    assert reference_limit - 5 <= ref.n_obs <= reference_limit and set(ref.obs["path"]) <= train
    pngs = sorted((run / "new_cells").rglob("*.png"))
    assert new_limit - 5 <= len(pngs) <= new_limit
    assert {p.parent.name for p in pngs} <= set(read_dataset("bccd", data_root)["raw_label"])
    pred = pd.read_csv(run / "classify" / "predictions.csv", keep_default_na=False)
    assert sorted(pred["path"]) == [str(p) for p in pngs] and (pred["error"] == "").all()
    assert (pred["node"] != "").all()  # scored: the class folders mapped through the bccd label map
    cells = ad.read_h5ad(run / "classify" / "predictions.h5ad")
    assert cells.uns["predict"]["mode"] == "reference_knn" and cells.uns["predict"]["n_labelled"] == len(pngs)
    by_lineage = pd.read_csv(run / "tables" / "10_counts_by_lineage.csv")
    assert by_lineage.set_index("lineage")["cells"].to_dict() == {
        n: int((pred["lineage"] == n).sum()) for n in by_lineage["lineage"]}
    by_depth = pd.read_csv(run / "tables" / "10_counts_by_depth.csv")
    h = default_hierarchy()
    depth = pd.Series(h.depth[h.indices(pred["backoff_node"])]).value_counts()
    assert by_depth.set_index("depth")["cells"].to_dict() == {d: int(depth.get(d, 0)) for d in by_depth["depth"]}
    from hierwbc.predict import DEFAULT_CLASSIFIER

    default = pd.read_csv(run / "tables" / "10_default_classifier.csv").iloc[0]
    assert default["model"] == DEFAULT_CLASSIFIER and default["cells"] == len(pngs)
    assert 0 <= default["five_type_balanced_accuracy"] <= 1 and 0 <= default["leaf_accuracy"] <= 1
    least = pd.read_csv(run / "tables" / "10_least_certain.csv")
    assert (len(least) == shown
            and least["pred_leaf_proba"].max() == pred["pred_leaf_proba"].sort_values().iloc[shown - 1])
