"""The DINOv2 ViT: attention, block, position embeddings, masks, registers, sizes, autocast."""
import math

import pytest
import torch
import torch.nn.functional as F

from hierwbc.models.layers import (
    Attention,
    Block,
    drop_path,
    interpolate_pos_embed,
    swiglu_hidden_features,
)
from hierwbc.models.vit import VIT_SIZES, build_vit


def tiny(**kw):
    """vit_tiny cut to 2 blocks: fast, same widths and names."""
    kw.setdefault("depth", 2)
    kw.setdefault("img_size", 56)
    torch.manual_seed(0)
    return build_vit("vit_tiny", **kw).eval()


def test_attention_equals_explicit_softmax_qkt_v():
    torch.manual_seed(0)
    attn = Attention(24, num_heads=3).eval()
    x = torch.randn(2, 7, 24)
    w, b = attn.qkv.weight, attn.qkv.bias
    q, k, v = (x @ w.t() + b).split(24, dim=-1)
    heads = []
    for h in range(3):  # naive per-head reference
        sl = slice(8 * h, 8 * (h + 1))
        scores = q[..., sl] @ k[..., sl].transpose(-1, -2) / math.sqrt(8)
        heads.append(torch.softmax(scores, dim=-1) @ v[..., sl])
    expected = torch.cat(heads, dim=-1) @ attn.proj.weight.t() + attn.proj.bias
    torch.testing.assert_close(attn(x), expected, atol=1e-5, rtol=1e-5)


def test_block_equals_manual_prenorm_residuals():
    torch.manual_seed(0)
    block = Block(24, 3, init_values=0.5).eval()
    torch.nn.init.normal_(block.ls1.gamma)
    torch.nn.init.normal_(block.ls2.gamma)
    x = torch.randn(2, 5, 24)
    h = x + block.ls1.gamma * block.attn(F.layer_norm(x, (24,), block.norm1.weight, block.norm1.bias, 1e-6))
    y = F.layer_norm(h, (24,), block.norm2.weight, block.norm2.bias, 1e-6)
    y = F.gelu(y @ block.mlp.fc1.weight.t() + block.mlp.fc1.bias) @ block.mlp.fc2.weight.t() + block.mlp.fc2.bias
    torch.testing.assert_close(block(x), h + block.ls2.gamma * y, atol=1e-5, rtol=1e-5)


def test_swiglu_block_names_sizes_and_formula():
    assert swiglu_hidden_features(4 * 1536) == 4096  # ViT-g/14 hub: w12 [8192, 1536]
    block = Block(48, 4, ffn_layer="swiglu").eval()
    hidden = swiglu_hidden_features(4 * 48)
    assert block.mlp.w12.weight.shape == (2 * hidden, 48)
    assert block.mlp.w3.weight.shape == (48, hidden)
    x = torch.randn(3, 48)
    x1, x2 = (x @ block.mlp.w12.weight.t() + block.mlp.w12.bias).split(hidden, dim=-1)
    ref = (x1 * torch.sigmoid(x1) * x2) @ block.mlp.w3.weight.t() + block.mlp.w3.bias
    torch.testing.assert_close(block.mlp(x), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(VIT_SIZES))
def test_sizes_and_real_parameter_names(name):
    with torch.device("meta"):  # no memory, no compute: giant has 1.1 B parameters
        model = build_vit(name, patch_size=14, img_size=518)
    size = VIT_SIZES[name]
    d, depth = size["embed_dim"], size["depth"]
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["cls_token"] == (1, 1, d)
    assert shapes["pos_embed"] == (1, 1 + 37 * 37, d)
    assert shapes["mask_token"] == (1, d)
    assert shapes["patch_embed.proj.weight"] == (d, 3, 14, 14)
    assert shapes[f"blocks.{depth - 1}.attn.qkv.weight"] == (3 * d, d)
    assert shapes[f"blocks.{depth - 1}.ls2.gamma"] == (d,)
    assert model.num_heads == size["num_heads"]
    ffn = {"mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"} \
        if size["ffn_layer"] == "mlp" else {"mlp.w12.weight", "mlp.w12.bias", "mlp.w3.weight",
                                            "mlp.w3.bias"}
    expected_block = {"norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias",
                      "attn.proj.weight", "attn.proj.bias", "ls1.gamma", "norm2.weight",
                      "norm2.bias", "ls2.gamma"} | ffn
    assert {k.split(".", 2)[2] for k in shapes if k.startswith("blocks.0.")} == expected_block
    if name == "vit_giant":
        n_params = sum(math.prod(s) for s in shapes.values())
        assert 1.10e9 < n_params < 1.15e9  # ViT-g/14: 1.1 B


def test_pos_embed_identity_at_native_size_and_constant_field_stays_constant():
    pos = torch.randn(1, 1 + 16, 8)
    assert interpolate_pos_embed(pos, (4, 4)) is pos
    const = torch.ones(1, 1 + 16, 8) * torch.arange(8.0)
    for offset, antialias in ((0.1, False), (0.0, True)):
        out = interpolate_pos_embed(const, (7, 5), offset, antialias)
        assert out.shape == (1, 1 + 35, 8)
        torch.testing.assert_close(out, torch.ones(1, 36, 8) * torch.arange(8.0))


def test_pos_embed_interpolation_matches_dinov2_formula():
    torch.manual_seed(0)
    pos = torch.randn(1, 1 + 16 * 16, 6)
    grid = pos[:, 1:].reshape(1, 16, 16, 6).permute(0, 3, 1, 2)
    ref = F.interpolate(grid, scale_factor=(8.1 / 16, 8.1 / 16), mode="bicubic")
    ref = torch.cat((pos[:, :1], ref.permute(0, 2, 3, 1).reshape(1, 64, 6)), dim=1)
    torch.testing.assert_close(interpolate_pos_embed(pos, (8, 8), 0.1), ref)


def test_forward_features_keys_shapes_and_any_input_size():
    model = tiny(num_register_tokens=4)
    out = model.forward_features(torch.randn(2, 3, 84, 70))
    assert out["x_norm_clstoken"].shape == (2, 192)
    assert out["x_norm_regtokens"].shape == (2, 4, 192)
    assert out["x_norm_patchtokens"].shape == (2, 6 * 5, 192)
    assert out["x_prenorm"].shape == (2, 1 + 4 + 30, 192)
    assert out["masks"] is None
    torch.testing.assert_close(model(torch.zeros(1, 3, 56, 56)),
                               model.forward_features(torch.zeros(1, 3, 56, 56))["x_norm_clstoken"])
    with pytest.raises(ValueError, match="multiple of the patch size"):
        model(torch.zeros(1, 3, 50, 56))


def test_register_tokens_sit_after_cls_without_position_embedding():
    model = tiny(num_register_tokens=3)
    tokens = model.prepare_tokens_with_masks(torch.randn(2, 3, 56, 56))
    torch.testing.assert_close(tokens[:, 1:4], model.register_tokens.expand(2, -1, -1))
    torch.testing.assert_close(tokens[:, 0], (model.cls_token + model.pos_embed[:, :1])[0].expand(2, -1))


def test_masked_patches_become_mask_token_plus_position():
    model = tiny()
    torch.nn.init.normal_(model.mask_token)
    x = torch.randn(2, 3, 56, 56)
    masks = torch.zeros(2, 16, dtype=torch.bool)
    masks[0, [1, 5]] = True
    tokens = model.prepare_tokens_with_masks(x, masks)
    plain = model.prepare_tokens_with_masks(x)
    torch.testing.assert_close(tokens[0, 1 + 1], model.mask_token[0] + model.pos_embed[0, 1 + 1])
    keep = torch.cat((torch.tensor([True]), ~masks[0]))
    torch.testing.assert_close(tokens[0, keep], plain[0, keep])
    torch.testing.assert_close(tokens[1], plain[1])
    # fully masked images carry no information about their pixels
    everything = torch.ones(2, 16, dtype=torch.bool)
    out = model.forward_features(x, everything)["x_norm_clstoken"]
    torch.testing.assert_close(out[0], out[1])
    assert model.forward_features(x, everything)["masks"] is everything


def test_drop_path_is_per_sample_and_rescaled():
    torch.manual_seed(0)
    x = torch.ones(4000, 3, 2)
    out = drop_path(x, 0.25, training=True)
    per_sample = out[:, 0, 0]
    assert set(per_sample.unique().tolist()) <= {0.0, torch.tensor(1 / 0.75).item()}
    assert (out == per_sample.view(-1, 1, 1)).all()  # whole samples, not elements
    assert abs((per_sample == 0).float().mean().item() - 0.25) < 0.03
    assert drop_path(x, 0.25, training=False) is x


def test_block_stochastic_depth_on_subset_adds_scaled_residual_or_nothing():
    torch.manual_seed(0)
    block = Block(24, 3, drop_path=0.5, init_values=1.0).train()
    x = torch.randn(6, 5, 24)
    h_full = block.ls1(block.attn(block.norm1(x)))  # residual of every sample
    torch.manual_seed(1)
    kept = torch.randperm(6)[:3]
    torch.manual_seed(1)
    after_attn = x.clone()
    after_attn[kept] += 2.0 * h_full[kept]
    out = block(x)
    ffn = block.ls2(block.mlp(block.norm2(after_attn)))
    torch.manual_seed(1)
    torch.randperm(6)
    kept2 = torch.randperm(6)[:3]
    expected = after_attn.clone()
    expected[kept2] += 2.0 * ffn[kept2]
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_drop_path_rates_ramp_linearly():
    model = build_vit("vit_tiny", depth=4, img_size=28, drop_path_rate=0.3)
    assert [round(b.drop_path, 4) for b in model.blocks] == [0.0, 0.1, 0.2, 0.3]


def test_bf16_autocast_runs_and_is_close_to_float32():
    model = tiny()
    x = torch.randn(2, 3, 56, 56)
    ref = model.forward_features(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model.forward_features(x, torch.rand(2, 16) < 0.0)
    for key in ("x_norm_clstoken", "x_norm_patchtokens"):
        assert torch.isfinite(out[key]).all()
        torch.testing.assert_close(out[key].float(), ref[key], atol=0.1, rtol=0.05)


def test_backward_reaches_every_parameter_in_training():
    model = tiny(num_register_tokens=2, drop_path_rate=0.2).train()
    masks = torch.zeros(3, 16, dtype=torch.bool)
    masks[:, :3] = True
    out = model.forward_features(torch.randn(3, 3, 56, 56), masks)
    (out["x_norm_clstoken"].sum() + out["x_norm_patchtokens"].sum()
     + out["x_norm_regtokens"].sum()).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert no_grad == []


def test_intermediate_layers_last_equals_forward_features():
    model = tiny()
    x = torch.randn(1, 3, 56, 56)
    (patches, cls), = model.get_intermediate_layers(x, n=1)
    out = model.forward_features(x)
    torch.testing.assert_close(patches, out["x_norm_patchtokens"])
    torch.testing.assert_close(cls, out["x_norm_clstoken"])
    assert len(model.get_intermediate_layers(x, n=2)) == 2


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="unknown ViT size"):
        build_vit("vit_huge")
