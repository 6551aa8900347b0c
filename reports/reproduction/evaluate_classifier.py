"""The shipped HierCE classifier (``hierwbc predict``'s default) on the report's evaluation sets.

    .venv/bin/python reports/reproduction/evaluate_classifier.py --fit CHECKPOINT [--rows-of RUN]  # write it
    .venv/bin/python reports/reproduction/evaluate_classifier.py [--model hierwbc-tiny8-pbc-hierce] [--held-out RUN]
    .venv/bin/python reports/reproduction/evaluate_classifier.py --stain-norm reinhard  # classifier_reinhard.csv
    .venv/bin/python reports/reproduction/evaluate_classifier.py --choose runs/paper_cpu   # the grid's hierce seeds
    .venv/bin/python reports/reproduction/evaluate_classifier.py --fit CHECKPOINT --lab-views 3 \
        --out runs/classifier_trials/lab3.safetensors       # a head also fitted on lab-shifted views
    .venv/bin/python reports/reproduction/evaluate_classifier.py --model runs/classifier_trials/lab3.safetensors \
        --table reports/reproduction/classifier_trials/lab3.csv

The default classifier is ``hierwbc-tiny8-pbc`` continued with HierCE for 1,500 steps
(``configs/classifier_cpu.yaml model.pretrained=hierwbc-tiny8-pbc model.img_size=64
model.patch_size=8``; README.md here, "The shipped classifier"): ``--fit
runs/classifier_tiny8/C_tiny8/checkpoints/step_001500.pt --rows-of runs/classifier_tiny8/C_tiny8``.
The one before it, ``hierwbc-tiny-pbc-hierce`` (the starter continued 3,000 steps), is scored in
``classifier_trials/long3000*.csv``.
``--fit`` exports the checkpoint's teacher backbone, embeds the PBC train split (``--rows-of
RUN``: only the cells that run trained on, at PBC's own label precision) and fits a linear
HierCE head (alpha 0.5) on those embeddings (:func:`hierwbc.train.fit_head.fit_head`; 10 % of
the cells held out to report its accuracy); backbone and head go to
``hierwbc/weights/hierwbc-tiny8-pbc-hierce.safetensors``, the fit's report to
``classifier_fit.json`` here. Why refit: a trainer's head reads the *student*'s cls
token; the exported backbone is the *teacher* (for the grid's 100-step ``hierce`` head: 30 %
leaf accuracy on pbc_test, the 0.8 back-off threshold never cleared). ``--choose``: the grid's
``hierce`` seeds ranked on training data (the lowest supervised loss over the last 20 steps),
how the classifier shipped before was picked.

Writes ``classifier.csv`` here: for each set of ``experiments/paper_cpu.yaml`` (the same cells
as the report's tables: pbc_test, BCCD, segmentation_wbc, none seen in training), after
``--held-out RUN``'s ``pbc_val`` (the PBC train-split cells that run held out), the predictions
of the classifier's own head (:func:`hierwbc.predict.predict`, no probe fitted on the set),
scored at each set's label precision (:func:`hierwbc.evaluate.metrics.compute_metrics` on the
predicted leaf: a leaf below a coarse label counts as that label), and the back-off at the
default threshold 0.8 (``backoff_accuracy``: the back-off node lies on the true label's root
path; ``backoff_mean_depth``; ``backoff_root``: share of cells backed off to the root), and
``classifier_calls.csv``: cells per set, true node, predicted leaf and back-off node.
The classifier's model card (hierwbc/weights/README.md) quotes this file; tests/test_reports.py
checks that it does. ``--stain-norm reinhard``: the same with every image's colours first moved
to the PBC training images' (:mod:`hierwbc.datasets.stain`), to ``classifier_reinhard.csv``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from hierwbc.datasets.stain import STAIN_NORMS
from hierwbc.evaluate.metrics import compute_metrics
from hierwbc.experiment import load_experiment
from hierwbc.experiment.runner import eval_manifests
from hierwbc.hierarchy import default_hierarchy
from hierwbc.io import atomic_write_text
from hierwbc.predict import DEFAULT_CLASSIFIER, predict

HERE = Path(__file__).resolve().parent
EXPERIMENT = HERE.parent.parent / "experiments" / "paper_cpu.yaml"
THRESHOLD = 0.8
SHIPPED = HERE.parent.parent / "hierwbc" / "weights" / f"{DEFAULT_CLASSIFIER}.safetensors"


def choose_seed(run_dir: str | Path, model: str = "hierce", last: int = 20) -> pd.DataFrame:
    """Per seed of ``model``: the mean supervised loss (``sup``) over its last ``last`` logged
    steps and its last checkpoint; sorted, best first."""
    rows = []
    folders = sorted((Path(run_dir) / "models" / model).glob("seed*"))
    if not folders:
        raise FileNotFoundError(f"{run_dir}: no models/{model}/seed*/ folders (a multi-seed experiment)")
    for folder in folders:
        log = pd.read_json(folder / "metrics.jsonl", lines=True).dropna(subset=["sup"])
        checkpoints = sorted((folder / "checkpoints").glob("step_*.pt"))
        rows.append({"seed": int(folder.name[4:]), "sup_last": float(log["sup"].tail(last).mean()),
                     "checkpoint": str(checkpoints[-1]) if checkpoints else ""})
    return pd.DataFrame(rows).sort_values("sup_last").reset_index(drop=True)


def run_rows(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(trained, held_out)``: the cells of the training run in ``run_dir`` (its config.yaml)
    that it trained on and that it held out (``data.val_fraction``), at their own labels'
    precision (:func:`hierwbc.train.prepare.train_and_validation_rows`)."""
    import yaml

    from hierwbc.config import from_dict
    from hierwbc.train.prepare import train_and_validation_rows

    cfg = from_dict(yaml.safe_load((Path(run_dir) / "config.yaml").read_text()))
    return train_and_validation_rows(cfg, default_hierarchy())


def held_out_rows(run_dir: str | Path) -> pd.DataFrame:
    """The cells the run in ``run_dir`` held out of its training (:func:`run_rows`)."""
    held = run_rows(run_dir)[1]
    if held.empty:
        raise ValueError(f"{run_dir}: its run held out no cells (data.val_fraction 0)")
    return held


def fit_classifier(checkpoint: str, out: Path = SHIPPED, experiment: Path = EXPERIMENT, lab_views: int = 0,
                   hidden_dim: int = 0, epochs: int = 60, cache_dir: str = "runs/cache",
                   rows_of: str | Path | None = None) -> dict:
    """Export ``checkpoint``'s teacher, fit a HierCE head (``hidden_dim``: one hidden layer; 0:
    linear) on its embeddings of the PBC train split, each cell shown as PBC shows it and as
    ``lab_views`` lab-shifted copies (:mod:`hierwbc.train.lab_shift`, from 128 px copies cached
    in ``cache_dir``; the PBC views repeated as often, so both weigh the same), and write
    backbone + head to ``out``; returns the fit's report. ``rows_of``: a training run whose
    trained cells alone are fitted on (:func:`run_rows`; default: the whole PBC train split, as
    the grid trained on it)."""
    from hierwbc.datasets import read_dataset
    from hierwbc.datasets.cache import cached_images
    from hierwbc.datasets.splits import split_rows
    from hierwbc.embed import embed
    from hierwbc.models.checkpoints import backbone_from_weights
    from hierwbc.models.shipped import read_weights
    from hierwbc.train.export import export_weights
    from hierwbc.train.fit_head import fit_head, save_classifier
    from hierwbc.train.lab_shift import embed_lab_views

    h = default_hierarchy()
    cfg = load_experiment(experiment)
    train = (split_rows(read_dataset("pbc", None, hierarchy=h), "train", 0.2, 0) if rows_of is None
             else run_rows(rows_of)[0])
    seen = {name: set(m["path"]) & set(train["path"]) for name, m in eval_manifests(cfg, h).items()}
    if any(seen.values()):
        raise ValueError(f"evaluation cells in the head's training cells: { {k: len(v) for k, v in seen.items()} }")
    with tempfile.TemporaryDirectory() as tmp:
        backbone = export_weights(checkpoint, Path(tmp) / "backbone.safetensors")
        X = embed(backbone, train, hierarchy=h, batch_size=cfg.embed_batch_size, progress=True).obsm["X_cls"]
        nodes = train["node"].astype(str).to_numpy()
        n, plain = len(train), max(lab_views, 1)  # plain views repeated: both domains weigh the same
        parts = [X] * plain
        if lab_views:
            tensors, meta = read_weights(backbone)
            parts.append(embed_lab_views(backbone_from_weights(tensors, meta), cached_images(train, 128, cache_dir),
                                         int(meta["img_size"]), lab_views))
        head, report = fit_head(np.concatenate(parts), np.tile(nodes, plain + lab_views), h, "hierce", alpha=0.5,
                                seed=0, hidden_dim=hidden_dim, epochs=epochs,
                                groups=np.tile(np.arange(n), plain + lab_views),
                                views=np.repeat(["plain", "lab_shifted"], [n * plain, n * lab_views]))
        summary = {k: v for k, v in report.items() if k != "loss_per_epoch"}
        if rows_of is not None:
            summary["rows_of"] = str(rows_of)
        summary.update(checkpoint=str(checkpoint), n_train_split=len(train), lab_views=lab_views,
                       final_loss=report["loss_per_epoch"][-1])
        save_classifier(backbone, head, "hierce", h, out, {"head_fit": json.dumps(summary, sort_keys=True)})
    fit_json = HERE / "classifier_fit.json" if Path(out) == SHIPPED else Path(out).with_suffix(".fit.json")
    atomic_write_text(fit_json, json.dumps({**summary, "loss_per_epoch": report["loss_per_epoch"]}, indent=1))
    return summary


def evaluate_classifier(model: str, experiment: Path = EXPERIMENT, stain_norm: str | None = None,
                        extra_sets: dict[str, pd.DataFrame] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score ``model``'s own predictions on the experiment's evaluation sets (after
    ``extra_sets``, e.g. a run's held-out PBC cells, :func:`held_out_rows`): ``(scores, calls)``,
    one row of scores per set, and the cells per set, true node, predicted leaf and back-off node."""
    h = default_hierarchy()
    cfg = load_experiment(experiment)
    rows, calls = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, manifest in {**(extra_sets or {}), **eval_manifests(cfg, h)}.items():
            csv = Path(tmp) / f"{name}.csv"
            manifest.to_csv(csv, index=False)
            a = predict(csv, model=model, threshold=THRESHOLD, progress=True, stain_norm=stain_norm)  # its own tree
            obs = a.obs[a.obs["node"].astype(str) != ""]
            if len(obs) != len(manifest):
                raise ValueError(f"{name}: {len(manifest) - len(obs)} cells without a label or unreadable")
            calls.append(obs.groupby(["node", "pred_leaf", "backoff_node"], observed=True).size()
                         .rename("cells").reset_index().assign(set=name))
            truth, leaf = h.indices(obs["node"].astype(str).to_numpy()), h.indices(obs["pred_leaf"].astype(str))
            # at the set's label precision: a leaf below a coarse label (neutrophil, ...) is that label
            pred = np.where(h.ancestors[leaf, truth], truth, leaf)
            m = compute_metrics(h, truth, pred)
            info = a.uns["predict"]
            rows.append({"set": name, "n": int(info["n_labelled"]), "balanced_accuracy": m["balanced_accuracy"],
                         "weighted_f1": m["weighted_f1"], "hierarchical_f1": m["hierarchical_f1"],
                         "leaf_accuracy": info["leaf_accuracy"], "backoff_threshold": THRESHOLD,
                         "backoff_accuracy": info["backoff_accuracy"],
                         "backoff_mean_depth": info["backoff_mean_depth"],
                         "backoff_root": float((obs["backoff_node"].astype(str) == h.root).mean()),
                         "model": model, "stain_norm": stain_norm or "none"})
    calls = pd.concat(calls, ignore_index=True).astype({"node": str, "pred_leaf": str, "backoff_node": str})
    return pd.DataFrame(rows), calls[["set", "node", "pred_leaf", "backoff_node", "cells"]]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=DEFAULT_CLASSIFIER)
    p.add_argument("--choose", metavar="RUN_DIR", help="print the hierce seeds, best first, and stop")
    p.add_argument("--fit", metavar="CHECKPOINT", help="write the classifier from this checkpoint, and stop")
    p.add_argument("--lab-views", type=int, default=0,
                   help="with --fit: also fit on this many lab-shifted copies of each cell (train/lab_shift.py)")
    p.add_argument("--hidden-dim", type=int, default=0, help="with --fit: the head's hidden layer (0: linear)")
    p.add_argument("--epochs", type=int, default=60, help="with --fit: passes over the embeddings")
    p.add_argument("--out", type=Path, default=SHIPPED, help="with --fit: the classifier file")
    p.add_argument("--rows-of", metavar="RUN_DIR", default=None,
                   help="with --fit: fit only on the cells this training run trained on (default: the train split)")
    p.add_argument("--held-out", metavar="RUN_DIR", default=None,
                   help="also score the PBC train-split cells that this run held out (set 'pbc_val')")
    p.add_argument("--table", type=Path, default=None,
                   help="where the evaluation goes (default: classifier.csv here, classifier_<method>.csv with "
                        "--stain-norm)")
    p.add_argument("--stain-norm", choices=STAIN_NORMS, default=None,
                   help="normalise every image's colours first (writes classifier_<method>.csv)")
    args = p.parse_args(argv)
    if args.choose:
        print(choose_seed(args.choose).to_string(index=False))
        return
    if args.fit:
        print(json.dumps(fit_classifier(args.fit, args.out, lab_views=args.lab_views,
                                                   hidden_dim=args.hidden_dim, epochs=args.epochs,
                                                   rows_of=args.rows_of), indent=1))
        return
    extra = {"pbc_val": held_out_rows(args.held_out)} if args.held_out else None
    table, calls = evaluate_classifier(args.model, stain_norm=args.stain_norm, extra_sets=extra)
    out = args.table or HERE / (f"classifier_{args.stain_norm}.csv" if args.stain_norm else "classifier.csv")
    atomic_write_text(out, table.to_csv(index=False, float_format="%.6g"))
    # what each true class was called
    atomic_write_text(out.with_name(f"{out.stem}_calls.csv"), calls.to_csv(index=False))
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
