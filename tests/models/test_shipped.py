"""Shipped weights: safetensors round trip, export from a training checkpoint, loading by path
and by short name wherever a checkpoint is taken, and clear errors."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from hierwbc.models import shipped
from hierwbc.models.checkpoints import backbone_from_weights, load_backbone_state, load_file
from hierwbc.models.vit import build_vit
from hierwbc.train.export import export_weights
from hierwbc.train.loop import fit

from ..train.helpers import TINY


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("run")
    cfg = {**TINY, "data.limit": 32, "data.root": str(data_root), "model.layerscale": 0.0,
           "model.img_size": 32, "model.patch_size": 8}
    return fit(None, preset="hierce", max_steps=2, out=str(out / "run"), progress=False, **cfg)


def test_export_then_load_by_path_gives_the_teacher_in_fp16(tiny_run, tmp_path):
    path = export_weights(tiny_run.checkpoint, tmp_path / "w.safetensors")
    assert path.read_bytes()[8:9] == b"{"  # safetensors, not a pickle
    tensors, meta = shipped.read_weights(path)
    assert meta["format"] == "hierwbc.weights" and meta["arch"] == "vit_tiny"
    assert (meta["img_size"], meta["patch_size"], meta["steps"]) == ("32", "8", "2")
    assert all(v.dtype == torch.float16 for v in tensors.values())
    model = backbone_from_weights(tensors, meta)
    assert model.patch_size == 8 and model.pos_embed.shape[1] == 1 + 16
    teacher = {k[len("teacher.backbone."):]: v for k, v in
               torch.load(tiny_run.checkpoint, weights_only=True)["model"].items() if k.startswith("teacher.backbone.")}
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, teacher[k].half().float())
    assert not any(k.startswith("sup_head.") for k in tensors)


def test_export_with_head_stores_the_head_and_its_hierarchy(tiny_run, tmp_path):
    path = export_weights(tiny_run.checkpoint, tmp_path / "c.safetensors", head=True)
    tensors, meta = shipped.read_weights(path)
    from hierwbc.hierarchy import Hierarchy, default_hierarchy

    assert meta["sup_loss"] == "hierce"
    assert Hierarchy.from_json(meta["hierarchy"]) == default_hierarchy()
    head = {k: v for k, v in tensors.items() if k.startswith("sup_head.")}
    student = torch.load(tiny_run.checkpoint, weights_only=True)["model"]
    assert head and all(torch.equal(v, student["student." + k].half()) for k, v in head.items())
    # the leaves its labelled training rows support, from the run folder's train_manifest.csv
    rows = pd.read_csv(Path(tiny_run.run_dir) / "train_manifest.csv", keep_default_na=False)
    labels = set(rows.loc[rows["target"] >= 0, "node"])
    h = default_hierarchy()
    expected = [leaf for leaf in h.leaves if leaf in labels
                or any(leaf in h.leaves_under(c) and not labels & set(h.leaves_under(c)) for c in labels)]
    assert json.loads(meta["trained_leaves"]) == expected and expected
    # the checkpoint carries the list itself: a copy outside its run folder exports the same
    assert torch.load(tiny_run.checkpoint, weights_only=True)["trained_leaves"] == expected
    moved = tmp_path / "elsewhere" / "step.pt"
    moved.parent.mkdir()
    shutil.copy(tiny_run.checkpoint, moved)
    meta = shipped.read_weights(export_weights(moved, tmp_path / "m.safetensors", head=True))[1]
    assert json.loads(meta["trained_leaves"]) == expected


def test_short_name_resolves_to_the_weights_folder(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path)
    export_weights(tiny_run.checkpoint, tmp_path / "hierwbc-test-tiny.safetensors")
    assert shipped.resolve_weights("hierwbc-test-tiny") == tmp_path / "hierwbc-test-tiny.safetensors"
    meta = shipped.read_metadata("hierwbc-test-tiny")  # without the tensors, as read_weights gives it
    assert meta == shipped.read_weights("hierwbc-test-tiny")[1] and meta["patch_size"] == "8"
    state = load_file("hierwbc-test-tiny")  # anywhere a checkpoint path is taken
    model = build_vit("vit_tiny", img_size=32, patch_size=8, init_values=None)
    load_backbone_state(state, model)
    with pytest.raises(FileNotFoundError, match="did you mean 'hierwbc-test-tiny'"):
        shipped.resolve_weights("hierwbc-test-tiyn")


def test_export_refuses_a_head_that_was_not_trained(tmp_path, data_root):
    res = fit(None, preset="unsup", max_steps=1, out=str(tmp_path / "u"), progress=False,
              **{**TINY, "data.limit": 16, "data.root": str(data_root)})
    with pytest.raises(ValueError, match="without a supervised head"):
        export_weights(res.checkpoint, tmp_path / "x.safetensors", head=True)


def test_embed_takes_a_weights_file(tiny_run, tmp_path, data_root):
    from hierwbc.datasets import read_dataset
    from hierwbc.embed import embed

    path = export_weights(tiny_run.checkpoint, tmp_path / "w.safetensors")
    m = read_dataset("segmentation_wbc", data_root).head(6)
    a = embed(str(path), m, progress=False)
    assert a.obsm["X_cls"].shape == (6, 192) and np.isfinite(a.obsm["X_cls"]).all()
    assert a.uns["provenance"]["img_size"] == 32


def test_training_continues_from_a_weights_file_with_its_architecture(tiny_run, tmp_path, data_root):
    path = export_weights(tiny_run.checkpoint, tmp_path / "w.safetensors")
    # the config asks for patch 14 and LayerScale; the file's metadata decides (patch 8, none);
    # 56 px (a multiple of both) keeps the config's size: the position embedding is resampled
    res = fit(None, preset="unsup", max_steps=1, out=str(tmp_path / "cont"), progress=False,
              **{**TINY, "data.limit": 16, "data.root": str(data_root), "model.img_size": 56,
                 "model.pretrained": str(path), "model.layerscale": 1e-5, "optim.base_lr": 0.0,
                 "optim.weight_decay": 0.0, "optim.weight_decay_end": 0.0})
    state = torch.load(res.checkpoint, weights_only=True)
    assert state["config"]["model"]["patch_size"] == 8 and state["config"]["model"]["layerscale"] == 0
    tensors, _ = shipped.read_weights(path)
    assert state["model"]["student.backbone.pos_embed"].shape[1] == 1 + 7 * 7
    start = state["model"]["student.backbone.blocks.0.attn.qkv.weight"]  # lr 0: still the loaded weights
    torch.testing.assert_close(start, tensors["backbone.blocks.0.attn.qkv.weight"].float())


def test_image_size_comes_from_the_file_unless_given(tiny_run, tmp_path):
    """``--pretrained hierwbc-tiny-pbc`` alone trains at the file's 56 px, not the default 224
    (16x the tokens); a size given on purpose wins; checks on the size wait for the file's."""
    from hierwbc.config import ConfigError, make_config
    from hierwbc.train.pretrained import adopt_pretrained_architecture as adopt

    path = str(export_weights(tiny_run.checkpoint, tmp_path / "w.safetensors"))  # 32 px, patch 8
    adopted = adopt(make_config("hierce", overrides={"model.pretrained": path, "data.cache_size": 48}))
    assert (adopted.model.img_size, adopted.model.patch_size, adopted.data.cache_size) == (32, 8, 48)
    assert adopt(make_config("hierce", overrides={"model.pretrained": path, "model.img_size": 56})).model.img_size == 56
    assert adopt(make_config("hierce")).model.img_size == 224
    assert adopt(make_config("hierce", overrides={"model.pretrained": "hierwbc-tiny-pbc"})).model.img_size == 56
    with pytest.raises(ConfigError, match="data.cache_size 16 is smaller than model.img_size 32"):
        adopt(make_config("hierce", overrides={"model.pretrained": path, "data.cache_size": 16}))
    # a size given for a patch-8 file is checked against 8, not the config's default patch 14
    given = adopt(make_config("hierce", overrides={"model.pretrained": path, "model.img_size": 64}))
    assert (given.model.img_size, given.model.patch_size) == (64, 8)
    with pytest.raises(ConfigError, match=r"img_size 36 is not a multiple of patch_size 8 \(of .*w.safetensors\)"):
        adopt(make_config("hierce", overrides={"model.pretrained": path, "model.img_size": 36}))


def test_ssl_heads_are_carried_when_they_fit(tiny_run, tmp_path, data_root):
    from hierwbc.config import make_config
    from hierwbc.hierarchy import default_hierarchy
    from hierwbc.train.meta_arch import MetaArch
    from hierwbc.train.pretrained import load_pretrained

    path = export_weights(tiny_run.checkpoint, tmp_path / "h.safetensors", ssl_heads=True)
    tensors, _ = shipped.read_weights(path)
    assert any(k.startswith("dino_head.") for k in tensors) and any(k.startswith("ibot_head.") for k in tensors)
    cfg = make_config("unsup", overrides={**TINY, "model.img_size": 32, "model.patch_size": 8,
                                          "model.layerscale": 0.0})
    model = MetaArch(cfg, default_hierarchy())
    assert load_pretrained(model, str(path)) == ["dino_head", "ibot_head"]
    w = tensors["dino_head.last_layer.weight_v"].float()
    torch.testing.assert_close(model.student.dino_head.last_layer.weight_v, w)
    torch.testing.assert_close(model.teacher.dino_head.last_layer.weight_v, w)
    other = make_config("unsup", overrides={**TINY, "model.img_size": 32, "model.patch_size": 8,
                                            "model.layerscale": 0.0, "dino.head_n_prototypes": 32})
    assert load_pretrained(MetaArch(other, default_hierarchy()), str(path)) == ["ibot_head"]  # 32 != 64
