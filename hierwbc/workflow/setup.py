"""Notebook set-up: thread limits, the datasets of a run (real, else synthetic), and the
experiment file the training / embedding notebooks run.

Model names double as specifications (:func:`hierwbc.config.experiment.model_spec`): the preset
is the longest training preset the name starts with (``hierce_a0.1`` -> ``hierce``), and a suffix
``_a<value>`` / ``_alpha<value>`` sets HierCE's alpha in the config; figures read the alpha back
from the config, never from the name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd
import yaml

from hierwbc.config.experiment import model_spec
from hierwbc.datasets import SYNTHETIC, real_or_synthetic, write_manifest
from hierwbc.io import atomic_write_text

from .folder import RunFolder

TRAIN_PREFERENCE = ("pbc",)  # the training set when present; else the first dataset found


def limit_threads(n: int = 1) -> int:
    """At most ``n`` threads for torch and the BLAS / OpenMP pools of this process. On a
    shared 2-core machine several processes with 2 threads each make torch ~10x slower."""
    import torch
    from threadpoolctl import threadpool_limits

    n = max(int(n), 1)
    torch.set_num_threads(n)
    threadpool_limits(n)
    os.environ["OMP_NUM_THREADS"] = str(n)  # for processes started from here (data loaders)
    return n


def dataset_manifests(run: RunFolder, data_root_path: str | None = None, synthetic_per_leaf: int = 8,
                      synthetic_size: int = 64, progress: bool = True) -> dict[str, pd.DataFrame]:
    """Every real dataset found (``data_root_path``, else ``HIERWBC_DATA`` / ``../shared/data``),
    or a synthetic set drawn for the run's tree under ``<run>/synthetic`` when there is none;
    each written to ``manifests/<name>.csv`` (absolute paths). ``{name: manifest}``."""
    h = run.hierarchy()
    out = real_or_synthetic(data_root_path, h, run / SYNTHETIC, required=data_root_path is not None,
                            n_per_leaf=synthetic_per_leaf, size=synthetic_size, coarse_fraction=0.1, progress=progress)
    for name, m in out.items():
        write_manifest(m, run.manifests / f"{name}.csv")
    return out


def _has_types(manifest_csv: str, hierarchy) -> bool:
    """Whether a manifest holds cells labelled below the root (Raabin's and Aslan's boxes are
    only "white blood cell": nothing to score a probe against)."""
    nodes = pd.read_csv(manifest_csv, usecols=["node"], dtype=str)["node"]
    return bool((nodes != hierarchy.root).any())


def notebook_experiment(run: RunFolder, models: Sequence[str], *, steps: int = 40, img_size: int = 56,
                        batch_size: int = 32, train_limit: int | None = 400, eval_limit: int | None = 300,
                        arch: str = "vit_tiny", head_prototypes: int = 256, head_hidden_dim: int = 256,
                        head_bottleneck_dim: int = 64, baselines: Sequence[str] = ("random_init", "pixels"),
                        cv: int = 5, n_boot: int = 200, reference: str | None = None, seed: int = 0,
                        pretrained: str | None = None, extra: dict | None = None):
    """Write ``experiment.yaml`` for ``models`` trained on the run's datasets (02_data's
    manifests: ``pbc`` when present, else the first) and return the loaded
    :class:`hierwbc.experiment.ExperimentConfig`.

    Evaluation sets: the training dataset's test split, then every other dataset with cells typed
    below the root, each at most ``eval_limit`` cells (stratified). The tree is ``hierarchy.json`` of the run (01).
    ``pretrained``: every model continues from this backbone (a shipped name such as
    ``"hierwbc-tiny-pbc"`` or a file; its architecture comes from the file), and the backbone as
    it is joins the baselines as ``starter``, so figures show it beside the fine-tuned models.
    ``extra``: more ``train`` overrides (``{"optim.base_lr": 1e-3}``).
    """
    from hierwbc.experiment import load_experiment

    names = sorted(p.stem for p in run.manifests.glob("*.csv"))
    if not names:
        raise FileNotFoundError(f"no manifests in {run.manifests}: run 02_data first")
    train_set = next((n for n in TRAIN_PREFERENCE if n in names), names[0])
    source = {n: str(run.manifests / f"{n}.csv") for n in names}
    train = {"model.arch": arch, "model.img_size": img_size, "model.patch_size": 14, "model.drop_path_rate": 0.0,
             "batch_size": batch_size, "max_steps": steps, "checkpoint_every": max(steps, 1), "keep_checkpoints": 1,
             "data.sources": [source[train_set]], "data.split": "train", "data.limit": train_limit,
             "data.num_workers": 0, "data.hierarchy": run.hierarchy_file(),
             # online kNN of the teacher on held-out training rows, drawn live in 03 (issue 10)
             "data.val_fraction": 0.2, "knn_every": max(steps // 2, 1), "knn_references": 200,
             "knn_queries": 200, "data.cache_dir": str(run.root / "cache"),
             **{f"{head}.{k}": v for head in ("dino", "ibot") for k, v in
                (("head_n_prototypes", head_prototypes), ("head_hidden_dim", head_hidden_dim),
                 ("head_bottleneck_dim", head_bottleneck_dim))},
             **(extra or {})}
    if pretrained:
        train["model.pretrained"] = pretrained
        baselines = ("starter", *[b for b in baselines if b != "starter"])
    sets = [{"name": f"{train_set}_test", "source": source[train_set], "split": "test", "limit": eval_limit}]
    sets += [{"name": n, "source": source[n], "limit": eval_limit} for n in names
             if n != train_set and _has_types(source[n], run.hierarchy())]
    models = list(dict.fromkeys(models))
    doc = {"name": run.root.name, "out": str(run.root), "seed": seed, "train": train,
           "models": {m: model_spec(m) for m in models}, "baselines": list(baselines),
           "evaluation": {"sets": sets, "cv": cv, "n_boot": n_boot, "probes": ["1nn", "20nn", "logreg"],
                          "reference": reference or next((m for m in models if m.startswith("hierce")), models[0])}}
    text = ("# written by notebooks/03_train.ipynb (hierwbc.workflow.notebook_experiment);\n"
            f"# rerun with: hierwbc experiment --config {run.experiment_file}\n" + yaml.safe_dump(doc, sort_keys=False))
    atomic_write_text(run.experiment_file, text)
    return load_experiment(run.experiment_file)
