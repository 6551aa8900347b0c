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
import warnings

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
    from timing import best_times, machine, pbc_test_cells, write_result

    from hierwbc.models.shipped import read_metadata
    from hierwbc.predict import predict

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    cells = pbc_test_cells(args.cells)
    runs = {"candidate": lambda: predict(cells, model=args.model, progress=False, color_domain=None),
            "vit_default": lambda: predict(cells, model=VIT_DEFAULT, progress=False, color_domain=None)}
    for model in (args.model, VIT_DEFAULT):  # load the models, warm the caches
        predict(cells.head(20), model=model, progress=False, color_domain=None)
    best = best_times(runs, args.rounds)
    result = {"cells": args.cells, "rounds": args.rounds, "threads": args.threads, "seconds_best": best,
              "ms_per_cell": {k: 1000 * v / args.cells for k, v in best.items()},
              "candidate_over_vit_default": best["candidate"] / best["vit_default"],
              "candidate": str(args.model), "candidate_reframe": read_metadata(args.model).get("reframe", "none"),
              **machine()}
    if args.no_write:
        print(result)
    else:
        write_result("predict_candidate", result)
    return result

if __name__ == "__main__":
    main()
