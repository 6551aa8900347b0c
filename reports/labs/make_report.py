"""reports/labs: zero-shot five-type scores of classifiers on every lab, and the trials' record.

    python reports/labs/make_report.py score --run cnn_pbc=runs/labs/cnn_pbc --sets lisc
    python reports/labs/make_report.py score --model shipped_default=hierwbc-tiny8-pbc-hierce --sets pbc_test,lisc
    python reports/labs/make_report.py build
    python reports/labs/make_report.py leaf --model cnn_default_five=hierwbc-cnn-labs   # PBC test at the leaf
    python reports/labs/make_report.py card --model cnn_default       # the model card's table

``score`` predicts each set with each model (``hierwbc.evaluate.zero_shot``) and merges the rows
into ``zero_shot.csv`` (a model's earlier rows for the same set are replaced); a ``--run`` folder
(``hierwbc baseline``) is also copied: its ``log.csv`` and ``recipe.json`` into ``runs/<name>/``
and its settings into ``trials.csv``. ``build`` writes ``tables.md`` and ``zero_shot.png`` from
those files only. Every number of the report comes from files in this folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from hierwbc.evaluate.tables import merge_csv

HERE = Path(__file__).resolve().parent
SETS = ("pbc_test", "lisc", "bccd", "segmentation_wbc")
TRIAL_KEYS = ("labs", "label_level", "reframe", "stain_p", "hue", "saturation", "gain", "crop_scale", "img_size",
              "epochs", "batch_size")


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{item!r} is not NAME=VALUE")
        out[name] = value
    return out


def trial_row(name: str, run: Path) -> dict:
    recipe = json.loads((run / "recipe.json").read_text())
    log = pd.read_csv(run / "log.csv")
    last = log.iloc[-1]
    return {"model": name, **{k: json.dumps(recipe.get(k)) if isinstance(recipe.get(k), list) else recipe.get(k, 0.0)
                              for k in TRIAL_KEYS},
            "steps": int(last["step"]), "minutes": round(float(last["minutes"]), 2),
            "val_accuracy": float(last.get("val_accuracy", float("nan"))),
            "val_balanced_accuracy": float(last.get("val_balanced_accuracy", float("nan")))}


def score(args) -> None:
    from hierwbc.evaluate.zero_shot import evaluation_sets, zero_shot_scores

    out = Path(args.out)
    sets = evaluation_sets([s for s in args.sets.split(",") if s], args.data_root)
    models = {name: str(Path(run) / "model.safetensors") for name, run in _pairs(args.run).items()}
    models.update(_pairs(args.model))
    for name, run in _pairs(args.run).items():
        run = Path(run)
        (out / "runs" / name).mkdir(parents=True, exist_ok=True)
        for f in ("log.csv", "recipe.json"):
            shutil.copy2(run / f, out / "runs" / name / f)
        merge_csv(out / "trials.csv", pd.DataFrame([trial_row(name, run)]), ["model"])
    for name, model in models.items():
        kwargs = {"recentre": True} if args.recenter else {}
        name = f"{name}+recentre" if args.recenter else name
        rows = zero_shot_scores(model, sets, name=name, progress=not args.no_progress, **kwargs)
        merge_csv(out / "zero_shot.csv", rows, ["model", "set"])
        print(rows.to_string(index=False))


BASE, CANDIDATE, SHIPPED = "cnn_pbc", "cnn_default", "shipped_default"
FIRST_CANDIDATE = "cnn_default_colour"
LEVER_GAIN, VAL_FLOOR, PBC_FLOOR = 0.02, 0.93, 0.93
# RULES.md addendum 5: round 3 (levers on top of this recipe) may also keep a lever for in-domain
# accuracy (validation +0.5 points, LISC at most 2.0 below), and picks the highest validation
ROUND3_PARENT, VAL_GAIN, LISC_SLACK = "cnn_pbc_colour_reframe", 0.005, 0.02
FIVE_CANDIDATE, FIVE_BASELINE, LABS_NAME = "cnn_default_five", "cnn_pbc_lisc", "hierwbc-cnn-labs"


def score_of(scores: pd.DataFrame, model: str, set_name: str, metric: str = "balanced_accuracy") -> float:
    hit = scores[(scores["model"] == model) & (scores["set"] == set_name)]
    return float(hit[metric].iloc[0]) if len(hit) else float("nan")


def verdict(scores: pd.DataFrame, trials: pd.DataFrame, parents: pd.DataFrame | None = None) -> list[str]:
    """The two rules of RULES.md applied to the files' numbers, as lines of Markdown. Rule 1 runs
    in rounds: the levers whose parent is the current recipe are judged against it, and the best
    kept one becomes the recipe of the next round."""
    lines = ["# Verdicts of RULES.md (written by make_report.py build from zero_shot.csv and trials.csv)", ""]
    pbc_only = trials[trials["labs"] == '["pbc"]'] if len(trials) else trials
    parent_of = (dict(zip(parents["model"], parents["parent"])) if parents is not None
                 else {m: BASE for m in pbc_only.get("model", [])})
    val = dict(zip(pbc_only["model"], pbc_only["val_accuracy"])) if len(pbc_only) else {}
    lines += ["## Rule 1: recipe chosen on LISC left out", ""]
    chosen = BASE
    lines.append(f"- `{BASE}` (no lever): LISC balanced accuracy {100 * score_of(scores, BASE, 'lisc'):.1f} %")
    while True:
        base = score_of(scores, chosen, "lisc")
        best, best_score = None, base
        round3 = chosen == ROUND3_PARENT
        if round3:
            best_score = -1.0  # round 3 ranks the kept levers by validation accuracy
        for model in sorted(m for m, p in parent_of.items() if p == chosen and m in val):
            lisc = score_of(scores, model, "lisc")
            if np.isnan(lisc):  # not scored yet
                continue
            ok, gain = val[model] >= VAL_FLOOR, lisc - base
            in_domain = round3 and val[model] - val[chosen] >= VAL_GAIN and gain >= -LISC_SLACK
            kept = (ok and gain >= LEVER_GAIN) or in_domain
            lines.append(f"- `{model}` against `{chosen}`: {100 * lisc:.1f} % ({100 * gain:+.1f} points), PBC "
                         f"validation accuracy {100 * val[model]:.1f} %"
                         + (f" ({100 * (val[model] - val[chosen]):+.1f})" if round3 else "") + ": "
                         + ("kept" if kept else
                            "not kept (neither +0.5 validation with LISC at most 2.0 below, nor +2.0 on LISC)"
                            if round3 else
                            "not kept (under the 2.0-point gain)" if ok else "out (validation under 93 %)"))
            rank = val[model] if round3 else lisc
            if kept and rank > best_score:
                best, best_score = model, rank
        if best is None:
            break
        chosen = best
    lines += ["", f"Chosen: `{chosen}`.", ""]
    candidate = CANDIDATE
    cand_pbc = score_of(scores, CANDIDATE, "pbc_test", "accuracy")
    if np.isnan(cand_pbc):  # the retrained candidate (addendum 4) not scored yet: the first one's verdict stands
        candidate = FIRST_CANDIDATE
        cand_pbc = score_of(scores, FIRST_CANDIDATE, "pbc_test", "accuracy")
        pending = (f"`{CANDIDATE}` (trained again with the chosen recipe, addendum 4) has not been scored yet; "
                   f"rule 2 below is the first candidate's, `{FIRST_CANDIDATE}`, and stands until it is.")
        lines += [pending, ""]
    if not np.isnan(cand_pbc):  # a candidate has been scored
        beats = [score_of(scores, SHIPPED, s) > score_of(scores, BASE, s) for s in ("lisc", "pbc_test")]
        ship = cand_pbc >= PBC_FLOOR and not all(beats)
        a = (f"- (a) `{candidate}` PBC test five-type accuracy {100 * cand_pbc:.1f} % "
             f"({'>=' if cand_pbc >= PBC_FLOOR else '<'} 93 %)")
        b = (f"- (b) `{SHIPPED}` against `{BASE}`, balanced accuracy: LISC "
             f"{100 * score_of(scores, SHIPPED, 'lisc'):.1f} vs {100 * score_of(scores, BASE, 'lisc'):.1f}, "
             f"PBC test {100 * score_of(scores, SHIPPED, 'pbc_test'):.1f} vs "
             f"{100 * score_of(scores, BASE, 'pbc_test'):.1f}: the default "
             f"{'beats' if all(beats) else 'does not beat'} the baseline on both")
        if ship:
            outcome = f"Outcome: `{candidate}` replaces `{SHIPPED}` as predict's default."
        elif not all(beats):  # RULES.md addendum 3: issue 32's rule, the baseline instead
            outcome = (f"Outcome: (a) fails and `{SHIPPED}` does not beat the baseline, so by issue 32's rule "
                       f"(RULES.md, addendum 3) the baseline `{BASE}` replaces `{SHIPPED}` as predict's default; "
                       f"`{candidate}` is not shipped.")
        else:
            outcome = f"Outcome: `{SHIPPED}` stays predict's default."
        lines += ["## Rule 2: predict's default", "", a, b, "", outcome, ""]
    lines += rule_three(scores, chosen)
    return lines


def rule_three(scores: pd.DataFrame, chosen: str) -> list[str]:
    """RULES.md addendum 5 (rule 3) and 6: the chosen recipe at the five-type level on PBC + LISC."""
    pbc_bacc = score_of(scores, FIVE_CANDIDATE, "pbc_test")
    if np.isnan(pbc_bacc):
        return []
    floor = score_of(scores, FIVE_BASELINE, "pbc_test")
    pbc_acc = score_of(scores, FIVE_CANDIDATE, "pbc_test", "accuracy")
    left_out = score_of(scores, chosen, "lisc"), score_of(scores, BASE, "lisc")
    a, b = pbc_bacc >= floor, left_out[0] > left_out[1]
    if a and b:
        outcome = f"Outcome: `{FIVE_CANDIDATE}` replaces the default (`{BASE}`) as predict's default."
    elif pbc_acc >= PBC_FLOOR:
        outcome = (f"Outcome: `{FIVE_CANDIDATE}` does not replace the default; its PBC test accuracy is >= 93 %, so "
                   f"it ships beside it as `{LABS_NAME}`, for cells from other labs.")
    else:
        outcome = f"Outcome: `{FIVE_CANDIDATE}` is not shipped (PBC test accuracy under 93 %)."
    first = (f"- (a) `{FIVE_CANDIDATE}` PBC test balanced accuracy {100 * pbc_bacc:.1f} % against "
             f"`{FIVE_BASELINE}`'s {100 * floor:.1f} % (the plain CNN on the same labs): {'met' if a else 'not met'}; "
             f"its accuracy {100 * pbc_acc:.1f} %")
    second = (f"- (b) the chosen recipe on PBC alone (`{chosen}`) against `{BASE}` on LISC left out: "
              f"{100 * left_out[0]:.1f} vs {100 * left_out[1]:.1f} %: {'met' if b else 'not met'}")
    return ["## Rule 3: the chosen recipe, five types, PBC + LISC", "", first, second, "", outcome, ""]


def build(args) -> None:
    import matplotlib.pyplot as plt

    from hierwbc.evaluate.tables import to_markdown

    out = Path(args.out)
    scores = pd.read_csv(out / "zero_shot.csv")
    trials = pd.read_csv(out / "trials.csv") if (out / "trials.csv").is_file() else pd.DataFrame()
    bacc = scores.pivot(index="model", columns="set", values="balanced_accuracy").reindex(columns=list(SETS))
    acc = scores.pivot(index="model", columns="set", values="accuracy").reindex(columns=list(SETS))
    lines = ["# Zero-shot five-type scores (written by make_report.py build from zero_shot.csv and trials.csv)",
             "", "## Balanced accuracy (%)", "", to_markdown((100 * bacc).round(1).reset_index()),
             "## Accuracy (%)", "", to_markdown((100 * acc).round(1).reset_index())]
    if len(trials):
        lines += ["## Trials", "", to_markdown(trials.round(4))]
    (out / "tables.md").write_text("\n".join(lines))
    parents = pd.read_csv(out / "parents.csv") if (out / "parents.csv").is_file() else None
    (out / "verdict.md").write_text("\n".join(verdict(scores, trials, parents)))
    fig, ax = plt.subplots(figsize=(1.6 + 1.9 * len(bacc), 3.6))
    (100 * bacc).plot.bar(ax=ax, width=0.8)
    ax.set_ylabel("five-type balanced accuracy (%)")
    ax.set_xlabel("")
    ax.set_ylim(0, 100)
    ax.axhline(70, color="grey", lw=0.8, ls="--")
    ax.legend(title="cells of", fontsize=8, ncol=2)
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    fig.savefig(out / "zero_shot.png", dpi=120)


def leaf(args) -> None:
    """PBC test at the leaf: every cell of the split (3,417, all types, not only the five), each
    model's leaf accuracy and back-off accuracy as predict reports them; merged into leaf_scores.csv."""
    from hierwbc.evaluate.zero_shot import evaluation_set
    from hierwbc.predict import predict

    cells = evaluation_set("pbc_test", args.data_root)
    rows = []
    for name, model in _pairs(args.model).items():
        info = predict(cells, model=model, color_domain=None, progress=False).uns["predict"]
        rows.append({"model": name, "cells": info["n_labelled"], "leaf_accuracy": info["leaf_accuracy"],
                     "backoff_accuracy": info["backoff_accuracy"], "backoff_mean_depth": info["backoff_mean_depth"]})
    print(merge_csv(Path(args.out) / "leaf_scores.csv", pd.DataFrame(rows), ["model"]).to_string(index=False))


def card_table(scores: pd.DataFrame, model: str) -> str:
    """The Markdown table of a model's card: five-type accuracy and balanced accuracy per set."""
    from hierwbc.evaluate.tables import to_markdown

    rows = scores[scores["model"] == model].set_index("set").reindex(list(SETS)).dropna(how="all").reset_index()
    table = pd.DataFrame({"cells of": rows["set"], "cells": rows["n"].astype(int),
                          "five-type accuracy (%)": (100 * rows["accuracy"]).round(1),
                          "balanced accuracy (%)": (100 * rows["balanced_accuracy"]).round(1)})
    return to_markdown(table)


def card(args) -> None:
    print(card_table(pd.read_csv(Path(args.out) / "zero_shot.csv"), args.model), end="")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score")
    s.add_argument("--run", action="append", default=[], metavar="NAME=RUN_FOLDER")
    s.add_argument("--model", action="append", default=[], metavar="NAME=WEIGHTS_OR_SHIPPED_NAME")
    s.add_argument("--sets", default=",".join(SETS))
    s.add_argument("--data-root", default=None)
    s.add_argument("--out", default=str(HERE))
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--recenter", action="store_true",
                   help="predict --recenter (each set's cells shifted to the training feature mean); rows "
                        "named <model>+recentre")
    b = sub.add_parser("build")
    b.add_argument("--out", default=str(HERE))
    lf = sub.add_parser("leaf", help="PBC test leaf and back-off accuracy over all its cells (leaf_scores.csv)")
    lf.add_argument("--model", action="append", required=True, metavar="NAME=WEIGHTS_OR_SHIPPED_NAME")
    lf.add_argument("--data-root", default=None)
    lf.add_argument("--out", default=str(HERE))
    c = sub.add_parser("card", help="print the card's table of one model")
    c.add_argument("--model", required=True)
    c.add_argument("--out", default=str(HERE))
    args = p.parse_args(argv)
    {"score": score, "build": build, "leaf": leaf, "card": card}[args.command](args)


if __name__ == "__main__":
    main()
