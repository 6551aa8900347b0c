"""The verdict tables of reports/reproduction, computed from the CSVs in this folder only.

    .venv/bin/python reports/reproduction/verdict.py [FOLDER] [--level N] [--compare OTHER]   # FOLDER/verdict.md

Reads ``tables/fold_metrics.csv`` (per seed, per fold) and ``evaluation/significance.csv`` (the
seed-aware paired bootstrap, rows ``seed = -1``: cells and training seeds resampled, every model
against the reference ``hierce``) and answers the paper's claims one by one:

1. HierCE against each other model, in-domain (pbc_test) and off-domain (bccd,
   segmentation_wbc): ``HierCE - rival`` in points with its 95 % interval; bold when the
   interval excludes 0.
2. Mistake severity: LCA distance of the mistakes (lower is better) and lineage accuracy.
3. The alpha ablation (HierCE with alpha 0.1, 0.5, 0.9).
4. With ``--compare``: the same models of another folder (reports/multilab: the single-lab run)
   beside these, and each one's gain over its own starting point.

Means over seeds are of the per-seed means over folds; ± is the standard deviation over seeds.
``tests/test_reports.py`` rebuilds this text from the CSVs and checks that verdict.md and the
README hold it unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hierwbc.experiment.publishing import long_metrics
from hierwbc.io import atomic_write_text

HERE = Path(__file__).resolve().parent
REFERENCE = "hierce"
SETS = ("pbc_test", "bccd", "segmentation_wbc")
PROBES = ("20nn", "logreg")
RIVALS = ("unsup", "ce", "ce_node", "supcon", "hiersupcon", "multilevel", "distance", "hierce_x30", "starter",
          "random_init", "pixels", "hierwbc-tiny-pbc-hierce", "hierwbc-cnn-labs", "hierwbc-cnn-pbc")
CLAIM_METRICS = {"balanced_accuracy": "bAcc", "hierarchical_f1": "hier. F1"}
SEVERITY_METRICS = {"mistake_severity": "LCA of mistakes", "lineage_accuracy": "lineage acc."}
LOWER_IS_BETTER = {"mistake_severity"}
ALPHAS = {"hierce_a0.1": 0.1, "hierce": 0.5, "hierce_a0.9": 0.9}
PROBE_NAMES = {"1nn": "1-NN", "20nn": "20-NN", "logreg": "logreg"}


def _scale(metric: str) -> float:
    return 1.0 if metric in LOWER_IS_BETTER else 100.0


def _digits(metric: str) -> int:
    return 2 if metric in LOWER_IS_BETTER else 1


def _num(x: float, digits: int, sign: bool = False) -> str:
    """``x`` rounded to ``digits`` (no "-0.0"), with its sign when ``sign``."""
    x = round(float(x), digits) + 0.0
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def seed_means(metrics: pd.DataFrame) -> pd.DataFrame:
    """``model, dataset, probe, metric, seed, value``: each seed's mean over the CV folds."""
    per_fold = metrics[metrics["fold"] >= 0]
    return per_fold.groupby(["model", "dataset", "probe", "metric", "seed"], as_index=False)["value"].mean()


def over_seeds(means: pd.DataFrame, model: str, dataset: str, probe: str, metric: str) -> str:
    """``mean ± std`` over seeds (points, or edges for LCA); '' when absent. A model embedded once
    for every seed (a weights-file baseline such as the starter: the same embedding and folds, so
    the same value in every seed) has no spread over seeds to show: its value alone."""
    v = means[(means["model"] == model) & (means["dataset"] == dataset) & (means["probe"] == probe)
              & (means["metric"] == metric)]["value"] * _scale(metric)
    if v.empty:
        return ""
    mean = _num(v.mean(), _digits(metric))
    return mean if v.nunique() == 1 else f"{mean} ± {_num(v.std(ddof=1), _digits(metric))}"


def versus(sig: pd.DataFrame, rival: str, dataset: str, probe: str, metric: str,
           reference: str = REFERENCE) -> tuple[str, int]:
    """``reference - rival`` with its interval (from the seed-aware bootstrap, rows ``seed = -1``;
    an evaluation of one training seed has no ``seed`` column, or only that seed's rows: cells
    resampled) as text, and +1 / -1 / 0: the reference significantly better / worse / neither
    (LCA: lower is better)."""
    if "seed" in sig and sig["seed"].nunique() > 1:
        sig = sig[sig["seed"] == -1]
    row = sig[(sig["model"] == rival) & (sig["reference"] == reference)
              & (sig["dataset"] == dataset) & (sig["probe"] == probe) & (sig["metric"] == metric)]
    if row.empty:
        return "", 0
    r = row.iloc[0]
    s = _scale(metric)
    diff, low, high = -r["delta"] * s, -r["ci_high"] * s, -r["ci_low"] * s  # reference minus rival
    d = _digits(metric)
    text = f"{_num(diff, d, True)} [{_num(low, d, True)}, {_num(high, d, True)}]"
    significant = bool(r["significant"])
    better = (diff < 0) if metric in LOWER_IS_BETTER else (diff > 0)
    return (f"**{text}**" if significant else text), (0 if not significant else (1 if better else -1))


def _row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def verdict_markdown(folder: str | Path = HERE, level: int = 3, compare: str | Path | None = None) -> str:
    """The verdict text of ``folder``; its section headings are Markdown headings of ``level``
    (3 in reports/reproduction/README.md, 4 where a section of it quotes another folder's).
    ``compare``: another experiment folder (the single-lab run) set beside this one (section 4)."""
    folder = Path(folder)
    h = "#" * level
    metrics = long_metrics(pd.read_csv(folder / "tables" / "fold_metrics.csv"))
    sig = pd.read_csv(folder / "evaluation" / "significance.csv")
    means = seed_means(metrics)
    models = set(metrics["model"])
    n_seeds = metrics.loc[metrics["model"] == REFERENCE, "seed"].nunique()
    sets = [s for s in SETS if s in set(metrics["dataset"])]
    out = [f"{h} 1. HierCE against each model ({n_seeds} training seeds)", "",
           ("HierCE minus the other model, in points, with the 95 % interval of the seed-aware paired "
            "bootstrap (cells and training seeds resampled); **bold**: the interval excludes 0."
            if n_seeds > 1 else
            "HierCE minus the other model, in points, with the 95 % interval of the paired bootstrap over "
            "cells (one training seed: the spread between seeds is not in it); **bold**: the interval excludes 0."),
           ""]
    cols = [(p, m) for m in CLAIM_METRICS for p in PROBES]
    out += [_row(["model", "set", *[f"{PROBE_NAMES[p]} {CLAIM_METRICS[m]}" for p, m in cols]]),
            _row(["---"] * (2 + len(cols)))]
    tally: dict[str, list[int]] = {}
    for rival in [r for r in RIVALS if r in models]:
        for ds in sets:
            cells = []
            for p, m in cols:
                text, sign = versus(sig, rival, ds, p, m)
                cells.append(text)
                if text:  # a comparison the bootstrap made
                    tally.setdefault(rival, []).append(sign)
            out.append(_row([rival, ds, *cells]))
    out += ["", _row(["model", "HierCE significantly better", "significantly worse", "neither"]),
            _row(["---"] * 4)]
    for rival, signs in tally.items():
        out.append(_row([rival, str(signs.count(1)), str(signs.count(-1)), str(signs.count(0))]))

    out += ["", f"{h} 2. Mistake severity (mean ± std over {n_seeds} seeds; LCA in edges, lower is better)", ""]
    severity_models = [m for m in (REFERENCE, "ce", "unsup", "supcon", "hiersupcon", "starter", "hierwbc-cnn-labs")
                       if m in models]
    scols = [(p, m) for m in SEVERITY_METRICS for p in PROBES]
    out += [_row(["model", "set", *[f"{PROBE_NAMES[p]} {SEVERITY_METRICS[m]}" for p, m in scols]]),
            _row(["---"] * (2 + len(scols)))]
    for ds in sets:
        for model in severity_models:
            out.append(_row([model, ds, *[over_seeds(means, model, ds, p, m) for p, m in scols]]))
    out += ["", "HierCE minus CE and minus Unsup on the same metrics (bootstrap as in 1):", "",
            _row(["model", "set", *[f"{PROBE_NAMES[p]} {SEVERITY_METRICS[m]}" for p, m in scols]]),
            _row(["---"] * (2 + len(scols)))]
    for rival in [r for r in ("ce", "unsup") if r in models]:
        for ds in sets:
            out.append(_row([rival, ds, *[versus(sig, rival, ds, p, m)[0] for p, m in scols]]))

    alphas = {m: a for m, a in ALPHAS.items() if m in models}
    if len(alphas) > 1:
        out += ["", f"{h} 3. Alpha (HierCE's weighting of the tree levels; mean ± std over {n_seeds} seeds)", ""]
        acols = [(p, m) for m in CLAIM_METRICS for p in PROBES]
        out += [_row(["alpha", "set", *[f"{PROBE_NAMES[p]} {CLAIM_METRICS[m]}" for p, m in acols]]),
                _row(["---"] * (2 + len(acols)))]
        for ds in sets:
            for model, alpha in sorted(alphas.items(), key=lambda kv: kv[1]):
                out.append(_row([f"{alpha:g}", ds, *[over_seeds(means, model, ds, p, m) for p, m in acols]]))
    if compare is not None:
        out += ["", *against_single_lab(means, seed_means(long_metrics(pd.read_csv(Path(compare) / "tables"
                                                                               / "fold_metrics.csv"))), sets, h)]
    return "\n".join(out) + "\n"


COMPARED = ("unsup", "ce", "hierce", "starter")


def against_single_lab(means: pd.DataFrame, single: pd.DataFrame, sets, h: str) -> list[str]:
    """Section 4: the same models trained on one lab (``single``, the per-seed fold means of
    another experiment folder) beside these (``means``): bAcc mean ± std over seeds, and each
    model's gain over its own starting point (``starter``, the weights both continued from)."""
    out = [f"{h} 4. Against the single-lab run (bAcc, mean ± std over seeds; gain: minus the run's own starter)", "",
           ("The same recipe trained on PBC alone (`reports/reproduction/longer_seeds/`, continued from "
            "`hierwbc-tiny-pbc`) and on the four labs (this folder, continued from `hierwbc-tiny-pbc-long`). The "
            "runs start from different weights, so the gain over each run's own starter is the comparable figure. "
            "The two folders share cells and folds but not embeddings: no paired interval, the spread is over seeds."),
           "", _row(["model", "set", "probe", "one lab", "four labs", "gain, one lab", "gain, four labs"]),
           _row(["---"] * 7)]
    metric = "balanced_accuracy"

    def mean(table, model, ds, p):
        v = table[(table["model"] == model) & (table["dataset"] == ds) & (table["probe"] == p)
                  & (table["metric"] == metric)]["value"]
        return float(v.mean()) * 100 if len(v) else None

    for ds in sets:
        for p in PROBES:
            for model in [m for m in COMPARED if m in set(means["model"]) and m in set(single["model"])]:
                if mean(single, model, ds, p) is None and mean(means, model, ds, p) is None:
                    continue  # a probe neither folder ran
                gains = []
                for table in (single, means):
                    m, base = mean(table, model, ds, p), mean(table, "starter", ds, p)
                    gains.append("" if model == "starter" or m is None or base is None else _num(m - base, 1, True))
                out.append(_row([model, ds, PROBE_NAMES[p], over_seeds(single, model, ds, p, metric),
                                 over_seeds(means, model, ds, p, metric), *gains]))
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", nargs="?", type=Path, default=HERE)
    p.add_argument("--level", type=int, default=3, help="Markdown level of the section headings")
    p.add_argument("--compare", type=Path, default=None,
                   help="another experiment folder beside this one (reports/multilab: the single-lab run)")
    args = p.parse_args(argv)
    folder = args.folder
    text = verdict_markdown(folder, args.level, args.compare)
    atomic_write_text(folder / "verdict.md", text)
    print(text)


if __name__ == "__main__":
    main()
