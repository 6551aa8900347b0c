"""Real images end to end: embed PBC + segmentation_wbc with a tiny ViT and the pixel baseline,
write and re-read the .h5ad files, scanpy neighbours, evaluate, and the paper's tables."""
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import torch

from hierwbc.datasets import read_dataset
from hierwbc.embed import embed, write_h5ad
from hierwbc.evaluate import evaluate, report
from hierwbc.hierarchy import default_hierarchy
from hierwbc.models.vit import build_vit

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def embedded(data_root, tmp_path_factory):
    h = default_hierarchy()
    pbc = read_dataset("pbc", data_root, hierarchy=h).groupby("node").head(12)  # 13 classes, 156 cells
    seg = read_dataset("segmentation_wbc", data_root, hierarchy=h).groupby("node").head(20)  # 81 cells
    manifest = pd.concat([pbc, seg], ignore_index=True)
    torch.manual_seed(0)
    vit = build_vit("vit_tiny", img_size=56, patch_size=14)
    out = tmp_path_factory.mktemp("h5ad")
    paths = {"vit_tiny": write_h5ad(embed(vit, manifest, batch_size=64, progress=False, name="vit_tiny"),
                                    out / "vit_tiny.h5ad"),
             "pixels": write_h5ad(embed("pixels", manifest, pixel_size=8, progress=False), out / "pixels.h5ad")}
    return manifest, {k: ad.read_h5ad(p) for k, p in paths.items()}


def test_h5ad_round_trip_and_scanpy_neighbours(embedded):
    manifest, adatas = embedded
    a = adatas["vit_tiny"]
    assert a.n_obs == len(manifest) and a.obsm["X_cls"].shape == (len(manifest), 192)
    assert set(a.obs["dataset"].cat.categories) == {"pbc", "segmentation_wbc"}
    assert a.obs["node"].tolist() == manifest["node"].tolist()
    assert a.uns["provenance"]["model"] == "vit_tiny"
    sc.pp.neighbors(a, use_rep="X_cls", n_neighbors=5, method="gauss", transformer="sklearn")
    d = a.obsp["distances"].tocsr()
    x = a.obsm["X_cls"].astype(np.float64)
    brute = np.linalg.norm(x - x[0], axis=1)
    brute[0] = np.inf
    row = d[0].toarray()[0]
    assert np.isclose(row[row > 0].min(), brute.min(), rtol=1e-4)  # nearest neighbour of cell 0


def test_evaluate_and_tables_on_real_embeddings(embedded, tmp_path):
    manifest, adatas = embedded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # segmentation_wbc has one basophil: fewer than the folds
        res = evaluate(adatas, reference="vit_tiny", cv=3, n_boot=200, progress=False)
    m = res.metrics
    assert set(m["dataset"]) == {"pbc", "segmentation_wbc"} and set(m["model"]) == {"vit_tiny", "pixels"}
    seg = res.predictions[res.predictions.dataset == "segmentation_wbc"]
    assert set(seg["true"].astype(str)) <= {"neutrophil", "lymphoid_mature", "monocyte", "eosinophil", "basophil"}
    assert len(res.predictions) == 2 * 3 * len(manifest)
    values = m[m.fold >= 0]["value"]
    rates = m[(m.fold >= 0) & m.metric.isin(["accuracy", "balanced_accuracy", "hierarchical_f1"])]["value"]
    assert values.notna().any() and rates.between(0, 1).all()
    files = report(res, tmp_path / "tables")
    assert set(files) == {"metrics", "table_pbc", "table_segmentation_wbc", "significance_pbc",
                          "significance_segmentation_wbc"}
    table = pd.read_csv(files["table_pbc"])
    assert len(table) == 2 * 3 and table["model"].iloc[0] == "vit_tiny"
    assert (tmp_path / "tables" / "significance_pbc.md").read_text().count("| pixels |") == 5 * 3


def test_evaluate_command(embedded, tmp_path):
    import argparse

    from hierwbc.cli.evaluate import add_arguments as add_evaluate_arguments
    from hierwbc.cli.evaluate import run as evaluate_main

    _, adatas = embedded
    files = {}
    for name, a in adatas.items():
        files[name] = write_h5ad(a, tmp_path / f"{name}.h5ad")
    p = argparse.ArgumentParser()
    add_evaluate_arguments(p)
    args = p.parse_args([f"tiny={files['vit_tiny']}", str(files["pixels"]), "--out", str(tmp_path / "res"),
                         "--probes", "1nn", "--cv", "3", "--n-boot", "50", "--no-progress"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = evaluate_main(args)
    sig = pd.read_csv(out / "significance.csv")
    assert set(sig["model"]) == {"pixels"} and set(sig["reference"]) == {"tiny"}
    for key in ("metrics", "pooled", "predictions", "severity", "backoff", "table_pbc"):
        assert len(pd.read_csv(out / f"{key}.csv")) > 0, key
