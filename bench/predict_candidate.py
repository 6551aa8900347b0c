"""predict's time per cell with a candidate default classifier against the ViT classifier that
was the default before it (``hierwbc-tiny8-pbc-hierce``), as a ratio in one process, on the
same real PBC test cells (issue 28's target: no more than 2x).

    .venv/bin/python bench/predict_candidate.py --model runs/labs/cnn_final/model.safetensors \
        [--cells 1000] [--rounds 3] [--threads 2] [--no-write]

Both predict with ``colour_domain=None`` (the check costs the same for both); the candidate
re-frames each cell when its metadata says it was trained so (:mod:`hierwbc.datasets.reframe`),
which is part of its cost. Timings interleaved, best of ``--rounds``. Results go to
``bench/results/predict_candidate.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

VIT_DEFAULT = "hierwbc-tiny8-pbc-hierce"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the candidate (a weights file or shipped name)")
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    import torch

    from hierwbc.datasets import read_dataset
    from hierwbc.datasets.splits import split_rows
    from hierwbc.io import atomic_write_text
    from hierwbc.models.shipped import read_metadata
    from hierwbc.predict import predict

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    cells = split_rows(read_dataset("pbc", None), "test", 0.2, 0).sample(args.cells, random_state=0)[["path", "node"]]
    runs = {"candidate": lambda: predict(cells, model=args.model, progress=False, colour_domain=None),
            "vit_default": lambda: predict(cells, model=VIT_DEFAULT, progress=False, colour_domain=None)}
    for model in (args.model, VIT_DEFAULT):  # load the models, warm the caches
        predict(cells.head(20), model=model, progress=False, colour_domain=None)
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    best = {name: min(t) for name, t in times.items()}
    result = {"cells": args.cells, "rounds": args.rounds, "threads": args.threads, "seconds_best": best,
              "ms_per_cell": {k: 1000 * v / args.cells for k, v in best.items()},
              "candidate_over_vit_default": best["candidate"] / best["vit_default"],
              "candidate": str(args.model), "candidate_reframe": read_metadata(args.model).get("reframe", "none"),
              "machine": platform.processor() or platform.machine(), "torch": torch.__version__}
    print(json.dumps(result, indent=1))
    if not args.no_write:
        out = Path(__file__).resolve().parent / "results" / "predict_candidate.json"
        atomic_write_text(out, json.dumps(result, indent=1) + "\n")
        print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
