"""10_classify_new_cells: label the cells of a new slide with :func:`hierwbc.predict.predict`.

- :func:`reference_atlas`: the labelled reference of the kNN label transfer, the embeddings of a
  stratified subset of a dataset's *train* split (the split the starter backbone was trained
  on), cached as ``<run>/classify/reference_<model>.h5ad`` while the model file, the dataset
  and the size are unchanged;
- :func:`new_cells_folder`: a dataset's cell crops written as PNG files into
  ``<run>/new_cells/<raw label>/`` (what a user's folder of cells looks like), or a folder /
  manifest CSV given as is;
- :func:`least_certain`, :func:`atlas_with_new_cells`: the rows and the joint AnnData the
  notebook's gallery and UMAP show.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from hierwbc.hierarchy import Hierarchy
from hierwbc.io import atomic_write

from .folder import RunFolder

CLASSIFY = "classify"
NEW_CELLS = "new_cells"


def _model_file(model) -> Path | None:
    from hierwbc.models.registry import default_classifier
    from hierwbc.models.shipped import resolve_weights

    try:
        return resolve_weights(default_classifier() if model is None else model)
    except (FileNotFoundError, TypeError):
        return None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def reference_atlas(run: RunFolder, model=None, dataset: str = "pbc", data_root_path: str | None = None,
                    limit: int | None = 1500, seed: int = 0, batch_size: int = 64, progress: bool = True):
    """Labelled embeddings (obs ``node``, obsm ``X_cls``) of at most ``limit`` cells of the
    train split of ``dataset`` (stratified per node, seeded; the train / test partition of
    training: :func:`hierwbc.datasets.splits.split_rows` with the training defaults), embedded
    by ``model`` (``None``: the shipped HierCE classifier). ``dataset`` may also be an .h5ad
    of labelled embeddings, read as is. Cached (see the module docstring)."""
    import anndata as ad

    from hierwbc.config import DataConfig
    from hierwbc.datasets import data_root, read_dataset
    from hierwbc.datasets.splits import split_rows, stratified_subset
    from hierwbc.embed import embed, write_h5ad
    from hierwbc.models.registry import default_classifier

    if str(dataset).endswith(".h5ad"):
        return ad.read_h5ad(dataset)
    model = default_classifier() if model is None else model
    file = _model_file(model)
    stamp = {"model": str(file or model), "model_size": file.stat().st_size if file else -1,
             "model_mtime_ns": file.stat().st_mtime_ns if file else -1, "dataset": str(dataset),
             "limit": -1 if limit is None else int(limit), "seed": int(seed)}
    out = run / CLASSIFY / f"reference_{_slug(Path(str(model)).stem)}.h5ad"
    if out.exists():
        cached = ad.read_h5ad(out)
        if dict(cached.uns.get("reference_inputs", {})) == stamp:
            return cached
    h = run.hierarchy()
    d = DataConfig()
    rows = read_dataset(dataset, data_root(data_root_path, required=True), hierarchy=h)
    train = split_rows(rows, "train", d.test_fraction, d.split_seed, dataset)
    cells = stratified_subset(train, limit, seed)
    adata = embed(model, cells, hierarchy=h, batch_size=batch_size, progress=progress)
    adata.uns["reference_inputs"] = stamp
    write_h5ad(adata, out)
    return adata


def new_cells_folder(run: RunFolder, source: str, data_root_path: str | None = None, limit: int | None = None,
                     seed: int = 0, progress: bool = True) -> Path:
    """The input of :func:`hierwbc.predict.predict`: ``source`` itself when it is a folder or a
    CSV file, else a dataset name (``read_dataset(source, data_root)``) whose cells (crop
    boxes applied; at most ``limit``, stratified per node) are written as PNG files to
    ``<run>/new_cells/<raw label>/<image>_<row>.png``, replacing that folder."""
    from PIL import Image
    from tqdm.auto import tqdm

    from hierwbc.datasets import data_root, load_image
    from hierwbc.datasets import read_dataset as read
    from hierwbc.datasets.manifest import BOX_COLUMNS
    from hierwbc.datasets.splits import stratified_subset

    if Path(source).expanduser().exists():
        return Path(source).expanduser()
    cells = stratified_subset(read(source, data_root(data_root_path, required=True), hierarchy=run.hierarchy()),
                              limit, seed)
    folder = run / NEW_CELLS
    shutil.rmtree(folder, ignore_errors=True)
    for i, row in tqdm(list(cells.iterrows()), desc=f"write {source} cells", disable=not progress):
        box = np.array([row[c] for c in BOX_COLUMNS], float) if all(c in row for c in BOX_COLUMNS) else None
        box = None if box is None or np.isnan(box).all() else box
        target = folder / _slug(str(row["raw_label"])) / f"{Path(str(row['path'])).stem}_{i:05d}.png"
        image = Image.fromarray(load_image(str(row["path"]), box))
        atomic_write(target, lambda tmp, image=image: image.save(tmp, format="PNG"), suffix=".png")
    return folder


def least_certain(adata, n: int = 24, hierarchy: Hierarchy | None = None) -> pd.DataFrame:
    """The ``n`` cells of a :func:`hierwbc.predict.predict` result whose predicted leaf has the
    lowest probability (ties: the shallower back-off first), least certain first; column
    ``caption``: predicted leaf and its probability, the back-off node, and the true label
    when known."""
    from hierwbc.plotting.common import hierarchy_of, node_labels

    h = hierarchy_of(adata, hierarchy)
    label = dict(zip(h.nodes, node_labels(h, h.nodes)))  # display labels, names where not unique
    obs = adata.obs.reset_index(drop=True)
    depth = h.depth[h.indices(obs["backoff_node"].astype(object))]
    order = np.lexsort((depth, obs["pred_leaf_proba"].to_numpy(dtype=float)))[:n]
    rows = obs.iloc[order].copy()

    def caption(r) -> str:
        text = f"{label[r['pred_leaf']]} {r['pred_leaf_proba']:.2f}\n→ {label[r['backoff_node']]}"
        truth = r.get("node", "")
        return text + (f"\ntrue: {label[truth]}" if isinstance(truth, str) and truth in label else "")

    rows["caption"] = [caption(r) for _, r in rows.iterrows()]
    return rows


def atlas_with_new_cells(reference, new, reference_name: str = "reference", new_name: str = "new cells"):
    """One AnnData of the reference atlas and the predicted cells (obsm ``X_cls``) for a joint
    UMAP; obs ``dataset`` (``reference_name`` / ``new_name``), ``path`` (+ crop boxes),
    ``reference_lineage`` (the atlas' true lineage, empty for new cells), ``predicted_lineage``
    (empty for the atlas) and ``backoff_node``. ``reference`` may be None (new cells only)."""
    import anndata as ad

    from hierwbc.datasets.manifest import BOX_COLUMNS
    from hierwbc.plotting.common import hierarchy_of

    h = hierarchy_of(new, None)
    parts = []
    if reference is not None:
        nodes = reference.obs["node"].astype(object).to_numpy()
        lineage = [h.lineage_of(v) if isinstance(v, str) and v in h else None for v in nodes]
        parts.append(pd.DataFrame({"dataset": reference_name, "reference_lineage": lineage,
                                   "predicted_lineage": None, "backoff_node": None},
                                  index=reference.obs_names.astype(str))
                     .join(reference.obs[[c for c in ("path", *BOX_COLUMNS) if c in reference.obs]]))
    parts.append(pd.DataFrame({"dataset": new_name, "reference_lineage": None,
                               "predicted_lineage": new.obs["lineage"].astype(object).to_numpy(),
                               "backoff_node": new.obs["backoff_node"].astype(object).to_numpy()},
                              index=new.obs_names.astype(str))
                 .join(new.obs[[c for c in ("path", *BOX_COLUMNS) if c in new.obs]]))
    obs = pd.concat(parts)
    obs.index = [f"{d}-{i}" for d, i in zip(obs["dataset"], obs.index)]
    obs["dataset"] = pd.Categorical(obs["dataset"], categories=[p["dataset"].iloc[0] for p in parts])
    X = [np.asarray(reference.obsm["X_cls"])] if reference is not None else []
    out = ad.AnnData(obs=obs)
    out.obsm["X_cls"] = np.concatenate([*X, np.asarray(new.obsm["X_cls"])]).astype(np.float32)
    out.uns["hierarchy"] = dict(new.uns["hierarchy"])
    return out
