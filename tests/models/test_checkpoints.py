"""Checkpoint files with the real DINOv2 / DinoBloom key names load exactly, or fail loudly.

The files are written here from hand-listed key names and shapes (random weights), not
from our model's state_dict, so a renamed parameter in the model makes these tests fail.
"""
import argparse
import os
import pickle

import pytest
import torch

from hierwbc.models.checkpoints import (
    CheckpointError,
    build_vit_from_state,
    detect_architecture,
    extract_backbone_state,
    load_backbone_state,
    save_atomic,
)
from hierwbc.models.vit import build_vit

D, HEADS, DEPTH, PATCH = 192, 3, 2, 14


def dinov2_block_shapes(d, ffn="mlp"):
    shapes = {
        "norm1.weight": (d,), "norm1.bias": (d,),
        "attn.qkv.weight": (3 * d, d), "attn.qkv.bias": (3 * d,),
        "attn.proj.weight": (d, d), "attn.proj.bias": (d,),
        "ls1.gamma": (d,),
        "norm2.weight": (d,), "norm2.bias": (d,),
        "ls2.gamma": (d,),
    }
    if ffn == "mlp":
        shapes.update({"mlp.fc1.weight": (4 * d, d), "mlp.fc1.bias": (4 * d,),
                       "mlp.fc2.weight": (d, 4 * d), "mlp.fc2.bias": (d,)})
    else:  # SwiGLUFFNFused of ViT-g/14: hidden 4096 for d = 1536
        hidden = (int(4 * d * 2 / 3) + 7) // 8 * 8
        shapes.update({"mlp.w12.weight": (2 * hidden, d), "mlp.w12.bias": (2 * hidden,),
                       "mlp.w3.weight": (d, hidden), "mlp.w3.bias": (d,)})
    return shapes


def dinov2_hub_state(d=D, depth=DEPTH, grid=4, registers=0, ffn="mlp", seed=0, fill=True):
    """A flat hub-style state dict: cls_token, pos_embed, mask_token, patch_embed, blocks, norm."""
    shapes = {"cls_token": (1, 1, d), "pos_embed": (1, 1 + grid * grid, d), "mask_token": (1, d),
              "patch_embed.proj.weight": (d, 3, PATCH, PATCH), "patch_embed.proj.bias": (d,),
              "norm.weight": (d,), "norm.bias": (d,)}
    if registers:
        shapes["register_tokens"] = (1, registers, d)
    for i in range(depth):
        shapes.update({f"blocks.{i}.{k}": s for k, s in dinov2_block_shapes(d, ffn).items()})
    gen = torch.Generator().manual_seed(seed)
    return {k: (torch.randn(s, generator=gen) * 0.05 if fill else torch.empty(s))
            for k, s in shapes.items()}


def chunked(state, n_chunks, depth):
    """dinov2 block_chunks layout: blocks.{chunk}.{global index}.* (chunks padded by Identity)"""
    per_chunk = depth // n_chunks
    out = {}
    for key, value in state.items():
        if key.startswith("blocks."):
            _, index, rest = key.split(".", 2)
            key = f"blocks.{int(index) // per_chunk}.{index}.{rest}"
        out[key] = value
    return out


def tiny_model(img_size=56, depth=DEPTH, **kw):
    return build_vit("vit_tiny", depth=depth, img_size=img_size, **kw).eval()


def images(size, n=2):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(1))


def test_flat_hub_file_loads_every_key(tmp_path):
    state = dinov2_hub_state()
    path = tmp_path / "dinov2_vitt14_pretrain.pth"
    torch.save(state, path)
    model = tiny_model()
    report = load_backbone_state(path, model)
    assert report["loaded"] == sorted(state) and report["ignored_missing"] == []
    loaded = model.state_dict()
    assert set(loaded) == set(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key


def test_chunked_layout_gives_identical_outputs(tmp_path):
    state = dinov2_hub_state(depth=4)
    flat, chunk = tiny_model(depth=4), tiny_model(depth=4)
    load_backbone_state(state, flat)
    path = tmp_path / "chunked.pth"
    torch.save(chunked(state, 2, depth=4), path)
    assert "blocks.1.3.attn.qkv.weight" in torch.load(path, weights_only=True)
    load_backbone_state(path, chunk)
    x = images(56)
    assert torch.equal(flat(x), chunk(x))


def test_dinobloom_teacher_file_at_257_tokens_loads_into_112px_model(tmp_path):
    # DinoBloom: teacher/backbone., block_chunks=4 (here 2 chunks of 2), 224 px -> 257 tokens
    backbone = chunked(dinov2_hub_state(depth=4, grid=16), 2, depth=4)
    teacher = {f"backbone.{k}": v for k, v in backbone.items()}
    teacher.update({"dino_head.mlp.0.weight": torch.randn(8, D),
                    "dino_head.last_layer.weight_g": torch.ones(10, 1),
                    "dino_head.last_layer.weight_v": torch.randn(10, 8),
                    "ibot_head.mlp.0.weight": torch.randn(8, D)})
    path = tmp_path / "dinobloom-s.pth"
    torch.save({"teacher": teacher}, path)
    assert torch.load(path, weights_only=True)["teacher"]["backbone.pos_embed"].shape[1] == 257

    small = tiny_model(img_size=112, depth=4)
    load_backbone_state(path, small)
    assert small.pos_embed.shape == (1, 1 + 8 * 8, D)
    native = tiny_model(img_size=224, depth=4)
    load_backbone_state(path, native)
    x = images(112)
    # loading at 112 px == the 224 px model interpolating at run time
    torch.testing.assert_close(small(x), native(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("layout", ["model", "teacher", "student", "ddp"])
def test_own_checkpoint_layouts(layout):
    teacher_state, student_state = dinov2_hub_state(seed=1), dinov2_hub_state(seed=2)
    if layout == "model":  # a whole meta-architecture: prefer the teacher
        obj = {"model": {**{f"student.backbone.{k}": v for k, v in student_state.items()},
                         **{f"teacher.backbone.{k}": v for k, v in teacher_state.items()},
                         "teacher.dino_head.mlp.0.weight": torch.zeros(1)},
               "optimizer": {"state": {}}, "step": 10}
        expected = teacher_state
    elif layout == "teacher":
        obj = {"teacher": {f"backbone.{k}": v for k, v in teacher_state.items()}}
        expected = teacher_state
    elif layout == "student":
        obj = {"student": {f"backbone.{k}": v for k, v in student_state.items()}}
        expected = student_state
    else:
        obj = {"model": {f"module._orig_mod.{k}": v for k, v in student_state.items()}}
        expected = student_state
    extracted = extract_backbone_state(obj)
    assert set(extracted) == set(expected)
    model = tiny_model()
    load_backbone_state(obj, model)
    assert torch.equal(model.blocks[1].attn.qkv.weight, expected["blocks.1.attn.qkv.weight"])


def test_wrong_architecture_names_keys_and_shapes(tmp_path):
    state = dinov2_hub_state(d=384, depth=3, registers=4)
    path = tmp_path / "vits.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as info:
        load_backbone_state(path, tiny_model())
    err, text = info.value, str(info.value)
    assert "register_tokens" in err.unexpected and "blocks.2.attn.qkv.weight" in err.unexpected
    assert ("patch_embed.proj.weight", (192, 3, 14, 14), (384, 3, 14, 14)) in err.mismatched
    assert "patch_embed.proj.weight: model expects [192, 3, 14, 14], checkpoint has [384, 3, 14, 14]" in text
    assert "blocks.2.attn.qkv.weight" in text and "vit_small" in text


def test_missing_keys_are_named_unless_explicitly_ignored():
    state = dinov2_hub_state()
    del state["mask_token"], state["blocks.1.ls2.gamma"]
    with pytest.raises(CheckpointError) as info:
        load_backbone_state(state, tiny_model())
    assert info.value.missing == ["blocks.1.ls2.gamma", "mask_token"]
    del state  # the ignore list is explicit, never silent
    state = dinov2_hub_state()
    del state["mask_token"]
    report = load_backbone_state(state, tiny_model(), ignore_missing=("mask_token",))
    assert report["ignored_missing"] == ["mask_token"]


def test_pickled_objects_are_refused_by_weights_only(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model": dinov2_hub_state(), "args": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(CheckpointError, match="weights_only") as info:
        load_backbone_state(path, tiny_model())
    assert "Unpickling" in type(info.value.__cause__).__name__


def test_not_a_backbone_is_a_clear_error():
    with pytest.raises(CheckpointError, match="no ViT backbone"):
        load_backbone_state({"teacher": {"dino_head.mlp.0.weight": torch.zeros(1)}}, tiny_model())


def test_detect_architecture_of_giant_register_file_and_build_from_state():
    # real ViT-g/14-reg shapes, but only block 0 and the last block (no compute, ~200 MB)
    giant = dinov2_hub_state(d=1536, depth=1, grid=37, registers=4, ffn="swiglu", fill=False)
    giant["blocks.39.norm1.weight"] = torch.empty(1536)
    arch = detect_architecture(giant)
    assert arch == {"name": "vit_giant", "embed_dim": 1536, "depth": 40, "num_heads": 24,
                    "patch_size": 14, "img_size": 518, "num_register_tokens": 4,
                    "ffn": "swiglu", "mlp_ratio": 4.0, "layerscale": True}
    state = dinov2_hub_state(grid=16)
    model = build_vit_from_state({"teacher": {f"backbone.{k}": v for k, v in state.items()}},
                                 img_size=56)
    assert (model.embed_dim, model.n_blocks, model.num_heads, model.pos_embed.shape[1]) == (D, 2, 3, 17)
    load_backbone_state(state, model)


def test_save_atomic_replaces_whole_files_and_leaves_no_temp(tmp_path):
    path = tmp_path / "run" / "checkpoint.pth"
    save_atomic({"step": 1, "w": torch.ones(3)}, path)
    save_atomic({"step": 2, "w": torch.zeros(3)}, path)
    assert torch.load(path, weights_only=True)["step"] == 2
    with pytest.raises((pickle.PicklingError, AttributeError)):
        save_atomic({"step": 3, "bad": lambda: None}, path)  # unpicklable: save fails midway
    assert torch.load(path, weights_only=True)["step"] == 2  # old file intact
    assert os.listdir(path.parent) == ["checkpoint.pth"]
