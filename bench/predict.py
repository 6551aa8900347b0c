"""Cost of predict's off-domain colour check and of its default classifier's larger input, as
ratios in one process, on real PBC test cells.

    .venv/bin/python bench/predict.py [--cells 1000] [--rounds 4] [--threads 2] [--no-write]

Four timings of the same cells (best of ``--rounds``, interleaved), with the default classifier
(``hierwbc-tiny8-pbc-hierce``: 64 px, 64 tokens per cell) unless said:

- ``plain``: ``predict(..., colour_domain=None)``, no check;
- ``checked``: ``predict(...)`` (the default: colour statistics read in the embedding pass,
  :func:`hierwbc.datasets.stain.color_features`, one decode per image);
- ``second_pass``: ``plain`` plus a separate pass that decodes every image again for its colour
  statistics (:func:`hierwbc.datasets.color_domain.image_features`): what the check costs when it
  is not folded into the embedding pass;
- ``plain_56px``: ``plain`` with the 56 px classifier ``hierwbc-tiny-pbc-hierce`` (16 tokens per
  cell), the default before: what the better default costs per cell.

Needs the PBC images (``HIERWBC_DATA`` or ``../shared/data``). Results go to
``bench/results/predict.json``.
"""

from __future__ import annotations

import argparse
import warnings

PREVIOUS_DEFAULT = "hierwbc-tiny-pbc-hierce"


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
    from timing import best_times, machine, pbc_test_cells, write_result

    from hierwbc.datasets.color_domain import image_features
    from hierwbc.predict import DEFAULT_CLASSIFIER, predict

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")  # the cells are in-domain; nothing to warn about is expected
    cells = pbc_test_cells(args.cells)
    predict(cells.head(20), progress=False)  # load the models and warm the caches
    predict(cells.head(20), model=PREVIOUS_DEFAULT, progress=False)

    def plain():
        predict(cells, progress=False, color_domain=None)

    def checked():
        predict(cells, progress=False)

    def second_pass():
        plain()
        image_features(cells, progress=False)

    def plain_56px():
        predict(cells, model=PREVIOUS_DEFAULT, progress=False, color_domain=None)

    best = best_times({"plain": plain, "checked": checked, "second_pass": second_pass, "plain_56px": plain_56px},
                      args.rounds)
    result = {"cells": args.cells, "rounds": args.rounds, "threads": args.threads, "seconds_best": best,
              "checked_over_plain": best["checked"] / best["plain"],
              "second_pass_over_plain": best["second_pass"] / best["plain"],
              "default_over_56px": best["plain"] / best["plain_56px"], "default_model": DEFAULT_CLASSIFIER,
              **machine()}
    if args.no_write:
        print(result)
    else:
        write_result("predict", result)
    return result

if __name__ == "__main__":
    main()
