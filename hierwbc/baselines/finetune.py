"""Fine-tune a CNN classifier on a few labelled cells of a new lab (issue 29's "short fine-tune").

Start: a CNN weights file exported with its head (``hierwbc-cnn-labs``, or any ``hierwbc
baseline`` output). The labelled cells are classes at their own precision (a node each); the
views are the model's own recipe's (its metadata ``recipe``: cache size, re-framing, crops and
colour augmentation, :func:`~hierwbc.baselines.augment.train_views`). Each of ``steps`` steps
draws ``batch_size`` labelled cells, every class equally often; the loss is the recipe's smoothed
marginal cross-entropy over the classes present (:func:`~hierwbc.baselines.train.smoothed_marginal_ce`,
``P(node)`` = the leaf probabilities summed under it, over the leaves the head may call);
AdamW (weight decay 1e-4), learning rate ``lr`` on a cosine to 0. ``trainable``: ``"head"`` (the
linear head), ``"last"`` (the last conv block and the head) or ``"all"``; the rest is frozen. The
network has no batch statistics (GroupNorm), so a handful of cells cannot corrupt any.

The result is a weights file of the same kind (``predict --model`` reads it), its metadata
saying what it was fine-tuned from and on how many cells per node.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..hierarchy import Hierarchy
from ..models.cnn import ConvNet
from ..models.registry import Model, create_model
from ..models.shipped import read_metadata
from ..models.supervised_heads import LeafLogitHead
from .augment import train_views
from .recipe import CNNRecipe, recipe_from_dict
from .train import export_cnn, smoothed_marginal_ce

TRAINABLE = ("head", "last", "all")


def cnn_parts(model) -> tuple[Model, CNNRecipe]:
    """The loaded CNN classifier and its training recipe; a clear error for anything else."""
    m = create_model(model)
    if not isinstance(m.network, ConvNet) or not isinstance(m.head, LeafLogitHead) or "recipe" not in m.metadata:
        raise ValueError(f"{model!r}: fine-tuning takes a CNN classifier exported with its head and recipe "
                         "(hierwbc baseline / hierwbc-cnn-labs)")
    return m, recipe_from_dict(json.loads(m.metadata["recipe"]), where=f"{model}: recipe")


def finetune_cnn(model, images: torch.Tensor, nodes, *, steps: int = 100, lr: float = 3e-4,
                 trainable: str = "all", batch_size: int = 32, seed: int = 0,
                 progress: bool = False) -> tuple[ConvNet, LeafLogitHead, Hierarchy]:
    """``(network, head, tree)`` fine-tuned on ``images`` (uint8 ``[n, 3, S, S]``, the recipe's
    cached copies: :func:`hierwbc.datasets.cache.cached_images` at its ``cache_size`` and
    ``reframe``) labelled ``nodes`` ``[n]`` (node names of the model's tree); module docstring. A
    :class:`~hierwbc.models.registry.Model` given is trained in place; a name or path is loaded afresh."""
    if trainable not in TRAINABLE:
        raise ValueError(f"trainable must be one of {TRAINABLE}, not {trainable!r}")
    m, recipe = cnn_parts(model)
    net, head, h = m.network, m.head, m.hierarchy
    nodes = np.asarray(nodes, dtype=object)
    if len(nodes) != len(images) or not len(nodes):
        raise ValueError(f"{len(images)} images but {len(nodes)} labels")
    classes, target = np.unique(nodes, return_inverse=True)
    allowed = head.allowed_leaves if head.allowed_leaves is not None else torch.ones(len(h.leaves), dtype=torch.bool)
    member = torch.as_tensor(h.membership[h.indices(classes)]) & allowed  # [C, L]
    empty = [str(c) for c, row in zip(classes, member) if not row.any()]
    if empty:
        raise ValueError(f"labels {empty} lie above no leaf the model can call ({h.leaf_names(allowed.numpy())})")
    params = {"head": list(head.parameters()), "last": list(head.parameters()) + list(net.blocks[-1].parameters()),
              "all": list(head.parameters()) + list(net.parameters())}[trainable]
    for p in list(net.parameters()) + list(head.parameters()):
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    order = np.argsort(target, kind="stable")  # the cells of class c: order[start[c]:start[c] + size[c]]
    size = np.bincount(target, minlength=len(classes))
    start = np.r_[0, np.cumsum(size)[:-1]]
    weight = torch.ones(len(classes))
    target_t = torch.as_tensor(target)
    net.train()
    head.train()
    for _ in tqdm(range(steps), desc="fine-tune", disable=not progress):
        pick = rng.integers(0, len(classes), batch_size)  # classes equally often, then a cell of each
        idx = order[start[pick] + (rng.random(batch_size) * size[pick]).astype(np.int64)]
        logits = head.restricted(head(net(train_views(images[idx], recipe, gen))))
        loss = smoothed_marginal_ce(logits, target_t[idx], member, weight, recipe.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    for p in list(net.parameters()) + list(head.parameters()):
        p.requires_grad_(True)
    return net.eval(), head.eval(), h


def write_finetuned(model, net: ConvNet, head: LeafLogitHead, tree: Hierarchy, nodes, out: str | os.PathLike,
                    settings: dict) -> Path:
    """The fine-tuned classifier as a weights file of ``model``'s kind, metadata
    ``finetuned_from``, ``finetune`` (the settings) and ``finetune_counts`` ({node: cells}) added."""
    keep = {k: v for k, v in read_metadata(model).items() if k != "format"}
    counts = {str(k): int(v) for k, v in zip(*np.unique(np.asarray(nodes, dtype=object), return_counts=True))}
    return export_cnn(net, head, tree, out, {**keep, "finetuned_from": str(model), "finetune": settings,
                                              "finetune_counts": counts})


__all__ = ["TRAINABLE", "cnn_parts", "finetune_cnn", "write_finetuned"]
