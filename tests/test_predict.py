"""predict(): head mode and reference-atlas mode on real images (BCCD crops, a CSV manifest),
per-cell columns recomputed independently, unreadable files listed, the writer, the CLI pair."""

import argparse
import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hierwbc.cli.predict import add_arguments as add_predict_arguments
from hierwbc.cli.predict import run as predict_main
from hierwbc.datasets import load_image, read_dataset
from hierwbc.embed import embed
from hierwbc.evaluate import class_to_node_proba, run_probes
from hierwbc.hierarchy import default_hierarchy
from hierwbc.models import shipped
from hierwbc.models.checkpoints import CheckpointError
from hierwbc.predict import DEFAULT_CLASSIFIER, predict, write_predictions
from hierwbc.train.export import export_weights
from hierwbc.train.loop import fit

from .train.helpers import TINY

H = default_hierarchy()
pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("run")
    cfg = {**TINY, "data.limit": 32, "data.root": str(data_root), "model.layerscale": 0.0,
           "model.img_size": 32, "model.patch_size": 8}
    return str(fit(None, preset="hierce", max_steps=2, out=str(out / "run"), progress=False, **cfg).checkpoint)


@pytest.fixture(scope="module")
def crops(tmp_path_factory, data_root):
    """BCCD white-cell crops saved as PNG in class sub-folders (3 per class), a broken JPEG, a
    text file (skipped, not an image) and one crop at the top level (no class folder)."""
    root = tmp_path_factory.mktemp("crops")
    m = read_dataset("bccd", data_root)
    m = m.groupby("raw_label", sort=True).head(3)
    boxes = m[["box_xmin", "box_ymin", "box_xmax", "box_ymax"]].to_numpy()
    for i, (p, lab, box) in enumerate(zip(m["path"], m["raw_label"], boxes)):
        (root / lab).mkdir(exist_ok=True)
        Image.fromarray(load_image(p, box)).save(root / lab / f"cell{i:02d}.png")
    Image.fromarray(load_image(m["path"].iloc[0], boxes[0])).save(root / "loose.png")
    (root / "NEUTROPHIL" / "broken.jpg").write_text("this is no JPEG")
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def csv_manifest(tmp_path_factory, data_root):
    seg = read_dataset("segmentation_wbc", data_root).groupby("node").head(2)
    folder = tmp_path_factory.mktemp("csv")
    rows = pd.DataFrame({"path": list(seg["path"]) + [str(folder / "gone.bmp")] + [seg["path"].iloc[0]],
                         "node": list(seg["node"]) + ["monocyte", seg["node"].iloc[0]]})
    path = folder / "cells.csv"
    rows.to_csv(path, index=False)
    return path, rows


def _deepest_on_path(p, leaf, thr):
    """Walk from the leaf to the root; the first node with p >= thr (root if none)."""
    node = H.nodes[leaf] if isinstance(leaf, (int, np.integer)) else leaf
    for n in H.path_to_root(node):  # the node, its parent, ..., the root
        if p[H.node_index[n]] >= thr - 1e-6:
            return n
    return H.root


def test_path_to_root_order_is_node_first():  # the helper above relies on it
    assert H.path_to_root("myelocyte")[-1] == H.root and H.path_to_root("myelocyte")[0] == "myelocyte"


def test_head_mode_on_a_folder_of_bccd_crops(ckpt, crops):
    a = predict(crops, model=ckpt, label_map="bccd", progress=False)
    images = sorted(p for p in crops.rglob("*") if p.suffix in (".png", ".jpg"))
    assert a.uns["predict"]["n_images"] == len(images) == a.n_obs + 1
    bad = a.uns["unreadable"]
    assert bad["path"].tolist() == [str(crops / "NEUTROPHIL" / "broken.jpg")] and bad["kind"][0] == "not_image"
    assert sorted(a.obs["path"].tolist() + bad["path"].tolist()) == [str(p) for p in images]
    assert a.uns["skipped"]["path"].tolist() == [str(crops / "notes.txt")]
    # folder and labels: class sub-folder names through the bccd map; the loose crop has none
    folder = [p.split("/")[-2] if p.split("/")[-2] != crops.name else "" for p in a.obs["path"]]
    assert a.obs["folder"].tolist() == folder
    lm = dict(H.label_map("bccd").items())
    assert a.obs["node"].tolist() == [lm.get(f, "") or "" for f in folder]
    # node probabilities are the checkpoint head's, as embed() gives them
    m = pd.DataFrame({"path": a.obs["path"].to_numpy(), "dataset": "x", "raw_label": "", "node": "wbc",
                      "split": "", "fold": -1})
    ref = embed(ckpt, m, progress=False)
    np.testing.assert_allclose(a.obsm["node_proba"], ref.obsm["node_proba"], atol=1e-5)
    p = ref.obsm["node_proba"].astype(np.float64)
    leaves = np.asarray(H.leaf_nodes)
    leaf = leaves[p[:, leaves].argmax(1)]
    assert a.obs["pred_leaf"].tolist() == [H.nodes[i] for i in leaf]
    np.testing.assert_allclose(a.obs["pred_leaf_proba"], p[np.arange(len(p)), leaf], atol=1e-5)
    top = np.argsort(-p[:, leaves], axis=1, kind="stable")[:, :3]
    for j in range(3):
        assert a.obs[f"top{j + 1}_leaf"].tolist() == [H.leaves[t] for t in top[:, j]]
    assert a.obs["lineage"].tolist() == [H.lineage_of(H.nodes[i]) for i in leaf]
    for i in range(a.n_obs):
        back = a.obs["backoff_node"].iloc[i]
        assert back in H.path_to_root(a.obs["pred_leaf"].iloc[i])
        assert back == _deepest_on_path(p[i], leaf[i], 0.8)
        assert a.obs["backoff_proba"].iloc[i] == pytest.approx(p[i, H.node_index[back]], abs=1e-5)
    # accuracy: the leaf is the label or lies below it (LYMPHOCYTE is the coarse lymphoid_mature)
    lab = a.obs["node"].to_numpy() != ""
    want = np.mean([H.ancestors[li, H.node_index[t]] for li, t in zip(leaf[lab], a.obs["node"][lab])])
    assert a.uns["predict"]["n_labelled"] == lab.sum() and a.uns["predict"]["leaf_accuracy"] == pytest.approx(want)
    # thresholds: 0 gives the leaf, 1 the root
    a0 = predict(crops, model=ckpt, threshold=0.0, progress=False)
    assert (a0.obs["backoff_node"] == a0.obs["pred_leaf"]).all() and "node" not in a0.obs
    a1 = predict(crops, model=ckpt, threshold=1.0, progress=False)
    assert (a1.obs["backoff_node"] == H.root).all()


def test_csv_manifest_and_writer(ckpt, csv_manifest, tmp_path):
    path, rows = csv_manifest
    a = predict(path, model=ckpt, progress=False)
    assert a.n_obs == len(rows) - 1 and a.uns["unreadable"]["kind"].tolist() == ["missing"]
    assert a.obs["node"].tolist() == [n for p, n in zip(rows["path"], rows["node"]) if "gone" not in p]
    # the file listed twice gets the same prediction twice
    first, last = a.obs.iloc[0], a.obs.iloc[-1]
    assert first["path"] == last["path"] and first["pred_leaf"] == last["pred_leaf"]
    out, h5 = write_predictions(a, tmp_path / "out" / "pred.csv")
    table = pd.read_csv(out, keep_default_na=False)
    assert table["path"].tolist() == rows["path"].tolist()  # every row, in input order
    gone = table["path"].str.contains("gone")
    assert table.loc[gone, "pred_leaf"].tolist() == [""] and table.loc[gone, "error"].str.startswith("missing").all()
    assert (table.loc[~gone, "error"] == "").all() and (table.loc[~gone, "pred_leaf"] != "").all()
    back = ad.read_h5ad(h5)
    np.testing.assert_array_equal(back.obsm["node_proba"], a.obsm["node_proba"])
    assert back.obs["backoff_node"].tolist() == a.obs["backoff_node"].tolist()
    assert back.uns["unreadable"]["path"].tolist() == a.uns["unreadable"]["path"].tolist()


def test_a_manifest_dataframe_predicts_as_its_csv(ckpt, csv_manifest, data_root):
    path, rows = csv_manifest
    from_csv = predict(path, model=ckpt, progress=False)
    from_df = predict(rows, model=ckpt, progress=False)
    pd.testing.assert_frame_equal(from_df.obs, from_csv.obs)
    np.testing.assert_array_equal(from_df.obsm["node_proba"], from_csv.obsm["node_proba"])
    assert from_df.uns["predict"]["source"] == f"DataFrame ({len(rows)} rows)"
    # read_dataset's manifest, crop boxes included: one cell per box, labels kept
    bccd = read_dataset("bccd", data_root, hierarchy=H).head(5)
    a = predict(bccd, model=ckpt, progress=False)
    assert a.obs["node"].tolist() == bccd["node"].tolist() and a.n_obs == 5
    crop = embed(ckpt, bccd.reset_index(drop=True), hierarchy=H, progress=False).obsm["X_cls"]
    np.testing.assert_allclose(a.obsm["X_cls"], crop, atol=1e-5)


def test_hierwbc_predict_is_the_one_call_api(ckpt, csv_manifest):
    """``import hierwbc; hierwbc.predict(...)`` (issue 12) is :func:`predict`; ``import hierwbc``
    alone does not import torch, and a misspelt name is an AttributeError, not an import error."""
    import subprocess
    import sys

    path, _ = csv_manifest
    code = ("import sys, hierwbc; assert 'torch' not in sys.modules; assert not hasattr(hierwbc, 'nothing'); "
            "print(callable(hierwbc.predict), hierwbc.predict.predict.__name__)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split() == ["True", "predict"]
    import hierwbc

    one_call = hierwbc.predict(path, model=ckpt, progress=False)
    pd.testing.assert_frame_equal(one_call.obs, predict(path, model=ckpt, progress=False).obs)


def test_reference_atlas_mode_agrees_with_the_evaluate_knn_probe(ckpt, crops, data_root, tmp_path):
    w = str(export_weights(ckpt, tmp_path / "backbone.safetensors"))  # a backbone without head
    with pytest.raises(CheckpointError, match="reference"):
        predict(crops, model=w, progress=False)
    pbc = read_dataset("pbc", data_root)
    pbc = pbc[~pbc["raw_label"].isin(["IG", "NEUTROPHIL"])]  # leaf labels only: the probe predicts leaves
    pbc = pbc.groupby("raw_label").head(5).reset_index(drop=True)
    atlas = embed(w, pbc, progress=False)
    atlas.write_h5ad(tmp_path / "atlas.h5ad")
    a = predict(crops, model=w, reference=tmp_path / "atlas.h5ad", progress=False)
    assert a.uns["predict"]["mode"] == "reference_knn" and a.uns["predict"]["k"] == 20
    # the probe, run independently: reference = training fold, the new cells = test fold
    m = pd.DataFrame({"path": a.obs["path"].to_numpy(), "dataset": "x", "raw_label": "", "node": "wbc",
                      "split": "", "fold": -1})
    Xq = embed(w, m, progress=False).obsm["X_cls"]
    np.testing.assert_allclose(a.obsm["X_cls"], Xq, atol=1e-5)
    yr = H.indices(atlas.obs["node"].astype(str))
    X = np.concatenate([atlas.obsm["X_cls"], Xq])
    y = np.concatenate([yr, np.full(len(Xq), yr[0])])
    fold = np.r_[np.full(len(yr), -1), np.zeros(len(Xq), np.int64)]
    pr = run_probes(X, y, fold, probes=("20nn",))["20nn"]
    test = fold == 0
    node_p = class_to_node_proba(H, pr.proba[test], pr.classes)
    np.testing.assert_allclose(a.obsm["node_proba"], node_p, atol=1e-6)
    probe_pred = pr.pred[test]
    assert H.is_leaf[probe_pred].all()
    assert a.obs["pred_leaf"].tolist() == [H.nodes[i] for i in probe_pred]
    for i in range(a.n_obs):
        back = a.obs["backoff_node"].iloc[i]
        assert back in H.path_to_root(a.obs["pred_leaf"].iloc[i])
        assert back == _deepest_on_path(node_p[i], a.obs["pred_leaf"].iloc[i], 0.8)
    # the AnnData itself works as reference too
    b = predict(crops, model=w, reference=atlas, threshold=0.0, progress=False)
    assert (b.obs["backoff_node"] == b.obs["pred_leaf"]).all()
    assert b.obs["pred_leaf"].tolist() == a.obs["pred_leaf"].tolist()


def test_default_model_is_the_shipped_hierce(ckpt, csv_manifest, tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path)
    export_weights(ckpt, tmp_path / "hierwbc-other-hierce.safetensors", head=True)  # not the default's name
    with pytest.raises(FileNotFoundError, match=f"{DEFAULT_CLASSIFIER}.safetensors; shipped: hierwbc-other-hierce"):
        predict(csv_manifest[0], progress=False)
    default = tmp_path / f"{DEFAULT_CLASSIFIER}.safetensors"
    export_weights(ckpt, default, head=True)
    a = predict(csv_manifest[0], progress=False)
    b = predict(csv_manifest[0], model=ckpt, progress=False)
    assert a.uns["provenance"]["model"] == DEFAULT_CLASSIFIER
    np.testing.assert_allclose(a.obsm["node_proba"], b.obsm["node_proba"], atol=2e-2)  # fp16 weights
    # both predict only the leaves the run's labelled rows support (its train_manifest.csv)
    trained = json.loads(shipped.read_metadata(default)["trained_leaves"])
    others = H.indices([leaf for leaf in H.leaves if leaf not in trained])
    assert 0 < len(others) < len(H.leaves) and (b.obsm["node_proba"][:, others] == 0).all()


def test_cli_pair(ckpt, csv_manifest, tmp_path, capsys):
    p = argparse.ArgumentParser()
    add_predict_arguments(p)
    args = p.parse_args([str(csv_manifest[0]), "--model", ckpt, "--threshold", "0.5", "--out",
                         str(tmp_path / "cells.csv"), "--no-progress", "--device", "cpu"])
    out = predict_main(args)
    assert len(pd.read_csv(out)) == len(csv_manifest[1]) and (tmp_path / "cells.h5ad").is_file()
    assert "1 unreadable" in capsys.readouterr().out


def test_stain_norm_predicts_as_the_normalised_images_would(ckpt, crops, tmp_path):
    """--stain-norm reinhard = predicting copies of the images whose colours were moved to PBC's."""
    from hierwbc.datasets.stain import reinhard

    files = sorted((crops / "EOSINOPHIL").glob("*.png"))
    for f in files:
        Image.fromarray(reinhard(load_image(f))).save(tmp_path / f.name)
    p = argparse.ArgumentParser()
    add_predict_arguments(p)
    args = p.parse_args([str(crops / "EOSINOPHIL"), "--model", ckpt, "--out", str(tmp_path / "o" / "cells.csv"),
                         "--no-progress", "--stain-norm", "reinhard"])
    normed = ad.read_h5ad(predict_main(args).with_suffix(".h5ad"))
    copies = predict(tmp_path, model=ckpt, progress=False)
    np.testing.assert_allclose(normed.obsm["X_cls"], copies.obsm["X_cls"], atol=1e-5)
    plain = predict(crops / "EOSINOPHIL", model=ckpt, progress=False)
    assert not np.allclose(plain.obsm["X_cls"], normed.obsm["X_cls"], atol=1e-3)
    assert normed.uns["predict"]["stain_norm"] == "reinhard" and plain.uns["predict"]["stain_norm"] == "none"
    assert normed.uns["provenance"]["stain_norm"] == "reinhard"


def test_off_domain_cells_are_flagged_and_warned_about(ckpt, crops, data_root, tmp_path):
    """A model trained on PBC (the default sources) flags other labs' cells, per cell, by the
    shipped PBC colour domain; PBC's own test cells pass; 'none' switches the check off."""
    from hierwbc.datasets.color_domain import pbc_train_domain
    from hierwbc.datasets.splits import split_rows
    from hierwbc.datasets.stain import color_features

    with pytest.warns(UserWarning, match="look unlike the images the calls rest on"):
        a = predict(crops, model=ckpt, progress=False)
    domain = pbc_train_domain()
    expected = domain.distance(np.stack([color_features(load_image(p)) for p in a.obs["path"]]))
    np.testing.assert_allclose(a.obs["colour_distance"].to_numpy(dtype=float), expected, rtol=1e-9)
    assert a.obs["off_domain"].all() and a.uns["predict"]["n_off_domain"] == len(a.obs)
    assert a.uns["predict"]["colour_domain"] == domain.name
    pbc = split_rows(read_dataset("pbc", data_root, hierarchy=H), "test", 0.2, 0).sample(20, random_state=1)
    b = predict(pbc[["path", "node"]], model=ckpt, progress=False)
    assert b.obs["off_domain"].mean() <= 0.1
    c = predict(crops, model=ckpt, progress=False, color_domain=None)
    assert "off_domain" not in c.obs and c.uns["predict"]["colour_domain"] == "none"
    p = argparse.ArgumentParser()
    add_predict_arguments(p)
    args = p.parse_args([str(crops), "--model", ckpt, "--out", str(tmp_path / "cells.csv"), "--no-progress"])
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        out = predict_main(args)
    assert f"warning: {len(a.obs)} of {len(a.obs)} cells look unlike" in printed.getvalue()
    assert "off_domain" in pd.read_csv(out).columns


def test_reference_mode_checks_against_the_atlas_own_images(ckpt, crops, data_root, tmp_path):
    """With a reference, the automatic check is fitted on the atlas' images (here PBC cells): the
    BCCD crops fall outside it; an atlas whose images are not on this machine gets no check."""
    from hierwbc.datasets.color_domain import ColorDomain, image_features

    w = str(export_weights(ckpt, tmp_path / "backbone.safetensors"))
    pbc = read_dataset("pbc", data_root).groupby("raw_label").head(6).reset_index(drop=True)
    atlas = embed(w, pbc, progress=False)
    with pytest.warns(UserWarning, match="look unlike"):
        a = predict(crops, model=w, reference=atlas, progress=False)
    info = a.uns["predict"]
    assert info["colour_domain"] == f"reference atlas ({len(pbc)} images)" and a.obs["off_domain"].all()
    own = ColorDomain.fit(image_features(pbc, progress=False), "x")
    assert info["colour_threshold"] == pytest.approx(own.threshold)  # all of them: fewer than 1,000
    atlas.obs["path"] = [f"/nowhere/{i}.png" for i in range(atlas.n_obs)]
    b = predict(crops, model=w, reference=atlas, progress=False)
    assert "off_domain" not in b.obs and b.uns["predict"]["colour_domain"] == "none"
