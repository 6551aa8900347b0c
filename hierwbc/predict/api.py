"""``predict``: the steps of the package's docstring in order (read the cells, embed them once,
node probabilities from the head or the reference, calls, colour check, one AnnData)."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import torch

from ..config import ConfigError
from ..datasets.images import validate
from ..datasets.manifest import BOX_COLUMNS
from ..deprecation import renamed_keywords
from ..embed import embed
from ..hierarchy import Hierarchy, default_hierarchy
from ..models.checkpoints import CheckpointError
from ..models.registry import create_model, default_classifier
from .calls import predictions, recentered, scores
from .color_check import OFF_DOMAIN_WARN, color_domain_of, off_domain_message
from .inputs import read_cells
from .output import UNREADABLE_COLUMNS
from .reference_transfer import (
    REFERENCE_K,
    REFERENCE_METHODS,
    knn_node_proba,
    reference_features,
    reference_logreg_proba,
)


def _keys(df: pd.DataFrame, cols: list[str]) -> pd.Index:
    return pd.Index(df[cols].astype(str).agg("|".join, axis=1) if len(cols) > 1 else df[cols[0]].astype(str))


@renamed_keywords(colour_domain="color_domain", recentre="recenter")
def predict(manifest_or_folder, model=None, reference=None, threshold: float = 0.8,
            hierarchy: Hierarchy | None = None, label_map=None, batch_size: int = 64, progress: bool = True,
            *, k: int = REFERENCE_K, knn_metric: str = "euclidean", use_rep: str = "X_cls", img_size: int | None = None,
            device: str = "cpu", num_workers: int = 0, stain_norm: str | None = None,
            color_domain="auto", reframe: str | None = None, reference_label_map=None,
            reference_method: str = "knn", recenter: bool = False) -> ad.AnnData:
    """Predict every readable image of a folder, a manifest CSV or a manifest DataFrame (e.g.
    :func:`hierwbc.datasets.read_dataset`'s; see the module docstring). ``stain_norm="reinhard"``
    moves each image's colours to the PBC training images' before embedding
    (:mod:`hierwbc.datasets.stain`): for cells stained or photographed elsewhere.
    ``color_domain``: the off-domain check (module docstring): ``"auto"`` (with a reference:
    fitted on up to 1,000 of its images when they are on this machine; else the PBC train split's
    for a model trained on PBC alone; else none), None or "none" (none), a
    :class:`~hierwbc.datasets.color_domain.ColorDomain` or the path of one's JSON file. More
    than ``OFF_DOMAIN_WARN`` of the cells off-domain gives a warning. ``reframe``: ``"cell"`` cuts
    each image to the square around its cell first (:mod:`hierwbc.datasets.reframe`); default:
    as the model was trained. ``reference``: besides an .h5ad / AnnData of embeddings, a folder
    of class folders or a manifest CSV of labelled cells (:mod:`hierwbc.reference`; folder names
    that are no tree nodes take ``reference_label_map``), embedded with ``model`` and cached.
    ``reference_method``: ``"knn"`` (label transfer, ``k`` neighbours) or ``"logreg"``
    (multinomial logistic regression on the reference's standardised features, the evaluate
    probe's, fitted on all of them; :func:`reference_logreg_proba`). ``recenter``: before the
    head, shift the cells' features so that their mean is the model's training mean (its
    metadata ``feature_mean``): a new lab's unlabelled cells move its features back where the
    head was fitted. It assumes the cells given are one lab's, in a mix of types not far from the
    training mix (a folder of one type only would be shifted wrongly); head mode only."""
    if not 0 <= threshold <= 1:
        raise ConfigError(f"threshold must lie in [0, 1], got {threshold}")
    model = default_classifier() if model is None else model
    if reference_method not in REFERENCE_METHODS:
        raise ConfigError(f"reference_method must be one of {REFERENCE_METHODS}, not {reference_method!r}")
    net = create_model(model, img_size=img_size)
    if reference is None and hierarchy is not None and net.head is not None and hierarchy != net.hierarchy:
        raise ValueError(f"{model}: its head predicts the nodes of the hierarchy it was trained with, "
                         "which differs from the hierarchy given")
    ref = None
    if reference is None:
        from ..reference import adapted_reference

        adapted = adapted_reference(net.path)
        if adapted is not None:  # an adapted classifier: its stored reference and few-shot method
            reference, reference_method = adapted
    if reference is not None:
        from ..reference import load_reference

        reference = load_reference(reference, net, hierarchy or net.head_hierarchy or default_hierarchy(),
                                   reference_label_map, img_size, reframe, progress)
        Xr, yr, h, ref_prov, ref_images = reference_features(reference, use_rep, hierarchy)
        ref = (Xr, yr)
        if not img_size and "img_size" in ref_prov and int(ref_prov["img_size"]) != net.img_size:
            net = create_model(model, img_size=int(ref_prov["img_size"]))  # at the reference's input size
    elif net.head is None:
        raise CheckpointError(f"model {str(model)!r} has no supervised head with node probabilities: give a "
                              "checkpoint with such a head (e.g. HierCE), or this backbone together with "
                              "reference= / --reference (an .h5ad of labelled embeddings of the same model)")
    else:
        h = hierarchy or net.hierarchy
    cells, skipped = read_cells(manifest_or_folder, h, label_map)
    rep = validate(cells, progress=progress, errors="report", duplicates=False)
    bad = np.zeros(len(cells), bool)
    bad[rep.failures["row"].to_numpy(dtype=np.int64)] = True
    unreadable = cells.loc[rep.failures["row"].to_numpy(dtype=np.int64), ["path", "folder"]].assign(
        kind=rep.failures["kind"].to_numpy(), reason=rep.failures["reason"].to_numpy())
    unreadable = unreadable.rename_axis("row").reset_index()[UNREADABLE_COLUMNS]
    ok = cells.loc[~bad]
    key_cols = ["path"] + [c for c in BOX_COLUMNS if c in ok]
    uniq = ok.drop_duplicates(key_cols)  # a file (and box) listed twice is embedded once
    emb = uniq[key_cols].assign(dataset="predict", raw_label="", node=h.root, split="", fold=-1)
    emb = emb[["path", "dataset", "raw_label", "node", "split", "fold"] + key_cols[1:]].reset_index(drop=True)
    check = color_domain not in (None, "none")  # colour statistics read in the embedding pass (one decode)
    adata = embed(net, emb, hierarchy=h, batch_size=batch_size, num_workers=num_workers,
                  device=device, progress=progress, stain_norm=stain_norm, color_features=check, reframe=reframe)
    X = np.asarray(adata.obsm["X_cls"])
    if ref is not None:
        if X.shape[1] != ref[0].shape[1]:
            raise ValueError(f"the reference holds {ref[0].shape[1]}-d embeddings, the model gives {X.shape[1]}-d: "
                             "embed the reference with the same model")
        if reference_method == "logreg":
            node_p, score = reference_logreg_proba(ref[0], ref[1], X, h)
        else:
            node_p, score = knn_node_proba(ref[0], ref[1], X, h, k=k, metric=knn_metric)
    else:
        if recenter:  # the head again, on the shifted features
            with torch.inference_mode():
                node_p = net.head.node_probs(net.head(torch.as_tensor(recentered(X, adata.uns["provenance"], model))))
            node_p = node_p.double().numpy()
        else:  # embed applied the head in its pass
            node_p = np.asarray(adata.obsm["node_proba"], dtype=np.float64)
        score = None
    pos = _keys(uniq, key_cols).get_indexer(_keys(ok, key_cols))
    table = predictions(h, node_p, threshold, score).iloc[pos].reset_index(drop=True)
    domain = (color_domain_of(color_domain, adata.uns["provenance"], ref_images if ref is not None else None,
                             progress) if check else None)
    if domain is not None:
        distance = domain.distance(adata.obsm["colour_features"])[pos]
        table["colour_distance"], table["off_domain"] = distance, distance > domain.threshold
    obs = pd.concat([ok.reset_index(drop=True), table], axis=1)
    obs.index = ok.index.astype(str)
    out = ad.AnnData(obs=obs)
    out.obsm["X_cls"] = X[pos].astype(np.float32)
    out.obsm["node_proba"] = node_p[pos].astype(np.float32)
    out.uns["hierarchy"] = dict(adata.uns["hierarchy"])
    out.uns["provenance"] = dict(adata.uns["provenance"])
    source = (f"DataFrame ({len(manifest_or_folder)} rows)" if isinstance(manifest_or_folder, pd.DataFrame)
              else str(manifest_or_folder))
    out.uns["predict"] = {"source": source, "mode": f"reference_{reference_method}" if ref is not None else "head",
                          "threshold": float(threshold), "stain_norm": stain_norm or "none",
                          "reframe": adata.uns["provenance"].get("reframe", "none"),
                          "recentre": bool(recenter and ref is None),
                          "k": int(k) if ref is not None else 0,
                          "n_images": len(cells), "n_predicted": len(obs), "n_unreadable": int(bad.sum()),
                          "colour_domain": domain.name if domain is not None else "none",
                          "colour_threshold": domain.threshold if domain is not None else float("nan"),
                          "n_off_domain": int(obs["off_domain"].sum()) if domain is not None else -1,
                          **(scores(h, table, obs["node"].to_numpy(dtype=object)) if "node" in obs else {})}
    out.uns["unreadable"] = unreadable.astype({"path": str, "folder": str, "kind": str, "reason": str})
    out.uns["skipped"] = skipped.astype(str)
    info = out.uns["predict"]
    info["off_domain_warning"] = off_domain_message(info) if info["n_off_domain"] > OFF_DOMAIN_WARN * len(obs) else ""
    if info["off_domain_warning"]:
        warnings.warn(info["off_domain_warning"], stacklevel=2)
    return out
