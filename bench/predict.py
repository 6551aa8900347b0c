"""Cost of predict's off-domain colour check, as ratios in one process, on real PBC test cells.

    .venv/bin/python bench/predict.py [--cells 1000] [--rounds 4] [--threads 2] [--no-write]

Three timings of the same cells with the shipped classifier (best of ``--rounds``, interleaved):

- ``plain``: ``predict(..., colour_domain=None)``, no check;
- ``checked``: ``predict(...)`` (the default: colour statistics read in the embedding pass,
  :func:`hierwbc.datasets.stain.colour_features`, one decode per image);
- ``second_pass``: ``plain`` plus a separate pass that decodes every image again for its colour
  statistics (:func:`hierwbc.datasets.colour_domain.image_features`): what the check costs when it
  is not folded into the embedding pass.

Needs the PBC images (``HIERWBC_DATA`` or ``../shared/data``). Results go to
``bench/results/predict.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="predict's colour check (see the module docstring)")
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    return ap.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    from hierwbc.datasets import read_dataset
    from hierwbc.datasets.colour_domain import image_features
    from hierwbc.datasets.splits import split_rows
    from hierwbc.io import atomic_write_text
    from hierwbc.predict import predict

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")  # the cells are in-domain; nothing to warn about is expected
    cells = split_rows(read_dataset("pbc", None), "test", 0.2, 0).sample(args.cells, random_state=0)
    cells = cells[["path", "node"]]
    predict(cells.head(20), progress=False)  # load the model and warm the caches

    def plain():
        predict(cells, progress=False, colour_domain=None)

    def checked():
        predict(cells, progress=False)

    def second_pass():
        plain()
        image_features(cells, progress=False)

    runs = {"plain": plain, "checked": checked, "second_pass": second_pass}
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    best = {name: min(t) for name, t in times.items()}
    result = {"cells": args.cells, "rounds": args.rounds, "threads": args.threads, "seconds_best": best,
              "checked_over_plain": best["checked"] / best["plain"],
              "second_pass_over_plain": best["second_pass"] / best["plain"],
              "machine": platform.processor() or platform.machine(), "torch": torch.__version__}
    print(json.dumps(result, indent=1))
    if not args.no_write:
        out = Path(__file__).resolve().parent / "results" / "predict.json"
        atomic_write_text(out, json.dumps(result, indent=1) + "\n")
        print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
