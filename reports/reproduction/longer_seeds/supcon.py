"""SupCon in the longer comparison: the paper's third claim (HierCE beats SupCon), over training seeds.

    .venv/bin/python reports/reproduction/longer_seeds/supcon.py run      # runs/longer_cpu_supcon -> supcon/
    .venv/bin/python reports/reproduction/longer_seeds/supcon.py compare  # supcon/versus.csv, supcon/versus.md

``run`` is ``experiments/longer_cpu.yaml`` (same recipe, steps, seeds, evaluation sets, folds)
with its models replaced by ``supcon`` (the preset, loss weight 1) and the starter as the one
baseline (the others are in ``longer_seeds/``); it was trained in a later sitting than ``unsup``,
``ce`` and ``hierce``, whose embeddings were not kept, so the per-cell paired bootstrap of
``longer_seeds/`` cannot include it. ``compare`` therefore tests over seed x fold pairs: the
evaluation folds depend only on the evaluation seed and the cells (the same 5 folds in both
folders; checked: equal fold sizes), so each (training seed, fold) gives one difference
``d = metric(hierce) - metric(supcon)`` on the same cells; 3 seeds x 5 folds = 15 differences.
Reported: the mean difference, its 95 % t-interval over the 15 and the two-sided p of the
one-sample t-test, in bold when the interval excludes 0. Folds of different seeds hold the same
cells, so the 15 are not independent: the interval is, if anything, too narrow; read a difference
as significant only when it also has the same sign in every seed (column ``seeds agree``).
"""

from __future__ import annotations

import argparse
import sys
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from hierwbc.evaluate.report import to_markdown
from hierwbc.experiment.publish import long_metrics

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
from verdict import SETS  # reports/reproduction/verdict.py

OUT, PUBLISHED = "runs/longer_cpu_supcon", HERE / "supcon"
RIVALS, PROBES = ("hierce", "ce", "unsup"), ("1nn", "20nn", "logreg")
METRICS = {"balanced_accuracy": "bAcc", "hierarchical_f1": "hier F1", "mistake_severity": "LCA"}


def run() -> Path:
    from hierwbc.experiment import load_experiment, publish, run_experiment

    base = load_experiment(ROOT / "experiments" / "longer_cpu.yaml")
    evaluation = {**base.raw["evaluation"], "reference": "supcon"}
    cfg = load_experiment(ROOT / "experiments" / "longer_cpu.yaml",
                          {"name": "longer_cpu_supcon", "out": OUT, "models": {"supcon": {"preset": "supcon"}},
                           "baselines": ["starter"], "evaluation": evaluation, "figures": {}})
    out = run_experiment(cfg, stages=("train", "embed", "evaluate"))
    publish(out, PUBLISHED)
    return out


def fold_table(folder: Path) -> pd.DataFrame:
    return long_metrics(pd.read_csv(folder / "tables" / "fold_metrics.csv"))


def versus(folds: pd.DataFrame, model: str, rival: str = "supcon") -> pd.DataFrame:
    """``model - rival`` over (seed, fold) pairs, per set, probe and metric (see the module docstring)."""
    rows = []
    for s, probe, metric in product(SETS, PROBES, METRICS):
        pick = folds[(folds["dataset"] == s) & (folds["probe"] == probe) & (folds["metric"] == metric)]
        a = pick[pick["model"] == model].set_index(["seed", "fold"])
        b = pick[pick["model"] == rival].set_index(["seed", "fold"])
        if a.empty or b.empty:
            continue
        if not a["n"].equals(b["n"].reindex(a.index)):
            raise ValueError(f"{s}/{probe}: the folds of {model} and {rival} differ in size: not the same cells")
        d = (a["value"] - b["value"].reindex(a.index)).to_numpy(float)
        by_seed = (a["value"] - b["value"].reindex(a.index)).groupby(level="seed").mean()
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        rows.append({"set": s, "probe": probe, "metric": METRICS[metric], "model": model, "rival": rival,
                     "value_model": a["value"].mean(), "value_rival": b["value"].mean(), "delta": d.mean(),
                     "ci_low": d.mean() - half, "ci_high": d.mean() + half,
                     "p_value": stats.ttest_1samp(d, 0.0).pvalue, "n_pairs": len(d),
                     "seeds_agree": bool((np.sign(by_seed) == np.sign(d.mean())).all())})
    return pd.DataFrame(rows)


def compare(published: Path = PUBLISHED) -> pd.DataFrame:
    folds = pd.concat([fold_table(HERE), fold_table(published)], ignore_index=True)
    folds = folds.drop_duplicates(["seed", "model", "dataset", "probe", "fold", "metric"])
    table = pd.concat([versus(folds, m) for m in RIVALS], ignore_index=True)
    table.to_csv(published / "versus.csv", index=False)
    shown = table.assign(**{c: 100 * table[c] for c in ("value_model", "value_rival", "delta", "ci_low", "ci_high")})
    lca = shown["metric"] == "LCA"  # LCA height is not a percentage
    shown.loc[lca, ["value_model", "value_rival", "delta", "ci_low", "ci_high"]] /= 100
    cell = [("**{:+.2f} [{:+.2f}, {:+.2f}]**" if lo > 0 or hi < 0 else "{:+.2f} [{:+.2f}, {:+.2f}]").format(d, lo, hi)
            for d, lo, hi in shown[["delta", "ci_low", "ci_high"]].to_numpy()]
    md = shown.assign(**{"model - supcon": cell})[["set", "probe", "metric", "model", "value_model", "value_rival",
                                                   "model - supcon", "p_value", "seeds_agree"]]
    (published / "versus.md").write_text(to_markdown(md.round(3)))
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["run", "compare"])
    step = parser.parse_args().step
    print(run() if step == "run" else to_markdown(compare()))
