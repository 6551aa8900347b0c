"""The paper's comparison at a budget where supervision reshapes the backbone, one seed.

    .venv/bin/python reports/pretraining/evaluate_starter.py --reference hierce_1500 \\
        --compare hierce_1500=runs/longer_cpu/models/hierce/seed0/checkpoints/step_001500.pt \\
                  unsup_1500=runs/longer_cpu/models/unsup/seed0/checkpoints/step_001500.pt \\
                  ce_1500=runs/longer_cpu/models/ce/seed0/checkpoints/step_001500.pt \\
                  unsup_1500_s1=runs/longer_cpu/models/unsup/seed1/checkpoints/step_001500.pt \\
                  hierce_3000=runs/classifier_cpu3000/checkpoints/step_003000.pt \\
        --out reports/reproduction/longer_training
    .venv/bin/python reports/reproduction/longer_training/summarise.py     # summary.md

The runs are ``experiments/longer_cpu.yaml``'s (``hierwbc experiment --config
experiments/longer_cpu.yaml --stages train``): the starter continued 1,500 steps with the shipped
classifier's recipe (20 % of the PBC train split held out) without a supervised term
(``unsup``), with CE and with HierCE (alpha 0.5 at CE's loss scale), seed 0 each;
``unsup_1500_s1`` is ``unsup`` with seed 1, shipped as ``hierwbc-tiny-pbc-long``;
``hierce_3000`` is the shipped classifier's backbone. The table: balanced accuracy (mean over the
5 folds, %) of each model per set and probe, and HierCE's difference to ``unsup`` and to ``ce``
(seed 0 each), pooled over the folds, with the paired bootstrap's 95 % interval over cells
(``evaluation/significance.csv``), in bold when the interval excludes 0. One seed: the seeds'
spread is not in it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from hierwbc.evaluate.tables import to_markdown
from hierwbc.io import atomic_write_text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from verdict import SETS, versus  # reports/reproduction/verdict.py: reference minus rival, bold if significant

MODELS = ("random_init", "starter", "unsup_1500", "unsup_1500_s1", "ce_1500", "hierce_1500", "hierce_3000")
REFERENCE = "hierce_1500"  # the bootstraps' reference
RIVALS = ("unsup_1500", "ce_1500")  # HierCE minus each
PROBES = ("1nn", "20nn", "logreg")


def summary(folder: Path = HERE) -> pd.DataFrame:
    m = pd.read_csv(folder / "tables" / "metrics.csv")
    m = m[(m["fold"] >= 0) & (m["metric"] == "balanced_accuracy")]
    bacc = m.groupby(["dataset", "probe", "model"])["value"].mean().mul(100)
    sig = pd.read_csv(folder / "evaluation" / "significance.csv")  # pooled over folds, one training seed
    rows = []
    for s in SETS:
        for probe in PROBES:
            row = {"set": s, "probe": probe, **{model: round(bacc[s, probe, model], 1) for model in MODELS}}
            for rival in RIVALS:
                row[f"hierce - {rival.removesuffix('_1500')}"] = versus(sig, rival, s, probe, "balanced_accuracy",
                                                                        reference=REFERENCE)[0]
            rows.append(row)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    t = summary()
    atomic_write_text(HERE / "summary.md", to_markdown(t))
    print(to_markdown(t))
