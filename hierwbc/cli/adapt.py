"""``hierwbc adapt``: a classifier adapted to a user's lab from a few labelled cells
(:func:`hierwbc.adapt.adapt`)."""

from __future__ import annotations

import json
from pathlib import Path

HELP = "adapt a classifier to your lab from a few labelled cells (-> .safetensors)"


def add_arguments(p) -> None:
    from ..adapt import METHODS
    from .options import add_labeled_cells_arguments

    add_labeled_cells_arguments(p, "base model (default: predict's default classifier)",
                                "the adapted classifier (.safetensors), for predict --model")
    p.add_argument("--method", choices=METHODS, default="logreg", help="few-shot classifier on the features")
    p.add_argument("--no-progress", action="store_true")


def run(args) -> Path:
    from ..adapt import adapt
    from ..models.shipped import read_metadata

    path = adapt(args.labeled, args.model, args.out, args.label_map, args.method, progress=not args.no_progress)
    meta = read_metadata(path)
    counts = json.loads(meta["reference_counts"])
    print(f"wrote {path} ({path.stat().st_size / 2**20:.2f} MiB): {sum(counts.values())} reference cells, {counts}")
    print(estimate_line(json.loads(meta.get("reference_estimate", "null"))))
    return path


def estimate_line(estimate: dict | None) -> str:
    """What the cross-validated estimate (:func:`hierwbc.adapt.reference_estimate`) says, in a line."""
    if estimate is None:
        return "no estimate: a class has a single labelled cell (label two or more per class to get one)"
    line = (f"on your labelled cells ({estimate['folds']}-fold cross-validation): adapted "
            f"{100 * estimate['balanced_accuracy']:.1f} % balanced accuracy")
    base = estimate.get("base_balanced_accuracy")
    if base is None:
        return line
    line += f"; the base model as it is, no labels used: {100 * base:.1f} %"
    if base > estimate["balanced_accuracy"]:
        line += (". The base model calls these cells better than the adapted one: predict without it, or label "
                 "more cells per class")
    return line
