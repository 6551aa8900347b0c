"""Small hand-made inputs for the figure tests: predictions / metrics tables with known
values, AnnData with embeddings and a precomputed UMAP (so most tests skip numba)."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from hierwbc.datasets.synthetic import make_synthetic
from hierwbc.hierarchy import default_hierarchy, hierarchy_to_uns

H = default_hierarchy()
LEAVES = ["lymphocyte_typical", "monocyte", "myelocyte", "neutrophil_band", "neutrophil_segmented",
          "eosinophil", "erythroblast", "platelet"]


@pytest.fixture(scope="session")
def h():
    return H


@pytest.fixture(scope="session")
def manifest(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp("cells"), H, n_per_leaf=5, size=32, leaves=LEAVES,
                          coarse_fraction=0.1, progress=False)


def predictions_table(rng, models=("unsup", "hierce"), datasets=("pbc",), probes=("1nn", "logreg"), n=60):
    """Random predictions over LEAVES + two internal nodes, in the evaluate() schema."""
    nodes = LEAVES + ["granulocytic_immature", "lymphoid_mature"]
    frames = []
    for m in models:
        for d in datasets:
            for p in probes:
                true = rng.choice(nodes, n)
                pred = np.where(rng.random(n) < 0.5, true, rng.choice(nodes, n))
                ti, pi = H.indices(true), H.indices(pred)
                frames.append(pd.DataFrame({
                    "model": m, "dataset": d, "probe": p, "fold": rng.integers(0, 3, n),
                    "obs_name": [f"{d}-{i}" for i in range(n)], "true": true, "pred": pred,
                    "correct": true == pred, "lca_height": H.lca_height[ti, pi],
                    "true_lineage": [H.lineage_of(t) for t in true], "pred_lineage": [H.lineage_of(t) for t in pred]}))
    df = pd.concat(frames, ignore_index=True)
    for c in ("model", "dataset", "probe"):
        df[c] = df[c].astype("category")
    for c in ("true", "pred", "true_lineage", "pred_lineage"):
        df[c] = pd.Categorical(df[c], categories=list(H.nodes))
    return df


@pytest.fixture
def predictions():
    return predictions_table(np.random.default_rng(0))


def metrics_table(rng, models, datasets=("pbc", "bccd"), probes=("1nn", "20nn", "logreg"), folds=3,
                  metrics=("balanced_accuracy", "lineage_accuracy", "mistake_severity", "hierarchical_f1")):
    rows = [{"model": m, "dataset": d, "probe": p, "fold": f, "metric": k,
             "value": float(rng.uniform(1, 3) if k == "mistake_severity" else rng.uniform(0.2, 0.9)), "n": 40}
            for m in models for d in datasets for p in probes for f in range(folds) for k in metrics]
    rows += [{"model": m, "dataset": d, "probe": "centroid", "fold": -1, "metric": "centroid_spearman",
              "value": 0.5, "n": 28} for m in models for d in datasets]
    return pd.DataFrame(rows)


@pytest.fixture
def adata(manifest):
    """Embeddings that separate lineages, a precomputed UMAP marked as current."""
    rng = np.random.default_rng(1)
    obs = manifest.copy()
    obs.index = [f"c{i}" for i in range(len(obs))]
    lin = np.array([H.lineages.index(H.lineage_of(n)) for n in obs["node"]])
    a = ad.AnnData(obs=obs.assign(lineage=pd.Categorical([H.lineage_of(n) for n in obs["node"]],
                                                         categories=list(H.lineages)),
                                  node=pd.Categorical(obs["node"]), dataset=pd.Categorical(obs["dataset"])))
    a.obsm["X_cls"] = (rng.normal(size=(len(obs), 8)) + 4 * np.eye(8)[lin]).astype(np.float32)
    a.obsm["X_umap"] = rng.normal(size=(len(obs), 2))
    a.uns["X_umap_params"] = {"use_rep": "X_cls", "n_neighbors": 15, "min_dist": 0.5, "random_state": 0}
    a.uns["hierarchy"] = hierarchy_to_uns(H)
    return a
