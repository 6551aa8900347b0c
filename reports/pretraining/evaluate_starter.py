"""Evaluate the shipped starter backbone against the same ViT with random weights (and raw
pixels) on pbc_test (in-domain), BCCD and segmentation_wbc (external), with the paper's
protocol: 1-NN, 20-NN and logistic regression, 5-fold cross-validation inside each set, 1,000
paired bootstraps against the starter. None of these images was seen in pretraining.

    .venv/bin/python reports/pretraining/evaluate_starter.py [--model hierwbc-tiny-pbc]
    .venv/bin/python reports/pretraining/evaluate_starter.py --stain-norm reinhard
    .venv/bin/python reports/pretraining/evaluate_starter.py --compare hierce=runs/a/checkpoints/step_001500.pt \
        unsup=runs/b/checkpoints/step_001500.pt --reference hierce --out reports/reproduction/long_budget

Writes evaluation/ (the tidy tables a published report keeps: pooled, severity, significance,
back-off; per-cell predictions are not kept) and tables/ (per-set tables, significance) here;
with ``--stain-norm reinhard`` (every image's colours first moved to the PBC training images',
:mod:`hierwbc.datasets.stain`; all three models) to stain_reinhard/evaluation and
stain_reinhard/tables. ``--compare NAME=CHECKPOINT ...`` adds models (checkpoints or weights
files), ``--reference`` names the model every other is tested against, ``--out`` the folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import anndata as ad
import torch

from hierwbc.datasets.sources import read_sources
from hierwbc.datasets.splits import split_rows
from hierwbc.datasets.stain import STAIN_NORMS
from hierwbc.embed import embed
from hierwbc.evaluate import evaluate, report
from hierwbc.experiment.publishing import EVALUATION_TABLES
from hierwbc.hierarchy import default_hierarchy
from hierwbc.models.shipped import read_metadata
from hierwbc.models.vit import build_vit

HERE = Path(__file__).resolve().parent
SETS = {"pbc_test": ("pbc", "test"), "bccd": ("bccd", None), "segmentation_wbc": ("segmentation_wbc", None)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="hierwbc-tiny-pbc")
    p.add_argument("--data-root", default=None)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--stain-norm", choices=STAIN_NORMS, default=None)
    p.add_argument("--compare", nargs="*", default=[], metavar="NAME=CHECKPOINT",
                   help="more models to evaluate beside the starter, random weights and pixels")
    p.add_argument("--reference", default="starter", help="the model the bootstraps test every other against")
    p.add_argument("--out", type=Path, default=None, help="default: this folder (stain_<method>/ with --stain-norm)")
    args = p.parse_args(argv)
    out = args.out or (HERE / f"stain_{args.stain_norm}" if args.stain_norm else HERE)
    if bad := [item for item in args.compare if "=" not in item]:
        raise SystemExit(f"--compare takes NAME=CHECKPOINT, not {bad}")
    extra = dict(item.split("=", 1) for item in args.compare)
    h = default_hierarchy()
    meta = read_metadata(args.model)
    torch.manual_seed(0)
    random = build_vit(meta["arch"], img_size=int(meta["img_size"]), patch_size=int(meta["patch_size"]),
                       init_values=float(meta.get("layerscale", 0)) or None)
    models = {**extra, "starter": args.model, "random_init": random, "pixels": "pixels"}
    if args.reference not in models:
        raise SystemExit(f"--reference {args.reference!r} is none of {list(models)}")
    adatas = {}
    for name, model in models.items():
        parts = []
        for set_name, (source, split) in SETS.items():
            m = read_sources([source], args.data_root, h)
            if split is not None:
                m = split_rows(m, split, 0.2, 0, source)
            a = embed(model, m, hierarchy=h, batch_size=256, name=name, stain_norm=args.stain_norm)
            a.obs["dataset"] = set_name
            parts.append(a)
        joined = ad.concat(parts, join="inner", merge="first", index_unique="-", uns_merge="first")
        joined.obs["dataset"] = joined.obs["dataset"].astype("category")
        adatas[name] = joined
    res = evaluate(adatas, hierarchy=h, probes=("1nn", "20nn", "logreg"), cv=5, n_boot=args.n_boot, seed=0,
                   reference=args.reference)
    res.write(out / "evaluation", tables=EVALUATION_TABLES)  # no per-cell predictions (MBs) in git
    report(res, out / "tables")
    print(f"wrote {out / 'evaluation'} and {out / 'tables'}")


if __name__ == "__main__":
    main()
