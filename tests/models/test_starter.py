"""The shipped label-free backbones hierwbc-tiny-pbc (the starter), hierwbc-tiny-pbc-long (the
starter trained 1,500 steps further) and hierwbc-tiny8-pbc (64 px / patch 8): each loads by short
name and by path from the package's weights folder (safetensors: no unpickling), with the
architecture of its metadata, and its embedding of pbc_test cells (never seen in pretraining)
separates cell types better than the same ViT with random weights, by a margin justified by the
model card."""

import numpy as np
import pytest
import torch

from hierwbc.datasets import read_dataset
from hierwbc.datasets.splits import split_rows, stratified_subset
from hierwbc.embed import embed
from hierwbc.evaluate.folds import stratified_folds
from hierwbc.evaluate.metrics import compute_metrics
from hierwbc.evaluate.probes import run_probes
from hierwbc.hierarchy import default_hierarchy
from hierwbc.models import shipped
from hierwbc.models.checkpoints import backbone_from_weights
from hierwbc.models.vit import build_vit

NAMES = ("hierwbc-tiny-pbc", "hierwbc-tiny-pbc-long", "hierwbc-tiny8-pbc")
# the model card (hierwbc/weights/README.md) reports, on all 3,417 pbc_test cells with 5-fold
# CV, the 20-NN balanced accuracy of each file and of the same ViT with random weights; on 300
# cells the difference is noisier, so the test asks for about half of the card's margin
MIN_MARGIN = 0.09  # card: +18.5 (starter), +18.6 (long), +17.7 (tiny8); 300 cells: fold std ~2-4 points


@pytest.mark.parametrize("NAME", NAMES)
def test_the_starter_is_shipped_and_loads_by_name_and_by_path(NAME):
    files = shipped.shipped_weights()
    assert NAME in files and files[NAME].parent == shipped.WEIGHTS_DIR
    assert files[NAME].stat().st_size <= 25 * 2 ** 20
    assert (shipped.WEIGHTS_DIR / "README.md").exists()  # the model card
    tensors, meta = shipped.read_weights(NAME)
    assert meta["format"] == "hierwbc.weights" and meta["arch"] == "vit_tiny"
    assert all(v.dtype == torch.float16 for v in tensors.values())
    by_name = backbone_from_weights(tensors, meta)
    by_path = backbone_from_weights(*shipped.read_weights(str(files[NAME])))
    assert by_name.patch_size == int(meta["patch_size"]) and by_name.embed_dim == 192
    for (k, a), b in zip(by_name.state_dict().items(), by_path.state_dict().values()):
        assert torch.equal(a, b), k


def _bacc_20nn(X, nodes, h):
    y = h.indices(nodes)
    fold = stratified_folds(y, 5, seed=0)
    pred = run_probes(X, y, fold, probes=("20nn",))["20nn"].pred
    return compute_metrics(h, y, pred)["balanced_accuracy"]


@pytest.mark.realdata
@pytest.mark.parametrize("NAME", NAMES)
def test_the_starter_beats_random_weights_on_unseen_pbc_cells(data_root, NAME):
    h = default_hierarchy()
    m = split_rows(read_dataset("pbc", data_root, hierarchy=h), "test", 0.2, 0)
    m = stratified_subset(m, 300, seed=0)
    _, meta = shipped.read_weights(NAME)
    torch.manual_seed(0)
    random = build_vit(meta["arch"], img_size=int(meta["img_size"]), patch_size=int(meta["patch_size"]),
                       init_values=None)
    starter = embed(NAME, m, hierarchy=h, progress=False).obsm["X_cls"]
    baseline = embed(random, m, hierarchy=h, progress=False).obsm["X_cls"]
    assert np.isfinite(starter).all()
    margin = _bacc_20nn(starter, m["node"], h) - _bacc_20nn(baseline, m["node"], h)
    assert margin >= MIN_MARGIN, f"starter - random 20-NN bAcc = {margin:.3f}"
