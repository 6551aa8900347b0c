"""The shipped HierCE classifiers: hierwbc-tiny8-pbc-hierce (``hierwbc predict``'s default until
the CNN trained on PBC and LISC replaced it, reports/labs/verdict.md) and hierwbc-tiny-pbc-hierce
(56 px, the default before it): a backbone with its supervised head in
float16 safetensors, and on pbc_test cells (never seen in training) the default's leaf accuracy is
what its model card reports, within the noise of 300 cells."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from hierwbc.datasets import read_dataset
from hierwbc.datasets.splits import split_rows, stratified_subset
from hierwbc.hierarchy import default_hierarchy
from hierwbc.models import shipped
from hierwbc.predict import predict

NAME = "hierwbc-tiny8-pbc-hierce"
CLASSIFIERS = {NAME: (64, 8), "hierwbc-tiny-pbc-hierce": (56, 14)}  # name: (img_size, patch_size)
CLASSIFIER_CSV = Path(__file__).resolve().parents[2] / "reports" / "reproduction" / "classifier.csv"
# the card's numbers are on all 3,416 pbc_test cells; 300 stratified cells: binomial sd ~2.8 points
TOLERANCE = 0.08


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_the_classifiers_are_shipped_with_their_heads(name):
    files = shipped.shipped_weights()
    assert name in files and files[name].stat().st_size <= 25 * 2 ** 20
    tensors, meta = shipped.read_weights(name)
    assert meta["arch"] == "vit_tiny" and all(v.dtype == torch.float16 for v in tensors.values())
    assert (int(meta["img_size"]), int(meta["patch_size"])) == CLASSIFIERS[name]
    assert any(k.startswith("sup_head.") for k in tensors) and any(k.startswith("backbone.") for k in tensors)
    # it predicts only the leaves PBC's labels support (not e.g. faggot_cell beside promyelocyte)
    h = default_hierarchy()
    pbc_nodes = set(h.label_map("pbc").as_dict().values())
    expected = [leaf for leaf, ok in zip(h.leaves, h.supported_leaves(pbc_nodes)) if ok]
    assert json.loads(meta["trained_leaves"]) == expected and len(expected) == 11


@pytest.mark.realdata
def test_the_classifier_never_names_a_leaf_it_was_not_trained_on(data_root):
    h = default_hierarchy()
    trained = set(json.loads(shipped.read_weights(NAME)[1]["trained_leaves"]))
    bccd = read_dataset("bccd", data_root, hierarchy=h).groupby("node").head(8)  # another lab
    a = predict(bccd, model=NAME, progress=False)
    assert set(a.obs["pred_leaf"]) <= trained and set(a.obs["top3_leaf"]) <= trained
    proba = a.obsm["node_proba"][:, h.indices([leaf for leaf in h.leaves if leaf not in trained])]
    assert (proba == 0).all()


@pytest.mark.realdata
def test_the_classifier_labels_unseen_pbc_cells_as_its_card_says(data_root, tmp_path):
    h = default_hierarchy()
    m = split_rows(read_dataset("pbc", data_root, hierarchy=h), "test", 0.2, 0)
    csv = tmp_path / "cells.csv"
    cells = stratified_subset(m, 300, seed=0)  # 299: rounding per class
    cells.to_csv(csv, index=False)
    a = predict(csv, model=NAME, threshold=0.8, progress=False)
    info = a.uns["predict"]
    card = pd.read_csv(CLASSIFIER_CSV).set_index("set").loc["pbc_test"]
    assert info["n_labelled"] == len(cells) >= 290 and a.uns["provenance"]["model"] == NAME
    assert info["leaf_accuracy"] >= card["leaf_accuracy"] - TOLERANCE
    assert info["backoff_accuracy"] >= card["backoff_accuracy"] - TOLERANCE
    assert info["leaf_accuracy"] > 0.5  # 11 PBC classes (chance ~0.1 stratified)
