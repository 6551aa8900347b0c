"""``hierwbc evaluate``: .h5ad files from ``hierwbc embed`` -> tidy CSV tables + the paper's tables.

    hierwbc evaluate hierce=runs/hierce.h5ad unsup=runs/unsup.h5ad --reference hierce --out results/

Writes to ``--out``: ``metrics.csv``, ``pooled.csv``, ``predictions.csv``, ``severity.csv``,
``significance.csv``, ``backoff.csv`` (schemas: :mod:`hierwbc.evaluate`), and the per-dataset
tables of :func:`hierwbc.evaluate.report` (``table_<dataset>``, ``significance_<dataset>``,
CSV + Markdown). Every file is written atomically.
"""

from __future__ import annotations

from pathlib import Path

HELP = "probes, flat + hierarchical metrics, bootstrap, paper tables"


def add_arguments(p) -> None:
    p.add_argument("inputs", nargs="+", help="name=file.h5ad (or file.h5ad: named by its provenance)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--reference", default=None, help="model the others are bootstrapped against (default: the first)")
    p.add_argument("--use-rep", default="X_cls", help="obsm key of the embeddings")
    p.add_argument("--probes", default="1nn,20nn,logreg")
    p.add_argument("--cv", default="5", help="number of stratified folds, or an obs column of fold ids")
    p.add_argument("--split-key", default=None, help="obs column of train/test values (a fixed split)")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--knn-metric", default="euclidean", choices=("euclidean", "cosine"))
    p.add_argument("--hierarchy", default=None, help="hierarchy file (default: the one stored in the .h5ad)")
    p.add_argument("--no-progress", action="store_true")


def run(args) -> Path:
    """Run :func:`hierwbc.evaluate.evaluate` on the inputs and write every table to ``--out``."""
    import anndata as ad

    from ..evaluate import evaluate, report
    from ..hierarchy import Hierarchy

    adatas = {}
    for item in args.inputs:
        name, sep, path = item.partition("=")
        if not sep:
            path, name = item, None
        a = ad.read_h5ad(path)
        name = name or str(dict(a.uns.get("provenance", {})).get("model") or Path(path).stem)
        if name in adatas:
            raise ValueError(f"two inputs are called {name!r}: name them (name=file.h5ad)")
        adatas[name] = a
    res = evaluate(adatas, hierarchy=Hierarchy.read(args.hierarchy) if args.hierarchy else None,
                   use_rep=args.use_rep, probes=tuple(p for p in args.probes.split(",") if p),
                   cv=int(args.cv) if args.cv.isdigit() else args.cv, split_key=args.split_key,
                   n_boot=args.n_boot, seed=args.seed, reference=args.reference,
                   knn_metric=args.knn_metric, progress=not args.no_progress)
    out = res.write(args.out)
    report(res, out)
    print(f"{len(adatas)} model(s), datasets {sorted(set(res.metrics['dataset']))} -> {out}")
    return out
