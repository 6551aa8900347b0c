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
from .callable_module import make_callable
from .datasets.manifest import check_manifest
from .datasets.manifest_images import ManifestImages
from .datasets.model_input import normalize, to_float_images
from .deprecation import renamed_keywords
from .hierarchy import Hierarchy, default_hierarchy, hierarchy_to_uns
from .io import atomic_write
from .models.registry import PIXELS, create_model


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


@renamed_keywords(colour_features="color_features")
def embed(model, manifest: pd.DataFrame, *, hierarchy: Hierarchy | None = None, img_size: int | None = None,
          patch_size: int | None = None, batch_size: int = 64, num_workers: int = 0, device: str = "cpu",
          patch_mean: bool = False, pixel_size: int = 16, seed: int = 0, name: str | None = None,
          progress: bool = True, stain_norm: str | None = None, color_features: bool = False,
          reframe: str | None = None) -> ad.AnnData:
    """Embed every row of ``manifest`` (see the module docstring). ``name`` overrides the model
    name stored in ``uns["provenance"]["model"]`` (what :func:`hierwbc.evaluate.evaluate` calls it).
    ``stain_norm="reinhard"``: each image's colours moved to the PBC training images' first
    (:mod:`hierwbc.datasets.stain`; for cells from another lab), recorded in the provenance.
    ``color_features``: also ``obsm["colour_features"]`` [n, 6], each image's colour statistics
    as decoded (:func:`hierwbc.datasets.stain.color_features`; the off-domain check of predict).
    ``reframe="cell"``: each image first cut to the square around its cell
    (:mod:`hierwbc.datasets.reframe`); default: as the model was trained (its weights' metadata
    ``reframe``), else none."""
    m = create_model(model, img_size=pixel_size if model == PIXELS else img_size, patch_size=patch_size, seed=seed)
    backbone, head, size, prov = m.network, m.head, m.img_size, dict(m.provenance)
    if head is not None and hierarchy is not None and hierarchy != m.hierarchy:
        if m.source == "checkpoint":
            raise ValueError(f"{m.path}: its supervised head predicts the nodes of the hierarchy it was trained "
                             "with, which differs from the hierarchy given; embed without hierarchy=")
        head = None  # a weights file's head: used with its own tree only
    hierarchy = next((h for h in (hierarchy, m.hierarchy) if h is not None), None) or default_hierarchy()
    reframe = reframe if reframe is not None else prov.pop("reframe", None)
    prov.pop("reframe", None)
    check_manifest(manifest, hierarchy)
    images = ManifestImages(manifest, size, np.full(len(manifest), -1), stain_norm=stain_norm,
                            with_color=color_features, reframe=reframe)
    loader = DataLoader(images, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    cls, patches, probs, colors = [], [], [], []
    if backbone is not None:
        backbone = backbone.to(device).eval()
        head = head.to(device).eval() if head is not None else None
    with torch.inference_mode():
        for x, *rest in tqdm(loader, desc=f"embed {prov['model']}", disable=not progress):
            if color_features:
                colors.append(rest[2])
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
    adata.obsm["X_cls"] = torch.cat(cls).numpy() if cls else np.zeros((0, m.embed_dim), np.float32)
    if patches:
        adata.obsm["X_patch_mean"] = torch.cat(patches).numpy()
    if probs:
        adata.obsm["node_proba"] = torch.cat(probs).numpy()
    if color_features:
        adata.obsm["colour_features"] = torch.cat(colors).numpy() if colors else np.zeros((0, 6))
    prov.update(model=name or prov["model"], img_size=int(size), stain_norm=stain_norm or "none",
                reframe=reframe or "none",
                torch=str(torch.__version__),
                hierwbc_version=__version__, date=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    adata.uns["hierarchy"] = hierarchy_to_uns(hierarchy)
    adata.uns["provenance"] = prov
    return adata




make_callable(__name__, embed)
