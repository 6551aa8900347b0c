"""Writing predictions: one CSV row per image found, in input order (unreadable ones with their
error), and the AnnData beside it."""

from __future__ import annotations

import os
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ..embed import write_h5ad
from ..io import atomic_write_text

UNREADABLE_COLUMNS = ["row", "path", "folder", "kind", "reason"]


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
