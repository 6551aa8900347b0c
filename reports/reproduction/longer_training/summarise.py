"""The paper's comparison at a budget where supervision reshapes the backbone, one seed.

    .venv/bin/python reports/pretraining/evaluate_starter.py --reference hierce_1500 \\
        --compare hierce_1500=runs/classifier_cpu/checkpoints/step_001500.pt \\
                  unsup_1500=runs/unsup_cpu1500/checkpoints/step_001500.pt \\
                  hierce_3000=runs/classifier_cpu3000/checkpoints/step_003000.pt \\
        --out reports/reproduction/longer_training
    .venv/bin/python reports/reproduction/longer_training/summarise.py     # summary.md

``unsup_1500`` and ``hierce_1500`` are the same run of ``experiments/classifier_cpu.yaml`` from
the starter (seed 0, 1,500 steps, 20 % of the PBC train split held out) with and without the
HierCE term; ``hierce_3000`` is the shipped classifier's backbone (no matched ``unsup``). The
table: balanced accuracy (mean over the 5 folds, %) of each model per set and probe, and
HierCE's difference to continued SSL alone, pooled over the folds, with the paired bootstrap's
95 % interval over cells
(``tables/significance_*.csv``; one seed, so seeds' spread is not in it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hierwbc.evaluate.report import to_markdown

HERE = Path(__file__).resolve().parent
MODELS = ("random_init", "starter", "unsup_1500", "hierce_1500", "hierce_3000")
SETS = ("pbc_test", "bccd", "segmentation_wbc")
PROBES = ("1nn", "20nn", "logreg")


def summary(folder: Path = HERE) -> pd.DataFrame:
    m = pd.read_csv(folder / "tables" / "metrics.csv")
    m = m[(m["fold"] >= 0) & (m["metric"] == "balanced_accuracy")]
    bacc = m.groupby(["dataset", "probe", "model"])["value"].mean().mul(100)
    rows = []
    for s in SETS:
        sig = pd.read_csv(folder / "tables" / f"significance_{s}.csv")
        for probe in PROBES:
            row = {"set": s, "probe": probe, **{model: round(bacc[s, probe, model], 1) for model in MODELS}}
            t = sig[(sig["Metric"] == "bAcc") & (sig["Other"] == "unsup_1500") & (sig["Task"] == probe)].iloc[0]
            # the bootstrap's delta is other - reference: hierce - unsup is its negative
            row["hierce - unsup"] = f"{-100 * t['Delta']:+.1f} [{-100 * t['CI high']:+.1f}, {-100 * t['CI low']:+.1f}]"
            row["significant"] = "yes" if bool(t["Significant"]) else "no"
            rows.append(row)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    t = summary()
    (HERE / "summary.md").write_text(to_markdown(t))
    print(to_markdown(t))
