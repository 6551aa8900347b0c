"""Zero-shot scores of a classifier on labs' cells: ``hierwbc predict`` as a user runs it, scored
at the five-type level (:mod:`.five_types`), one row per model and set.

The evaluation sets (:func:`evaluation_sets`): ``pbc_test`` (PBC's test split, the same
partition as training's: ``test_fraction`` 0.2, ``split_seed`` 0), ``lisc`` (all crops; each
cell counts once through its ``group``), ``bccd`` and ``segmentation_wbc`` (never trained on).
"""

from __future__ import annotations

import time

import pandas as pd

from ..datasets import read_dataset, split_rows
from .five_types import five_type_scores

EVALUATION_SETS = ("pbc_test", "lisc", "bccd", "segmentation_wbc")
COLUMNS = ["model", "set", "accuracy", "balanced_accuracy", "n", "seconds", "ms_per_cell"]


def evaluation_set(name: str, data_root=None, test_fraction: float = 0.2, split_seed: int = 0) -> pd.DataFrame:
    """The manifest of one evaluation set (see the module docstring)."""
    if name == "pbc_test":
        return split_rows(read_dataset("pbc", data_root), "test", test_fraction, split_seed, what="pbc")
    if name == "lisc":
        return read_dataset("lisc", data_root, progress=False)
    return read_dataset(name, data_root)


def evaluation_sets(names=EVALUATION_SETS, data_root=None) -> dict[str, pd.DataFrame]:
    return {n: evaluation_set(n, data_root) for n in names}


def zero_shot_scores(model, sets: dict[str, pd.DataFrame], name: str | None = None, batch_size: int = 128,
                     progress: bool = False, **predict_kwargs) -> pd.DataFrame:
    """One row per set: five-type ``accuracy``, ``balanced_accuracy``, ``n`` cells, ``seconds`` of
    ``predict`` and ``ms_per_cell``. ``predict_kwargs`` go to :func:`hierwbc.predict.predict`."""
    from ..predict import predict

    rows = []
    for set_name, manifest in sets.items():
        manifest = manifest.reset_index(drop=True)
        start = time.perf_counter()
        out = predict(manifest, model=model, batch_size=batch_size, progress=progress,
                      **{"colour_domain": None, **predict_kwargs})
        seconds = time.perf_counter() - start
        pos = out.obs.index.astype(int).to_numpy()
        groups = manifest["group"].to_numpy()[pos] if "group" in manifest else None
        h = _hierarchy(out)
        s = five_type_scores(h, manifest["node"].to_numpy()[pos], out.obs["pred_leaf"].to_numpy(), groups=groups)
        rows.append({"model": name or str(model), "set": set_name, "accuracy": s["accuracy"],
                     "balanced_accuracy": s["balanced_accuracy"], "n": s["n"], "seconds": seconds,
                     "ms_per_cell": 1000 * seconds / max(len(pos), 1)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _hierarchy(adata):
    from ..hierarchy import default_hierarchy, hierarchy_from_uns

    return hierarchy_from_uns(adata.uns, "predictions: uns['hierarchy']") or default_hierarchy()


__all__ = ["COLUMNS", "EVALUATION_SETS", "evaluation_set", "evaluation_sets", "zero_shot_scores"]
