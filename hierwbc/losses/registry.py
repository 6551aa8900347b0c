"""The supervised losses by name: the one list of supervised terms and of the ``cfg.supervised``
fields each reads. Presets, config validation, the trainer and the CLI help all derive from it.

==============  ========================================  ============  ==========================
name            loss                                      head input    cfg.supervised fields
==============  ========================================  ============  ==========================
``ce``          :class:`.flat_ce.FlatCELoss`              leaf_logits   count_coarse
``hierce``      :class:`.hier_ce.HierCELoss`              leaf_logits   alpha
``supcon``      :class:`.supcon.SupConLoss`               embedding     temperature
``hiersupcon``  :class:`.hier_supcon.HierSupConLoss`      embedding     temperature, level_penalty
``multilevel``  :class:`.multilevel_ce.MultilevelCELoss`  depth_logits
``ce_node``     :class:`.node_ce.NodeCELoss`              node_logits
``distance``    :class:`.distance.DistanceLoss`           leaf_logits
``softlabel``   :class:`.soft_label.SoftLabelLoss`        leaf_logits   beta
==============  ========================================  ============  ==========================

Head inputs are ``leaf_logits`` [B, L], ``depth_logits`` or ``node_logits`` [B, N] or ``embedding`` [B, F]
(``input_kind``). Every loss is an ``nn.Module`` built from the hierarchy's arrays and called
as ``loss_fn(head_output, targets)`` with node-index targets [B] (-1 = unlabelled); keyword
arguments go to the loss's constructor (``get_loss("hierce", h, alpha=0.1)``), and
:func:`loss_options` reads them from a training config's ``supervised`` section.

A new loss: its own file, and one :class:`LossEntry` in :data:`LOSSES` below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .distance import DistanceLoss
from .flat_ce import FlatCELoss
from .hier_ce import HierCELoss
from .hier_supcon import HierSupConLoss
from .multilevel_ce import MultilevelCELoss
from .node_ce import NodeCELoss
from .soft_label import SoftLabelLoss
from .supcon import SupConLoss


@dataclass(frozen=True)
class Option:
    """A constructor argument of a loss, read from the ``cfg.supervised`` field ``field``
    (passed through ``convert`` when given)."""

    field: str
    convert: Callable[[Any], Any] | None = None

    def read(self, supervised: Any) -> Any:
        value = getattr(supervised, self.field)
        return value if self.convert is None else self.convert(value)


@dataclass(frozen=True)
class LossEntry:
    """A supervised loss: its class and its options (constructor argument -> :class:`Option`)."""

    cls: type[nn.Module]
    options: Mapping[str, Option] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        """The ``cfg.supervised`` fields the loss reads."""
        return tuple(o.field for o in self.options.values())


def _count_or_ignore(count_coarse: bool) -> str:
    return "count" if count_coarse else "ignore"


LOSSES: dict[str, LossEntry] = {
    "ce": LossEntry(FlatCELoss, {"coarse": Option("count_coarse", _count_or_ignore)}),
    "hierce": LossEntry(HierCELoss, {"alpha": Option("alpha")}),
    "supcon": LossEntry(SupConLoss, {"temperature": Option("temperature")}),
    "hiersupcon": LossEntry(HierSupConLoss, {"temperature": Option("temperature"),
                                             "penalty": Option("level_penalty")}),
    "multilevel": LossEntry(MultilevelCELoss),
    "ce_node": LossEntry(NodeCELoss),
    "distance": LossEntry(DistanceLoss),
    "softlabel": LossEntry(SoftLabelLoss, {"beta": Option("beta")}),
}


def _lookup(name: str) -> LossEntry:
    key = name.lower() if isinstance(name, str) else name
    if key not in LOSSES:
        raise KeyError(f"unknown supervised loss {name!r}; known: {', '.join(LOSSES)}")
    return LOSSES[key]


def get_loss(name: str, hierarchy, **kwargs) -> nn.Module:
    """The loss ``name`` (see the table above) for ``hierarchy``; ``kwargs`` go to its constructor."""
    cls = _lookup(name).cls
    try:
        return cls(hierarchy, **kwargs)
    except TypeError as err:
        raise TypeError(f"bad options for loss {name!r} ({cls.__name__}): {err}") from err


def input_kind(name: str) -> str:
    """What the loss ``name`` takes: "leaf_logits", "depth_logits", "node_logits" or "embedding"."""
    return _lookup(name).cls.input_kind


def loss_options(supervised: Any) -> dict[str, Any]:
    """Constructor arguments of the loss ``supervised.loss`` read from ``supervised`` (a
    :class:`~hierwbc.config.SupervisedConfig`): e.g. ``{"alpha": 0.5}`` for ``hierce``."""
    return {arg: opt.read(supervised) for arg, opt in _lookup(supervised.loss).options.items()}
