"""Supervised losses by name, for the trainer: ``get_loss(name, hierarchy, **kw)``.

=============  ==========================================  ==============================
name           loss                                        head input (``input_kind``)
=============  ==========================================  ==============================
``ce``         :class:`.flat_ce.FlatCELoss`                ``leaf_logits`` [B, L]
``hierce``     :class:`.hier_ce.HierCELoss`                ``leaf_logits`` [B, L]
``supcon``     :class:`.supcon.SupConLoss`                 ``embedding`` [B, F]
``hiersupcon`` :class:`.hier_supcon.HierSupConLoss`        ``embedding`` [B, F]
``multilevel`` :class:`.multilevel_ce.MultilevelCELoss`    ``depth_logits`` [B, N]
``distance``   :class:`.distance.DistanceLoss`             ``leaf_logits`` [B, L]
``softlabel``  :class:`.soft_label.SoftLabelLoss`          ``leaf_logits`` [B, L]
=============  ==========================================  ==============================

Every loss is an ``nn.Module`` built from the hierarchy's arrays and called as
``loss_fn(head_output, targets)`` with node-index targets [B] (-1 = unlabelled); keyword
arguments go to the loss's constructor (``get_loss("hierce", h, alpha=0.1)``).
"""

from __future__ import annotations

from torch import nn

from .distance import DistanceLoss
from .flat_ce import FlatCELoss
from .hier_ce import HierCELoss
from .hier_supcon import HierSupConLoss
from .multilevel_ce import MultilevelCELoss
from .soft_label import SoftLabelLoss
from .supcon import SupConLoss

LOSSES: dict[str, type[nn.Module]] = {
    "ce": FlatCELoss,
    "hierce": HierCELoss,
    "supcon": SupConLoss,
    "hiersupcon": HierSupConLoss,
    "multilevel": MultilevelCELoss,
    "distance": DistanceLoss,
    "softlabel": SoftLabelLoss,
}


def _lookup(name: str) -> type[nn.Module]:
    key = name.lower() if isinstance(name, str) else name
    if key not in LOSSES:
        raise KeyError(f"unknown supervised loss {name!r}; known: {', '.join(LOSSES)}")
    return LOSSES[key]


def get_loss(name: str, hierarchy, **kwargs) -> nn.Module:
    """The loss ``name`` (see the table above) for ``hierarchy``; ``kwargs`` go to its constructor."""
    cls = _lookup(name)
    try:
        return cls(hierarchy, **kwargs)
    except TypeError as err:
        raise TypeError(f"bad options for loss {name!r} ({cls.__name__}): {err}") from err


def input_kind(name: str) -> str:
    """What the loss ``name`` takes: "leaf_logits", "depth_logits" or "embedding"."""
    return _lookup(name).input_kind
