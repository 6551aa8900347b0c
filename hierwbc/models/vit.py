"""The DINOv2 vision transformer with upstream parameter names, in sizes tiny to giant.

Semantics follow facebookresearch/dinov2 ``dinov2/models/vision_transformer.py``
(``DinoVisionTransformer``: ``prepare_tokens_with_masks``, ``interpolate_pos_encoding``,
``forward_features``), the code is our own. Top-level parameters: ``cls_token`` [1, 1, D],
``pos_embed`` [1, 1 + (img_size/p)^2, D], ``register_tokens`` [1, R, D] (only when
R > 0), ``mask_token`` [1, D], ``patch_embed.proj.*``, ``blocks.{i}.*`` (flat: no block
chunks) and ``norm.*``.

Token layout inside the model: ``[cls, registers (R), patches (N)]``; registers get no
position embedding, as upstream.

>>> model = build_vit("vit_tiny", img_size=56)
>>> out = model.forward_features(torch.randn(2, 3, 56, 56))
>>> out["x_norm_patchtokens"].shape
torch.Size([2, 16, 192])
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.init import trunc_normal_

from hierwbc.models.layers import Block, PatchEmbed, interpolate_pos_embed

#: Standard sizes (embed_dim, depth, num_heads, ffn_layer); mlp_ratio is 4 for all.
VIT_SIZES: dict[str, dict[str, Any]] = {
    "vit_tiny": {"embed_dim": 192, "depth": 12, "num_heads": 3, "ffn_layer": "mlp"},
    "vit_small": {"embed_dim": 384, "depth": 12, "num_heads": 6, "ffn_layer": "mlp"},
    "vit_base": {"embed_dim": 768, "depth": 12, "num_heads": 12, "ffn_layer": "mlp"},
    "vit_large": {"embed_dim": 1024, "depth": 24, "num_heads": 16, "ffn_layer": "mlp"},
    "vit_giant": {"embed_dim": 1536, "depth": 40, "num_heads": 24, "ffn_layer": "swiglu"},
}
_ALIASES = {"vit_giant2": "vit_giant"}


class DinoVisionTransformer(nn.Module):
    """DINOv2 ViT backbone.

    Args:
        img_size: the size the stored ``pos_embed`` is laid out for; any other input
            size (multiple of ``patch_size``) is served by bicubic interpolation.
        patch_size: patch side in pixels (14 for DINOv2 / DinoBloom).
        embed_dim, depth, num_heads, mlp_ratio: transformer size.
        drop_path_rate: stochastic depth of the last block (linear ramp from 0 unless
            ``drop_path_uniform``).
        init_values: LayerScale init (None/0: no LayerScale, hence no ``ls*.gamma``).
        ffn_layer: ``"mlp"`` or ``"swiglu"`` (giant).
        num_register_tokens: R extra learned tokens after the cls token (0: none).
        interpolate_offset, interpolate_antialias: pos-embed resampling options of dinov2
            (0.1 / False for the original models, 0.0 / True for the register models).
    """

    def __init__(self, img_size: int = 224, patch_size: int = 14, in_chans: int = 3,
                 embed_dim: int = 768, depth: int = 12, num_heads: int = 12,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, proj_bias: bool = True,
                 ffn_bias: bool = True, drop_path_rate: float = 0.0,
                 drop_path_uniform: bool = False, init_values: float | None = 1e-5,
                 ffn_layer: str = "mlp", num_register_tokens: int = 0,
                 interpolate_offset: float = 0.1, interpolate_antialias: bool = False) -> None:
        super().__init__()
        self.num_features = self.embed_dim = embed_dim
        self.n_blocks = depth
        self.num_heads = num_heads
        self.patch_size = patch_size
        self.num_register_tokens = num_register_tokens
        self.interpolate_offset = interpolate_offset
        self.interpolate_antialias = interpolate_antialias

        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + 1, embed_dim))
        self.register_tokens = (
            nn.Parameter(torch.zeros(1, num_register_tokens, embed_dim))
            if num_register_tokens else None
        )
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dim))
        rates = ([drop_path_rate] * depth if drop_path_uniform or depth == 1
                 else [drop_path_rate * i / (depth - 1) for i in range(depth)])
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias=qkv_bias, proj_bias=proj_bias,
                  ffn_bias=ffn_bias, drop_path=rates[i], init_values=init_values,
                  ffn_layer=ffn_layer)
            for i in range(depth)
        )
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.init_weights()

    def init_weights(self) -> None:
        """dinov2 init: truncated normal (0.02) for pos_embed and Linear weights, zero biases."""
        trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        if self.register_tokens is not None:
            nn.init.normal_(self.register_tokens, std=1e-6)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def interpolate_pos_encoding(self, height: int, width: int) -> Tensor:
        """``pos_embed`` resampled for an input of ``height x width`` pixels: [1, 1 + N, D]."""
        grid = (height // self.patch_size, width // self.patch_size)
        return interpolate_pos_embed(self.pos_embed, grid, self.interpolate_offset,
                                     self.interpolate_antialias)

    def prepare_tokens_with_masks(self, x: Tensor, masks: Tensor | None = None) -> Tensor:
        """Images [B, C, H, W] (+ ``masks`` [B, N] bool) -> tokens [B, 1 + R + N, D].

        Masked patch embeddings are replaced by ``mask_token`` before the position
        embedding is added (as dinov2), so a masked token still knows where it is.
        """
        height, width = x.shape[-2:]
        tokens = self.patch_embed(x)  # [B, N, D]
        if masks is not None:
            if masks.shape != tokens.shape[:2]:
                raise ValueError(f"masks {tuple(masks.shape)} != [B, N] = {tuple(tokens.shape[:2])}")
            tokens = torch.where(masks.unsqueeze(-1), self.mask_token.to(tokens.dtype), tokens)
        # under autocast the conv output is low precision; cat/add promote the residual
        # stream back to the parameters' dtype, as upstream
        tokens = torch.cat((self.cls_token.expand(tokens.shape[0], -1, -1), tokens), dim=1)
        tokens = tokens + self.interpolate_pos_encoding(height, width)
        if self.register_tokens is not None:
            registers = self.register_tokens.expand(tokens.shape[0], -1, -1)
            tokens = torch.cat((tokens[:, :1], registers, tokens[:, 1:]), dim=1)
        return tokens

    def forward_features(self, x: Tensor, masks: Tensor | None = None) -> dict[str, Tensor | None]:
        """Run the backbone on images [B, C, H, W] (optionally iBOT ``masks`` [B, N] bool).

        Returns a dict as dinov2:
            ``x_norm_clstoken`` [B, D], ``x_norm_regtokens`` [B, R, D],
            ``x_norm_patchtokens`` [B, N, D], ``x_prenorm`` [B, 1 + R + N, D] (before the
            final norm) and ``masks`` (the input masks or None).
        """
        tokens = self.prepare_tokens_with_masks(x, masks)
        for block in self.blocks:
            tokens = block(tokens)
        normed = self.norm(tokens)
        first_patch = 1 + self.num_register_tokens
        return {
            "x_norm_clstoken": normed[:, 0],
            "x_norm_regtokens": normed[:, 1:first_patch],
            "x_norm_patchtokens": normed[:, first_patch:],
            "x_prenorm": tokens,
            "masks": masks,
        }

    def get_intermediate_layers(self, x: Tensor, n: int = 1,
                                norm: bool = True) -> list[tuple[Tensor, Tensor]]:
        """Outputs of the last ``n`` blocks as ``(patch_tokens [B, N, D], cls_token [B, D])``."""
        tokens = self.prepare_tokens_with_masks(x)
        outputs = []
        for index, block in enumerate(self.blocks):
            tokens = block(tokens)
            if index >= len(self.blocks) - n:
                outputs.append(self.norm(tokens) if norm else tokens)
        first_patch = 1 + self.num_register_tokens
        return [(out[:, first_patch:], out[:, 0]) for out in outputs]

    def forward(self, x: Tensor) -> Tensor:
        """Images [B, C, H, W] -> normed cls token [B, D] (the embedding)."""
        return self.forward_features(x)["x_norm_clstoken"]


def vit_size(name: str) -> dict[str, Any]:
    """The size entry of ``name`` (``vit_tiny`` ... ``vit_giant``; ``vit_giant2`` alias)."""
    key = _ALIASES.get(name, name)
    if key not in VIT_SIZES:
        raise ValueError(f"unknown ViT size {name!r}; choose from {sorted(VIT_SIZES)}")
    return dict(VIT_SIZES[key])


def build_vit(name: str, **kwargs: Any) -> DinoVisionTransformer:
    """Build a standard-size DINOv2 ViT; ``kwargs`` override any constructor argument.

    >>> build_vit("vit_small", patch_size=14, img_size=224, num_register_tokens=4)  # doctest: +SKIP
    """
    config = vit_size(name)
    config.update(kwargs)
    return DinoVisionTransformer(**config)
