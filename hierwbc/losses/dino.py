"""DINO cls-token loss with teacher centring by EMA centre or Sinkhorn-Knopp.

Semantics follow facebookresearch/dinov2 ``dinov2/loss/dino_clstoken_loss.py`` (DINOLoss:
``softmax_center_teacher``, ``sinkhorn_knopp_teacher``, ``update_center``) and the
global-crops pairing of ``dinov2/train/ssl_meta_arch.py``; the code is our own.

Shapes: B images per crop, K prototypes. Global crops are stacked crop-major, as the
meta-architecture feeds them: rows ``[0, B)`` are crop 1, rows ``[B, 2B)`` crop 2.

Differences from upstream, all equal in one process:
* the EMA centre is updated synchronously (upstream defers the all-reduced update to
  the next call); the sequence of centres is the same, and the buffer is always
  current, so a checkpoint taken between steps resumes exactly;
* Sinkhorn-Knopp subtracts the (global) max logit before ``exp`` for overflow safety;
  the constant cancels in the first normalisation;
* the global-crops loss is the plain mean over both pairings
  ``(CE(s1, t2) + CE(s2, t1)) / 2``; dinov2 additionally scales it by
  ``2 / (2 + max(2 * n_local_crops, 1))`` (2/3 without local crops).

Distributed: every reduction all-reduces when ``torch.distributed`` is initialised and
is a no-op otherwise, so the same code runs in one process and under torchrun; with equal
per-rank batches N ranks reproduce one process on the concatenated batch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..distributed import all_reduce_max, all_reduce_sum, get_world_size


def _global_max(t: Tensor) -> Tensor:
    """Max of ``t`` over all ranks (a 0-d tensor; -inf when every rank is empty)."""
    local = t.max() if t.numel() else t.new_tensor(float("-inf"))
    return all_reduce_max(local.detach().clone())


@torch.no_grad()
def sinkhorn_knopp(teacher_logits: Tensor, teacher_temp: float, n_iterations: int = 3,
                   n_samples: Tensor | int | None = None) -> Tensor:
    """Sinkhorn-Knopp teacher targets: ``[B, K]`` logits -> ``[B, K]`` assignments.

    ``Q = exp(logits / temp)`` is alternately normalised so that each prototype gets
    total weight ``1/K`` (row sums, all-reduced over ranks) and each sample ``1/B_total``;
    finally multiplied by ``B_total`` so each returned row sums to 1. ``n_samples`` is
    ``B_total``, the number of samples over all ranks (default ``B * world_size``; iBOT
    passes the all-reduced count of masked patches). Computed in float32; a prototype
    whose exp underflows to 0 for every sample keeps weight 0 instead of NaN.
    """
    logits = teacher_logits.float()
    if n_samples is None:
        world = get_world_size()
        n_samples = logits.shape[0] * world
    shift = _global_max(logits)
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))  # no host sync
    q = torch.exp((logits - shift) / teacher_temp).t()  # [K, B]
    n_prototypes = q.shape[0]
    q = q / all_reduce_sum(q.sum())
    tiny = torch.finfo(q.dtype).tiny  # a prototype or sample whose mass underflowed stays 0
    for _ in range(n_iterations):
        q = q / all_reduce_sum(q.sum(dim=1, keepdim=True)).clamp(min=tiny) / n_prototypes
        q = q / q.sum(dim=0, keepdim=True).clamp(min=tiny) / n_samples
    return (q * n_samples).t()


@torch.no_grad()
def softmax_center(teacher_logits: Tensor, center: Tensor, teacher_temp: float) -> Tensor:
    """Centred, sharpened teacher targets ``softmax((logits - center) / temp)``: [..., K]."""
    return F.softmax((teacher_logits.float() - center) / teacher_temp, dim=-1)


@torch.no_grad()
def batch_center(teacher_logits: Tensor) -> Tensor:
    """Mean teacher logit over all rows on all ranks: ``[B, K] -> [1, K]`` (float32)."""
    logits = teacher_logits.float()
    total = all_reduce_sum(logits.sum(dim=0, keepdim=True))
    count = all_reduce_sum(torch.tensor(float(logits.shape[0]), device=logits.device))
    return total / count.clamp(min=1.0)


def soft_cross_entropy(student_logits: Tensor, teacher_probs: Tensor,
                       student_temp: float = 0.1) -> Tensor:
    """Per-row ``-sum_k t_k log softmax(s / T)_k``: [..., K] x [..., K] -> [...]."""
    log_p = F.log_softmax(student_logits.float() / student_temp, dim=-1)
    return -(teacher_probs * log_p).sum(dim=-1)


def swap_crops(teacher_probs: Tensor) -> Tensor:
    """Rows ``[t1; t2]`` -> ``[t2; t1]`` ([2B, K]), so student crop 1 meets teacher crop 2."""
    first, second = teacher_probs.chunk(2)
    return torch.cat((second, first))


def dino_global_crops_loss(student_logits: Tensor, teacher_probs: Tensor,
                           student_temp: float = 0.1) -> Tensor:
    """DINO loss between two global crops, each student crop matched to the *other* teacher crop.

    ``student_logits`` [2B, K] and ``teacher_probs`` [2B, K] in crop order ``[crop1; crop2]``
    -> scalar ``(mean CE(s1, t2) + mean CE(s2, t1)) / 2``.
    """
    if student_logits.shape != teacher_probs.shape or student_logits.shape[0] % 2:
        raise ValueError(f"expected equal [2B, K] shapes, got {tuple(student_logits.shape)} "
                         f"and {tuple(teacher_probs.shape)}")
    return soft_cross_entropy(student_logits, swap_crops(teacher_probs), student_temp).mean()


def dino_multicrop_loss(student_logits: Tensor, teacher_probs: Tensor, local_logits: Tensor | None = None,
                        student_temp: float = 0.1) -> Tensor:
    """DINO loss over every (student crop, other teacher global crop) pair, as dinov2's
    ``SSLMetaArch`` with local crops.

    ``student_logits`` [2B, K] and ``teacher_probs`` [2B, K] (global crops, crop order);
    ``local_logits`` [L B, K] (L local crops, crop-major) or None. With ``P = 2 + 2 L`` pairs::

        L_DINO = (sum_{g != g'} CE(s_g, t_g') + sum_{l, g} CE(s_l, t_g)) / P

    each CE a mean over the B images; without local crops this is
    :func:`dino_global_crops_loss`. (dinov2 divides both parts by the same count: its
    ``loss_scales`` 2 on the global mean and ``1 / (n_global_terms + n_local_terms)``.)
    """
    global_mean = dino_global_crops_loss(student_logits, teacher_probs, student_temp)
    if local_logits is None or local_logits.shape[0] == 0:
        return global_mean
    n_img = teacher_probs.shape[0] // 2
    if local_logits.shape[0] % n_img or local_logits.shape[1] != teacher_probs.shape[1]:
        raise ValueError(f"local logits {tuple(local_logits.shape)} are not [L B, K] for B = {n_img}, "
                         f"K = {teacher_probs.shape[1]}")
    n_local = local_logits.shape[0] // n_img
    log_p = F.log_softmax(local_logits.float() / student_temp, dim=-1).unflatten(0, (n_local, n_img))
    t = teacher_probs.unflatten(0, (2, n_img))  # [2, B, K]
    # sum over local crops l and teacher crops g of mean_b CE = -(sum_l log_p) . (sum_g t) / B
    local_sum = -(log_p.sum(0) * t.sum(0)).sum() / n_img
    return (2 * global_mean + local_sum) / (2 + 2 * n_local)


class DINOLoss(nn.Module):
    """DINO cls-token loss with its centring state (buffer ``center`` [1, K]).

    Typical step (teacher_logits = teacher head on both global crops, [2B, K])::

        t = loss.teacher_probs(teacher_logits, teacher_temp, centering="sinkhorn_knopp")
        value = loss(student_logits, t)
    """

    def __init__(self, out_dim: int, student_temp: float = 0.1, center_momentum: float = 0.9) -> None:
        super().__init__()
        self.student_temp = student_temp
        self.center_momentum = center_momentum
        self.register_buffer("center", torch.zeros(1, out_dim))

    @torch.no_grad()
    def softmax_center_teacher(self, teacher_logits: Tensor, teacher_temp: float) -> Tensor:
        """``softmax((t - center) / temp)`` with the current centre: [N, K] -> [N, K]."""
        return softmax_center(teacher_logits, self.center, teacher_temp)

    @torch.no_grad()
    def update_center(self, teacher_logits: Tensor) -> None:
        """``center <- m * center + (1 - m) * mean(teacher_logits)`` (mean over all ranks)."""
        new = batch_center(teacher_logits).to(self.center.device)
        self.center.mul_(self.center_momentum).add_(new, alpha=1 - self.center_momentum)

    @torch.no_grad()
    def sinkhorn_knopp_teacher(self, teacher_logits: Tensor, teacher_temp: float,
                               n_iterations: int = 3) -> Tensor:
        """Sinkhorn-Knopp targets over the whole (all-rank) batch: [N, K] -> [N, K]."""
        return sinkhorn_knopp(teacher_logits, teacher_temp, n_iterations)

    @torch.no_grad()
    def teacher_probs(self, teacher_logits: Tensor, teacher_temp: float,
                      centering: str = "sinkhorn_knopp") -> Tensor:
        """Targets by ``"sinkhorn_knopp"`` or ``"centering"`` (which then updates the centre)."""
        if centering == "sinkhorn_knopp":
            return self.sinkhorn_knopp_teacher(teacher_logits, teacher_temp)
        if centering == "centering":
            probs = self.softmax_center_teacher(teacher_logits, teacher_temp)
            self.update_center(teacher_logits)
            return probs
        raise ValueError(f"unknown centering {centering!r} (sinkhorn_knopp or centering)")

    def forward(self, student_logits: Tensor, teacher_probs: Tensor,
                local_logits: Tensor | None = None) -> Tensor:
        """Cross-view loss, see :func:`dino_multicrop_loss`: [2B, K] x [2B, K] (x [L B, K]) -> scalar."""
        return dino_multicrop_loss(student_logits, teacher_probs, local_logits, self.student_temp)
