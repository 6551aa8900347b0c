"""DINO / iBOT projection head: MLP -> bottleneck -> L2-normalise -> weight-normed prototypes.

Semantics follow facebookresearch/dinov2 ``dinov2/layers/dino_head.py`` (``DINOHead``,
``_build_mlp``), the code is our own. The iBOT head is simply a second ``DINOHead``
instance (the meta-architecture names them ``dino_head`` / ``ibot_head``).

Weight-norm flavour: the last layer is our own :class:`WeightNormLinear`, which stores
exactly the parameters of the *legacy* ``torch.nn.utils.weight_norm`` (``weight_g``
[K, 1], ``weight_v`` [K, bottleneck]), the layout of dinov2 and DinoBloom checkpoints
(``dino_head.last_layer.weight_g`` / ``.weight_v``). It avoids the deprecated legacy
hook (and its deepcopy/FSDP quirks); state dicts written by the newer
``torch.nn.utils.parametrizations.weight_norm`` (``last_layer.parametrizations.weight.
original0/1``) are renamed on load. With ``norm_last_layer=True`` (default, as DINO)
``weight_g`` is fixed to 1 (``requires_grad=False``), so each prototype is a unit
vector and the logits are cosine similarities in [-1, 1].
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.init import trunc_normal_

_PARAMETRIZATION_KEYS = {
    "parametrizations.weight.original0": "weight_g",
    "parametrizations.weight.original1": "weight_v",
}


class WeightNormLinear(nn.Module):
    """Bias-free linear layer with weight ``W = g * v / ||v||`` (row-wise norm, dim 0).

    ``x`` [..., in_features] -> [..., out_features]. Parameters ``weight_g`` [out, 1] and
    ``weight_v`` [out, in], named as the legacy ``torch.nn.utils.weight_norm``.
    """

    def __init__(self, in_features: int, out_features: int, fix_norm: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        init = nn.Linear(in_features, out_features, bias=False).weight.detach()
        self.weight_v = nn.Parameter(init.clone())
        self.weight_g = nn.Parameter(torch.ones(out_features, 1), requires_grad=not fix_norm)

    @property
    def weight(self) -> Tensor:
        """The effective weight [out, in]."""
        return self.weight_v * (self.weight_g / self.weight_v.norm(dim=1, keepdim=True))

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        for new_name, old_name in _PARAMETRIZATION_KEYS.items():
            if prefix + new_name in state_dict:
                state_dict[prefix + old_name] = state_dict.pop(prefix + new_name)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


def build_mlp(nlayers: int, in_dim: int, bottleneck_dim: int, hidden_dim: int = 2048,
              bias: bool = True) -> nn.Module:
    """``nlayers`` linear layers with GELU between them: [..., in_dim] -> [..., bottleneck_dim].

    Indices in the ``nn.Sequential`` (``mlp.0``, ``mlp.2``, ``mlp.4`` for 3 layers) match
    dinov2 without batch norm.
    """
    if nlayers == 1:
        return nn.Linear(in_dim, bottleneck_dim, bias=bias)
    layers: list[nn.Module] = [nn.Linear(in_dim, hidden_dim, bias=bias), nn.GELU()]
    for _ in range(nlayers - 2):
        layers += [nn.Linear(hidden_dim, hidden_dim, bias=bias), nn.GELU()]
    layers.append(nn.Linear(hidden_dim, bottleneck_dim, bias=bias))
    return nn.Sequential(*layers)


class DINOHead(nn.Module):
    """Projection head of DINO / iBOT: ``[..., in_dim] -> [..., out_dim]`` prototype logits.

    Args:
        in_dim: backbone embedding dim D.
        out_dim: number of prototypes K (65536 in dinov2; smaller for small runs).
        nlayers: MLP depth (3 as dinov2); hidden_dim: MLP width (2048);
        bottleneck_dim: width before the L2 normalisation (256).
        norm_last_layer: fix ``last_layer.weight_g`` to 1 (DINO default).
    """

    def __init__(self, in_dim: int, out_dim: int = 65536, nlayers: int = 3,
                 hidden_dim: int = 2048, bottleneck_dim: int = 256, mlp_bias: bool = True,
                 norm_last_layer: bool = True) -> None:
        super().__init__()
        self.mlp = build_mlp(max(nlayers, 1), in_dim, bottleneck_dim, hidden_dim, mlp_bias)
        for module in self.mlp.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        self.last_layer = WeightNormLinear(bottleneck_dim, out_dim, fix_norm=norm_last_layer)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` [..., in_dim] -> logits [..., out_dim] (cosines in [-1, 1] when g = 1)."""
        x = self.mlp(x)
        eps = 1e-6 if x.dtype == torch.float16 else 1e-12
        x = F.normalize(x, dim=-1, p=2, eps=eps)
        return self.last_layer(x)
