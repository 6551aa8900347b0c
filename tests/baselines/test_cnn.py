"""The CNN baseline: it learns a constructed task, ignores a colour cast, exports and round-trips
through embed and predict, and its loss and sampler equal hand-worked references."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from hierwbc.baselines.train import (
    class_weights,
    export_cnn,
    smoothed_marginal_ce,
    train_cnn,
)
from hierwbc.hierarchy import default_hierarchy
from hierwbc.models.cnn import ConvNet, per_image_standardize
from hierwbc.models.supervised_heads import LeafLogitHead


def _shapes(n: int, gen: torch.Generator, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Discs (label 0) and squares (label 1) of random size, place and colour on a random background."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    label = torch.randint(0, 2, (n,), generator=gen)
    cx, cy = (torch.rand(2, n, generator=gen) * 12 + 10)
    r = torch.rand(n, generator=gen) * 4 + 5
    dx, dy = (xx[None] - cx[:, None, None]).abs(), (yy[None] - cy[:, None, None]).abs()
    disc = dx ** 2 + dy ** 2 <= r[:, None, None] ** 2
    square = torch.maximum(dx, dy) <= r[:, None, None] * 0.85
    mask = torch.where(label[:, None, None] == 0, disc, square).float()
    fg, bg = torch.rand(n, 3, generator=gen) * 0.5, torch.rand(n, 3, generator=gen) * 0.4 + 0.6
    x = fg[:, :, None, None] * mask[:, None] + bg[:, :, None, None] * (1 - mask[:, None])
    return x, label


def test_cnn_learns_two_shapes_to_95_percent():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    h = default_hierarchy()
    classes = np.array(["monocyte", "basophil"], dtype=object)
    member = torch.as_tensor(h.membership[h.indices(classes)], dtype=torch.bool)
    net = ConvNet((16, 32, 32), img_size=32)
    head = LeafLogitHead(h, net.embed_dim, nlayers=1).restrict(h.supported_leaves(classes))
    opt = torch.optim.AdamW([*net.parameters(), *head.parameters()], lr=3e-3)
    for _ in range(60):
        x, y = _shapes(64, gen)
        loss = smoothed_marginal_ce(head.restricted(head(net(x))), y, member, torch.ones(2), 0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = _shapes(400, gen)
    with torch.no_grad():
        p = head.node_probs(head(net.eval()(x)))[:, h.indices(classes)]
    assert (p.argmax(1) == y).float().mean() > 0.95


def test_colour_cast_copy_gives_the_same_logits():
    torch.manual_seed(1)
    net = ConvNet(img_size=64).eval()
    head = LeafLogitHead(default_hierarchy(), net.embed_dim, nlayers=1).eval()
    x = torch.rand(4, 3, 64, 64) * 0.6 + 0.2
    gain, offset = torch.tensor([1.3, 0.8, 0.6]).view(1, 3, 1, 1), torch.tensor([0.05, -0.1, 0.2]).view(1, 3, 1, 1)
    with torch.no_grad():
        a, b = head(net(x)), head(net(x * gain + offset))
    assert torch.allclose(a, b, atol=1e-3 * a.abs().max())
    z = per_image_standardize(x * gain + offset)
    assert torch.allclose(z.mean((2, 3)), torch.zeros(4, 3), atol=1e-5)
    assert torch.allclose(z.var((2, 3), unbiased=False), torch.ones(4, 3), atol=1e-3)


def test_smoothed_marginal_ce_equals_hand_computed():
    # leaves a, b, c; classes: {a} and {b, c}; eps 0.2, class weights (1, 3)
    logits = torch.tensor([[1.0, 0.0, 2.0], [0.5, 0.5, -1.0]])
    member = torch.tensor([[True, False, False], [False, True, True]])
    target = torch.tensor([1, 0])
    w = torch.tensor([1.0, 3.0])
    p = torch.softmax(logits, 1)
    pc = torch.stack([p[:, 0], p[:, 1] + p[:, 2]], 1)
    per = [0.8 * -torch.log(pc[0, 1]) + 0.2 * -torch.log(pc[0]).mean(),
           0.8 * -torch.log(pc[1, 0]) + 0.2 * -torch.log(pc[1]).mean()]
    want = (3 * per[0] + 1 * per[1]) / 4
    assert torch.allclose(smoothed_marginal_ce(logits, target, member, w, 0.2), want)


def test_lab_probabilities_give_each_lab_its_weight_share():
    from hierwbc.train.data import lab_probabilities

    labs = np.array(["pbc"] * 100 + ["lisc"] * 10 + ["aslan"] * 5)
    p = lab_probabilities(labs, {"pbc": 10, "lisc": 1})
    assert np.isclose(p.sum(), 1)
    share = {lab: p[labs == lab].sum() for lab in ("pbc", "lisc", "aslan")}
    assert np.allclose(list(share.values()), [10 / 12, 1 / 12, 1 / 12])
    draws = np.random.default_rng(0).choice(len(labs), 60_000, p=p)
    assert abs((labs[draws] == "pbc").mean() - 10 / 12) < 0.01
    v = class_weights(np.array(["a"] * 3 + ["b"]), np.full(4, 0.25), np.array(["a", "b"]))
    assert np.allclose(v, [1 / (2 * 0.75), 1 / (2 * 0.25)])  # rarer class weighs more


def test_export_round_trips_through_embed_and_predict(tmp_path):
    from hierwbc.embed import embed
    from hierwbc.predict import predict

    h = default_hierarchy()
    torch.manual_seed(2)
    net = ConvNet((8, 16, 16, 24), img_size=32).eval()
    head = LeafLogitHead(h, net.embed_dim, nlayers=1).restrict(h.leaf_mask(["monocyte", "basophil", "eosinophil"]))
    for prm in [*net.parameters(), *head.parameters()]:  # fp16 export: round the weights once already
        prm.data = prm.data.half().float()
    path = export_cnn(net, head.eval(), h, tmp_path / "cnn.safetensors")
    rng = np.random.default_rng(0)
    (tmp_path / "cells").mkdir()
    for k in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "cells" / f"{k}.png")
    m = pd.DataFrame({"path": sorted(str(p) for p in (tmp_path / "cells").glob("*.png")), "dataset": "t",
                      "raw_label": "", "node": "wbc", "split": "", "fold": -1})
    a = embed(path, m, progress=False)
    b = embed(net, m, img_size=32, progress=False)
    assert np.allclose(a.obsm["X_cls"], b.obsm["X_cls"], atol=1e-3)
    out = predict(str(tmp_path / "cells"), model=path, progress=False, color_domain=None)
    with torch.no_grad():
        probs = head.node_probs(head(torch.as_tensor(b.obsm["X_cls"]))).numpy()
    leaves = np.asarray(h.nodes)[np.asarray(h.leaf_nodes)[probs[:, h.leaf_nodes].argmax(1)]]
    assert out.obs["pred_leaf"].tolist() == leaves.tolist()
    assert set(out.obs["pred_leaf"]) <= {"monocyte", "basophil", "eosinophil"}


@pytest.mark.slow
def test_train_cnn_on_synthetic_cells_logs_resumes_and_exports(tmp_path):
    from hierwbc.baselines.recipe import CNNRecipe
    from hierwbc.datasets.synthetic import make_synthetic
    from hierwbc.predict import predict

    h = default_hierarchy()
    make_synthetic(tmp_path / "syn", h, n_per_leaf=6, size=48,
                   leaves=["monocyte", "basophil", "eosinophil", "neutrophil_band"], progress=False)
    recipe = CNNRecipe(labs=[str(tmp_path / "syn" / "manifest.csv")], widths=[8, 16], img_size=32, cache_size=40,
                       batch_size=8, epochs=2, val_fraction=0.0, threads=1)
    run = tmp_path / "run"
    train_cnn(recipe, run, hierarchy=h, progress=False, max_steps=2)
    assert pd.read_csv(run / "log.csv")["step"].tolist() == [2]
    path = train_cnn(recipe, run, hierarchy=h, progress=False)  # resumes at step 2, finishes the 2 epochs
    log = pd.read_csv(run / "log.csv")
    assert log["step"].tolist() == [2, 3, 6] and log["epoch"].iloc[-1] == 2
    from hierwbc.models.shipped import read_metadata

    meta = read_metadata(path)
    assert meta["arch"] == "cnn" and meta["steps"] == "6"
    from hierwbc.datasets.color_domain import ColorDomain

    assert len(json.loads(meta["feature_mean"])) == 16       # predict --recenter's target
    domain = ColorDomain.from_json(meta["colour_domain"])   # fitted on its training images
    assert domain.n == 24 and domain.name.startswith("training images of")
    out = predict(str(tmp_path / "syn"), model=path, progress=False)
    assert out.uns["predict"]["colour_domain"] == domain.name and out.uns["predict"]["n_off_domain"] >= 0
    # five-type targets ("neutrophil" for neutrophil_band), but only the leaves the cells' own labels
    # support are predicted: band, not the segmented neutrophil no training cell was
    assert sorted(json.loads(meta["trained_leaves"])) == ["basophil", "eosinophil", "monocyte", "neutrophil_band"]


def test_recentre_moves_the_features_mean_to_the_training_mean():
    from hierwbc.predict import recentered

    X = np.random.default_rng(0).normal(3.0, 1.0, (50, 4)).astype(np.float32)
    prov = {"feature_mean": json.dumps([0.0, 1.0, 2.0, -1.0])}
    out = recentered(X, prov, "m")
    assert np.allclose(out.mean(0), [0.0, 1.0, 2.0, -1.0], atol=1e-5)
    assert np.allclose(out - out.mean(0), X - X.mean(0), atol=1e-5)   # only a shift
    with pytest.raises(Exception, match="feature_mean"):
        recentered(X, {}, "m")
