"""Embed a manifest's images with a model: an AnnData that scanpy and :mod:`hierwbc.evaluate` read.

>>> adata = embed("runs/hierce/checkpoints/step_075000.pt", read_dataset("pbc"))  # doctest: +SKIP
>>> write_h5ad(adata, "pbc_hierce.h5ad")                                          # doctest: +SKIP
>>> sc.pp.neighbors(adata, use_rep="X_cls")                                       # doctest: +SKIP

The model is one of

- a checkpoint file: a hierwbc training checkpoint (teacher backbone; its supervised head, when
  it gives node probabilities, fills ``obsm["node_proba"]``, over the leaves its training labels
  support (:func:`hierwbc.train.export.checkpoint_trained_leaves`); its config and hierarchy are
  used),
  or a DINOv2 hub / DinoBloom backbone file (:mod:`hierwbc.models.checkpoints`);
- a model object with ``forward_features(x) -> {"x_norm_clstoken", "x_norm_patchtokens"}``;
- a ViT size name (``vit_tiny`` ... ``vit_giant``): random initialisation (seeded), a baseline;
- ``"pixels"``: the image itself, resized (bicubic, antialiased) and centre-cropped to
  ``pixel_size`` x ``pixel_size``: 3 ``pixel_size``^2 values in [0, 1], a baseline.

Images: decoded (crop box applied), shorter side resized to ``img_size`` and centre-cropped
(as in training, :func:`hierwbc.datasets.images.square_resize`), scaled to [0, 1] and normalised
with the ImageNet mean / std.

The AnnData (n cells, no ``X``):

- ``obsm["X_cls"]`` [n, D] float32: normalised [CLS] tokens; ``obsm["X_patch_mean"]`` [n, D]:
  mean of the normalised patch tokens (``patch_mean=True``); ``obsm["node_proba"]`` [n, N]
  (columns = ``uns["hierarchy"]`` nodes, pre-order) when the model has a head with node
  probabilities;
- ``obs``: the manifest columns (text columns categorical, ``path`` kept as text), plus
  ``lineage`` (depth-1 ancestor of ``node``); ``obs_names`` = the manifest index as text;
- ``uns["hierarchy"]`` = ``{"newick", "json"}``; ``uns["provenance"]`` = ``{"model" (name),
  "source" (checkpoint / module / random_init / pixels), "checkpoint", "sha256", "config"
  (JSON text), "img_size", "date" (UTC ISO), "hierwbc_version", "torch", "seed"}``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import __version__
from .baselines.cnn import from_metadata as cnn_from_metadata
from .baselines.cnn import is_cnn
from .datasets.manifest import ManifestError, check_manifest
from .datasets.manifest_images import ManifestImages
from .datasets.model_input import normalize, to_float_images
from .datasets.stain import STAIN_NORMS
from .hierarchy import Hierarchy, default_hierarchy, hierarchy_to_uns
from .io import atomic_write
from .models.checkpoints import backbone_from_weights, build_vit_from_state, load_backbone_state, load_file
from .models.shipped import is_safetensors, read_weights, resolve_weights
from .models.vit import VIT_SIZES, build_vit

PIXELS = "pixels"


def sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_h5ad(adata: ad.AnnData, path: str | os.PathLike) -> Path:
    """Write ``adata`` to ``path`` atomically (:func:`hierwbc.io.atomic_write`)."""
    return atomic_write(path, adata.write_h5ad, suffix=".tmp.h5ad")


def join_sets(files: Mapping[str, str | os.PathLike]) -> ad.AnnData:
    """One model's embedded sets in one AnnData, as :func:`hierwbc.evaluate.evaluate` takes them:
    ``files`` ``{set name: .h5ad path}``; ``obs["dataset"]`` is the set name (categories in the
    order given), obs_names ``<cell>-<set>``, obs / obsm columns common to all sets kept."""
    parts = {name: ad.read_h5ad(path) for name, path in files.items()}
    for name, a in parts.items():
        a.obs["dataset"] = name
    joined = ad.concat(parts, join="inner", merge="first", uns_merge="first", index_unique="-")
    joined.obs["dataset"] = pd.Categorical(joined.obs["dataset"].astype(str), categories=list(parts))
    return joined


def _load_model(model, hierarchy, img_size, patch_size, seed):
    """(backbone or None, head or None, hierarchy, provenance dict, img_size) for ``model``."""
    prov = {"model": "", "source": "", "checkpoint": "", "sha256": "", "config": "", "seed": -1}
    head = None
    if isinstance(model, torch.nn.Module):
        prov.update(model=type(model).__name__, source="module")
        return model, None, hierarchy, prov, img_size or _native_size(model)
    if model == PIXELS:
        prov.update(model=PIXELS, source=PIXELS)
        return None, None, hierarchy, prov, img_size or 224
    if isinstance(model, str) and model in VIT_SIZES:
        torch.manual_seed(seed)
        kw = {"img_size": img_size or 224, **({"patch_size": patch_size} if patch_size else {})}
        prov.update(model=f"{model}_random_init", source="random_init", seed=int(seed))
        return build_vit(model, **kw), None, hierarchy, prov, kw["img_size"]
    try:
        path = resolve_weights(model)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"model {model!r} is neither a checkpoint file, a shipped model, a ViT "
                                f"size ({', '.join(VIT_SIZES)}) nor {PIXELS!r} ({err})") from None
    prov.update(model=path.stem, source="checkpoint", checkpoint=str(path.resolve()), sha256=sha256(path))
    if is_safetensors(path):
        tensors, meta = read_weights(path)
        prov["config"] = meta.get("config", "")
        if meta.get("reframe", "none") != "none":
            prov["reframe"] = meta["reframe"]
        if meta.get("colour_domain"):  # the colour statistics of the images it was trained on
            prov["colour_domain"] = meta["colour_domain"]
        if meta.get("feature_mean"):  # the mean feature of its training images (predict --recentre)
            prov["feature_mean"] = meta["feature_mean"]
        if is_cnn(meta):  # the supervised CNN baseline: its pooled features are X_cls
            return cnn_from_metadata(meta, tensors), None, hierarchy, prov, img_size or int(meta["img_size"])
        backbone = backbone_from_weights(tensors, meta, img_size)
        return backbone, None, hierarchy, prov, img_size or _native_size(backbone)
    state = load_file(path)
    if isinstance(state, dict) and state.get("format") == "hierwbc.train":
        from .config import from_dict
        from .train.export import checkpoint_trained_leaves
        from .train.networks import (
            backbone_from_config,
            sup_head_state,
            supervised_head_from_config,
        )

        cfg = from_dict(state["config"])
        prov["config"] = json.dumps(state["config"], sort_keys=True)
        trained_on = Hierarchy.from_json(state["hierarchy"], source=f"{path}: hierarchy")
        backbone = backbone_from_config(cfg)
        load_backbone_state(state, backbone)
        head_state = sup_head_state(state["model"])
        head = supervised_head_from_config(cfg, trained_on, backbone.embed_dim) if head_state else None
        if head is not None:
            head.load_state_dict(head_state)
            head = head if head.has_node_probs else None
        leaves = checkpoint_trained_leaves(state, path) if head is not None else None
        if leaves is not None:  # only the leaves its training labels support
            head.restrict(trained_on.leaf_mask(leaves))
        if hierarchy is not None and head is not None and hierarchy != trained_on:
            raise ValueError(f"{path}: its supervised head predicts the nodes of the hierarchy it was trained "
                             "with, which differs from the hierarchy given; embed without hierarchy=")
        return backbone, head, hierarchy or trained_on, prov, img_size or cfg.model.img_size
    backbone = build_vit_from_state(state, img_size=img_size)
    load_backbone_state(state, backbone)
    return backbone, None, hierarchy, prov, img_size or _native_size(backbone)


def _native_size(model) -> int:
    """The input size a ViT's stored position embedding is laid out for (224 if unknown)."""
    pos, patch = getattr(model, "pos_embed", None), getattr(model, "patch_size", None)
    if pos is None or not isinstance(patch, int):
        return 224
    return round((pos.shape[1] - 1) ** 0.5) * patch


def _obs(manifest: pd.DataFrame, hierarchy: Hierarchy) -> pd.DataFrame:
    obs = manifest.copy()
    obs.index = obs.index.astype(str)
    if not obs.index.is_unique:
        raise ValueError("manifest index values must be unique (they become obs_names)")
    for c in obs.columns:
        if c != "path" and (obs[c].dtype == object or pd.api.types.is_string_dtype(obs[c])):
            obs[c] = pd.Categorical(obs[c])
    lineage = [hierarchy.lineage_of(n) if isinstance(n, str) and n in hierarchy else None
               for n in manifest["node"].unique()]
    lut = dict(zip(manifest["node"].unique(), lineage))
    obs["lineage"] = pd.Categorical(manifest["node"].map(lut).to_numpy(), categories=list(hierarchy.lineages))
    obs.attrs = {}
    return obs


def embed(model, manifest: pd.DataFrame, *, hierarchy: Hierarchy | None = None, img_size: int | None = None,
          patch_size: int | None = None, batch_size: int = 64, num_workers: int = 0, device: str = "cpu",
          patch_mean: bool = False, pixel_size: int = 16, seed: int = 0, name: str | None = None,
          progress: bool = True, stain_norm: str | None = None, colour_features: bool = False,
          reframe: str | None = None) -> ad.AnnData:
    """Embed every row of ``manifest`` (see the module docstring). ``name`` overrides the model
    name stored in ``uns["provenance"]["model"]`` (what :func:`hierwbc.evaluate.evaluate` calls it).
    ``stain_norm="reinhard"``: each image's colours moved to the PBC training images' first
    (:mod:`hierwbc.datasets.stain`; for cells from another lab), recorded in the provenance.
    ``colour_features``: also ``obsm["colour_features"]`` [n, 6], each image's colour statistics
    as decoded (:func:`hierwbc.datasets.stain.colour_features`; the off-domain check of predict).
    ``reframe="cell"``: each image first cut to the square around its cell
    (:mod:`hierwbc.datasets.reframe`); default: as the model was trained (its weights' metadata
    ``reframe``), else none."""
    backbone, head, hierarchy, prov, size = _load_model(model, hierarchy, img_size, patch_size, seed)
    reframe = reframe if reframe is not None else prov.pop("reframe", None)
    prov.pop("reframe", None)
    hierarchy = hierarchy if hierarchy is not None else default_hierarchy()
    check_manifest(manifest, hierarchy)
    size = pixel_size if backbone is None else size
    images = ManifestImages(manifest, size, np.full(len(manifest), -1), stain_norm=stain_norm,
                            with_colour=colour_features, reframe=reframe)
    loader = DataLoader(images, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    cls, patches, probs, colours = [], [], [], []
    if backbone is not None:
        backbone = backbone.to(device).eval()
        head = head.to(device).eval() if head is not None else None
    with torch.inference_mode():
        for x, *rest in tqdm(loader, desc=f"embed {prov['model']}", disable=not progress):
            if colour_features:
                colours.append(rest[2])
            x = to_float_images(x.to(device))
            if backbone is None:
                cls.append(x.flatten(1).cpu())
                continue
            out = backbone.forward_features(normalize(x))
            cls.append(out["x_norm_clstoken"].float().cpu())
            if patch_mean:
                patches.append(out["x_norm_patchtokens"].float().mean(1).cpu())
            if head is not None:
                probs.append(head.node_probs(head(out["x_norm_clstoken"])).float().cpu())
    adata = ad.AnnData(obs=_obs(manifest, hierarchy))
    dim = 3 * pixel_size ** 2 if backbone is None else backbone.embed_dim
    adata.obsm["X_cls"] = torch.cat(cls).numpy() if cls else np.zeros((0, dim), np.float32)
    if patches:
        adata.obsm["X_patch_mean"] = torch.cat(patches).numpy()
    if probs:
        adata.obsm["node_proba"] = torch.cat(probs).numpy()
    if colour_features:
        adata.obsm["colour_features"] = torch.cat(colours).numpy() if colours else np.zeros((0, 6))
    prov.update(model=name or prov["model"], img_size=int(size), stain_norm=stain_norm or "none",
                reframe=reframe or "none",
                torch=str(torch.__version__),
                hierwbc_version=__version__, date=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    adata.uns["hierarchy"] = hierarchy_to_uns(hierarchy)
    adata.uns["provenance"] = prov
    return adata


def add_embed_arguments(p) -> None:
    """The options of ``hierwbc embed`` (for :mod:`hierwbc.cli`)."""
    p.add_argument("--checkpoint", "--model", dest="model", required=True,
                   help=f"checkpoint or weights file, a shipped name (hierwbc-tiny-pbc, ...), a ViT size for a "
                        f"random-init baseline ({', '.join(VIT_SIZES)}) or {PIXELS!r}")
    p.add_argument("--data", action="append", required=True,
                   help="dataset name, folder (folder:label_map) or manifest CSV; repeat or comma-separate")
    p.add_argument("--data-root", default=None, help="data location (default HIERWBC_DATA or ../shared/data)")
    p.add_argument("--out", required=True, help="output .h5ad file")
    p.add_argument("--hierarchy", default=None,
                   help="hierarchy file (.json / .nwk); default: the checkpoint's or the default tree")
    p.add_argument("--img-size", type=int, default=None,
                   help=f"input size (default: the checkpoint's); for {PIXELS!r}: the side of the "
                        "downscaled image (16)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--patch-mean", action="store_true", help="also store the mean patch token (obsm X_patch_mean)")
    p.add_argument("--name", default=None, help="model name stored in uns['provenance']")
    p.add_argument("--seed", type=int, default=0)
    add_stain_argument(p)
    p.add_argument("--no-progress", action="store_true")


def add_stain_argument(p) -> None:
    """``--stain-norm`` (``hierwbc embed`` and ``hierwbc predict``)."""
    p.add_argument("--stain-norm", choices=STAIN_NORMS, default=None,
                   help="move each image's colours to the PBC training images' first (Reinhard 2001): for "
                        "cells stained or photographed elsewhere than the model's training data")


def embed_main(args) -> Path:
    """``hierwbc embed``: read the ``--data`` sources, embed, write ``--out`` atomically."""
    from .datasets.sources import read_sources

    h = Hierarchy.read(args.hierarchy) if args.hierarchy else None
    specs = [x for d in args.data for x in d.split(",") if x]
    manifest = read_sources(specs, args.data_root, hierarchy=h)
    if manifest.empty:
        raise ManifestError(f"no images found in {', '.join(specs)}")
    adata = embed(args.model, manifest, hierarchy=h, img_size=args.img_size, batch_size=args.batch_size,
                  num_workers=args.num_workers, device=args.device, patch_mean=args.patch_mean,
                  seed=args.seed, name=args.name, progress=not args.no_progress, stain_norm=args.stain_norm,
                  **({"pixel_size": args.img_size} if args.model == PIXELS and args.img_size else {}))
    out = write_h5ad(adata, args.out)
    print(f"{adata.n_obs} cells x {adata.obsm['X_cls'].shape[1]} features -> {out}")
    return out
