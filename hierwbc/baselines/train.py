"""Train the CNN baseline (:mod:`.cnn`) on one or several labs; resumable, logged, exported.

Rows: each lab of ``recipe.labs`` (PBC: its train split, ``test_fraction`` / ``split_seed`` as
everywhere; the other training labs whole; BCCD and segmentation_wbc refused: evaluation sets
only). ``label_level="five"`` maps every label to its type (:data:`~hierwbc.evaluate.five_types.FIVE_TYPES`)
and leaves out rows with none (IG, erythroblast, platelet); ``"node"`` keeps each lab's own
precision. Rows labelled only at the root (Raabin, Aslan: type unknown) carry nothing for a
supervised loss and are left out (counted in ``rows.csv``).

Sampling: row ``i`` of lab ``g`` is drawn with probability ``w_g / (sum_g' w_g') / n_g``
(``recipe.lab_weights``, default 1 each): a lab's share of the batches is its weight's share.
Loss, over the classes ``c`` (the target nodes present) with class weights
``v_c = 1 / (C q_c)`` (``q_c``: the sampling share of class c; all 1 when not
``class_weighted``)::

    P(node) = sum of softmax(leaf logits) over the leaves under it (the trained leaves only)
    loss_i  = v_{t_i} [ (1 - eps) (-log P(t_i)) + eps mean_c (-log P(c)) ],  loss = sum_i loss_i / sum_i v_{t_i}

Run folder: ``rows.csv`` (what was trained on), ``log.csv`` (per epoch: loss, minutes, five-type
accuracy / balanced accuracy on the held-out PBC rows), ``checkpoints/last.pt`` (weights-only
loadable), ``model.safetensors`` (fp16; :func:`export_cnn`).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..datasets import read_dataset, split_rows
from ..datasets.cache import cached_images
from ..datasets.read import EVALUATION_ONLY
from ..datasets.splits import stratified_mask
from ..evaluate.five_types import FIVE_TYPES, five_type_index, five_type_scores
from ..hierarchy import Hierarchy, default_hierarchy
from ..io import atomic_write, atomic_write_text
from ..models.cnn import ConvNet, metadata
from ..models.shipped import save_weights
from ..models.supervised_heads import LeafLogitHead
from ..train.data import lab_probabilities
from .augment import eval_views, train_views
from .recipe import CNNRecipe, recipe_json


def lab_rows(lab: str, recipe: CNNRecipe, hierarchy: Hierarchy, data_root=None) -> pd.DataFrame:
    """The rows of one lab a CNN may train on (PBC: its train split), column ``lab`` added."""
    if lab in EVALUATION_ONLY:
        raise ValueError(f"{lab!r} is an evaluation set: never trained on (evaluation sets: {EVALUATION_ONLY})")
    if lab.endswith(".csv"):
        m = read_dataset("csv", lab, hierarchy=hierarchy)
    else:
        m = read_dataset(lab, data_root, hierarchy=hierarchy)
    if lab == "pbc":
        m = split_rows(m, "train", recipe.test_fraction, recipe.split_seed, what="pbc")
    return m.assign(lab=Path(lab).stem if lab.endswith(".csv") else lab).reset_index(drop=True)


def training_rows(recipe: CNNRecipe, hierarchy: Hierarchy, data_root=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, val)``: every lab's rows with ``target`` (the node trained on, "" = not used)
    and ``used``; ``val`` = ``val_fraction`` of PBC's (stratified by node, seeded)."""
    parts = [lab_rows(lab, recipe, hierarchy, data_root) for lab in recipe.labs]
    rows = pd.concat(parts, ignore_index=True)
    if recipe.label_level == "five":
        t = five_type_index(hierarchy, rows["node"])
        rows["target"] = np.where(t >= 0, np.asarray(FIVE_TYPES, dtype=object)[np.maximum(t, 0)], "")
    else:
        rows["target"] = np.where(rows["node"] == hierarchy.root, "", rows["node"])
    held = np.zeros(len(rows), bool)
    pbc = np.flatnonzero(rows["lab"] == "pbc")
    if len(pbc) and recipe.val_fraction > 0:
        held[pbc] = stratified_mask(rows.iloc[pbc], recipe.val_fraction, recipe.split_seed, "cnn_val")
    rows["held_out"] = held
    rows["used"] = (rows["target"] != "") & ~held
    return rows[rows["used"]].reset_index(drop=True), rows[held].reset_index(drop=True)


def label_leaves(hierarchy: Hierarchy, train: pd.DataFrame) -> np.ndarray:
    """bool ``[L]``: the leaves the head may predict, those the training rows' own labels support
    (``node``, before any five-type mapping: PBC's ``LY`` supports ``lymphocyte_typical``, not the
    hairy cells beside it) among those under the targets trained on."""
    h = hierarchy
    under_targets = h.supported_leaves(sorted(set(train["target"])))
    return h.supported_leaves(sorted(set(train["node"]))) & under_targets


def class_weights(targets: np.ndarray, p: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``[C]`` ``v_c = 1 / (C q_c)``, ``q_c`` the sampling share of class c."""
    q = np.array([p[targets == c].sum() for c in classes])
    return 1.0 / (len(classes) * np.maximum(q, 1e-12))


def smoothed_marginal_ce(logits: torch.Tensor, target: torch.Tensor, class_member: torch.Tensor,
                         weight: torch.Tensor, eps: float) -> torch.Tensor:
    """The loss of the module docstring. ``logits [B, L]`` (-inf at leaves not trained),
    ``target [B]`` class positions, ``class_member [C, L]`` bool (leaves under each class),
    ``weight [C]``."""
    logp_leaf = F.log_softmax(logits, dim=1)                                    # [B, L]
    masked = logp_leaf.unsqueeze(1).masked_fill(~class_member.unsqueeze(0), float("-inf"))
    logp_class = torch.logsumexp(masked, dim=2)                                 # [B, C]
    nll = -logp_class.gather(1, target[:, None]).squeeze(1)
    smooth = -logp_class.mean(1)
    w = weight[target]
    return (w * ((1 - eps) * nll + eps * smooth)).sum() / w.sum()


@torch.inference_mode()
def predict_nodes(backbone: ConvNet, head: LeafLogitHead, images: torch.Tensor, hierarchy: Hierarchy,
                  batch_size: int = 256) -> np.ndarray:
    """Predicted leaf (node names) of uint8 images, as ``predict`` calls them (largest leaf probability)."""
    backbone.eval()
    head.eval()
    out = []
    for k in range(0, len(images), batch_size):
        x = eval_views(images[k:k + batch_size], backbone.img_size)
        out.append(head.node_probs(head(backbone(x)))[:, torch.as_tensor(np.array(hierarchy.leaf_nodes))].argmax(1))
    leaves = np.asarray(hierarchy.leaf_nodes)[torch.cat(out).numpy()] if out else np.zeros(0, np.int64)
    return np.asarray(hierarchy.nodes, dtype=object)[leaves]


def export_cnn(backbone: ConvNet, head: LeafLogitHead, hierarchy: Hierarchy, out: str | Path,
               extra: dict | None = None) -> Path:
    """fp16 safetensors: ``backbone.*``, ``sup_head.*`` and the metadata ``embed`` and
    ``predict`` read (arch, widths, img_size, embed_dim, sup_loss, hierarchy, trained_leaves)."""
    tensors = {f"backbone.{k}": v for k, v in backbone.state_dict().items()}
    tensors.update({f"sup_head.{k}": v for k, v in head.state_dict().items()})
    leaves = hierarchy.leaf_names(head.allowed_leaves.numpy()) if head.allowed_leaves is not None else None
    meta = {**metadata(backbone), "sup_loss": "ce", "sup_head_hidden_dim": "0",
            "hierarchy": hierarchy.to_json(), **({"trained_leaves": leaves} if leaves else {}), **(extra or {})}
    return save_weights(tensors, out, meta)


def _state(backbone, head, opt, sched, step: int, gen: torch.Generator) -> dict:
    return {"backbone": backbone.state_dict(), "head": head.state_dict(), "opt": opt.state_dict(),
            "sched": sched.state_dict(), "step": step, "gen": gen.get_state()}


COLOR_DOMAIN_CELLS = 2000


def statistics_rows(train: pd.DataFrame, recipe: CNNRecipe) -> pd.DataFrame:
    """Up to :data:`COLOR_DOMAIN_CELLS` training rows drawn as the batches draw them (lab
    weights, the recipe's seed): where a CNN's colour domain and training feature mean come from."""
    p = lab_probabilities(train["lab"].to_numpy(), recipe.lab_weights)
    pick = np.random.default_rng(recipe.seed).choice(len(train), min(COLOR_DOMAIN_CELLS, len(train)), replace=False,
                                                     p=p)
    return train.iloc[np.sort(pick)].reset_index(drop=True)


def feature_mean(backbone: ConvNet, images: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Mean pooled feature ``[C]`` of uint8 images (whole images resized, as predict sees them)."""
    backbone.eval()
    total = torch.zeros(backbone.embed_dim, dtype=torch.float64)
    with torch.inference_mode():
        for k in range(0, len(images), batch_size):
            total += backbone(eval_views(images[k:k + batch_size], backbone.img_size)).double().sum(0)
    return (total / max(len(images), 1)).numpy()


def stamp_feature_mean(run: str | Path, cache_size: int | None = None) -> Path:
    """Add to a run's ``model.safetensors`` metadata what predict reads from it: ``feature_mean``
    (the mean feature of the run's training rows, ``rows.csv``, drawn by the lab weights as the
    batches were; ``predict --recenter``), ``color_domain`` (of those rows' images),
    and ``trained_leaves`` as :func:`label_leaves` says; returns the file."""
    from ..datasets.color_domain import ColorDomain, image_features
    from ..models.shipped import read_weights

    run = Path(run)
    recipe = CNNRecipe(**json.loads((run / "recipe.json").read_text()))
    rows = pd.read_csv(run / "rows.csv", keep_default_na=False)
    train = rows[rows["role"] == "train"].reset_index(drop=True)
    for c in ("box_xmin", "box_ymin", "box_xmax", "box_ymax"):
        if c in train:
            train[c] = pd.to_numeric(train[c].replace("", np.nan))
    part = statistics_rows(train, recipe)
    images = cached_images(part, cache_size or recipe.cache_size, run.parent / "cache", num_workers=0, progress=False,
                           reframe=recipe.reframe)
    tensors, meta = read_weights(run / "model.safetensors")
    from ..models.cnn import from_metadata

    mean = feature_mean(from_metadata(meta, tensors), images)
    meta = {**meta, "feature_mean": json.dumps([round(float(v), 6) for v in mean])}
    if len(part) > 6:  # a colour domain needs more images than its 6 features
        name = f"training images of {'+'.join(recipe.labs)}"
        meta["colour_domain"] = ColorDomain.fit(image_features(part, progress=False), name).to_json()
    h = Hierarchy.from_json(meta["hierarchy"], source=f"{run}: hierarchy")
    meta["trained_leaves"] = json.dumps(h.leaf_names(label_leaves(h, train)))
    return save_weights(tensors, run / "model.safetensors", meta, dtype=None)


def train_cnn(recipe: CNNRecipe, out: str | Path, data_root=None, hierarchy: Hierarchy | None = None,
              resume: bool = True, progress: bool = True, max_steps: int | None = None) -> Path:
    """Train (or continue) the CNN of ``recipe`` into run folder ``out``; returns the exported
    ``model.safetensors``. ``max_steps`` cuts the run short (tests)."""
    out = Path(out)
    h = hierarchy or default_hierarchy()
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    train, val = training_rows(recipe, h, data_root)
    if not len(train):
        raise ValueError(f"no labelled rows to train on in labs {recipe.labs}")
    atomic_write_text(out / "recipe.json", recipe_json(recipe))
    atomic_write_text(out / "rows.csv", pd.concat([train.assign(role="train"), val.assign(role="val")])[
        ["path", "lab", "node", "target", "role", *[c for c in ("box_xmin", "box_ymin", "box_xmax", "box_ymax")
                                                     if c in train]]].to_csv(index=False))
    cache = out.parent / "cache"
    images = cached_images(train, recipe.cache_size, cache, num_workers=0, progress=progress, reframe=recipe.reframe)
    val_images = (cached_images(val, recipe.cache_size, cache, num_workers=0, progress=progress,
                                reframe=recipe.reframe) if len(val) else None)

    classes = np.array(sorted(set(train["target"])), dtype=object)
    target = torch.as_tensor(pd.Index(classes).get_indexer(train["target"]), dtype=torch.long)
    p = lab_probabilities(train["lab"].to_numpy(), recipe.lab_weights)
    v = class_weights(train["target"].to_numpy(), p, classes) if recipe.class_weighted else np.ones(len(classes))
    member = torch.as_tensor(h.membership[h.indices(classes)], dtype=torch.bool)      # [C, L]

    torch.manual_seed(recipe.seed)
    backbone = ConvNet(tuple(recipe.widths), recipe.img_size)
    head = LeafLogitHead(h, backbone.embed_dim, nlayers=1).restrict(label_leaves(h, train))
    params = list(backbone.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train) / recipe.batch_size))
    total = max(1, round(recipe.epochs * steps_per_epoch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=total, pct_start=0.2)
    gen = torch.Generator().manual_seed(recipe.seed)
    step, ckpt = 0, out / "checkpoints" / "last.pt"
    log = pd.read_csv(out / "log.csv").to_dict("records") if resume and (out / "log.csv").is_file() else []
    if resume and ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        backbone.load_state_dict(state["backbone"])
        head.load_state_dict(state["head"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        gen.set_state(state["gen"])
        step = int(state["step"])
    sampler = torch.as_tensor(p, dtype=torch.double)
    weight = torch.as_tensor(v, dtype=torch.float32)
    stop = total if max_steps is None else min(total, max_steps)
    bar = tqdm(total=stop, initial=step, desc=f"cnn {out.name}", disable=not progress)
    started, losses = time.time(), []
    while step < stop:
        backbone.train()
        head.train()
        idx = torch.multinomial(sampler, recipe.batch_size, replacement=True, generator=gen)
        x = train_views(images[idx], recipe, gen)
        logits = head.restricted(head(backbone(x)))
        loss = smoothed_marginal_ce(logits, target[idx], member, weight, recipe.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        losses.append(loss.item())
        bar.update(1)
        if step % steps_per_epoch == 0 or step == stop:
            row = {"step": step, "epoch": step / steps_per_epoch, "loss": float(np.mean(losses)),
                   "minutes": (log[-1]["minutes"] if log else 0.0) + (time.time() - started) / 60}
            if val_images is not None:
                s = five_type_scores(h, val["node"], predict_nodes(backbone, head, val_images, h))
                row.update(val_accuracy=s["accuracy"], val_balanced_accuracy=s["balanced_accuracy"], val_n=s["n"])
            log.append(row)
            started, losses = time.time(), []
            atomic_write_text(out / "log.csv", pd.DataFrame(log).to_csv(index=False))
            state = _state(backbone, head, opt, sched, step, gen)
            atomic_write(ckpt, lambda tmp, state=state: torch.save(state, tmp), suffix=".pt")
    bar.close()
    minutes = float(log[-1]["minutes"]) if log else 0.0
    extra = {"labs": json.dumps(recipe.labs), "recipe": recipe_json(recipe), "steps": str(step),
             "reframe": recipe.reframe,
             "train_minutes": f"{minutes:.2f}", "n_train": str(len(train)),
             "description": f"supervised CNN baseline ({recipe.label_level} labels) trained on "
                            f"{'+'.join(recipe.labs)}"}
    export_cnn(backbone.eval(), head.eval(), h, out / "model.safetensors", extra)
    return stamp_feature_mean(out)


__all__ = [
    "class_weights",
    "export_cnn",
    "lab_rows",
    "predict_nodes",
    "smoothed_marginal_ce",
    "statistics_rows",
    "train_cnn",
    "training_rows",
]
