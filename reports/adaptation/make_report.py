"""reports/adaptation: five-type balanced accuracy against labelled cells per type of a new lab.

    python reports/adaptation/make_report.py curves --model cnn_pbc=runs/labs/cnn_pbc/model.safetensors \
        --model tiny8_hierce=hierwbc-tiny8-pbc-hierce --model tiny8_backbone=hierwbc-tiny8-pbc
    python reports/adaptation/make_report.py build

``curves`` embeds BCCD, segmentation_wbc and LISC with each model (``hierwbc.embed``; a CNN
re-frames as it was trained), then for k = 1, 3, 5, 10, 20, 50 labelled cells per type and 10
random draws runs every few-shot classifier (``hierwbc.evaluate.few_shot``: logreg, kNN,
prototype, HierCE head, and for a classifier the prior method; LISC's crops of one cell drawn or
scored together, each cell counted once) and merges
the rows into ``curves.csv``; it also times ``hierwbc.adapt`` on 50 labelled LISC cells per type
(``adapt_seconds.csv``). ``build`` writes ``summary.csv`` (mean and sd over draws),
``summary.md`` and ``curves.png`` from those files only.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hierwbc.evaluate.tables import merge_csv

HERE = Path(__file__).resolve().parent
SETS = ("bccd", "segmentation_wbc", "lisc")
KS = (1, 3, 5, 10, 20, 50)


def _pairs(items):
    return dict(item.split("=", 1) for item in items)


def time_adapt(model: str, lisc: pd.DataFrame, per_type: int, folder: Path) -> float:
    """Seconds of ``hierwbc.adapt`` on ``per_type`` LISC cells per type (one crop each), the
    reference written as class folders of links to the crops."""
    from hierwbc.adapt import adapt

    folder.mkdir(parents=True, exist_ok=True)
    one = lisc.drop_duplicates("group").groupby("node").head(per_type)
    for node, path in zip(one["node"], one["path"]):
        (folder / node).mkdir(exist_ok=True)
        link = folder / node / Path(path).name
        if not link.exists():
            link.symlink_to(path)
    start = time.perf_counter()
    adapt(str(folder), model=model, out=folder.parent / "adapted.safetensors", progress=False)
    return time.perf_counter() - start


def cells_of(model: str, manifest: pd.DataFrame, h) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """``(rows, features [n, D], prior [n, 5] or None)`` of a set's cells under ``model``. A
    classifier is run once, through ``predict``: its features and its own probabilities of the
    five types (the "prior" few-shot method); a label-free backbone is embedded (no prior)."""
    from hierwbc.embed import embed
    from hierwbc.evaluate.five_types import FIVE_TYPES
    from hierwbc.models.shipped import read_weights, resolve_weights
    from hierwbc.predict import predict

    manifest = manifest.reset_index(drop=True)
    if "sup_loss" not in read_weights(resolve_weights(model))[1]:
        a = embed(model, manifest, hierarchy=None, batch_size=128, progress=False)
        return manifest, np.asarray(a.obsm["X_cls"]), None
    out = predict(manifest, model=model, color_domain=None, batch_size=128, progress=False)
    rows = manifest.iloc[out.obs.index.astype(int).to_numpy()].reset_index(drop=True)  # the readable cells
    return rows, np.asarray(out.obsm["X_cls"]), np.asarray(out.obsm["node_proba"])[:, h.indices(FIVE_TYPES)]


def curves(args) -> None:
    from hierwbc.evaluate.few_shot import adaptation_curve
    from hierwbc.evaluate.five_types import five_type_index
    from hierwbc.evaluate.zero_shot import evaluation_sets
    from hierwbc.hierarchy import default_hierarchy

    out = Path(args.out)
    sets = evaluation_sets([s for s in args.sets.split(",") if s], args.data_root)
    h = default_hierarchy()
    for name, model in _pairs(args.model).items():
        for set_name, m in sets.items():
            cells, X, prior = cells_of(model, m, h)
            types = five_type_index(h, cells["node"].astype(str))
            groups = cells["group"].astype(str).to_numpy() if "group" in cells else None
            rows = adaptation_curve(X, types, ks=KS, draws=args.draws, groups=groups, set_name=set_name, model=name,
                                    prior=prior)
            merge_csv(out / "curves.csv", rows, ["set", "model", "method", "k", "draw"], sort=False)
            print(name, set_name, rows.groupby(["method", "k"])["balanced_accuracy"].mean().round(3).to_dict())
        if args.time_adapt and "lisc" in sets:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                seconds = time_adapt(model, sets["lisc"], 50, Path(tmp) / "reference")
            merge_csv(out / "adapt_seconds.csv", pd.DataFrame([{"model": name, "cells_per_type": 50,
                                                                "seconds": round(seconds, 2)}]), ["model"], sort=False)


def finetune_method(model: str, cells: pd.DataFrame, types: np.ndarray, h, steps: int, lr: float, trainable: str,
                    cache_dir: Path):
    """``predict(reference) -> five-type index of the other rows``: :func:`~hierwbc.baselines.finetune.finetune_cnn`
    on the reference rows, then the fine-tuned classifier's leaf calls (the recipe's cached copies, whole
    image resized, as its training validates) mapped to their types."""
    from hierwbc.baselines.finetune import cnn_parts, finetune_cnn
    from hierwbc.baselines.train import predict_nodes
    from hierwbc.datasets.cache import cached_images
    from hierwbc.evaluate.five_types import FIVE_TYPES, five_type_index

    _, recipe = cnn_parts(model)
    images = cached_images(cells, recipe.cache_size, cache_dir, num_workers=0, progress=False, reframe=recipe.reframe)
    nodes = np.asarray(FIVE_TYPES, dtype=object)[types]

    def run(ref: np.ndarray) -> np.ndarray:
        refs = np.flatnonzero(ref)
        if steps:
            net, head, tree = finetune_cnn(model, images[refs], nodes[refs], steps=steps, lr=lr, trainable=trainable,
                                           seed=int(refs.sum()) % 2**31)
        else:
            from hierwbc.models.registry import create_model

            m = create_model(model)
            net, head, tree = m.network, m.head, m.hierarchy
        leaves = predict_nodes(net, head, images[np.flatnonzero(~ref)], tree)
        return five_type_index(h, leaves)

    return run


CANDIDATES = {"h3": (100, 3e-3, "head"), "l3": (100, 3e-4, "last"), "a1": (100, 1e-4, "all"),
              "a3": (100, 3e-4, "all"), "zero": (0, 0.0, "head")}  # zero: the model as it is (the cached path)


def finetune(args) -> None:
    """Fine-tune curves (RULES.md): each candidate on the draws of ``adaptation_curve``, rows
    ``method = finetune_<candidate>`` (``finetune`` with ``--as-final``) merged into curves.csv."""
    from hierwbc.evaluate.few_shot import adaptation_curve
    from hierwbc.evaluate.five_types import five_type_index
    from hierwbc.evaluate.zero_shot import evaluation_sets
    from hierwbc.hierarchy import default_hierarchy

    out = Path(args.out)
    sets = evaluation_sets([s for s in args.sets.split(",") if s], args.data_root)
    h = default_hierarchy()
    ks = tuple(int(k) for k in args.ks.split(","))
    for name, model in _pairs(args.model).items():
        for set_name, m in sets.items():
            cells, _, _ = cells_of(model, m, h)  # the rows the other methods scored
            types = five_type_index(h, cells["node"].astype(str))
            cells, types = cells[types >= 0].reset_index(drop=True), types[types >= 0]
            groups = cells["group"].astype(str).to_numpy() if "group" in cells else None
            custom = {("finetune" if args.as_final else f"finetune_{c}"):
                      finetune_method(model, cells, types, h, *CANDIDATES[c], Path(args.cache))
                      for c in args.candidates.split(",")}
            rows = adaptation_curve(np.zeros((len(types), 1)), types, ks=ks, draws=args.draws, methods=[],
                                    groups=groups, set_name=set_name, model=name, custom=custom)
            rows = rows[rows["draw"] >= args.first_draw]
            merge_csv(out / "curves.csv", rows, ["set", "model", "method", "k", "draw"], sort=False)
            print(name, set_name, rows.groupby(["method", "k"])["balanced_accuracy"].mean().round(3).to_dict(),
                  flush=True)


def build(args) -> None:
    import matplotlib.pyplot as plt

    from hierwbc.evaluate.tables import to_markdown

    out = Path(args.out)
    c = pd.read_csv(out / "curves.csv")
    s = (c.groupby(["set", "model", "method", "k"])["balanced_accuracy"].agg(["mean", "std", "count"])
         .reset_index())
    s.to_csv(out / "summary.csv", index=False, float_format="%.4f")
    wide = s.assign(cell=[f"{100 * m:.1f} ± {100 * sd:.1f}" for m, sd in zip(s["mean"], s["std"])]).pivot(
        index=["set", "model", "method"], columns="k", values="cell").reset_index()
    text = ["# Few-shot five-type balanced accuracy (%), mean ± sd over draws, by labelled cells per type",
            "(written by make_report.py build from curves.csv)", "", to_markdown(wide)]
    if (out / "adapt_seconds.csv").is_file():
        text += ["## Time of `hierwbc adapt` on 50 labelled cells per type (LISC)", "",
                 to_markdown(pd.read_csv(out / "adapt_seconds.csv"))]
    (out / "summary.md").write_text("\n".join(text))
    sets = list(dict.fromkeys(s["set"]))
    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 3.6), sharey=True, squeeze=False)
    for ax, set_name in zip(axes[0], sets):
        for (model, method), g in s[s["set"] == set_name].groupby(["model", "method"]):
            ax.errorbar(g["k"], 100 * g["mean"], yerr=100 * g["std"], marker="o", ms=3, capsize=2,
                        label=f"{model} / {method}", ls="-" if method == "logreg" else ":")
        ax.set_xscale("log")
        ax.set_xticks(KS, [str(k) for k in KS])
        ax.set_title(set_name)
        ax.set_xlabel("labelled cells per type")
        ax.axhline(90, color="grey", lw=0.7, ls="--")
    axes[0][0].set_ylabel("five-type balanced accuracy (%)")
    axes[0][-1].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("curves")
    c.add_argument("--model", action="append", required=True, metavar="NAME=WEIGHTS_OR_SHIPPED_NAME")
    c.add_argument("--draws", type=int, default=10)
    c.add_argument("--sets", default=",".join(SETS), help="comma-separated; leave out a lab the model trained on")
    c.add_argument("--data-root", default=None)
    c.add_argument("--time-adapt", action="store_true")
    c.add_argument("--out", default=str(HERE))
    f = sub.add_parser("finetune")
    f.add_argument("--model", action="append", required=True, metavar="NAME=CNN_WEIGHTS")
    f.add_argument("--sets", default="lisc")
    f.add_argument("--ks", default="3,10")
    f.add_argument("--draws", type=int, default=5)
    f.add_argument("--first-draw", type=int, default=0)
    f.add_argument("--candidates", default=",".join(CANDIDATES))
    f.add_argument("--as-final", action="store_true", help="one candidate, recorded as method 'finetune'")
    f.add_argument("--cache", default="runs/cache")
    f.add_argument("--data-root", default=None)
    f.add_argument("--out", default=str(HERE))
    b = sub.add_parser("build")
    b.add_argument("--out", default=str(HERE))
    args = p.parse_args(argv)
    {"curves": curves, "finetune": finetune, "build": build}[args.command](args)


if __name__ == "__main__":
    main()
