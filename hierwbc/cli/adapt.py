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
    from ..adapt import adapt, estimate_line, estimate_of
    from ..models.shipped import read_metadata

    path = adapt(args.labeled, args.model, args.out, args.label_map, args.method, progress=not args.no_progress)
    counts = json.loads(read_metadata(path)["reference_counts"])
    print(f"wrote {path} ({path.stat().st_size / 2**20:.2f} MiB): {sum(counts.values())} reference cells, {counts}")
    print(estimate_line(estimate_of(path)))
    return path
