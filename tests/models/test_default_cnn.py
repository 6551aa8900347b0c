"""predict's default classifier, a CNN trained on the five types of PBC and LISC with colour
augmentation and cell-centred re-framing (reports/labs/verdict.md, rule 3): a small fp16 file with
its head, colour domain and training feature mean; on unseen PBC test cells its five-type accuracy
is what its card (reports/labs/zero_shot.csv) says, within the noise of 300 cells."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from hierwbc.datasets import read_dataset
from hierwbc.datasets.color_domain import ColorDomain
from hierwbc.datasets.splits import split_rows, stratified_subset
from hierwbc.evaluate.five_types import five_type_scores
from hierwbc.hierarchy import default_hierarchy
from hierwbc.models import shipped
from hierwbc.models.registry import default_classifier
from hierwbc.predict import DEFAULT_CLASSIFIER, predict

ZERO_SHOT = Path(__file__).resolve().parents[2] / "reports" / "labs" / "zero_shot.csv"
TOLERANCE = 0.04  # five-type accuracy ~0.97 on 300 cells: binomial sd ~1 point


def test_the_default_is_the_cnn_and_small():
    assert DEFAULT_CLASSIFIER == "hierwbc-cnn-labs"
    assert default_classifier() == shipped.shipped_weights()[DEFAULT_CLASSIFIER]
    path = default_classifier()
    assert path.stat().st_size <= 25 * 2 ** 20
    tensors, meta = shipped.read_weights(DEFAULT_CLASSIFIER)
    assert meta["arch"] == "cnn" and all(v.dtype == torch.float16 for v in tensors.values())
    assert json.loads(meta["labs"]) == ["pbc", "lisc"] and meta["reframe"] == "cell"
    assert ColorDomain.from_json(meta["colour_domain"]).n > 1000
    assert len(json.loads(meta["feature_mean"])) == int(meta["embed_dim"])
    # five types trained; only the leaves the labs' own labels of those cells support are predicted
    assert sorted(json.loads(meta["trained_leaves"])) == ["basophil", "eosinophil", "lymphocyte_typical", "monocyte",
                                                          "neutrophil_band", "neutrophil_segmented"]


@pytest.mark.realdata
def test_default_scores_unseen_pbc_cells_as_its_card_says(data_root):
    h = default_hierarchy()
    m = split_rows(read_dataset("pbc", data_root, hierarchy=h), "test", 0.2, 0)
    cells = stratified_subset(m, 300, seed=0)
    a = predict(cells, progress=False, color_domain=None)
    s = five_type_scores(h, cells["node"].to_numpy()[a.obs.index.astype(int)], a.obs["pred_leaf"])
    card = pd.read_csv(ZERO_SHOT).set_index(["model", "set"]).loc[("cnn_default_five", "pbc_test")]
    assert s["accuracy"] >= card["accuracy"] - TOLERANCE
    assert a.uns["provenance"]["model"] == DEFAULT_CLASSIFIER
