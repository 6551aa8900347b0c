"""Fit the PBC train split's colour domain (the shipped models' off-domain check) and measure
how many cells of each evaluation set it flags.

    .venv/bin/python reports/reproduction/colour_domain.py

Fits :class:`hierwbc.datasets.color_domain.ColorDomain` on 1,000 cells of the PBC train
split (drawn with seed 0; the split the shipped models trained on) and writes it to
``hierwbc/weights/pbc_train_colour_domain.json`` (package data, read by ``hierwbc predict``).
Then flags every cell of the report's evaluation sets (``experiments/paper_cpu.yaml``: pbc_test,
BCCD, segmentation_wbc, none used in the fit) and the fitted cells themselves, and writes
``colour_domain.csv`` here: per set, cells, share flagged off-domain, median and 90th-percentile
distance. The classifier's model card quotes it; tests/test_reports.py checks that it does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from hierwbc.datasets import read_dataset
from hierwbc.datasets.color_domain import PBC_TRAIN_FILE, ColorDomain, image_features
from hierwbc.datasets.splits import split_rows
from hierwbc.experiment import load_experiment
from hierwbc.experiment.runner import eval_manifests
from hierwbc.hierarchy import default_hierarchy
from hierwbc.io import atomic_write_text

HERE = Path(__file__).resolve().parent
EXPERIMENT = HERE.parent.parent / "experiments" / "paper_cpu.yaml"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="PBC train cells the domain is fitted on")
    args = p.parse_args(argv)
    h = default_hierarchy()
    train = split_rows(read_dataset("pbc", None, hierarchy=h), "train", 0.2, 0)
    fitted = train.sample(min(args.n, len(train)), random_state=0)
    train_features = image_features(fitted)
    domain = ColorDomain.fit(train_features, "PBC train split (Acevedo et al. 2020), 80 %, data.split_seed 0")
    atomic_write_text(PBC_TRAIN_FILE, domain.to_json())
    rows = []
    sets = {"pbc_train (fitted)": train_features}
    sets.update({name: image_features(m) for name, m in eval_manifests(load_experiment(EXPERIMENT), h).items()})
    for name, features in sets.items():
        d = domain.distance(features)
        rows.append({"set": name, "n": len(d), "off_domain": float((d > domain.threshold).mean()),
                     "median_distance": float(np.median(d)), "p90_distance": float(np.quantile(d, 0.9)),
                     "threshold": domain.threshold})
    table = pd.DataFrame(rows)
    atomic_write_text(HERE / "colour_domain.csv", table.to_csv(index=False, float_format="%.6g"))
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
