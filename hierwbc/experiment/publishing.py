"""``publish``: copy what a reader needs from an experiment folder into a folder kept in git
(``reports/<name>/``): the experiment file as run, ``summary.json``, the tables, the tidy
evaluation tables (per-cell predictions and embeddings excluded: they are large and rebuilt by
the command), the figures, and a training table + training-curve figure from every model's
``metrics.jsonl``. Each file keeps its name, so every number in a report is traceable to the
file the command wrote; the one exception is ``tables/metrics.csv`` (every metric of every fold,
one row per value: over 1 MB for a 3-seed grid), published as ``tables/fold_metrics.csv`` with
one column per metric (:func:`wide_metrics`; :func:`long_metrics` reads it back)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from ..io import atomic_write_text
from ..plotting.training import TERMS
from .layout import DONE_FILE, RunLayout

EVALUATION_TABLES = ("pooled", "severity", "significance", "backoff")  # metrics.csv: in tables/
FOLD_METRICS = "fold_metrics.csv"  # tables/metrics.csv of the run, one column per metric (a third of the size)
_KEYS = ["seed", "model", "dataset", "probe", "fold", "n"]


def wide_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """The tidy ``metrics`` table (one row per metric value) with one column per metric: one
    row per (seed, model, dataset, probe, fold, n). :func:`long_metrics` is its inverse."""
    keys = [k for k in _KEYS if k in metrics]
    wide = metrics.pivot_table(index=keys, columns="metric", values="value", aggfunc="first", observed=True)
    return wide.reset_index().rename_axis(columns=None)


def long_metrics(wide: pd.DataFrame) -> pd.DataFrame:
    """Back to one row per metric value (absent combinations dropped), columns as the run's
    ``metrics.csv``."""
    keys = [k for k in _KEYS if k in wide]
    long = wide.melt(id_vars=keys, var_name="metric", value_name="value").dropna(subset=["value"])
    return long[[k for k in keys if k != "n"] + ["metric", "value"] + (["n"] if "n" in keys else [])]


def training_curves_of(out: str | Path) -> dict[str, pd.DataFrame]:
    """``{run: metrics.jsonl rows}`` of every finished run (with a ``DONE.json``) of ``out``;
    a run is ``<model>`` or, with several seeds, ``<model>/seed<k>``."""
    from ..plotting.training import read_metrics

    models = RunLayout(out).models
    return {d.relative_to(models).as_posix(): read_metrics(d) for d in RunLayout(out).finished_runs()}


def training_table(out: str | Path, curves: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per finished run (model, seed) of experiment folder ``out``: seed, preset, steps, training seconds,
    median images/s and each loss term averaged over the first and the last 10 % of steps
    (``dino_first``, ``dino_last``, ...), from each run's ``DONE.json`` and ``curves``
    (:func:`training_curves_of`, read when not given)."""
    curves = training_curves_of(out) if curves is None else curves
    rows = []
    for name, m in curves.items():
        record = json.loads((RunLayout(out).models / name / DONE_FILE).read_text())
        row = {"model": record["model"], "seed": record.get("seed", record["config"].get("seed")),
               "preset": record["preset"], "steps": record["steps"],
               "train_s": round(record["train_s"], 1), "images_per_s": round(record["median_images_per_s"], 1)}
        for term in TERMS:
            if term in m and m[term].notna().any():
                values = m[term].dropna()  # kNN is logged at its checks only
                k = max(len(values) // 10, 1)
                row[f"{term}_first"] = float(values.iloc[:k].mean())
                row[f"{term}_last"] = float(values.iloc[-k:].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def publish(out: str | Path, dest: str | Path) -> list[Path]:
    """Copy the readable results of experiment folder ``out`` into ``dest`` (see the module
    docstring); returns the files written. Existing files of the same name are replaced."""
    import matplotlib.pyplot as plt

    from ..plotting import save_figure
    from ..plotting.training import training_curves

    src, dest = RunLayout(out), RunLayout(dest)
    if not src.summary_file.exists():
        raise FileNotFoundError(f"{out}: no summary.json; run the experiment first")
    written = []

    def copy(file: Path) -> None:
        target = dest.root / file.relative_to(src.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target)
        written.append(target)

    for file in (src.experiment_file, src.summary_file):
        if file.exists():
            copy(file)
    for folder, pattern in ((src.tables, "*"), (src.figures, "*.png")):
        for f in sorted(folder.glob(pattern)):
            if f.is_file() and f != src.tables / "metrics.csv":  # not tables/seed<k>/ of the notebooks
                copy(f)
    if (src.tables / "metrics.csv").exists():  # every metric of every fold, one column per metric
        wide = wide_metrics(pd.read_csv(src.tables / "metrics.csv"))
        written.append(atomic_write_text(dest.tables / FOLD_METRICS, wide.to_csv(index=False)))  # exact values
    for key in EVALUATION_TABLES:
        if (src.evaluation_dir / f"{key}.csv").exists():
            copy(src.evaluation_dir / f"{key}.csv")
    curves = training_curves_of(out)
    table = training_table(out, curves)
    if len(table):
        written.append(atomic_write_text(dest.tables / "training.csv",
                                         table.to_csv(index=False, float_format="%.6g")))
        fig = training_curves(curves, smooth=10, title="training loss terms (10-step moving average)")
        written.append(save_figure(fig, dest.figures / "training_curves.png"))
        plt.close(fig)
    return written
