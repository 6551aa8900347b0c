"""Wall time of the full evaluation protocol against a straightforward sklearn version, same process.

    .venv/bin/python bench/evaluate.py [--h5ad A.h5ad [B.h5ad]] [--n-boot 1000] [--threads 2] [--fraction 1]

Protocol, for two models on 17,092 x 384 embeddings (the PBC class counts, 13 classes of which
2 internal nodes): 1-NN, 20-NN and logistic regression on 5 stratified folds, all metrics per
fold, and 1,000 stratified paired bootstraps (model B against A) of every metric for each probe.

- ours: ``hierwbc.evaluate.evaluate`` (one distance matrix per fold for both k, all folds'
  logistic regressions in one preconditioned L-BFGS run, bootstrap vectorised over resamples).
- straightforward: per fold ``StandardScaler`` + ``KNeighborsClassifier(1)`` +
  ``KNeighborsClassifier(20)`` + ``LogisticRegression(lbfgs, same C, max_iter=1000)``, metrics with
  ``sklearn.metrics`` (hierarchical ones with numpy on the tree arrays), and a Python loop over
  the 1,000 resamples calling the same metric functions. It uses our folds so that the two
  can be checked against each other (the largest per-fold metric difference is printed).

Embeddings: synthetic, well separated (default), or real ones from ``hierwbc embed`` (``--h5ad``;
a single file is paired with itself plus Gaussian noise of 0.5 feature std as model B).
Results go to ``bench/results/evaluate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="evaluation benchmark (see the module docstring)")
    ap.add_argument("--h5ad", nargs="+", default=None, help="one or two .h5ad files from hierwbc embed")
    ap.add_argument("--use-rep", default="X_cls")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--separation", type=float, default=0.15, help="class-centre scale of the synthetic embeddings")
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="synthetic embeddings: this fraction of the PBC class counts (at least 10 per class)")
    ap.add_argument("--omp-active", action="store_true", help="keep OpenMP spin-waiting (PASSIVE otherwise)")
    ap.add_argument("--no-write", action="store_true")
    return ap.parse_args(argv)


if __name__ == "__main__" and not parse_args().omp_active:  # must precede the torch import
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import warnings

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from hierwbc.evaluate import evaluate
from hierwbc.evaluate.logreg import default_C
from hierwbc.hierarchy import default_hierarchy
from hierwbc.io import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results" / "evaluate.json"
PBC_COUNTS = {"basophil": 1218, "eosinophil": 3117, "erythroblast": 1551, "promyelocyte": 592, "myelocyte": 1137,
              "metamyelocyte": 1015, "immature_granulocyte": 151, "lymphocyte_typical": 1214, "monocyte": 1420,
              "neutrophil_segmented": 1646, "neutrophil_band": 1633, "neutrophil": 50, "platelet": 2348}
H = default_hierarchy()


def synthetic(separation: float, seed: int = 0, fraction: float = 1.0):
    """Two models' embeddings [17092, 384] (``fraction`` of the counts per class, at least 10):
    class centres in a 32-d subspace, anisotropic noise."""
    rng = np.random.default_rng(seed)
    counts = [v if fraction == 1 else max(10, round(v * fraction)) for v in PBC_COUNTS.values()]
    y = np.repeat(H.indices(PBC_COUNTS), counts)
    centers = rng.normal(size=(len(H.nodes), 32)) * 3 * separation  # 0.15: 20-NN accuracy ~0.97 (A), ~0.94 (B)
    mix = rng.normal(size=(32, 384)) / np.sqrt(32)
    base = centers[y] @ mix
    a = base + rng.normal(size=base.shape) * np.linspace(0.2, 2.0, 384)
    b = base * 0.8 + rng.normal(size=base.shape) * np.linspace(0.2, 2.0, 384)
    return a.astype(np.float32), b.astype(np.float32), y


def real(paths: list[str], use_rep: str):
    import anndata as ad

    from hierwbc.evaluate.inputs import collect_inputs
    _, models = collect_inputs({str(i): ad.read_h5ad(p) for i, p in enumerate(paths)}, H, use_rep=use_rep)
    a = models[0]
    if len(models) > 1:
        pos = {n: i for i, n in enumerate(models[1].obs_names)}
        b = models[1].X[[pos[n] for n in a.obs_names]]
    else:
        b = a.X + np.random.default_rng(0).normal(size=a.X.shape) * 0.5 * a.X.std(0)
    return a.X.astype(np.float32), b.astype(np.float32), a.y


def hier_metrics(t, p):
    d, lca = H.depth, H.lca
    shared = d[lca[t, p]].sum()
    hp, hr = shared / d[p].sum(), shared / d[t].sum()
    wrong = t != p
    return {"hierarchical_f1": 2 * hp * hr / (hp + hr), "lineage_accuracy": np.mean(H.lineage[t] == H.lineage[p]),
            "mistake_severity": H.lca_height[t, p][wrong].mean() if wrong.any() else np.nan}


def flat_metrics(t, p):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"accuracy": accuracy_score(t, p), "balanced_accuracy": balanced_accuracy_score(t, p),
                "weighted_f1": f1_score(t, p, average="weighted", zero_division=0), **hier_metrics(t, p)}


def straightforward(models: dict, y, fold, n_boot: int):
    """The sklearn version (see the module docstring): out-of-fold predictions, per-fold
    metrics and timings."""
    t0 = time.perf_counter()
    oof = {m: {p: np.empty_like(y) for p in ("1nn", "20nn", "logreg")} for m in models}
    per_fold = {}
    for m, X in models.items():
        C = default_C(X.shape[1], len(np.unique(y)))
        for f in range(5):
            tr, te = fold != f, fold == f
            sc = StandardScaler().fit(X[tr])
            xtr, xte = sc.transform(X[tr]), sc.transform(X[te])
            for k in (1, 20):
                oof[m][f"{k}nn"][te] = KNeighborsClassifier(n_neighbors=k).fit(xtr, y[tr]).predict(xte)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                oof[m]["logreg"][te] = LogisticRegression(C=C, max_iter=1000).fit(xtr, y[tr]).predict(xte)
            for p in oof[m]:
                per_fold[(m, p, f)] = flat_metrics(y[te], oof[m][p][te])
    t1 = time.perf_counter()
    rng = np.random.default_rng(0)
    members = [np.nonzero(y == c)[0] for c in np.unique(y)]
    deltas = {p: [] for p in ("1nn", "20nn", "logreg")}
    for _ in range(n_boot):
        idx = np.concatenate([rng.choice(mem, len(mem)) for mem in members])
        for p, out in deltas.items():
            a, b = flat_metrics(y[idx], oof["A"][p][idx]), flat_metrics(y[idx], oof["B"][p][idx])
            out.append({k: b[k] - a[k] for k in a})
    t2 = time.perf_counter()
    return oof, per_fold, {"probes_and_metrics_s": t1 - t0, "bootstrap_s": t2 - t1, "total_s": t2 - t0}


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    a, b, y = real(args.h5ad, args.use_rep) if args.h5ad else synthetic(args.separation, fraction=args.fraction)
    print(f"embeddings: {'real ' + str(args.h5ad) if args.h5ad else 'synthetic'} {a.shape}, "
          f"{len(np.unique(y))} classes; {args.n_boot} bootstraps; {torch.get_num_threads()} threads", flush=True)
    t = time.perf_counter()
    res = evaluate({"A": a, "B": b}, labels=y, datasets="pbc", n_boot=args.n_boot, progress=False)
    ours = time.perf_counter() - t
    tm = res.timings
    print(f"ours:            {ours:7.2f} s  (probes {tm['probes']:.2f} s, metrics + back-off {tm['metrics']:.2f} s, "
          f"bootstrap {tm['bootstrap']:.2f} s)", flush=True)
    first = res.predictions[(res.predictions.model == "A") & (res.predictions.probe == "1nn")]
    fold = np.empty(len(y), np.int64)
    fold[first["obs_name"].astype(int).to_numpy()] = first["fold"].to_numpy()  # the same folds as ours
    oof, ref_folds, base = straightforward({"A": a, "B": b}, y, fold, args.n_boot)
    print(f"straightforward: {base['total_s']:7.2f} s  (probes + metrics {base['probes_and_metrics_s']:.2f} s, "
          f"bootstrap loop {base['bootstrap_s']:.2f} s)")
    print(f"ratio (straightforward / ours): {base['total_s'] / ours:.2f}x")

    pred = res.predictions.assign(pos=lambda d: d["obs_name"].astype(int))
    disagree = {}
    for (mod, p), g in pred.groupby(["model", "probe"], observed=True):
        mine = np.asarray(H.indices(g["pred"].astype(str)))
        disagree[f"{mod}/{p}"] = float(np.mean(mine != oof[mod][p][g["pos"].to_numpy()]))
    m = res.metrics[res.metrics.fold >= 0].set_index(["model", "probe", "fold", "metric"])["value"]
    bacc_diff = max(abs(m[(mod, p, f, "balanced_accuracy")] - v["balanced_accuracy"])
                    for (mod, p, f), v in ref_folds.items())
    print("predictions differing from sklearn's (kNN: vote ties broken by the nearest member instead of the "
          "smallest label; logreg: optimiser tolerance): " + ", ".join(f"{k} {v:.2%}" for k, v in disagree.items()))
    print(f"largest per-fold balanced-accuracy difference: {bacc_diff:.4f}")
    bacc = res.pooled[res.pooled.metric == "balanced_accuracy"].set_index(["model", "probe"])["value"].round(4)
    print("pooled balanced accuracy:", bacc.to_dict())
    out = {"embeddings": "real" if args.h5ad else "synthetic", "files": args.h5ad, "shape": list(a.shape),
           "fraction": None if args.h5ad else args.fraction,
           "n_boot": args.n_boot, "threads": torch.get_num_threads(), "ours_s": ours, "ours_stages_s": tm,
           "straightforward": base, "ratio": base["total_s"] / ours, "prediction_disagreement": disagree,
           "max_fold_balanced_accuracy_diff": bacc_diff, "load_average_1min": os.getloadavg()[0],
           "pooled_balanced_accuracy": {f"{k[0]}/{k[1]}": v for k, v in bacc.to_dict().items()},
           "python": sys.version.split()[0], "torch": torch.__version__, "machine": platform.machine(),
           "cpus": os.cpu_count()}
    if not args.no_write:
        path = RESULTS if not args.h5ad else RESULTS.with_name("evaluate_real.json")
        atomic_write_text(path, json.dumps(out, indent=2) + "\n")
        print(f"written {path}")
    return out


if __name__ == "__main__":
    main()
