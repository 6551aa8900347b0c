"""The paper's comparison at a budget where supervision reshapes the backbone, over training seeds.

    .venv/bin/hierwbc experiment --config experiments/longer_cpu.yaml --publish reports/reproduction/longer_seeds
    .venv/bin/python reports/reproduction/verdict.py reports/reproduction/longer_seeds --level 4
    .venv/bin/python reports/reproduction/longer_seeds/summarise.py          # summary.md

``experiments/longer_cpu.yaml``: the shipped starter continued 1,500 steps with the shipped
classifier's recipe without a supervised term (``unsup``), with CE and with HierCE (alpha 0.5 at
CE's loss scale), one run per training seed; baselines the starter, the same ViT with random
weights (drawn per seed), raw pixels and the shipped classifier's backbone
(``hierwbc-tiny-pbc-hierce``: HierCE, seed 0, 3,000 steps). The table: balanced accuracy (%) per
set and probe, mean ± standard deviation over the training seeds of each seed's mean over the 5
folds (the value alone for the baselines embedded once: the starter, the shipped classifier), and
HierCE minus ``unsup`` and minus ``ce`` with the 95 % interval of the seed-aware paired bootstrap
(``evaluation/significance.csv``, rows ``seed = -1``: cells and training seeds resampled), in bold
when it excludes 0.
"""

from __future__ import annotations

import sys
from itertools import product
from pathlib import Path

import pandas as pd

from hierwbc.evaluate.tables import to_markdown
from hierwbc.experiment.publishing import long_metrics
from hierwbc.io import atomic_write_text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from verdict import SETS, over_seeds, seed_means, versus  # reports/reproduction/verdict.py

MODELS = ("random_init", "starter", "unsup", "ce", "supcon", "hierce", "hierwbc-tiny-pbc-hierce")
RIVALS = ("unsup", "ce", "supcon")  # HierCE minus each (those the folder has)
PROBES = ("1nn", "20nn", "logreg")
METRIC = "balanced_accuracy"


def summary(folder: Path = HERE) -> pd.DataFrame:
    means = seed_means(long_metrics(pd.read_csv(folder / "tables" / "fold_metrics.csv")))
    sig = pd.read_csv(folder / "evaluation" / "significance.csv")
    present = set(means["model"])
    models, rivals_present = [m for m in MODELS if m in present], [r for r in RIVALS if r in present]
    rows = []
    for s, probe in product(SETS, PROBES):
        cells = {m: over_seeds(means, m, s, probe, METRIC) for m in models}
        rivals = {f"hierce - {r}": versus(sig, r, s, probe, METRIC)[0] for r in rivals_present}
        rows.append({"set": s, "probe": probe, **cells, **rivals})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    text = to_markdown(summary())
    atomic_write_text(HERE / "summary.md", text)
    print(text)
