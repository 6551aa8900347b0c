"""The few-shot fine-tune: a CNN classifier that cannot tell two shapes apart learns them from a
few labelled cells (a coarse label included), only the parts asked for move, and the result is a
weights file predict reads."""

import json

import numpy as np
import pytest
import torch

from hierwbc.baselines.finetune import finetune_cnn, write_finetuned
from hierwbc.baselines.recipe import CNNRecipe, recipe_json
from hierwbc.baselines.train import export_cnn, predict_nodes
from hierwbc.hierarchy import default_hierarchy
from hierwbc.models.cnn import ConvNet
from hierwbc.models.registry import create_model
from hierwbc.models.supervised_heads import LeafLogitHead

from .test_cnn import _shapes

LEAVES = ["monocyte", "basophil"]  # disc, square


@pytest.fixture
def untrained(tmp_path):
    torch.manual_seed(0)
    h = default_hierarchy()
    net = ConvNet((16, 32, 32), img_size=32)
    head = LeafLogitHead(h, net.embed_dim, nlayers=1).restrict(h.leaf_mask(LEAVES))
    recipe = CNNRecipe(widths=[16, 32, 32], img_size=32, cache_size=40, grayscale_p=0.0, blur_p=0.0)
    return export_cnn(net.eval(), head.eval(), h, tmp_path / "cnn.safetensors", {"recipe": recipe_json(recipe)})


def _cells(n, seed):
    x, y = _shapes(n, torch.Generator().manual_seed(seed), size=40)
    return (x * 255).round().to(torch.uint8), y.numpy()


def _accuracy(net, head, tree, images, y):
    called = predict_nodes(net, head, images, tree)
    return float((called == np.asarray(LEAVES, dtype=object)[y]).mean())


def test_a_few_labelled_cells_teach_two_shapes(untrained):
    images, y = _cells(24, 1)
    test, y_test = _cells(300, 2)
    m = create_model(untrained)
    before = _accuracy(m.network, m.head, m.hierarchy, test, y_test)
    nodes = np.where(y == 0, "monocyte", "granulocytic_mature")  # squares labelled coarsely: basophil lies under it
    net, head, tree = finetune_cnn(untrained, images, nodes, steps=80, lr=3e-3, trainable="all")
    after = _accuracy(net, head, tree, test, y_test)
    assert after > 0.9 and after > before + 0.3, (before, after)


def test_only_the_parts_asked_for_move(untrained):
    images, y = _cells(16, 3)
    nodes = np.asarray(LEAVES, dtype=object)[y]
    start = create_model(untrained)
    net, head, _ = finetune_cnn(untrained, images, nodes, steps=3, lr=1e-2, trainable="head")
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), start.network.state_dict().values()))
    assert not torch.equal(head.mlp.weight, start.head.mlp.weight)
    net, _, _ = finetune_cnn(untrained, images, nodes, steps=3, lr=1e-2, trainable="last")
    moved = [not torch.equal(a, b) for a, b in zip(net.blocks.parameters(), start.network.blocks.parameters())]
    assert moved[-1] and not any(moved[: -len(list(net.blocks[-1].parameters()))])


def test_the_result_is_a_weights_file_predict_reads(untrained, tmp_path):
    images, y = _cells(12, 4)
    nodes = np.asarray(LEAVES, dtype=object)[y]
    net, head, tree = finetune_cnn(untrained, images, nodes, steps=2)
    out = write_finetuned(untrained, net, head, tree, nodes, tmp_path / "mine.safetensors", {"steps": 2})
    m = create_model(out)
    assert json.loads(m.metadata["finetune_counts"]) == {n: int((nodes == n).sum()) for n in LEAVES}
    assert m.metadata["finetuned_from"] == str(untrained) and m.head is not None
    x = torch.rand(3, 3, 32, 32)
    with torch.inference_mode():  # fp16 storage: the same calls within rounding
        torch.testing.assert_close(m.head(m.network(x)), head(net(x)), atol=2e-2, rtol=1e-2)


def test_a_label_above_no_callable_leaf_is_named(untrained):
    images, _ = _cells(4, 5)
    with pytest.raises(ValueError, match="lymphoid_mature"):
        finetune_cnn(untrained, images, ["lymphoid_mature"] * 4, steps=1)
    with pytest.raises(ValueError, match="trainable"):
        finetune_cnn(untrained, images, ["monocyte"] * 4, trainable="some")


def test_the_command_fine_tunes_on_a_folder_of_class_folders(untrained, tmp_path, monkeypatch, capsys):
    from PIL import Image

    from hierwbc.cli import main
    from hierwbc.predict import predict

    monkeypatch.setenv("HIERWBC_CACHE", str(tmp_path / "cache"))
    images, y = _cells(8, 6)
    for k, (img, label) in enumerate(zip(images, y)):
        folder = tmp_path / "mine" / LEAVES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{k}.png")
    out = tmp_path / "mine.safetensors"
    assert main(["finetune", str(tmp_path / "mine"), "--model", str(untrained), "--out", str(out), "--steps", "2",
                 "--no-progress"]) == 0
    assert "fine-tuned on 8 cells" in capsys.readouterr().out
    calls = predict(tmp_path / "mine", model=out, progress=False, color_domain=None)
    assert calls.n_obs == 8 and set(calls.obs["pred_leaf"]) <= set(LEAVES)
