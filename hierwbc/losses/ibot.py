"""iBOT masked-patch loss: the student predicts, at masked positions, the teacher's patch targets.

Semantics follow facebookresearch/dinov2 ``dinov2/loss/ibot_patch_loss.py`` (iBOTPatchLoss:
``forward``, ``forward_masked``, ``softmax_center_teacher``, ``sinkhorn_knopp_teacher``,
``update_center``); the code is our own. Sinkhorn-Knopp and the reductions come from
:mod:`hierwbc.losses.dino` (one home for them).

Shapes: B images (both global crops stacked), N patches per image, M masked patches in
the batch (``masks.sum()``), K prototypes. ``masks`` [B, N] bool come from
:func:`hierwbc.train.masking.collate_masks`; masked rows are taken in
``masks.flatten().nonzero()`` order (``mask_indices_list``).

Normalisation as dinov2: each masked patch is weighted by ``1 / n_masked(its image)`` and
the sum is divided by B, so every image counts equally and images without masks count
as 0. Differences from upstream: the all-reduce of ``n_masked_patches`` is skipped when no
process group exists (upstream calls it unconditionally) and works on a copy (upstream
modifies the caller's tensor); the EMA centre is the mean over all masked patches of all
ranks, updated synchronously (upstream averages per-rank means, deferred one step).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from hierwbc.distributed import all_reduce_sum
from hierwbc.losses.dino import sinkhorn_knopp, soft_cross_entropy, softmax_center


def masks_weight_from_masks(masks: Tensor) -> Tensor:
    """Weight ``1 / n_masked(image)`` of every masked patch: ``[B, N] bool -> [M]``."""
    per_image = 1.0 / masks.sum(dim=-1).clamp(min=1).float()
    return per_image.unsqueeze(-1).expand_as(masks)[masks]


def ibot_masked_loss(student_masked_logits: Tensor, teacher_masked_probs: Tensor, masks: Tensor,
                     student_temp: float = 0.1, masks_weight: Tensor | None = None,
                     n_masked_patches: int | None = None) -> Tensor:
    """iBOT loss on the masked patches only.

    ``student_masked_logits`` [M', K] and ``teacher_masked_probs`` [M', K] (M' >= M rows,
    possibly a padded buffer; only the first ``n_masked_patches`` rows are used),
    ``masks`` [B, N] bool, ``masks_weight`` [M] (default from ``masks``) -> scalar
    ``sum_i w_i CE_i / B``.
    """
    loss = soft_cross_entropy(student_masked_logits, teacher_masked_probs, student_temp)
    if n_masked_patches is not None:
        loss = loss[:n_masked_patches]
    if masks_weight is None:
        masks_weight = masks_weight_from_masks(masks)
    return (loss * masks_weight.to(loss.dtype)).sum() / masks.shape[0]


def ibot_dense_loss(student_patch_logits: Tensor, teacher_patch_probs: Tensor, masks: Tensor,
                    student_temp: float = 0.1) -> Tensor:
    """The same loss on full token grids: [B, N, K] x [B, N, K] x [B, N] bool -> scalar.

    Per image the mean CE over its masked patches, then the mean over images (dinov2
    ``iBOTPatchLoss.forward``).
    """
    loss = soft_cross_entropy(student_patch_logits, teacher_patch_probs, student_temp)  # [B, N]
    mask = masks.to(loss.dtype)
    per_image = (loss * mask).sum(dim=-1) / mask.sum(dim=-1).clamp(min=1.0)
    return per_image.mean()


class iBOTPatchLoss(nn.Module):
    """iBOT patch loss with its centring state (buffer ``center`` [1, K])."""

    def __init__(self, patch_out_dim: int, student_temp: float = 0.1,
                 center_momentum: float = 0.9) -> None:
        super().__init__()
        self.student_temp = student_temp
        self.center_momentum = center_momentum
        self.register_buffer("center", torch.zeros(1, patch_out_dim))

    @torch.no_grad()
    def softmax_center_teacher(self, teacher_logits: Tensor, teacher_temp: float) -> Tensor:
        """``softmax((t - center) / temp)``: [..., K] -> [..., K]."""
        return softmax_center(teacher_logits, self.center, teacher_temp)

    @torch.no_grad()
    def update_center(self, masked_teacher_logits: Tensor) -> None:
        """EMA update with the mean of ``masked_teacher_logits`` [M, K] over all ranks.

        Skipped when no patch is masked anywhere (the mean would be undefined).
        """
        logits = masked_teacher_logits.reshape(-1, masked_teacher_logits.shape[-1]).float()
        total = all_reduce_sum(logits.sum(dim=0, keepdim=True)).to(self.center.device)
        count = all_reduce_sum(torch.tensor(float(logits.shape[0]), device=logits.device))
        count = count.to(self.center.device)
        updated = self.center * self.center_momentum \
            + total / count.clamp(min=1.0) * (1 - self.center_momentum)
        self.center.copy_(torch.where(count > 0, updated, self.center))  # no host sync

    @torch.no_grad()
    def sinkhorn_knopp_teacher(self, masked_teacher_logits: Tensor, teacher_temp: float,
                               n_masked_patches_tensor: Tensor | int | None = None,
                               n_iterations: int = 3) -> Tensor:
        """Sinkhorn-Knopp targets for the masked patches: [M, K] -> [M, K].

        ``n_masked_patches_tensor`` is this rank's count (default: M); it is summed over
        ranks (on a copy) to give the total number of samples.
        """
        if n_masked_patches_tensor is None:
            n_masked_patches_tensor = masked_teacher_logits.shape[0]
        total = torch.as_tensor(n_masked_patches_tensor, device=masked_teacher_logits.device)
        total = all_reduce_sum(total.clone().reshape(-1)[:1].float())
        return sinkhorn_knopp(masked_teacher_logits, teacher_temp, n_iterations, n_samples=total)

    def forward_masked(self, student_masked_logits: Tensor, teacher_masked_probs: Tensor,
                       student_masks_flat: Tensor, n_masked_patches: int | None = None,
                       masks_weight: Tensor | None = None) -> Tensor:
        """See :func:`ibot_masked_loss` ([M, K], [M, K], masks [B, N] -> scalar)."""
        return ibot_masked_loss(student_masked_logits, teacher_masked_probs, student_masks_flat,
                                self.student_temp, masks_weight, n_masked_patches)

    def forward(self, student_patch_logits: Tensor, teacher_patch_probs: Tensor,
                student_masks_flat: Tensor) -> Tensor:
        """See :func:`ibot_dense_loss` ([B, N, K], [B, N, K], [B, N] -> scalar)."""
        return ibot_dense_loss(student_patch_logits, teacher_patch_probs, student_masks_flat,
                               self.student_temp)
