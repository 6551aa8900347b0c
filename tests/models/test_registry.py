"""The model registry: every kind of model through one door, the input size decided there, the
shipped models listed from their card and each card printed."""

import json

import pytest
import torch

from hierwbc.cli import main
from hierwbc.models import shipped
from hierwbc.models.cards import list_models, model_card
from hierwbc.models.registry import DEFAULT_CLASSIFIER, PIXELS, Model, create_model, native_size


def test_a_shipped_classifier_comes_with_its_head_tree_and_size():
    m = create_model(DEFAULT_CLASSIFIER)
    meta = shipped.read_metadata(DEFAULT_CLASSIFIER)
    assert m.source == "weights" and m.path == shipped.shipped_weights()[DEFAULT_CLASSIFIER]
    assert m.img_size == int(meta["img_size"]) and m.embed_dim == int(meta["embed_dim"])
    assert m.head is not None and m.head_hierarchy is m.hierarchy
    assert m.hierarchy.to_json() == meta["hierarchy"]
    # restricted to its trained leaves: the other leaves get no probability at all
    with torch.inference_mode():
        p = m.head.node_probs(m.head(torch.randn(7, m.embed_dim)))
    leaves = m.hierarchy.leaf_nodes
    trained = set(json.loads(meta["trained_leaves"]))
    other = [i for i in leaves if m.hierarchy.nodes[i] not in trained]
    assert other and torch.all(p[:, other] == 0)
    assert create_model(m) is m  # a Model passes through


def test_a_backbone_without_head_and_a_size_asked_for():
    m = create_model("hierwbc-tiny-pbc")
    assert m.head is None and m.head_hierarchy is None and m.img_size == 56 == native_size(m.network)
    big = create_model("hierwbc-tiny-pbc", img_size=112)
    assert big.img_size == 112 and native_size(big.network) == 112  # position embedding resampled


def test_baselines_random_init_and_pixels():
    a, b = create_model("vit_tiny", img_size=28, patch_size=14, seed=3), create_model("vit_tiny", img_size=28,
                                                                                      patch_size=14, seed=3)
    assert a.source == "random_init" and a.provenance["seed"] == 3
    assert all(torch.equal(x, y) for x, y in zip(a.network.state_dict().values(), b.network.state_dict().values()))
    px = create_model(PIXELS, img_size=8)
    assert px.network is None and px.embed_dim == 3 * 64


def test_a_module_and_bad_names():
    net = create_model("vit_tiny", img_size=28, patch_size=14).network
    m = create_model(net)
    assert isinstance(m, Model) and m.source == "module" and m.img_size == 28
    with pytest.raises(FileNotFoundError, match="did you mean 'hierwbc-cnn-labs'"):
        create_model("hierwbc-cnn-lab")


def test_list_models_covers_every_shipped_file_with_its_card_line():
    table = list_models()
    assert list(table.index) == list(shipped.shipped_weights())
    card = shipped.WEIGHTS_DIR.joinpath("README.md").read_text()
    for name, row in table.iterrows():
        assert row["what"] and f"| `{name}` | {row['what']} |" in card


def test_model_card_is_the_section_of_that_model(capsys):
    text = model_card("hierwbc-cnn-pbc")
    assert text.startswith("# hierwbc-cnn-pbc:") and "\n# " not in text  # one section, up to the next model
    assert "## Zero-shot five-type scores" in text
    assert main(["models", "hierwbc-cnn-pbc"]) == 0 and capsys.readouterr().out == text
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in shipped.shipped_weights()) and f"{DEFAULT_CLASSIFIER}  " in out
    with pytest.raises(FileNotFoundError, match="did you mean 'hierwbc-tiny-pbc'"):
        model_card("hierwbc-tiny-pcb")
