"""The plain supervised CNN a user would try first: the baseline every comparison carries.

Four blocks of ``conv3x3 -> max-pool 2 -> GroupNorm -> GELU`` (widths ``(32, 64, 128, 192)``
by default; pooling before the normalisation and activation does them on a quarter of the
pixels: 2.3x faster a training step on this CPU, channels-last included, measured with
batch 128 at 64 px on one thread: 0.84 s against 1.89 s), global average pooling to a ``[B, C_last]`` feature (the
"penultimate features" ``embed`` stores as ``X_cls``), then a linear
:class:`~hierwbc.models.supervised_heads.LeafLogitHead` over the tree's leaves, so node
probabilities, restriction to the trained leaves and the back-off work as for every classifier
of the package.

Each image is standardised by its own per-channel statistics before the first convolution::

    x'_c = (x_c - mean(x_c)) / sqrt(var(x_c) + eps)        over the pixels of image and channel c

so a per-channel gain and offset of the whole image (a colour cast, a brighter lamp, another
stain intensity, ImageNet normalisation or none) leaves the network's input, and its logits,
unchanged. GroupNorm, not BatchNorm: batch statistics learnt on one lab collapse under another
lab's (Tsutsui et al. 2023).

The interface is the ViT's where embedding needs it: ``embed_dim``, ``forward_features(x)``
returning ``{"x_norm_clstoken": [B, C], "x_norm_patchtokens": [B, h*w, C]}``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

ARCH = "cnn"
WIDTHS = (32, 64, 128, 192)
GROUPS = 8


def per_image_standardize(x: Tensor, eps: float = 1e-5) -> Tensor:
    """``[B, C, H, W]`` -> each image and channel at zero mean, unit variance (module docstring)."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mean) * torch.rsqrt(var + eps)


def _block(c_in: int, c_out: int) -> nn.Sequential:
    groups = GROUPS if c_out % GROUPS == 0 else 1
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2),
                         nn.GroupNorm(groups, c_out), nn.GELU())


class ConvNet(nn.Module):
    """Feature extractor ``[B, 3, H, W]`` (any per-channel scaling) -> ``[B, widths[-1]]``."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS, img_size: int = 64) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be positive channel counts, got {widths}")
        self.widths, self.img_size = widths, int(img_size)
        self.embed_dim = widths[-1]
        self.patch_size = 2 ** len(widths)  # one feature-map cell per patch_size x patch_size pixels
        self.blocks = nn.Sequential(*[_block(a, b) for a, b in zip((3, *widths[:-1]), widths)])
        self.blocks.to(memory_format=torch.channels_last)

    def feature_map(self, x: Tensor) -> Tensor:
        """``[B, 3, H, W]`` -> ``[B, C, H / 2^k, W / 2^k]``."""
        return self.blocks(per_image_standardize(x).contiguous(memory_format=torch.channels_last))

    def forward_features(self, x: Tensor) -> dict[str, Tensor]:
        fmap = self.feature_map(x)
        return {"x_norm_clstoken": fmap.mean(dim=(2, 3)), "x_norm_patchtokens": fmap.flatten(2).transpose(1, 2)}

    def forward(self, x: Tensor) -> Tensor:
        return self.feature_map(x).mean(dim=(2, 3))


def metadata(model: ConvNet) -> dict[str, str]:
    """What a weights file records to rebuild ``model`` (:func:`from_metadata`)."""
    return {"arch": ARCH, "widths": ",".join(map(str, model.widths)), "img_size": str(model.img_size),
            "embed_dim": str(model.embed_dim)}


def is_cnn(meta: dict[str, str]) -> bool:
    return meta.get("arch") == ARCH


def from_metadata(meta: dict[str, str], tensors: dict[str, Tensor] | None = None) -> ConvNet:
    """The :class:`ConvNet` a weights file's metadata describes, with its ``backbone.*`` tensors
    loaded (float32) when given."""
    model = ConvNet(tuple(int(w) for w in meta["widths"].split(",")), int(meta["img_size"]))
    if tensors is not None:
        state = {k[len("backbone."):]: v.float() for k, v in tensors.items() if k.startswith("backbone.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(f"CNN weights do not match widths {model.widths}: missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]}")
    return model.eval()


__all__ = ["ARCH", "WIDTHS", "ConvNet", "from_metadata", "is_cnn", "metadata", "per_image_standardize"]
