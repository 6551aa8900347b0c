"""Models that joined the longer comparison later, scored against its models on the same folds.

    .venv/bin/python reports/reproduction/longer_seeds/newcomers.py run supcon      # runs/longer_cpu_supcon -> supcon/
    .venv/bin/python reports/reproduction/longer_seeds/newcomers.py compare supcon  # supcon/versus.csv, .md, summary.md
    .venv/bin/python reports/reproduction/longer_seeds/newcomers.py run cnn         # runs/longer_cpu_cnn -> cnn/
    .venv/bin/python reports/reproduction/longer_seeds/newcomers.py compare cnn

``run`` is ``experiments/longer_cpu.yaml`` (same recipe, steps, seeds, evaluation sets, folds)
with its models and baselines replaced by the newcomer's (:data:`NEWCOMERS`), the starter always
among the baselines. ``supcon`` is a training preset (three seeds, trained here); ``cnn`` is the
supervised CNN a user would pick instead (``hierwbc-cnn-pbc``, issue 32: trained on the same PBC
train split in minutes, see ``reports/labs/``), embedded as it is, its pooled features through the
same probes.

The newcomers were run in a later sitting than ``unsup``, ``ce`` and ``hierce``, whose embeddings
were not kept, so the per-cell paired bootstrap of ``longer_seeds/`` cannot include them.
``compare`` therefore tests over seed x fold pairs: the evaluation folds depend only on the
evaluation seed and the cells (the same 5 folds in both folders; checked below,
:func:`same_cells`), so each (training seed, fold) gives one difference
``d = metric(model) - metric(newcomer)`` on the same cells; 3 seeds x 5 folds = 15 differences.
Reported: the mean difference, its 95 % t-interval over the 15 and the two-sided p of the
one-sample t-test. The 15 are not independent (the 5 folds of a seed share one trained model and
overlapping probe training sets; folds of different seeds hold the same cells), so the interval
is, if anything, too narrow: a difference counts as significant (``significant``, bold) only when
the interval excludes 0 *and* the three per-seed mean differences have its sign
(``seeds_agree``). A seed-free newcomer (``cnn``) has the same score on a fold in every seed; the
15 differences then vary through the other model's seeds and the folds. The starter, embedded in
both folders, must score identically with the kNN probes on every fold (checked: the same cells
and folds). bAcc and hierarchical F1 in points, LCA of mistakes in edges (lower is better: a
negative difference favours the model).
"""

from __future__ import annotations

import argparse
import sys
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from hierwbc.evaluate.tables import to_markdown
from hierwbc.experiment.publishing import long_metrics
from hierwbc.io import atomic_write_text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
from verdict import SETS  # reports/reproduction/verdict.py

#: name -> (the model the comparison is about, its experiment overrides, the published models it meets)
NEWCOMERS = {
    "supcon": ("supcon", {"models": {"supcon": {"preset": "supcon"}}, "baselines": ["starter"]},
               ("hierce", "ce", "unsup")),
    "cnn": ("hierwbc-cnn-pbc", {"models": {}, "baselines": ["starter", "hierwbc-cnn-pbc"]},
            ("hierce", "ce", "unsup", "starter", "hierwbc-tiny-pbc-hierce")),
}
PROBES = ("1nn", "20nn", "logreg")
METRICS = {"balanced_accuracy": "bAcc", "hierarchical_f1": "hier F1", "mistake_severity": "LCA"}


def published(name: str) -> Path:
    return HERE / name


def run(name: str, out: str | None = None) -> Path:
    """Train, embed, evaluate the newcomer into ``out`` (default ``runs/longer_cpu_<name>``); publish it here."""
    from hierwbc.experiment import load_experiment, publish, run_experiment

    newcomer, overrides, _ = NEWCOMERS[name]
    path = ROOT / "experiments" / "longer_cpu.yaml"
    evaluation = {**yaml.safe_load(path.read_text())["evaluation"], "reference": newcomer}
    cfg = load_experiment(path, {"name": f"longer_cpu_{name}", "out": out or f"runs/longer_cpu_{name}", **overrides,
                                 "evaluation": evaluation, "figures": {}})
    out = run_experiment(cfg, stages=("train", "embed", "evaluate"))
    publish(out, published(name))
    return out


def fold_table(folder: Path) -> pd.DataFrame:
    return long_metrics(pd.read_csv(folder / "tables" / "fold_metrics.csv"))


def versus(folds: pd.DataFrame, model: str, rival: str) -> pd.DataFrame:
    """``model - rival`` over (seed, fold) pairs, per set, probe and metric (see the module docstring)."""
    rows = []
    for s, probe, metric in product(SETS, PROBES, METRICS):
        pick = folds[(folds["dataset"] == s) & (folds["probe"] == probe) & (folds["metric"] == metric)]
        a = pick[pick["model"] == model].set_index(["seed", "fold"])
        b = pick[pick["model"] == rival].set_index(["seed", "fold"]).reindex(a.index)
        if a.empty:
            continue
        if b["value"].isna().any() or not a["n"].equals(b["n"]):
            raise ValueError(f"{s}/{probe}/{metric}: {rival} lacks (seed, fold) pairs of {model} or their sizes "
                             "differ: not the same folds")
        diff = a["value"] - b["value"]
        d, by_seed = diff.to_numpy(float), diff.groupby(level="seed").mean()
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        rows.append({"set": s, "probe": probe, "metric": METRICS[metric], "model": model, "rival": rival,
                     "value_model": a["value"].mean(), "value_rival": b["value"].mean(), "delta": d.mean(),
                     "ci_low": d.mean() - half, "ci_high": d.mean() + half,
                     "p_value": stats.ttest_1samp(d, 0.0).pvalue, "n_pairs": len(d),
                     "seeds_agree": bool((np.sign(by_seed) == np.sign(d.mean())).all())})
    table = pd.DataFrame(rows)
    if len(table):
        table["significant"] = ((table["ci_low"] > 0) | (table["ci_high"] < 0)) & table["seeds_agree"]
    return table


def same_cells(old: pd.DataFrame, new: pd.DataFrame, baseline: str = "starter") -> None:
    """The baseline embedded in both folders must score the same with the kNN probes on every fold:
    same cells, same folds. (Its logreg scores differ a little: the embeddings were recomputed in
    another sitting and L-BFGS stops at another point; up to 2.9 points of bAcc on a 68-cell fold.)"""
    key = ["dataset", "probe", "fold", "metric"]
    old, new = (f[f["probe"].isin(["1nn", "20nn"]) & (f["model"] == baseline)] for f in (old, new))
    a = old.drop_duplicates(key).set_index(key)["value"]
    b = new.drop_duplicates(key).set_index(key)["value"].reindex(a.index)
    if a.empty or not np.allclose(a.to_numpy(), b.to_numpy(), atol=1e-9):
        raise ValueError(f"{baseline} scores differently in the two folders: not the same cells and folds")


def versus_table(name: str) -> tuple[pd.DataFrame, str]:
    """``(table, markdown)``: every model it meets minus the newcomer ``name`` (nothing written)."""
    newcomer, _, rivals = NEWCOMERS[name]
    old, new = fold_table(HERE), fold_table(published(name))
    same_cells(old, new)
    folds = pd.concat([old[old["model"] != newcomer], new[new["model"] == newcomer]], ignore_index=True)
    table = pd.concat([versus(folds, m, newcomer) for m in rivals], ignore_index=True)
    scaled = ["value_model", "value_rival", "delta", "ci_low", "ci_high"]
    percent = table["metric"] != "LCA"  # bAcc and hierarchical F1 in points; LCA height in edges (lower is better)
    shown = table.copy()
    shown.loc[percent, scaled] *= 100
    cell = [("**{:+.2f} [{:+.2f}, {:+.2f}]**" if sig else "{:+.2f} [{:+.2f}, {:+.2f}]").format(d, lo, hi)
            for d, lo, hi, sig in shown[["delta", "ci_low", "ci_high", "significant"]].to_numpy()]
    md = shown.assign(**{f"model - {name}": cell})[["set", "probe", "metric", "model", "value_model", "value_rival",
                                                     f"model - {name}", "p_value", "seeds_agree"]]
    return table, to_markdown(md.round(3))


def summary_markdown(table: pd.DataFrame, name: str) -> str:
    """The README's table: the newcomer's bAcc (mean ± std over seeds of each seed's mean over
    folds) and each model minus it (bold: ``significant``), per set and probe."""
    newcomer = NEWCOMERS[name][0]
    folds = fold_table(published(name))
    bacc = folds[(folds["model"] == newcomer) & (folds["metric"] == "balanced_accuracy")]
    per_seed = bacc.groupby(["dataset", "probe", "seed"])["value"].mean() * 100
    rows = []
    for s, probe in product(SETS, PROBES):
        v = per_seed[s, probe]
        row = {"set": s, "probe": probe, name: f"{v.mean():.1f} ± {v.std(ddof=1):.1f}"}
        for _, r in table[(table["set"] == s) & (table["probe"] == probe) & (table["metric"] == "bAcc")].iterrows():
            text = f"{100 * r['delta']:+.1f} [{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}]"
            row[f"{r['model']} - {name}"] = f"**{text}**" if r["significant"] else text
        rows.append(row)
    return to_markdown(pd.DataFrame(rows))


def compare(name: str) -> pd.DataFrame:
    """Write ``versus.csv``, ``versus.md`` and ``summary.md`` (the README's table) into the newcomer's folder."""
    table, md = versus_table(name)
    folder = published(name)
    atomic_write_text(folder / "versus.csv", table.to_csv(index=False))
    atomic_write_text(folder / "versus.md", md)
    atomic_write_text(folder / "summary.md", summary_markdown(table, name))
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["run", "compare"])
    parser.add_argument("name", choices=list(NEWCOMERS))
    parser.add_argument("--out", default=None, help="run: the experiment's run folder (default runs/longer_cpu_<name>)")
    a = parser.parse_args()
    print(run(a.name, a.out) if a.step == "run" else to_markdown(compare(a.name)))
