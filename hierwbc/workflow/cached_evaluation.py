"""evaluate() once per run folder: the first analysis notebook computes it, the others read it.

``evaluation/`` holds the tidy tables of :class:`hierwbc.evaluate.EvaluationResult` as CSV
(``metrics``, ``pooled``, ``predictions``, ``severity``, ``significance``, ``backoff``) and
``inputs.json``: the embedding files (size, modification time) and the evaluation settings
(from ``experiment.yaml``) they were computed from. The cache is used while both match; any
new or re-embedded file, or changed settings, recomputes it. The paper's tables
(:func:`hierwbc.evaluate.report`) go to ``tables/``.
"""

from __future__ import annotations

import json

from hierwbc.io import atomic_write_text

from .folder import RunFolder


def _inputs(run: RunFolder) -> dict:
    files = {m: {s: [str(p), p.stat().st_size, p.stat().st_mtime_ns] for s, p in sets.items()}
             for m, sets in run.embedding_files().items()}
    settings = {}
    if run.experiment_file.exists():
        cfg = run.experiment()
        settings = {"cv": cfg.cv, "n_boot": cfg.n_boot, "probes": list(cfg.probes), "reference": cfg.reference,
                    "seed": cfg.seed}
    return {"files": files, "settings": settings}


def evaluation(run: RunFolder, adatas=None, progress: bool = True, force: bool = False):
    """The run's :class:`~hierwbc.evaluate.EvaluationResult`: read from ``evaluation/`` when
    up to date, else computed from the embeddings (``adatas``, default
    :meth:`RunFolder.embeddings`) with the experiment's settings and written there."""
    from hierwbc.evaluate import EvaluationResult, evaluate, report
    from hierwbc.plotting.common import hierarchy_of

    folder, stamp = run.evaluation_dir, _inputs(run)
    meta = folder / "inputs.json"
    adatas = adatas if adatas is not None else run.embeddings()
    h = hierarchy_of(next(iter(adatas.values())))
    s = stamp["settings"]
    reference = s.get("reference") if s.get("reference") in adatas else None
    cached = (not force and meta.exists() and json.loads(meta.read_text()) == json.loads(json.dumps(stamp))
              and EvaluationResult.is_written(folder))
    if cached:
        return EvaluationResult.read(folder, h, reference, timings={"cached": str(folder)})
    res = evaluate(adatas, hierarchy=h, probes=tuple(s.get("probes", ("1nn", "20nn", "logreg"))), cv=s.get("cv", 5),
                   n_boot=s.get("n_boot", 200), seed=s.get("seed", 0), reference=reference, progress=progress)
    res.write(folder)
    atomic_write_text(meta, json.dumps(stamp, indent=1))
    report(res, run.tables)
    return res
