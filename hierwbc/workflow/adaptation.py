"""What notebook 11 (adapt to your lab) calls: a lab's cells split into a few labelled ones,
written as node-named class folders, and the rest, written as the new cells to label; the
few-shot learning curve of a model on that lab; labels picked in the notebook's gallery added to
the labelled cells."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from hierwbc.deprecation import renamed_keywords
from hierwbc.io import atomic_write

from .folder import RunFolder

LABELED, UNLABELED = "adapt/labelled", "adapt/new_cells"


def _write(cells: pd.DataFrame, folder: Path, by: str) -> list[str]:
    """The cells (crop boxes applied) as ``folder/<value of by>/<stem>_<row>.png``; their paths."""
    from PIL import Image

    from hierwbc.datasets import load_image
    from hierwbc.datasets.manifest import boxes

    paths = []
    for (i, row), box in zip(cells.iterrows(), boxes(cells)):
        image = Image.fromarray(load_image(str(row["path"]), None if np.isnan(box).all() else box))
        target = folder / str(row[by]) / f"{Path(str(row['path'])).stem}_{i:05d}.png"
        atomic_write(target, lambda tmp, image=image: image.save(tmp, format="PNG"), suffix=".png")
        paths.append(str(target))
    return paths


def lab_split(run: RunFolder, dataset: str, per_type: int, data_root_path: str | None = None, seed: int = 0,
              limit: int | None = None) -> tuple[Path, Path, pd.DataFrame]:
    """``(labelled folder, new cells' manifest CSV, lab manifest)``: ``per_type`` whole cells of
    each of the five types of ``dataset`` (:func:`hierwbc.evaluate.few_shot.draw_reference`; at
    most half of a type) written as ``<run>/adapt/labelled/<type node>/``, and the other cells (at
    most ``limit``, stratified) as ``<run>/adapt/new_cells/<node>/`` listed with their labels (for
    scoring only) in ``<run>/adapt/new_cells.csv``. Both folders are replaced."""
    from hierwbc.datasets import data_root, read_dataset
    from hierwbc.datasets.splits import stratified_subset
    from hierwbc.evaluate.few_shot import draw_reference
    from hierwbc.evaluate.five_types import FIVE_TYPES, five_type_index

    m = read_dataset(dataset, data_root(data_root_path, required=True), hierarchy=run.hierarchy())
    types = five_type_index(run.hierarchy(), m["node"])
    m = m[types >= 0].assign(type=np.asarray(FIVE_TYPES, dtype=object)[types[types >= 0]]).reset_index(drop=True)
    chosen = draw_reference(five_type_index(run.hierarchy(), m["type"]), per_type, np.random.default_rng(seed),
                            m.get("group"))
    labeled, new = run / LABELED, run / UNLABELED
    for folder in (labeled, new):
        shutil.rmtree(folder, ignore_errors=True)
    _write(m[chosen], labeled, "type")
    rest = stratified_subset(m[~chosen].reset_index(drop=True), limit, seed)
    listed = pd.DataFrame({"path": _write(rest, new, "node"), "node": rest["node"].to_numpy()})
    csv = run / "adapt" / "new_cells.csv"
    atomic_write(csv, lambda tmp: listed.to_csv(tmp, index=False))
    return labeled, csv, m


def learning_curve(model, lab: pd.DataFrame, ks=(1, 3, 5, 10), draws: int = 5, methods=("logreg",),
                   hierarchy=None) -> pd.DataFrame:
    """Five-type balanced accuracy of few-shot classifiers on ``model``'s features of the lab's
    cells, against labelled cells per type (:func:`hierwbc.evaluate.few_shot.adaptation_curve`)."""
    from hierwbc.embed import embed
    from hierwbc.evaluate.few_shot import adaptation_curve
    from hierwbc.evaluate.five_types import five_type_index

    a = embed(model, lab.drop(columns=["type"], errors="ignore"), hierarchy=hierarchy, progress=False)
    types = five_type_index(hierarchy if hierarchy is not None else _default(), a.obs["node"].astype(str))
    groups = a.obs["group"].astype(str).to_numpy() if "group" in a.obs else None
    return adaptation_curve(np.asarray(a.obsm["X_cls"]), types, ks=ks, draws=draws, methods=methods, groups=groups)


def five_type_table(results: dict, hierarchy) -> pd.DataFrame:
    """One row per named :func:`hierwbc.predict.predict` result: ``model, cells,
    five_type_accuracy, five_type_balanced_accuracy`` (NaN without labels)."""
    from hierwbc.evaluate.five_types import five_type_scores

    rows = []
    for name, result in results.items():
        truth = result.obs["node"].astype(str) if "node" in result.obs else [""] * result.n_obs
        s = five_type_scores(hierarchy, truth, result.obs["pred_leaf"].astype(str))
        rows.append({"model": name, "cells": result.n_obs, "five_type_accuracy": s["accuracy"],
                     "five_type_balanced_accuracy": s["balanced_accuracy"]})
    return pd.DataFrame(rows)


@renamed_keywords(labelled="labeled")
def with_more_labels(labeled, extra: pd.DataFrame, out, hierarchy) -> Path:
    """One reference manifest CSV at ``out``: the cells of ``labelled`` (a folder of class
    folders or a manifest CSV, :func:`hierwbc.reference.reference_manifest`) and the rows of
    ``extra`` (``path``, crop box, ``node``: e.g. :attr:`hierwbc.plotting.labeling.LabelGallery.labeled`);
    a cell in both keeps ``extra``'s label."""
    from hierwbc.datasets.manifest import BOX_COLUMNS
    from hierwbc.reference import reference_manifest

    base = reference_manifest(labeled, hierarchy)
    cols = ["path", *[c for c in BOX_COLUMNS if c in base or c in extra], "node"]
    both = pd.concat([base.reindex(columns=cols), extra.reindex(columns=cols)], ignore_index=True)
    key = both[cols[:-1]].astype(str).agg("|".join, axis=1)
    both = both[~key.duplicated(keep="last")]
    out = Path(out)
    atomic_write(out, lambda tmp: both.assign(raw_label=both["node"]).to_csv(tmp, index=False))
    return out


def _default():
    from hierwbc.hierarchy import default_hierarchy

    return default_hierarchy()


__all__ = ["LABELED", "UNLABELED", "five_type_table", "lab_split", "learning_curve", "with_more_labels"]
