"""Label new cells: a model (+ optionally a labelled reference) and images -> per-cell predictions.

>>> adata = predict("new_cells/", model="runs/hierce/checkpoints/last.pt")     # doctest: +SKIP
>>> adata = predict("cells.csv", model="hierwbc-tiny-pbc", reference="pbc_train.h5ad")  # doctest: +SKIP
>>> write_predictions(adata, "cells.csv")                 # + cells.h5ad beside  # doctest: +SKIP
>>> import hierwbc; adata = hierwbc.predict("new_cells/")   # the same call, one line  # doctest: +SKIP

Node probabilities [n, N] come from one of

- a **supervised head**: a training checkpoint whose head gives node probabilities
  (:func:`hierwbc.embed.embed` fills ``obsm["node_proba"]``), or a weights file exported with
  its head (``sup_head.*`` tensors; applied here to the [CLS] tokens; a file whose metadata
  lists ``trained_leaves`` predicts only those leaves, the ones its training labels support).
  ``model=None`` is the shipped default classifier (:data:`DEFAULT_CLASSIFIER`,
  ``hierwbc-cnn-labs``: a CNN trained on PBC and LISC with colour augmentation and cell-centred
  re-framing, five types, chosen by the rules of ``reports/labs/RULES.md``; before it the plain
  CNN baseline ``hierwbc-cnn-pbc`` and the ViT HierCE classifier ``hierwbc-tiny8-pbc-hierce``);
- a **reference atlas** (``reference=``: an AnnData or .h5ad of labelled embeddings of the same
  model, obs ``node``, obsm ``X_cls``): kNN label transfer exactly as the ``<k>nn`` probe of
  :mod:`hierwbc.evaluate` with the reference as the training fold (features standardised on
  the reference, uniform votes, :func:`~hierwbc.evaluate.knn.knn_predict`); the vote fractions
  over the reference's classes (which may be internal nodes) become node probabilities with
  :func:`~hierwbc.evaluate.backoff.class_to_node_proba`. A reference overrides a head.

Per cell (obs): ``path``, ``folder`` (first sub-folder below an input folder, "" for a file at
its top or without one), ``pred_leaf`` and ``pred_leaf_proba`` (the leaf of largest node
probability; for the kNN mode ties go as in the probe, to the class with the nearest member),
``backoff_node`` / ``backoff_proba`` (the deepest node **on the root path of the predicted
leaf** with probability >= ``threshold``, :func:`~hierwbc.evaluate.backoff.backoff_predict`
restricted to that path, so the two answers never contradict each other; threshold 0 gives the
leaf, and the root is always available), ``lineage`` / ``lineage_proba`` (depth-1 ancestor of
the leaf), ``top{1,2,3}_leaf`` / ``top{1,2,3}_proba``, and with labels ``node`` (the true
label, "" when unknown). Labels come from ``label_map`` (applied to the class sub-folder
names, or to a CSV's ``raw_label``/``folder`` column) or from a CSV's ``node`` column; without
them nothing is used as a label. ``colour_distance`` / ``off_domain``: how far the image's colour
statistics (as captured, before any ``stain_norm``; read in the embedding pass) lie from those
of the images the calls rest on (the reference atlas' images, or the PBC train split's for a
model trained on PBC) and whether beyond the 99 % of those (:mod:`hierwbc.datasets.colour_domain`):
calls on off-domain cells are unreliable (the shipped classifier's on BCCD and segmentation_wbc:
its model card, ``hierwbc/weights/README.md``).
``uns["predict"]`` holds the settings and, with labels, the scores; ``uns["unreadable"]`` one
row per image that could not be decoded (``row``, ``path``, ``folder``, ``kind``, ``reason``):
never silently dropped; ``uns["skipped"]`` the non-image
and hidden files of an input folder.
"""

from __future__ import annotations

import json
import os
import sys
import types
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import torch

from .config import ConfigError
from .datasets.colour_domain import ColourDomain, image_features, pbc_train_domain
from .datasets.images import validate
from .datasets.manifest import BOX_COLUMNS, ManifestError, resolve_label_map
from .datasets.readers.common import IMAGE_EXTENSIONS, scan_images
from .embed import add_stain_argument, embed, write_h5ad
from .evaluate.backoff import backoff_predict, class_to_node_proba
from .evaluate.knn import knn_predict
from .evaluate.probes import standardise
from .hierarchy import Hierarchy, default_hierarchy, hierarchy_from_uns
from .io import atomic_write_text
from .models.checkpoints import CheckpointError
from .models.shipped import is_safetensors, read_weights, resolve_weights, shipped_weights

TOP = 3
UNREADABLE_COLUMNS = ["row", "path", "folder", "kind", "reason"]


# ----------------------------------------------------------------------------- inputs
def read_cells(source, hierarchy: Hierarchy, label_map=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(cells, skipped)``: one row per image of a folder (recursive) or per row of a manifest,
    a CSV file or a DataFrame (``path``; relative paths from the CSV's folder, or the working
    directory for a DataFrame), with ``folder``, ``node`` (true label or "") and crop boxes when
    the manifest has them; ``skipped`` lists non-image and hidden files."""
    skipped = pd.DataFrame(columns=["reason", "path", "detail"])
    src = Path("manifest") if isinstance(source, pd.DataFrame) else Path(source).expanduser().absolute()
    if isinstance(source, pd.DataFrame):
        table = source.reset_index(drop=True).astype({"path": str}) if "path" in source else source
        cells, raw = _cells_from_table(table, Path.cwd(), "the manifest DataFrame", hierarchy, label_map)
    elif src.is_dir():
        images, records = scan_images(src, recursive=True)
        rel = [os.path.relpath(p, src).split(os.sep) for p in images]
        cells = pd.DataFrame({"path": images, "folder": [r[0] if len(r) > 1 else "" for r in rel]})
        raw = cells["folder"]
        skipped = pd.DataFrame(records, columns=["reason", "path", "detail"]) if records else skipped
    elif src.is_file():
        table = pd.read_csv(src, dtype=str, keep_default_na=False)
        cells, raw = _cells_from_table(table, src.parent, str(src), hierarchy, label_map)
    else:
        raise FileNotFoundError(f"{str(src)!r} is neither a folder of images nor a manifest CSV file")
    if cells.empty:
        what = "the manifest DataFrame" if isinstance(source, pd.DataFrame) else str(src)
        listed = f"; skipped: {', '.join(skipped['path'].astype(str).head(3))}" if len(skipped) else ""
        raise ManifestError(f"{what}: no images found (recognised: {', '.join(sorted(IMAGE_EXTENSIONS))}){listed}")
    if label_map is not None:
        lm = resolve_label_map(hierarchy, label_map, str(label_map) if isinstance(label_map, str) else src.name)
        mapped = lm.map(raw.astype(str).to_numpy(), unknown="keep")
        cells["node"] = np.where(pd.isna(mapped.nodes), "", mapped.nodes).astype(object)
    return cells.reset_index(drop=True), skipped


def _cells_from_table(table: pd.DataFrame, base: Path, name: str, hierarchy: Hierarchy, label_map):
    """``(cells, raw labels)`` of a manifest table; relative paths are taken from ``base``."""
    if "path" not in table:
        raise FileNotFoundError(f"{name}: a manifest needs a 'path' column; found {list(table.columns)}")
    paths = [p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p)) for p in table["path"]]
    folder = table["folder"].astype(str) if "folder" in table else pd.Series("", index=table.index)
    cells = pd.DataFrame({"path": paths, "folder": folder})
    for c in BOX_COLUMNS:
        if c in table:
            cells[c] = pd.to_numeric(table[c].replace("", np.nan))
    raw = table["raw_label"] if "raw_label" in table else cells["folder"]
    if "node" in table and label_map is None:
        given = table["node"].to_numpy(dtype=object)
        cells["node"] = np.where([n in hierarchy for n in given], given, "")
    return cells, raw


# ----------------------------------------------------------------------------- models
DEFAULT_CLASSIFIER = "hierwbc-cnn-labs"


def default_model() -> Path:
    """The shipped default classifier :data:`DEFAULT_CLASSIFIER` (``hierwbc/weights/README.md``;
    chosen in ``reports/labs/verdict.md``)."""
    weights = shipped_weights()
    if DEFAULT_CLASSIFIER not in weights:
        raise FileNotFoundError(
            f"no shipped default classifier (hierwbc/weights/{DEFAULT_CLASSIFIER}.safetensors; shipped: "
            f"{', '.join(weights) or 'none'}); give --model / model= a checkpoint with a supervised head, or a "
            "backbone together with --reference / reference= (an .h5ad of labelled embeddings of that model)")
    return weights[DEFAULT_CLASSIFIER]


def _weights_head(model):
    """(head, hierarchy) of a weights file exported with its supervised head, else None."""
    try:
        path = resolve_weights(model)
    except (FileNotFoundError, TypeError):
        return None
    if not is_safetensors(path):
        return None
    tensors, meta = read_weights(path)
    state = {k[len("sup_head."):]: v.float() for k, v in tensors.items() if k.startswith("sup_head.")}
    if not state or "sup_loss" not in meta or "hierarchy" not in meta:
        return None
    from .models.supervised_heads import head_of_hidden_dim

    h = Hierarchy.from_json(meta["hierarchy"], source=f"{path}: hierarchy")
    dim = int(meta["embed_dim"]) if "embed_dim" in meta else next(
        v.shape[-1] for k, v in tensors.items() if k.startswith("backbone.") and k.endswith("cls_token"))
    head = head_of_hidden_dim(meta["sup_loss"], h, dim, meta.get("sup_head_hidden_dim", 0))
    head.load_state_dict(state)
    if not head.has_node_probs:
        return None
    if "trained_leaves" in meta:  # only the leaves its training labels support can be predicted
        head.restrict(h.leaf_mask(json.loads(meta["trained_leaves"])))
    return head.eval(), h


def _reference(reference, use_rep: str, hierarchy: Hierarchy | None):
    name = "the reference AnnData" if isinstance(reference, ad.AnnData) else f"reference {str(reference)!r}"
    if isinstance(reference, ad.AnnData):
        ref = reference
    elif not Path(reference).is_file():
        raise FileNotFoundError(f"{name}: no such file (an .h5ad of labelled embeddings)")
    else:
        try:
            ref = ad.read_h5ad(reference)
        except (OSError, ValueError, KeyError) as e:
            raise ManifestError(f"{name}: not a readable .h5ad file ({type(e).__name__}: {e})") from e
    if use_rep not in ref.obsm or "node" not in ref.obs:
        raise ManifestError(f"{name} needs obsm[{use_rep!r}] and obs['node'] (has obsm {list(ref.obsm)}, "
                            f"obs {list(ref.obs.columns)})")
    h = hierarchy if hierarchy is not None else hierarchy_from_uns(ref.uns, "reference: uns['hierarchy']")
    h = h if h is not None else default_hierarchy()
    nodes = ref.obs["node"].astype(object).to_numpy()
    keep = pd.notna(nodes) & (nodes != "")
    if not keep.any():
        raise ManifestError(f"{name}: none of its {len(nodes)} cells has a label (obs['node'])")
    X = np.asarray(ref.obsm[use_rep])[keep]
    images = ref.obs.loc[keep, [c for c in ["path", *BOX_COLUMNS] if c in ref.obs]]
    return X, h.indices(nodes[keep]), h, dict(ref.uns.get("provenance", {})), images


def knn_node_proba(X_ref, y_ref, X, hierarchy: Hierarchy, k: int = 20, metric: str = "euclidean",
                   dtype: torch.dtype = torch.float32) -> tuple[np.ndarray, np.ndarray]:
    """``(node_proba [m, N], leaf_score [m, L])`` of cells ``X`` from the labelled reference
    (``y_ref`` node indices), as the evaluate ``<k>nn`` probe with the reference as training
    fold; ``leaf_score`` orders the leaves as the probe orders its classes (votes, then the
    nearest member), -1 for leaves that are no reference class."""
    xt = torch.as_tensor(np.concatenate([np.asarray(X_ref), np.asarray(X)]), dtype=dtype)
    train = torch.zeros(len(xt), dtype=torch.bool)
    train[:len(X_ref)] = True
    z = standardise(xt, train)
    res = knn_predict(z[train], y_ref, z[~train], ks=(k,), metric=metric, dtype=dtype)
    node_p = class_to_node_proba(hierarchy, res.proba[k], res.classes)
    return node_p, class_leaf_score(hierarchy, res.rank[k], res.classes)


LEAF_BELOW = 1e-6  # a leaf known only through a coarser class scores just below that class


def class_leaf_score(hierarchy: Hierarchy, class_score, classes) -> np.ndarray:
    """Leaf order ``[m, L]`` from scores of classes ``[m, C]`` (node indices ``classes``, any
    precision): a leaf that is a class scores as that class; a leaf that is none scores as its
    deepest class ancestor minus :data:`LEAF_BELOW` (a cell labelled only ``granulocytic_mature``
    in the reference calls a leaf under it); -1 for leaves under no class."""
    h = hierarchy
    class_score = np.asarray(class_score, dtype=np.float64)
    classes = np.asarray(classes, dtype=np.int64)
    score = np.full((len(class_score), len(h.leaves)), -1.0)
    order = np.argsort(h.depth[classes], kind="stable")  # shallow first: deeper classes overwrite
    for c in order:  # one pass per class, vectorised over cells
        under = h.membership[classes[c]]
        own = h.is_leaf[classes[c]]
        score[:, under] = class_score[:, c:c + 1] - (0.0 if own else LEAF_BELOW)
    return score


# ----------------------------------------------------------------------------- predictions
REFERENCE_METHODS = ("knn", "logreg")


def recentred(X: np.ndarray, provenance: dict, model) -> np.ndarray:
    """``X - mean(X) + feature_mean`` (``[n, D]``; see ``recentre`` of :func:`predict`)."""
    if not provenance.get("feature_mean"):
        raise CheckpointError(f"model {str(model)!r} records no training feature mean (metadata 'feature_mean'): "
                              "recentre needs one (hierwbc.baselines.train.stamp_feature_mean)")
    mean = np.asarray(json.loads(provenance["feature_mean"]), dtype=np.float32)
    if mean.shape != (X.shape[1],):
        raise CheckpointError(f"model {str(model)!r}: feature_mean has {mean.size} values, its features {X.shape[1]}")
    return (X - X.mean(0, keepdims=True) + mean).astype(np.float32)


def reference_logreg_proba(X_ref, y_ref, X, hierarchy: Hierarchy) -> tuple[np.ndarray, np.ndarray]:
    """``(node_proba [m, N], leaf_score [m, L])`` of cells ``X`` from a logistic regression fitted
    on the reference (``y_ref`` node indices, any precision; :func:`~hierwbc.evaluate.logreg.fit_predict_logreg`
    with the reference as the training part): class probabilities spread to each class node and
    its ancestors (:func:`~hierwbc.evaluate.backoff.class_to_node_proba`); leaves ordered by
    :func:`class_leaf_score`."""
    from .evaluate.logreg import fit_predict_logreg

    X_ref, X = np.asarray(X_ref, np.float32), np.asarray(X, np.float32)
    classes = np.unique(y_ref)
    if len(classes) < 2:
        proba = np.ones((len(X), 1))
    else:
        fold = np.r_[np.full(len(X_ref), -1), np.zeros(len(X), np.int64)]
        out = fit_predict_logreg(np.concatenate([X_ref, X]), np.r_[y_ref, np.full(len(X), classes[0])], fold)
        proba, classes = out.proba[len(X_ref):], out.classes
    return class_to_node_proba(hierarchy, proba, classes), class_leaf_score(hierarchy, proba, classes)


def _model_hierarchy_or_default(model) -> Hierarchy:
    head = _weights_head(model) if model is not None else None
    return head[1] if head is not None else default_hierarchy()


def predictions(hierarchy: Hierarchy, node_proba, threshold: float = 0.8, leaf_score=None) -> pd.DataFrame:
    """Per-cell table from node probabilities [n, N] (see the module docstring); ``leaf_score``
    [n, L] orders the leaves (default: their node probabilities; ties: leaf order)."""
    h = hierarchy
    p = np.asarray(node_proba, dtype=np.float64)
    leaves = np.asarray(h.leaf_nodes)
    score = p[:, leaves] if leaf_score is None else np.asarray(leaf_score, dtype=np.float64)
    order = np.argsort(-score, axis=1, kind="stable")[:, :TOP]
    top = leaves[order]  # [n, TOP] node indices
    rows = np.arange(len(p))[:, None]
    leaf = top[:, 0]
    on_path = h.ancestors[leaf]  # [n, N]: the leaf and its ancestors
    back = backoff_predict(h, np.where(on_path, p, -1.0), threshold)
    lineage = h.lineage[leaf]
    names = np.asarray(h.nodes, dtype=object)
    out = {"pred_leaf": names[leaf], "pred_leaf_proba": p[rows[:, 0], leaf],
           "backoff_node": names[back], "backoff_proba": p[rows[:, 0], back],
           "lineage": names[lineage], "lineage_proba": p[rows[:, 0], lineage]}
    for j in range(top.shape[1]):
        out[f"top{j + 1}_leaf"] = names[top[:, j]]
        out[f"top{j + 1}_proba"] = p[rows[:, 0], top[:, j]]
    return pd.DataFrame(out)


def _scores(h: Hierarchy, table: pd.DataFrame, truth: np.ndarray) -> dict:
    lab = truth != ""
    if not lab.any():
        return {"n_labelled": 0}
    t = h.indices(truth[lab])
    leaf = h.indices(table["pred_leaf"].to_numpy()[lab])
    back = h.indices(table["backoff_node"].to_numpy()[lab])
    a = h.ancestors
    return {"n_labelled": int(lab.sum()),
            "leaf_accuracy": float(a[leaf, t].mean()),  # the leaf is the label or lies below a coarse one
            "leaf_exact_accuracy": float((leaf == t).mean()),
            "backoff_accuracy": float((a[t, back] | a[back, t]).mean()),  # on one root path
            "backoff_exact_accuracy": float((back == t).mean()),
            "backoff_mean_depth": float(h.depth[back].mean())}


def _model_hierarchy(model, hierarchy: Hierarchy | None):
    """``(hierarchy, head)`` for the head mode; raises early for a model without any head."""
    head = _weights_head(model)
    if head is not None:
        if hierarchy is not None and hierarchy != head[1]:
            raise ValueError(f"{model}: its head predicts the nodes of the hierarchy it was trained with, "
                             "which differs from the hierarchy given")
        return head[1], head
    state = None
    try:
        path = resolve_weights(model)  # a missing file or misspelt name: its own error, with the closest name
    except TypeError:
        path = None  # an in-memory model: embed() names what it accepts
    if path is not None and not is_safetensors(path):
        from .models.checkpoints import load_file

        state = load_file(path)
    if isinstance(state, dict) and state.get("format") == "hierwbc.train" and state.get("hierarchy"):
        return hierarchy or Hierarchy.from_json(state["hierarchy"], source=f"{model}: hierarchy"), None
    raise CheckpointError(f"model {str(model)!r} has no supervised head with node probabilities: give a "
                          "checkpoint with such a head (e.g. HierCE), or this backbone together with "
                          "reference= / --reference (an .h5ad of labelled embeddings of the same model)")


def _keys(df: pd.DataFrame, cols: list[str]) -> pd.Index:
    return pd.Index(df[cols].astype(str).agg("|".join, axis=1) if len(cols) > 1 else df[cols[0]].astype(str))


def predict(manifest_or_folder, model=None, reference=None, threshold: float = 0.8,
            hierarchy: Hierarchy | None = None, label_map=None, batch_size: int = 64, progress: bool = True,
            *, k: int = 20, knn_metric: str = "euclidean", use_rep: str = "X_cls", img_size: int | None = None,
            device: str = "cpu", num_workers: int = 0, stain_norm: str | None = None,
            colour_domain="auto", reframe: str | None = None, reference_label_map=None,
            reference_method: str = "knn", recentre: bool = False) -> ad.AnnData:
    """Predict every readable image of a folder, a manifest CSV or a manifest DataFrame (e.g.
    :func:`hierwbc.datasets.read_dataset`'s; see the module docstring). ``stain_norm="reinhard"``
    moves each image's colours to the PBC training images' before embedding
    (:mod:`hierwbc.datasets.stain`): for cells stained or photographed elsewhere.
    ``colour_domain``: the off-domain check (module docstring): ``"auto"`` (with a reference:
    fitted on up to 1,000 of its images when they are on this machine; else the PBC train split's
    for a model trained on PBC alone; else none), None or "none" (none), a
    :class:`~hierwbc.datasets.colour_domain.ColourDomain` or the path of one's JSON file. More
    than ``OFF_DOMAIN_WARN`` of the cells off-domain gives a warning. ``reframe``: ``"cell"`` cuts
    each image to the square around its cell first (:mod:`hierwbc.datasets.reframe`); default:
    as the model was trained. ``reference``: besides an .h5ad / AnnData of embeddings, a folder
    of class folders or a manifest CSV of labelled cells (:mod:`hierwbc.reference`; folder names
    that are no tree nodes take ``reference_label_map``), embedded with ``model`` and cached.
    ``reference_method``: ``"knn"`` (label transfer, ``k`` neighbours) or ``"logreg"``
    (multinomial logistic regression on the reference's standardised features, the evaluate
    probe's, fitted on all of them; :func:`reference_logreg_proba`). ``recentre``: before the
    head, shift the cells' features so that their mean is the model's training mean (its
    metadata ``feature_mean``): a new lab's unlabelled cells move its features back where the
    head was fitted. It assumes the cells given are one lab's, in a mix of types not far from the
    training mix (a folder of one type only would be shifted wrongly); head mode only."""
    if not 0 <= threshold <= 1:
        raise ConfigError(f"threshold must lie in [0, 1], got {threshold}")
    model = default_model() if model is None else model
    ref, head = None, None
    if reference_method not in REFERENCE_METHODS:
        raise ConfigError(f"reference_method must be one of {REFERENCE_METHODS}, not {reference_method!r}")
    if reference is None:
        from .reference import adapted_reference

        adapted = adapted_reference(model)
        if adapted is not None:  # an adapted classifier: its stored reference and few-shot method
            reference, reference_method = adapted
    if reference is not None:
        from .reference import load_reference

        reference = load_reference(reference, model, hierarchy or _model_hierarchy_or_default(model),
                                   reference_label_map, img_size, reframe, progress)
        Xr, yr, h, ref_prov, ref_images = _reference(reference, use_rep, hierarchy)
        ref = (Xr, yr)
        img_size = img_size or (int(ref_prov["img_size"]) if "img_size" in ref_prov else None)
    else:
        h, head = _model_hierarchy(model, hierarchy)
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
    check = colour_domain not in (None, "none")  # colour statistics read in the embedding pass (one decode)
    adata = embed(model, emb, hierarchy=h, img_size=img_size, batch_size=batch_size, num_workers=num_workers,
                  device=device, progress=progress, stain_norm=stain_norm, colour_features=check, reframe=reframe)
    X = np.asarray(adata.obsm["X_cls"])
    if ref is not None:
        if X.shape[1] != ref[0].shape[1]:
            raise ValueError(f"the reference holds {ref[0].shape[1]}-d embeddings, the model gives {X.shape[1]}-d: "
                             "embed the reference with the same model")
        if reference_method == "logreg":
            node_p, score = reference_logreg_proba(ref[0], ref[1], X, h)
        else:
            node_p, score = knn_node_proba(ref[0], ref[1], X, h, k=k, metric=knn_metric)
    elif head is not None:
        Xh = recentred(X, adata.uns["provenance"], model) if recentre else X
        with torch.inference_mode():
            node_p, score = head[0].node_probs(head[0](torch.as_tensor(Xh))).double().numpy(), None
    elif "node_proba" in adata.obsm:
        node_p, score = np.asarray(adata.obsm["node_proba"], dtype=np.float64), None
    else:
        raise CheckpointError(f"model {str(model)!r}: its supervised head gives no node probabilities; give a "
                              "checkpoint with such a head (e.g. HierCE), or reference= / --reference")
    pos = _keys(uniq, key_cols).get_indexer(_keys(ok, key_cols))
    table = predictions(h, node_p, threshold, score).iloc[pos].reset_index(drop=True)
    domain = (_colour_domain(colour_domain, adata.uns["provenance"], ref_images if ref is not None else None,
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
                          "recentre": bool(recentre and ref is None),
                          "k": int(k) if ref is not None else 0,
                          "n_images": len(cells), "n_predicted": len(obs), "n_unreadable": int(bad.sum()),
                          "colour_domain": domain.name if domain is not None else "none",
                          "colour_threshold": domain.threshold if domain is not None else float("nan"),
                          "n_off_domain": int(obs["off_domain"].sum()) if domain is not None else -1,
                          **(_scores(h, table, obs["node"].to_numpy(dtype=object)) if "node" in obs else {})}
    out.uns["unreadable"] = unreadable.astype({"path": str, "folder": str, "kind": str, "reason": str})
    out.uns["skipped"] = skipped.astype(str)
    info = out.uns["predict"]
    info["off_domain_warning"] = off_domain_message(info) if info["n_off_domain"] > OFF_DOMAIN_WARN * len(obs) else ""
    if info["off_domain_warning"]:
        warnings.warn(info["off_domain_warning"], stacklevel=2)
    return out


OFF_DOMAIN_WARN = 0.1  # more off-domain cells than this share: a warning (in-domain: ~1 % by construction)


def off_domain_message(info: dict) -> str:
    """The warning for a prediction whose cells look unlike the images its calls rest on."""
    return (f"{info['n_off_domain']} of {info['n_predicted']} cells look unlike the images the calls rest on "
            f"({info['colour_domain']}: colour distance > {info['colour_threshold']:.1f}, obs 'off_domain'); "
            "calls on them are less reliable (its model card gives its scores on each lab it was tested on). "
            "Use a reference atlas of your own lab's labelled cells (--reference) or fine-tune, and check the "
            "calls by eye")


REFERENCE_DOMAIN_CELLS = 1000  # reference images the automatic check of the reference mode is fitted on


def _colour_domain(colour_domain, provenance: dict, reference: pd.DataFrame | None,
                   progress: bool = True) -> ColourDomain | None:
    """The off-domain check to apply (see :func:`predict`; ``colour_domain`` not None / "none");
    ``reference``: the reference atlas' image rows (``path`` and boxes) in the reference mode."""
    if isinstance(colour_domain, ColourDomain):
        return colour_domain
    if colour_domain != "auto":
        return ColourDomain.read(colour_domain)
    if reference is not None:  # the atlas, not the model's training images, decides what is known
        if "path" not in reference:
            return None
        rows = reference.drop_duplicates().sample(min(REFERENCE_DOMAIN_CELLS, len(reference)), random_state=0)
        if len(rows) <= 6 or not all(Path(p).is_file() for p in rows["path"].astype(str)):
            return None  # too few, or its images are not on this machine: no check
        return ColourDomain.fit(image_features(rows, progress=progress), f"reference atlas ({len(rows)} images)")
    if provenance.get("colour_domain"):  # the model's own: fitted on its training images (all its labs)
        return ColourDomain.from_json(provenance["colour_domain"], f"{provenance.get('model')}: colour_domain")
    try:
        sources = json.loads(provenance.get("config") or "{}").get("data", {}).get("sources")
    except (TypeError, ValueError, AttributeError):
        return None
    return pbc_train_domain() if sources == ["pbc"] else None


# ----------------------------------------------------------------------------- writing
def write_predictions(adata: ad.AnnData, out_csv: str | os.PathLike) -> tuple[Path, Path]:
    """Write one CSV row per image found (input order; unreadable images with empty
    predictions and their ``error``), atomically, and the AnnData as ``.h5ad`` beside it."""
    out_csv = Path(out_csv)
    obs = pd.DataFrame({c: adata.obs[c].to_numpy() for c in adata.obs.columns})
    obs.insert(0, "row", np.asarray(adata.obs_names).astype(np.int64))
    obs["error"] = ""
    bad = pd.DataFrame(adata.uns.get("unreadable", pd.DataFrame(columns=UNREADABLE_COLUMNS)))
    bad = bad.assign(error=bad["kind"].astype(str) + ": " + bad["reason"].astype(str))[["row", "path", "folder",
                                                                                          "error"]]
    table = pd.concat([obs, bad], ignore_index=True).sort_values("row", kind="stable").drop(columns="row")
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_csv, table.to_csv(index=False))
    h5 = write_h5ad(adata, out_csv.with_suffix(".h5ad"))
    return out_csv, h5


# ----------------------------------------------------------------------------- command line
def _probability(text: str) -> float:
    import argparse

    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a probability between 0 and 1")
    return value


def add_predict_arguments(p) -> None:
    """The options of ``hierwbc predict`` (for :mod:`hierwbc.cli`)."""
    p.add_argument("source", metavar="FOLDER_OR_CSV",
                   help="a folder of images (class sub-folders allowed) or a manifest CSV")
    p.add_argument("--model", default=None,
                   help=f"checkpoint / weights file or shipped name (default: the shipped default classifier, "
                        f"{DEFAULT_CLASSIFIER})")
    p.add_argument("--reference", default=None,
                   help="labelled cells: a folder of class folders, a manifest CSV, or an .h5ad of embeddings of "
                        "the same model (obs 'node', obsm 'X_cls'); folders and CSVs are embedded and cached")
    p.add_argument("--reference-label-map", default=None,
                   help="for reference folders not named after tree nodes: a label map of the hierarchy (e.g. bccd) "
                        "or a YAML / JSON file {folder: node}")
    p.add_argument("--reference-method", choices=REFERENCE_METHODS, default="knn",
                   help="few-shot classifier on the reference: kNN label transfer or logistic regression")
    p.add_argument("--threshold", type=_probability, default=0.8,
                   help="back-off: deepest node with probability >= this (0 to 1)")
    p.add_argument("--label-map", default=None,
                   help="label map of the hierarchy for the class sub-folder names: true labels and accuracy")
    p.add_argument("--out", required=True, help="output CSV (the .h5ad is written beside it)")
    p.add_argument("--k", type=int, default=20, help="neighbours of the reference kNN")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    add_stain_argument(p)
    p.add_argument("--recentre", action="store_true",
                   help="shift the cells' features to the model's training mean first (one lab's cells, a mix of "
                        "types): uses your unlabelled cells to meet the model half-way")
    p.add_argument("--reframe", choices=("cell", "none"), default=None,
                   help="cut each image to the square around its cell first (default: as the model was trained)")
    p.add_argument("--colour-domain", default="auto",
                   help="off-domain check: 'auto' (with --reference: its images' colours; else the PBC training "
                        "images', for models trained on PBC), 'none', or a colour domain JSON file "
                        "(hierwbc.datasets.colour_domain)")
    p.add_argument("--no-progress", action="store_true")


def predict_main(args) -> Path:
    """``hierwbc predict``: predict, write ``--out`` (+ .h5ad) atomically, print a summary."""
    with warnings.catch_warnings():  # the off-domain warning is printed below, as a line of the summary
        warnings.filterwarnings("ignore", message=r".* cells look unlike the images the calls rest on")
        adata = predict(args.source, model=args.model, reference=args.reference, threshold=args.threshold,
                        label_map=args.label_map, batch_size=args.batch_size, progress=not args.no_progress,
                        k=args.k, device=args.device, stain_norm=args.stain_norm, colour_domain=args.colour_domain,
                        reframe=args.reframe, reference_label_map=args.reference_label_map,
                        reference_method=args.reference_method, recentre=args.recentre)
    out, h5 = write_predictions(adata, args.out)
    info = adata.uns["predict"]
    line = f"{info['n_predicted']} cells predicted, {info['n_unreadable']} unreadable -> {out} (+ {h5.name})"
    if info.get("n_labelled"):
        line += (f"; leaf accuracy {info['leaf_accuracy']:.3f}, back-off accuracy {info['backoff_accuracy']:.3f} "
                 f"at threshold {info['threshold']:g} ({info['n_labelled']} labelled)")
    print(line)
    if info["off_domain_warning"]:
        print(f"warning: {info['off_domain_warning']}")
    return out


class _PredictModule(types.ModuleType):
    """This module, callable: ``hierwbc.predict(...)`` is :func:`predict`, the one-call API users
    know from ``celltypist.annotate``; ``from hierwbc.predict import predict`` works as well."""

    def __call__(self, *args, **kwargs) -> ad.AnnData:
        return predict(*args, **kwargs)


sys.modules[__name__].__class__ = _PredictModule
