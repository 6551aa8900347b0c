"""The networks a :class:`~hierwbc.config.TrainConfig` describes, built in one place for
training (:class:`~hierwbc.train.meta_arch.MetaArch`) and for reading a run's checkpoint back
(``embed``, ``export``).

A ``hierwbc.train`` checkpoint's ``model`` state holds the student's supervised head under
:data:`SUP_HEAD_PREFIX` and the teacher's backbone under ``teacher.backbone.``.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

from .supervised_heads import SupervisedHead, head_of_hidden_dim
from .vit import DinoVisionTransformer, build_vit

SUP_HEAD_PREFIX = "student.sup_head."


def backbone_from_config(cfg, drop_path_rate: float = 0.0) -> DinoVisionTransformer:
    """The ViT of ``cfg.model`` (arch, img_size, patch_size, register tokens, LayerScale),
    randomly initialised; ``drop_path_rate`` for a student, 0 for a teacher or inference."""
    m = cfg.model
    return build_vit(m.arch, img_size=m.img_size, patch_size=m.patch_size,
                     num_register_tokens=m.num_register_tokens, init_values=m.layerscale,
                     drop_path_rate=drop_path_rate)


def supervised_head_from_config(cfg, hierarchy, embed_dim: int) -> SupervisedHead | None:
    """The head feeding the loss ``cfg.supervised.loss`` on [B, embed_dim] cls tokens (linear,
    or one hidden layer of ``head_hidden_dim``), or None for an unsupervised run."""
    s = cfg.supervised
    if s.loss is None:
        return None
    return head_of_hidden_dim(s.loss, hierarchy, embed_dim, s.head_hidden_dim)


def sup_head_state(model_state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The supervised head's tensors of a checkpoint's ``model`` state, keys relative to the
    head (empty when the run had none)."""
    n = len(SUP_HEAD_PREFIX)
    return {k[n:]: v for k, v in model_state.items() if k.startswith(SUP_HEAD_PREFIX)}
