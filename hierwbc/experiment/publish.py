"""``publish``: copy what a reader needs from an experiment folder into a folder kept in git
(``reports/<name>/``): the experiment file as run, ``summary.json``, the tables, the tidy
evaluation tables (per-cell predictions and embeddings excluded: they are large and rebuilt by
the command), the figures, and a training table + training-curve figure from every model's
``metrics.jsonl``. Each file keeps its name, so every number in a report is traceable to the
file the command wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from ..hierarchy import atomic_write_text

EVALUATION_TABLES = ("pooled", "severity", "significance", "backoff")  # metrics.csv: in tables/
LOSS_TERMS = ("loss", "dino", "ibot", "koleo", "sup")


def training_table(out: str | Path) -> pd.DataFrame:
    """One row per trained model of experiment folder ``out``: preset, steps, training seconds,
    median images/s and each loss term averaged over the first and the last 10 % of steps
    (``dino_first``, ``dino_last``, ...), from ``models/<name>/DONE.json`` and ``metrics.jsonl``."""
    from ..plotting.training import read_metrics

    rows = []
    for done in sorted(Path(out).glob("models/*/DONE.json")):
        record = json.loads(done.read_text())
        m = read_metrics(done.parent)
        k = max(len(m) // 10, 1)
        row = {"model": record["model"], "preset": record["preset"], "steps": record["steps"],
               "train_s": round(record["train_s"], 1), "images_per_s": round(record["median_images_per_s"], 1)}
        for term in LOSS_TERMS:
            if term in m and m[term].notna().any():
                row[f"{term}_first"] = float(m[term].iloc[:k].mean())
                row[f"{term}_last"] = float(m[term].iloc[-k:].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def publish(out: str | Path, dest: str | Path) -> list[Path]:
    """Copy the readable results of experiment folder ``out`` into ``dest`` (see the module
    docstring); returns the files written. Existing files of the same name are replaced."""
    import matplotlib.pyplot as plt

    from ..plotting import save_figure
    from ..plotting.training import read_metrics, training_curves

    out, dest = Path(out), Path(dest)
    if not (out / "summary.json").exists():
        raise FileNotFoundError(f"{out}: no summary.json; run the experiment first")
    written = []

    def copy(src: Path, rel: str) -> None:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        written.append(target)

    for name in ("experiment.yaml", "summary.json"):
        if (out / name).exists():
            copy(out / name, name)
    for sub, pattern in (("tables", "*"), ("figures", "*.png")):
        for f in sorted((out / sub).glob(pattern)):
            copy(f, f"{sub}/{f.name}")
    for key in EVALUATION_TABLES:
        if (out / "evaluation" / f"{key}.csv").exists():
            copy(out / "evaluation" / f"{key}.csv", f"evaluation/{key}.csv")
    table = training_table(out)
    if len(table):
        (dest / "tables").mkdir(parents=True, exist_ok=True)
        atomic_write_text(dest / "tables" / "training.csv", table.to_csv(index=False, float_format="%.6g"))
        written.append(dest / "tables" / "training.csv")
        curves = {m: read_metrics(out / "models" / m) for m in table["model"]}
        fig = training_curves(curves, smooth=10, title="training loss terms (10-step moving average)")
        written.append(save_figure(fig, dest / "figures" / "training_curves.png"))
        plt.close(fig)
    return written
