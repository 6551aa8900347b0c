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
taking part at that level) from one similarity matrix: the positive sums come from one
[K, B, B] mask, the denominators from one matmul of ``exp(s - rowmax)`` with the [B, K]
participation mask. With normalised features the similarities span at most ``2/tau``, so for
``tau > 2/80`` no term can underflow; otherwise (or for unnormalised features) a masked
[K, B, B] log-sum-exp shifts every (level, anchor) by its own maximum. Both are exact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .tree_ops import check_targets, empty_segment_value

_SAFE_EXP_RANGE = 80.0  # exp(-80) ~ 1.8e-35 is above float32's smallest normal number


def supcon_levels(features: Tensor, labels: Tensor, temperature: float = 0.07,
                  normalize: bool = True) -> tuple[Tensor, Tensor]:
    """SupCon of ``features`` [B, F] for each column of ``labels`` [B, K] (int, -1 = absent).

    Returns ``(loss [K], active [K] bool)``: the mean over anchors with a positive at that
    level, and whether there was any (an inactive level has loss 0 and no gradient).
    """
    if features.dim() != 2:
        raise ValueError(f"features must be [B, F], got shape {tuple(features.shape)}")
    if labels.dim() != 2 or labels.shape[0] != features.shape[0]:
        raise ValueError(f"labels must be [B, K] with B = {features.shape[0]}, got {tuple(labels.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    x = features.float() if features.dtype in (torch.float16, torch.bfloat16) else features
    b = x.shape[0]
    if normalize:
        x = F.normalize(x, dim=1, eps=1e-12)
    sim = (x @ x.T) / temperature  # [B, B]
    labels_t = labels.T.long()  # [K, B]
    part = labels_t >= 0
    not_self = ~torch.eye(b, dtype=torch.bool, device=x.device)
    pos = (labels_t[:, :, None] == labels_t[:, None, :]) & part[:, :, None] & not_self  # [K, B, B]
    pos_f = pos.to(x.dtype)
    n_pos = pos_f.sum(2)  # [K, B]
    pos_sum = (pos_f * sim).sum(2)  # [K, B]

    if normalize and 2.0 / temperature < _SAFE_EXP_RANGE:
        shift = sim.detach().masked_fill(~not_self, float("-inf")).amax(1, keepdim=True) if b > 1 else sim.detach()
        e = torch.exp(sim - shift) * not_self
        denom = (e @ part.T.to(x.dtype)).T  # [K, B]
        log_denom = shift.T + torch.log(denom.clamp_min(torch.finfo(x.dtype).tiny))
    else:
        keep = part[:, None, :] & not_self  # [K, B(anchor), B(contrast)]
        masked = sim.unsqueeze(0).masked_fill(~keep, empty_segment_value(x.dtype))
        log_denom = torch.logsumexp(masked, dim=2)

    valid = n_pos > 0  # [K, B]
    per_anchor = log_denom - pos_sum / n_pos.clamp_min(1)
    per_anchor = torch.where(valid, per_anchor, torch.zeros_like(per_anchor))
    n_valid = valid.sum(1)
    loss = per_anchor.sum(1) / n_valid.clamp_min(1).to(x.dtype)
    return loss, n_valid > 0


def supcon(features: Tensor, labels: Tensor, temperature: float = 0.07, normalize: bool = True) -> Tensor:
    """SupCon of ``features`` [B, F] with flat integer ``labels`` [B] (-1 = unlabelled): a scalar."""
    if labels.dim() != 1:
        raise ValueError(f"labels must be [B], got shape {tuple(labels.shape)}")
    loss, _ = supcon_levels(features, labels.unsqueeze(1), temperature, normalize)
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
        return supcon(features, targets, self.temperature, self.normalize)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, coarse={self.coarse!r}"
