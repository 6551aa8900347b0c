"""A supervised head fitted on a frozen backbone's embeddings: the classifier that ships.

During DINOv2 training the supervised head reads the *student*'s cls token, while the backbone
that is exported, embedded and evaluated is the EMA *teacher*; after a short continued run the
two differ (with momentum 0.99 and 100 steps, 37 % of the teacher is still the starting
weights), and a head trained for a few hundred steps at a small loss (HierCE's normalised weights)
is far from converged. :func:`fit_head` refits the head on the exported backbone's own
embeddings of the training cells, with the same loss, to convergence:

    min_theta  (1/n) sum_i  L(mask(head_theta(f(x_i))), y_i)  +  weight decay

``f`` frozen (the backbone, cls token [n, D]), ``L`` the registry's loss (e.g. HierCE: labels at
any depth of the tree), AdamW with a cosine learning rate over mini-batch epochs of the cached
embeddings (seeded). ``mask`` sets the logits of the leaves the labels do not support to -inf
(:meth:`~hierwbc.hierarchy.Hierarchy.supported_leaves`): the head is fitted, and predicts, over
those leaves only, so a coarse label's mass goes to leaves it was seen with. A stratified
``holdout`` of the training cells reports the leaf accuracy (the predicted leaf is the label or
lies below it) on cells the head was not fitted on. Several views of one cell (e.g. as if from
another lab, :mod:`hierwbc.train.lab_shift`) share a ``groups`` id and are held out together; with
``views`` (a name per row) the held-out accuracy is also reported per view.
:func:`save_classifier` writes backbone + head as one shippable weights file, in the format of
:func:`hierwbc.train.export.export_weights` with ``head=True`` (what ``hierwbc predict`` reads).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..hierarchy import Hierarchy, default_hierarchy
from ..losses.registry import get_loss
from ..models.shipped import read_weights, save_weights
from ..models.supervised_heads import SupervisedHead, head_of_hidden_dim
from .export import MAX_BYTES


def leaf_accuracy(h: Hierarchy, head: SupervisedHead, X: torch.Tensor, y: np.ndarray) -> float:
    """Share of cells whose most probable leaf is their label or lies below it."""
    with torch.inference_mode():
        probs = head.node_probs(head(X)).numpy()
    leaves = h.indices(h.leaves)
    pred = leaves[probs[:, leaves].argmax(1)]
    return float(h.ancestors[pred, y].mean())


def fit_head(X: np.ndarray, nodes, hierarchy: Hierarchy | None = None, loss: str = "hierce", *,
             epochs: int = 60, batch_size: int = 256, lr: float = 3e-3, weight_decay: float = 1e-4,
             holdout: float = 0.1, seed: int = 0, progress: bool = True, groups=None, views=None,
             hidden_dim: int = 0, **loss_options: Any) -> tuple[SupervisedHead, dict]:
    """Fit a linear ``loss`` head (``hidden_dim`` > 0: one hidden GELU layer) on embeddings
    ``X`` [n, D] of cells labelled ``nodes`` [n] (tree node names, any depth); ``groups`` [n]:
    rows of one cell (held out together; default: each row its own), ``views`` [n]: a view name
    per row. Returns ``(head, report)``: ``report`` holds the settings, the loss per epoch and
    the leaf accuracy on the fitted cells and on the held-out ones (``holdout_leaf_accuracy``,
    and ``..._<view>`` per view)."""
    h = hierarchy if hierarchy is not None else default_hierarchy()
    y = h.indices(list(nodes))
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    if len(X) != len(y):
        raise ValueError(f"{len(X)} embeddings but {len(y)} labels")
    rng = np.random.default_rng(seed)
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    if len(groups) != len(y) or (views is not None and len(views) != len(y)):
        raise ValueError(f"{len(y)} labels but {len(groups)} groups / {len(views) if views is not None else '-'} views")
    first = np.unique(groups, return_index=True)[1]  # one row per cell: its label decides the stratum
    held_groups = []
    if holdout > 0:  # stratified by label: the same share of every node
        for node in np.unique(y[first]):
            cells = groups[first[y[first] == node]]
            held_groups.append(rng.permutation(cells)[: round(holdout * len(cells))])
    held = np.isin(groups, np.concatenate(held_groups)) if held_groups else np.zeros(len(y), bool)
    fit_rows = np.flatnonzero(~held)
    torch.manual_seed(seed)
    head = head_of_hidden_dim(loss, h, X.shape[1], hidden_dim)
    # trained and used over the same leaves: those the labels support (a leaf without cells would
    # otherwise be a free bucket for coarse labels, and an arbitrary logit off-domain)
    allowed = h.supported_leaves(h.nodes[i] for i in np.unique(y))
    head.restrict(allowed)
    loss_fn = get_loss(loss, h, **loss_options)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(fit_rows) / batch_size)
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    targets = torch.as_tensor(y)
    gen = torch.Generator().manual_seed(seed)
    history = []
    head.train()
    for _ in tqdm(range(epochs), desc=f"fit {loss} head", disable=not progress):
        order = torch.as_tensor(fit_rows)[torch.randperm(len(fit_rows), generator=gen)]
        total_loss = 0.0
        for batch in order.split(batch_size):
            value = loss_fn(head.restricted(head(X[batch])), targets[batch])
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            sched.step()
            total_loss += value.item() * len(batch)
        history.append(total_loss / len(fit_rows))
    head.eval()
    report = {"loss": loss, "loss_options": loss_options, "hidden_dim": hidden_dim, "epochs": epochs,
              "batch_size": batch_size, "lr": lr,
              "weight_decay": weight_decay, "holdout": holdout, "seed": seed, "n_fit": len(fit_rows),
              "n_holdout": int(held.sum()), "trained_leaves": h.leaf_names(allowed),
              "loss_per_epoch": history,
              "fit_leaf_accuracy": leaf_accuracy(h, head, X[fit_rows], y[fit_rows]),
              "holdout_leaf_accuracy": leaf_accuracy(h, head, X[held], y[held]) if held.any() else float("nan")}
    for view in ([] if views is None else np.unique(np.asarray(views))):
        rows = held & (np.asarray(views) == view)
        report[f"holdout_leaf_accuracy_{view}"] = (leaf_accuracy(h, head, X[rows], y[rows]) if rows.any()
                                                   else float("nan"))
    return head, report


def save_classifier(backbone: str | os.PathLike, head: SupervisedHead, loss: str, hierarchy: Hierarchy,
                    out: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Backbone of the weights file ``backbone`` (its ``backbone.*`` tensors and metadata) with
    ``head`` as ``sup_head.*``, float16 safetensors at ``out`` (at most 25 MiB). A restricted head
    (:meth:`~hierwbc.models.supervised_heads.SupervisedHead.restrict`, as :func:`fit_head`
    returns it) keeps its leaves in the metadata ``trained_leaves``."""
    tensors, meta = read_weights(backbone)
    tensors = {k: v for k, v in tensors.items() if k.startswith("backbone.")}
    tensors.update({f"sup_head.{k}": v for k, v in head.state_dict().items()})
    meta = {k: v for k, v in meta.items() if k not in ("format", "trained_leaves")}  # not the file's own head's
    linear = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    hidden = linear[0].out_features if len(linear) > 1 else 0  # one hidden layer at most (fit_head's)
    meta.update(sup_loss=loss, sup_head_hidden_dim=str(hidden), hierarchy=hierarchy.to_json())
    allowed = getattr(head, "allowed_leaves", None)
    if allowed is not None:
        meta["trained_leaves"] = hierarchy.leaf_names(allowed.cpu().numpy())
    meta.update(metadata or {})
    path = save_weights(tensors, out, meta)
    if path.stat().st_size > MAX_BYTES:
        size = path.stat().st_size
        path.unlink()
        raise ValueError(f"{out}: {size / 2**20:.1f} MiB exceeds the 25 MiB limit for shipped weights")
    return path

