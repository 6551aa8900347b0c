"""KoLeo regulariser: spread the batch's embeddings by maximising nearest-neighbour distances.

Kozachenko-Leonenko differential-entropy estimator (Sablayrolles et al. 2018, "Spreading
vectors for similarity search"). Semantics follow facebookresearch/dinov2
``dinov2/loss/koleo_loss.py`` (KoLeoLoss); the code is our own.

``loss = -mean_i log(||x_i - x_nn(i) + eps||_2 + eps)`` on L2-normalised rows, where
``nn(i)`` is the other row with the largest inner product (the nearest on the sphere).
dinov2 applies it per global crop to the student's backbone cls tokens and sums the
crops (the meta-architecture's job). Always computed in float32, outside autocast.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..deprecation import renamed_attributes


@torch.no_grad()
def nearest_neighbor_indices(x: Tensor) -> Tensor:
    """For L2-normalised rows ``x`` [B, D], the index of each row's nearest other row: [B]."""
    dots = x @ x.t()
    dots.fill_diagonal_(-2.0)  # below any cosine: a row is never its own neighbour
    return dots.argmax(dim=1)


def koleo_loss(x: Tensor, eps: float = 1e-8) -> Tensor:
    """KoLeo loss of ``x`` [B, D] (B >= 2) -> scalar; gradients flow through ``x``."""
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"KoLeo needs [B >= 2, D] input, got {tuple(x.shape)}")
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = F.normalize(x.float(), p=2, dim=-1, eps=eps)
        neighbors = nearest_neighbor_indices(x)
        distances = F.pairwise_distance(x, x[neighbors], p=2, eps=eps)  # [B]
        return -torch.log(distances + eps).mean()


class KoLeoLoss(nn.Module):
    """Module wrapper of :func:`koleo_loss`: ``forward(x [B, D]) -> scalar``."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, student_output: Tensor) -> Tensor:
        return koleo_loss(student_output, self.eps)

__getattr__ = renamed_attributes(__name__, {"nearest_neighbour_indices": "nearest_neighbor_indices"})
