"""Supervised contrastive loss (Khosla et al. 2020, paper eq. 3), several label levels at once.

For L2-normalised features ``z`` and similarities ``s_ij = z_i . z_j / tau``, an anchor ``i``
with positives ``P(i)`` (other samples with its label) and contrast set ``A(i)`` (every other
sample taking part) has::

    loss_i = -1/|P(i)| sum_{p in P(i)} log( exp(s_ip) / sum_{a in A(i)} exp(s_ia) )
           = logsumexp_{a in A(i)} s_ia - mean_{p in P(i)} s_ip

and the loss is the mean over anchors with at least one positive (anchors without one, and
samples with label ``-1``, take no part, as ``SupConLoss`` of pytorch-metric-learning, whose
value this matches). No ``base_temperature`` factor (it is 1 in the paper's setting).
Several views of an image: stack them as extra rows with the same label.

:func:`supcon_levels` evaluates K labelings of one batch together ([B, K] labels, -1 = not
taking part at that level) from one similarity matrix: the positive sums are one matmul of
the similarities with the one-hot matrix of the labels [B, C], the denominators one matmul
of ``exp(s - rowmax)`` with the [B, K] participation mask (no [K, B, B] tensors). With
normalised features the similarities span at most ``2/tau``, so for ``tau > 2/80`` no term
can underflow; otherwise (or for unnormalised features) a masked [K, B, B] log-sum-exp
shifts every (level, anchor) by its own maximum. Both are exact.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from .tree_ops import check_targets, empty_segment_value, full_precision

_SAFE_EXP_RANGE = 80.0  # exp(-80) ~ 1.8e-35 is above float32's smallest normal number


def supcon_levels(features: Tensor, labels: Tensor, temperature: float = 0.07, normalize: bool = True,
                  num_classes: int | None = None, shared_ids: bool = False) -> tuple[Tensor, Tensor]:
    """SupCon of ``features`` [B, F] for each column of ``labels`` [B, K] (int, -1 = absent).

    Returns ``(loss [K], active [K] bool)``: the mean over anchors with a positive at that
    level, and whether there was any (an inactive level has loss 0 and no gradient).
    ``num_classes`` bounds the label values (read from the labels, a device sync, when not
    given). ``shared_ids``: a value names the same set of samples at every level it occurs
    in (true of node indices in a tree), so all levels share one one-hot column per value.
    """
    if features.dim() != 2:
        raise ValueError(f"features must be [B, F], got shape {tuple(features.shape)}")
    if labels.dim() != 2 or labels.shape[0] != features.shape[0]:
        raise ValueError(f"labels must be [B, K] with B = {features.shape[0]}, got {tuple(labels.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    with full_precision(features.device):
        return _supcon_levels(features, labels, temperature, normalize, num_classes, shared_ids)


def _supcon_levels(features: Tensor, labels: Tensor, temperature: float, normalize: bool,
                   num_classes: int | None, shared_ids: bool) -> tuple[Tensor, Tensor]:
    x = features.float() if features.dtype in (torch.float16, torch.bfloat16) else features
    b, k = labels.shape
    labels = labels.long()
    scale = torch.full_like(x[:, :1], temperature ** -0.5)
    if normalize:  # x / max(|x|, 1e-12), as F.normalize, folded with 1/sqrt(tau)
        scale = scale * torch.rsqrt((x * x).sum(1, keepdim=True).clamp_min(1e-24))
    xs = x * scale  # rows z_i / sqrt(tau): xs @ xs.T = s
    part = labels >= 0  # [B, K]
    part_f = part.to(x.dtype)

    # positives: a one-hot matrix of the labels [B, C]; sums of similarities by one matmul
    span = num_classes if num_classes is not None else int(labels.max().clamp_min(0)) + 1
    if not shared_ids and k > 1:  # a label value means a different class at each level
        labels = labels + span * torch.arange(k, device=x.device)
        span = span * k
    if span > max(4 * b * k, 4096):  # sparse label values: keep only the columns present
        present, column = torch.unique(torch.where(part, labels, -1), return_inverse=True)
        onehot = x.new_zeros(b, present.numel()).scatter_add_(1, column, part_f).clamp_(max=1)
    else:
        column = labels.clamp_min(0)  # absent entries add 0 to column 0
        onehot = x.new_zeros(b, span).scatter_add_(1, column, part_f).clamp_(max=1)
    n_pos = (onehot.sum(0).index_select(0, column.reshape(-1)).view(b, k) - 1) * part_f
    valid = n_pos > 0  # [B, K]
    n_valid = valid.sum(0)
    weight = valid.to(x.dtype) / n_valid.clamp_min(1).to(x.dtype)  # 0 for anchors without a positive
    n_pos = n_pos.clamp_min(1)

    if normalize and 2.0 / temperature < _SAFE_EXP_RANGE:
        # s_ij <= 1/tau for unit vectors, so shifting by 1/tau no term can underflow
        loss = _SupConLevels.apply(xs, onehot, column, part_f, n_pos, weight, 1.0 / temperature)
        return loss, n_valid > 0
    not_self = ~torch.eye(b, dtype=torch.bool, device=x.device)
    sim = xs @ xs.T
    pos_sum = (sim @ onehot).gather(1, column) - sim.diagonal().unsqueeze(1)
    keep = part.T[:, None, :] & not_self  # [K, B(anchor), B(contrast)]
    masked = sim.unsqueeze(0).masked_fill(~keep, empty_segment_value(x.dtype))
    log_denom = torch.logsumexp(masked, dim=2).T
    per_anchor = log_denom - pos_sum / n_pos  # finite everywhere
    return (per_anchor * weight).sum(0), n_valid > 0


class _SupConLevels(torch.autograd.Function):
    """Per-level SupCon [K] of scaled features ``xs`` [B, F] (``xs @ xs.T = s``), closed-form backward.

    Inputs besides ``xs`` are label-side constants: ``onehot`` [B, C], ``column`` [B, K]
    (each entry's column), ``part`` [B, K] (taking part), ``n_pos`` [B, K] (clamped >= 1),
    ``weight`` [B, K] (1/#anchors with a positive, 0 elsewhere), ``shift`` (an upper bound
    of ``s``). With ``u = s - shift``, ``e = exp(u)`` off the diagonal, ``d_ik = sum_j e_ij part_jk``
    (the shift cancels between the two terms)::

        loss_k = sum_i weight_ik (log d_ik - (sum_{j ~k i, j != i} u_ij) / n_ik)
        dloss/ds_ij = sum_k a_ik (e_ij part_jk / d_ik - [j ~k i, j != i] / n_ik),  a = g * weight
    """

    @staticmethod
    def forward(ctx, xs, onehot, column, part, n_pos, weight, shift: float):
        u = torch.addmm(xs.new_full((1, 1), -shift), xs, xs.T)  # s - shift <= 0
        pos_sum = (u @ onehot).gather(1, column) - u.diagonal().unsqueeze(1)
        e = u.exp_()  # u is not needed any more
        e.diagonal().zero_()
        denom = (e @ part).clamp_min_(torch.finfo(xs.dtype).tiny)  # [B, K]
        per_anchor = torch.log(denom).sub_(pos_sum.div_(n_pos))
        ctx.save_for_backward(xs, e, denom, onehot, column, part, n_pos, weight)
        return (per_anchor * weight).sum(0)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        xs, e, denom, onehot, column, part, n_pos, weight = ctx.saved_tensors
        a = weight * grad_out  # [B, K]
        a_pos = a / n_pos
        per_column = torch.zeros_like(onehot).scatter_add_(1, column, a_pos)  # [B, C]
        # minus dloss/ds: positives (their own label includes j = i, which the "- u_ii" term
        # takes back out) minus denominators
        neg_grad = torch.addcmul(per_column @ onehot.T, e, (a / denom) @ part.T, value=-1)
        neg_grad.diagonal().sub_(a_pos.sum(1))
        return torch.addmm(xs, neg_grad + neg_grad.T, xs, beta=0, alpha=-1), None, None, None, None, None, None


def supcon_loss(features: Tensor, labels: Tensor, temperature: float = 0.07, normalize: bool = True,
           num_classes: int | None = None) -> Tensor:
    """SupCon of ``features`` [B, F] with flat integer ``labels`` [B] (-1 = unlabelled): a scalar."""
    if labels.dim() != 1:
        raise ValueError(f"labels must be [B], got shape {tuple(labels.shape)}")
    loss, _ = supcon_levels(features, labels.unsqueeze(1), temperature, normalize, num_classes)
    return loss[0]


class SupConLoss(nn.Module):
    """SupCon with node-index targets: positives share the same leaf.

    ``forward(features [B, F], targets [B]) -> loss``. ``coarse="ignore"`` (default) leaves
    samples labelled at an internal node out (like flat CE); ``"own_class"`` treats each node
    as a class of its own. Features are L2-normalised inside (``normalize=True``).
    """

    input_kind = "embedding"

    def __init__(self, hierarchy, temperature: float = 0.07, coarse: str = "ignore",
                 normalize: bool = True) -> None:
        super().__init__()
        if coarse not in ("ignore", "own_class"):
            raise ValueError(f"coarse must be 'ignore' or 'own_class', got {coarse!r}")
        self.temperature, self.coarse, self.normalize = float(temperature), coarse, normalize
        self.register_buffer("is_leaf", torch.as_tensor(hierarchy.is_leaf.copy()), persistent=False)

    def forward(self, features: Tensor, targets: Tensor) -> Tensor:
        targets = check_targets(targets, self.is_leaf.shape[0], features.shape[0])
        if self.coarse == "ignore":
            targets = torch.where(self.is_leaf.index_select(0, targets.clamp_min(0)), targets, -1)
        return supcon_loss(features, targets, self.temperature, self.normalize, num_classes=self.is_leaf.shape[0])

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, coarse={self.coarse!r}"
