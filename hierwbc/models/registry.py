"""One door to every model: a short name, a file or an object -> a ready :class:`Model`.

>>> m = create_model("hierwbc-cnn-labs")      # a shipped model, by its short name  # doctest: +SKIP
>>> m.network, m.head, m.img_size, m.hierarchy                                       # doctest: +SKIP
>>> print(model_card("hierwbc-cnn-labs"))                                            # doctest: +SKIP

As timm's ``create_model`` and CellTypist's ``models.Model.load``: ``embed``, ``predict``,
``adapt`` and ``export`` take whatever this takes, and nothing here imports :mod:`hierwbc.train`.
What is understood:

- a :class:`Model` (as is) or a ``torch.nn.Module`` with ``forward_features(x) ->
  {"x_norm_clstoken", "x_norm_patchtokens"}`` (source ``module``);
- ``"pixels"``: no network; the image itself, downscaled to ``img_size`` (default 16), is the
  feature (a baseline; source ``pixels``);
- a ViT size name (``vit_tiny`` ... ``vit_giant``): randomly initialised with ``seed`` (a
  baseline; source ``random_init``);
- a safetensors weights file or a shipped short name (:mod:`hierwbc.models.shipped`): a ViT or
  the CNN (:mod:`hierwbc.models.cnn`) from its metadata, with its supervised head when it was
  exported with one (``sup_head.*``; restricted to the metadata's ``trained_leaves``);
- a ``hierwbc.train`` run checkpoint: the teacher backbone its config describes, with the
  student's supervised head restricted to the leaves its training labels support;
- a DINOv2 hub or DinoBloom file (:mod:`hierwbc.models.checkpoints`).

The input size is worked out here and only here: the one asked for, else the model's own (its
metadata, its config, the grid of its stored position embedding), else 224.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..hierarchy import Hierarchy
from .checkpoints import RUN_CHECKPOINT_FORMAT, backbone_from_weights, build_vit_from_state, load_backbone_state
from .checkpoints import load_file as load_checkpoint_file
from .cnn import from_metadata as cnn_from_metadata
from .cnn import is_cnn
from .shipped import is_safetensors, read_weights, resolve_weights
from .supervised_heads import SupervisedHead, head_of_hidden_dim
from .vit import VIT_SIZES, build_vit

PIXELS = "pixels"
PIXEL_SIZE = 16      # the side of a "pixels" baseline's downscaled image
DEFAULT_SIZE = 224   # a ViT's input size when nothing says otherwise
DEFAULT_CLASSIFIER = "hierwbc-cnn-labs"
"""``hierwbc predict``'s default classifier (its card: ``hierwbc models hierwbc-cnn-labs``; chosen
by the rules of ``reports/labs/RULES.md``)."""


@dataclasses.dataclass
class Model:
    """A model ready for inference. ``network``: ``forward_features([B, 3, S, S]) ->
    {"x_norm_clstoken": [B, D], ...}`` (None for ``pixels``); ``head``: a supervised head giving
    node probabilities over ``hierarchy``'s nodes from the [B, D] [CLS] features (None without
    one); ``img_size`` S; ``provenance``: what ``embed`` records in ``uns["provenance"]``;
    ``metadata``: a weights file's metadata ({} otherwise)."""

    name: str
    source: str
    network: nn.Module | None
    img_size: int
    patch_size: int | None = None
    head: SupervisedHead | None = None
    hierarchy: Hierarchy | None = None
    path: Path | None = None
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def embed_dim(self) -> int:
        return 3 * self.img_size ** 2 if self.network is None else int(self.network.embed_dim)

    @property
    def head_hierarchy(self) -> Hierarchy | None:
        """The tree its head predicts (None without a head)."""
        return self.hierarchy if self.head is not None else None

    @property
    def card(self) -> str:
        """Its section of the shipped models' card (empty for anything not shipped)."""
        from .cards import model_card

        return model_card(self.name) if self.source == "weights" and self.path is not None else ""


def sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _provenance(name: str, source: str, **extra) -> dict[str, Any]:
    return {"model": name, "source": source, "checkpoint": "", "sha256": "", "config": "", "seed": -1, **extra}


def native_size(network: nn.Module) -> int:
    """The input size a ViT's stored position embedding is laid out for (224 if unknown)."""
    pos, patch = getattr(network, "pos_embed", None), getattr(network, "patch_size", None)
    if pos is None or not isinstance(patch, int):
        return DEFAULT_SIZE
    return round((pos.shape[1] - 1) ** 0.5) * patch


def create_model(model, *, img_size: int | None = None, patch_size: int | None = None,
                 seed: int = 0) -> Model:
    """The :class:`Model` of ``model`` (the module docstring lists what is understood) at input
    size ``img_size`` (default: its own). ``patch_size``: of a random-init ViT only."""
    if isinstance(model, Model):
        return model
    if isinstance(model, nn.Module):
        net = model
        return Model(type(net).__name__, "module", net, img_size or native_size(net),
                     getattr(net, "patch_size", None), provenance=_provenance(type(net).__name__, "module"))
    if model == PIXELS:
        return Model(PIXELS, PIXELS, None, img_size or PIXEL_SIZE, provenance=_provenance(PIXELS, PIXELS))
    if isinstance(model, str) and model in VIT_SIZES:
        torch.manual_seed(seed)
        size = img_size or DEFAULT_SIZE
        net = build_vit(model, img_size=size, **({"patch_size": patch_size} if patch_size else {}))
        name = f"{model}_random_init"
        return Model(name, "random_init", net, size, net.patch_size,
                     provenance=_provenance(name, "random_init", seed=int(seed)))
    try:
        path = resolve_weights(model)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"model {model!r} is neither a checkpoint file, a shipped model, a ViT "
                                f"size ({', '.join(VIT_SIZES)}) nor {PIXELS!r} ({err})") from None
    except TypeError:
        raise TypeError(f"model {model!r}: expected a name, a path, a torch module or a Model") from None
    prov = _provenance(path.stem, "checkpoint", checkpoint=str(path.resolve()), sha256=sha256(path))
    if is_safetensors(path):
        return _from_weights(path, img_size, prov)
    state = load_checkpoint_file(path)
    if isinstance(state, dict) and state.get("format") == RUN_CHECKPOINT_FORMAT:
        return _from_run_checkpoint(path, state, img_size, prov)
    net = build_vit_from_state(state, img_size=img_size)
    load_backbone_state(state, net)
    return Model(path.stem, "checkpoint", net, img_size or native_size(net), net.patch_size, path=path,
                 provenance=prov)


def _from_weights(path: Path, img_size: int | None, prov: dict) -> Model:
    """A safetensors file (:mod:`hierwbc.models.shipped`): its network, head and metadata."""
    tensors, meta = read_weights(path)
    prov["config"] = meta.get("config", "")
    for key in ("reframe", "colour_domain", "feature_mean"):  # how it reads images; its training colours and mean
        if meta.get(key) and meta[key] != "none":
            prov[key] = meta[key]
    if is_cnn(meta):
        net = cnn_from_metadata(meta, tensors)
        size = img_size or int(meta["img_size"])
    else:
        net = backbone_from_weights(tensors, meta, img_size)
        size = img_size or native_size(net)
    head, tree = _weights_head(path, tensors, meta)
    return Model(path.stem, "weights", net, size, getattr(net, "patch_size", None), head, tree, path, meta, prov)


def _weights_head(path: Path, tensors: dict, meta: dict) -> tuple[SupervisedHead | None, Hierarchy | None]:
    """The node-probability head a weights file was exported with, and its tree; (None, None) without."""
    state = {k[len("sup_head."):]: v.float() for k, v in tensors.items() if k.startswith("sup_head.")}
    if not state or "sup_loss" not in meta or "hierarchy" not in meta:
        return None, None
    tree = Hierarchy.from_json(meta["hierarchy"], source=f"{path}: hierarchy")
    dim = int(meta["embed_dim"]) if "embed_dim" in meta else next(
        v.shape[-1] for k, v in tensors.items() if k.startswith("backbone.") and k.endswith("cls_token"))
    head = head_of_hidden_dim(meta["sup_loss"], tree, dim, meta.get("sup_head_hidden_dim", 0))
    head.load_state_dict(state)
    if not head.has_node_probs:
        return None, tree
    if "trained_leaves" in meta:  # only the leaves its training labels support can be predicted
        head.restrict(tree.leaf_mask(json.loads(meta["trained_leaves"])))
    return head.eval(), tree


def _from_run_checkpoint(path: Path, state: dict, img_size: int | None, prov: dict) -> Model:
    """A ``hierwbc.train`` checkpoint: the teacher backbone and the student's supervised head."""
    from ..config import from_dict
    from .networks import backbone_from_config, sup_head_state, supervised_head_from_config
    from .trained_leaves import checkpoint_trained_leaves

    cfg = from_dict(state["config"])
    prov["config"] = json.dumps(state["config"], sort_keys=True)
    tree = Hierarchy.from_json(state["hierarchy"], source=f"{path}: hierarchy")
    net = backbone_from_config(cfg)
    load_backbone_state(state, net)
    head_state = sup_head_state(state["model"])
    head = supervised_head_from_config(cfg, tree, net.embed_dim) if head_state else None
    if head is not None:
        head.load_state_dict(head_state)
        head = head.eval() if head.has_node_probs else None
    leaves = checkpoint_trained_leaves(state, path) if head is not None else None
    if leaves is not None:  # only the leaves its training labels support
        head.restrict(tree.leaf_mask(leaves))
    return Model(path.stem, "checkpoint", net, img_size or cfg.model.img_size, cfg.model.patch_size, head, tree,
                 path, provenance=prov)


def default_classifier() -> Path:
    """The file of :data:`DEFAULT_CLASSIFIER`; a clear error when the package ships none."""
    from .shipped import shipped_weights

    weights = shipped_weights()
    if DEFAULT_CLASSIFIER not in weights:
        raise FileNotFoundError(
            f"no shipped default classifier (hierwbc/weights/{DEFAULT_CLASSIFIER}.safetensors; shipped: "
            f"{', '.join(weights) or 'none'}); give --model / model= a checkpoint with a supervised head, or a "
            "backbone together with --reference / reference= (an .h5ad of labelled embeddings of that model)")
    return weights[DEFAULT_CLASSIFIER]


__all__ = ["DEFAULT_CLASSIFIER", "PIXELS", "Model", "create_model", "default_classifier", "native_size"]
