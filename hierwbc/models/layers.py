"""Building blocks of the DINOv2 vision transformer, with the upstream parameter names.

Semantics follow facebookresearch/dinov2 ``dinov2/layers/{patch_embed,attention,mlp,
swiglu_ffn,layer_scale,drop_path,block}.py`` and ``interpolate_pos_encoding`` of
``dinov2/models/vision_transformer.py``; the code is our own. Parameter names are exactly
upstream's so that hub and DinoBloom checkpoints load without renaming:
``patch_embed.proj``, ``attn.qkv``, ``attn.proj``, ``ls{1,2}.gamma``, ``mlp.fc{1,2}``
(``mlp.w12``, ``mlp.w3`` for SwiGLU), ``norm{1,2}``.

Shapes: B batch, N tokens, D embedding dim, H heads, h = D / H head dim.
Nothing here names a device or dtype: modules follow their parameters and the input.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def interpolate_pos_embed(
    pos_embed: Tensor,
    grid_hw: tuple[int, int],
    offset: float = 0.1,
    antialias: bool = False,
) -> Tensor:
    """Resample the patch part of a ``[1, 1 + M*M, D]`` position embedding to ``grid_hw``.

    The class-token embedding (index 0) is kept; the ``M x M`` patch grid is resampled
    bicubically to ``[1, 1 + gh*gw, D]``. ``offset`` reproduces dinov2's historical
    ``scale_factor = (g + offset) / M`` kludge (0.1 for the original models, 0.0 and
    ``antialias=True`` for the register models, which then pass an output size instead).
    At the native grid the input is returned unchanged (identity). Computed in float32,
    returned in the input dtype.
    """
    gh, gw = int(grid_hw[0]), int(grid_hw[1])
    n_grid = pos_embed.shape[1] - 1
    side = math.isqrt(n_grid)
    if side * side != n_grid:
        raise ValueError(f"pos_embed has {n_grid} patch positions, not a square grid")
    if (gh, gw) == (side, side):
        return pos_embed
    dim = pos_embed.shape[-1]
    cls_pos, patch_pos = pos_embed[:, :1].float(), pos_embed[:, 1:].float()
    grid = patch_pos.reshape(1, side, side, dim).permute(0, 3, 1, 2)
    if offset:
        size_kw = {"scale_factor": ((gh + offset) / side, (gw + offset) / side)}
    else:
        size_kw = {"size": (gh, gw)}
    grid = F.interpolate(grid, mode="bicubic", antialias=antialias, **size_kw)
    if grid.shape[-2:] != (gh, gw):
        raise RuntimeError(f"interpolated grid {tuple(grid.shape[-2:])} != {(gh, gw)}")
    patch_pos = grid.permute(0, 2, 3, 1).reshape(1, gh * gw, dim)
    return torch.cat((cls_pos, patch_pos), dim=1).to(pos_embed.dtype)


class PatchEmbed(nn.Module):
    """Image to patch tokens: ``[B, C, H, W] -> [B, (H/p)*(W/p), D]`` by a strided conv ``proj``."""

    def __init__(self, img_size: int = 224, patch_size: int = 14, in_chans: int = 3,
                 embed_dim: int = 768) -> None:
        super().__init__()
        self.img_size = (img_size, img_size)
        self.patch_size = (patch_size, patch_size)
        self.grid_size = (img_size // patch_size, img_size // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` [B, C, H, W] with H, W multiples of the patch size -> [B, N, D]."""
        height, width = x.shape[-2:]
        p = self.patch_size[0]
        if height % p or width % p:
            raise ValueError(f"input {height}x{width} is not a multiple of the patch size {p}")
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention with one fused ``qkv`` linear and ``F.scaled_dot_product_attention``."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True,
                 proj_bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` [B, N, D] -> [B, N, D]; softmax(q k^T / sqrt(h)) v per head."""
        batch, n_tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, n_tokens, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [B, H, N, h]
        out = F.scaled_dot_product_attention(q, k, v)  # [B, H, N, h]
        return self.proj(out.transpose(1, 2).reshape(batch, n_tokens, dim))


class Mlp(nn.Module):
    """Two-layer GELU MLP ``fc1 -> GELU -> fc2``: [..., D] -> [..., D]."""

    def __init__(self, in_features: int, hidden_features: int, bias: bool = True) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features, bias=bias)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


def swiglu_hidden_features(hidden_features: int) -> int:
    """Hidden width of dinov2 ``SwiGLUFFNFused``: 2/3 of the MLP width, rounded up to a multiple of 8."""
    return (int(hidden_features * 2 / 3) + 7) // 8 * 8


class SwiGLUFFN(nn.Module):
    """SwiGLU FFN as dinov2 ``SwiGLUFFNFused`` (ViT-giant): ``w3(silu(x1) * x2)``, ``x1, x2 = w12(x)``.

    ``hidden_features`` is the nominal MLP width (4 D); the real width is
    ``swiglu_hidden_features(hidden_features)`` (4096 for giant), so ``w12`` is
    [2 * 4096, 1536] and ``w3`` [1536, 4096] as in the hub checkpoint.
    """

    def __init__(self, in_features: int, hidden_features: int, bias: bool = True) -> None:
        super().__init__()
        hidden = swiglu_hidden_features(hidden_features)
        self.w12 = nn.Linear(in_features, 2 * hidden, bias=bias)
        self.w3 = nn.Linear(hidden, in_features, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(x1) * x2)


class LayerScale(nn.Module):
    """Per-channel residual scale ``x * gamma`` (CaiT); ``gamma`` [D] starts at ``init_values``."""

    def __init__(self, dim: int, init_values: float = 1e-5) -> None:
        super().__init__()
        self.init_values = init_values
        self.gamma = nn.Parameter(torch.full((dim,), float(init_values)))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gamma


def drop_path(x: Tensor, drop_prob: float, training: bool) -> Tensor:
    """Stochastic depth per sample: zero whole samples of ``x`` [B, ...] with prob ``drop_prob``.

    Kept samples are scaled by ``1 / (1 - drop_prob)``; one Bernoulli draw per sample,
    batched (no loop). Identity when not training or ``drop_prob == 0``.
    """
    if drop_prob <= 0.0 or not training:
        return x
    keep = 1.0 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    mask = x.new_empty(shape).bernoulli_(keep)
    return x * mask.div_(keep)


def add_residual_on_subset(x: Tensor, residual_fn: Callable[[Tensor], Tensor],
                           drop_ratio: float) -> Tensor:
    """dinov2's ``drop_add_residual_stochastic_depth``: run the branch on a random subset only.

    Keeps ``max(int(B * (1 - drop_ratio)), 1)`` samples (a random permutation), computes
    the residual for them alone (saving compute) and adds it scaled by ``B / kept``:
    ``x`` [B, N, D] -> [B, N, D].
    """
    batch = x.shape[0]
    n_keep = max(int(batch * (1.0 - drop_ratio)), 1)
    kept = torch.randperm(batch, device=x.device)[:n_keep]
    residual = residual_fn(x[kept])
    out = torch.index_add(x.flatten(1), 0, kept, residual.flatten(1).to(x.dtype),
                          alpha=batch / n_keep)
    return out.view_as(x)


class Block(nn.Module):
    """Pre-norm transformer block: ``x + ls1(attn(norm1(x)))`` then ``x + ls2(mlp(norm2(x)))``.

    ``init_values`` None/0 drops LayerScale (no ``ls*.gamma``), as dinov2. Training with
    ``drop_path > 0.1`` uses the subset trick of dinov2 (fewer FLOPs), smaller rates the
    per-sample Bernoulli mask.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 proj_bias: bool = True, ffn_bias: bool = True, drop_path: float = 0.0,
                 init_values: float | None = 1e-5, ffn_layer: str = "mlp") -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias, proj_bias=proj_bias)
        self.ls1 = LayerScale(dim, init_values) if init_values else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        if ffn_layer == "mlp":
            self.mlp = Mlp(dim, hidden, bias=ffn_bias)
        elif ffn_layer in ("swiglu", "swiglufused"):
            self.mlp = SwiGLUFFN(dim, hidden, bias=ffn_bias)
        else:
            raise ValueError(f"unknown ffn_layer {ffn_layer!r} (use 'mlp' or 'swiglu')")
        self.ls2 = LayerScale(dim, init_values) if init_values else nn.Identity()
        self.drop_path = float(drop_path)

    def _attn_branch(self, x: Tensor) -> Tensor:
        return self.ls1(self.attn(self.norm1(x)))

    def _ffn_branch(self, x: Tensor) -> Tensor:
        return self.ls2(self.mlp(self.norm2(x)))

    def forward(self, x: Tensor) -> Tensor:
        """``x`` [B, N, D] -> [B, N, D]."""
        if self.training and self.drop_path > 0.1:
            x = add_residual_on_subset(x, self._attn_branch, self.drop_path)
            return add_residual_on_subset(x, self._ffn_branch, self.drop_path)
        x = x + drop_path(self._attn_branch(x), self.drop_path, self.training)
        return x + drop_path(self._ffn_branch(x), self.drop_path, self.training)
