"""``run_experiment``: train the grid, embed the evaluation sets, evaluate, report, draw.

Every stage skips what is already done, so an interrupted experiment is resumed by running the
same command again (a model whose training stopped resumes from its last checkpoint):

    <out>/experiment.yaml              the experiment file as run
    <out>/models/<name>/               one training run folder per model (+ DONE.json)
    <out>/embeddings/<model>/<set>.h5ad
    <out>/evaluation/*.csv             tidy tables (hierwbc.evaluate)
    <out>/tables/                      paper Tables 1-3 and Appendix B form (CSV + Markdown)
    <out>/figures/*.png
    <out>/summary.json                 setup, budget and timings (``sittings``: one entry per run of the command)

With ``seeds: [0, 1, 2]`` every model is trained once per seed (``TrainConfig.seed``: init of
new heads, data order, augmentation, coarsening) in ``models/<name>/seed<k>/``, resumable per
(model, seed); random_init is drawn per seed; pixels and weights baselines (``starter``) are
embedded once and evaluated with every seed (:mod:`.layout`). Each seed's models are evaluated
together (same cells, folds and resamples: the evaluation's ``seed``); the tables are stacked
with a ``seed`` column and the significance over seeds is added
(:func:`hierwbc.evaluate.seeds.combine_seeds`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from ..config import ExperimentConfig, load_experiment, make_config
from ..datasets.read import read_dataset
from ..datasets.sources import read_sources
from ..datasets.splits import split_rows, stratified_subset
from ..embed import embed, join_sets, write_h5ad
from ..hierarchy import Hierarchy, default_hierarchy
from ..io import atomic_write_text
from ..models.shipped import resolve_weights
from ..models.vit import VIT_SIZES
from ..train.checkpointing import latest_checkpoint
from ..train.loop import fit
from ..train.pretrained import adopt_pretrained_architecture

STAGES = ("train", "embed", "evaluate", "figures")


def _hierarchy(cfg: ExperimentConfig) -> Hierarchy:
    path = cfg.train.get("data.hierarchy")
    return Hierarchy.read(path) if path else default_hierarchy()


def train_models(cfg: ExperimentConfig, progress: bool = True) -> dict[str, dict]:
    """Train (or resume, or skip when done) every model with every seed;
    ``{name: {"seed<k>": DONE record}}``."""
    done: dict[str, dict] = {}
    for seed in cfg.seeds:
        for name in cfg.models:
            done.setdefault(name, {})[f"seed{seed}"] = _train_one(cfg, name, seed, progress)
    return done


def train_seconds(metrics, batch_size: int) -> float:
    """Seconds spent in training steps: the sum of the logged step times
    (``batch_size / images_per_s``). The time between sittings of a resumed run and the kNN
    checks are not counted (a wall-clock difference of the ``time`` column would count both)."""
    if "images_per_s" not in metrics:
        return 0.0
    return float((batch_size / metrics["images_per_s"].dropna()).sum())


def _train_one(cfg: ExperimentConfig, name: str, seed: int, progress: bool) -> dict:
    preset, overrides = cfg.model_overrides(name, seed)
    tcfg = make_config(preset, overrides=overrides)
    marker = cfg.layout.done_file(name, seed)
    if marker.exists() and json.loads(marker.read_text()).get("config") == tcfg.to_dict():
        return json.loads(marker.read_text())
    t0 = time.perf_counter()
    result = fit(tcfg, resume=True, progress=progress)
    m = result.metrics
    record = {"model": name, "seed": seed, "preset": preset, "steps": int(result.step),
              "checkpoint": str(result.checkpoint), "wall_s_this_sitting": time.perf_counter() - t0,
              "train_s": train_seconds(m, tcfg.batch_size),
              "median_images_per_s": float(m["images_per_s"].median()) if len(m) else 0.0,
              "final_loss": {k: float(m[k].iloc[-5:].mean()) for k in ("loss", "dino", "ibot", "koleo", "sup")
                             if k in m},
              "config": tcfg.to_dict()}
    atomic_write_text(marker, json.dumps(record, indent=1))
    return record


def eval_manifests(cfg: ExperimentConfig, h: Hierarchy) -> dict:
    """Manifest of each evaluation set (splits drawn exactly as in training). A set's
    ``source`` is anything :func:`hierwbc.datasets.sources.read_sources` reads: a dataset name,
    a manifest CSV, or a folder of class sub-folders with a label map of the hierarchy,
    ``path/to/folder:raabin``; with the set's own ``label_map`` ``{sub-folder: node}``, a folder."""
    # the data settings, validated with the model's (data.cache_size is checked against model.img_size)
    tcfg = make_config("unsup", overrides={k: v for k, v in cfg.train.items() if k.startswith(("data.", "model."))})
    out = {}
    for s in cfg.sets:
        if s.label_map is not None:
            m = read_dataset("image_folder", Path(s.source).expanduser(), hierarchy=h, label_map=s.label_map,
                             dataset=s.name)
        else:
            m = read_sources([s.source], tcfg.data.root, h)
        if s.split is not None:
            m = split_rows(m, s.split, tcfg.data.test_fraction, tcfg.data.split_seed, s.source)
        out[s.name] = stratified_subset(m, s.limit, cfg.seed)
    return out


def _model_config(cfg: ExperimentConfig):
    """The shared model settings, with the architecture of ``model.pretrained`` when it is a
    weights file (what every trained model and random_init use)."""
    return adopt_pretrained_architecture(
        make_config("unsup", overrides={k: v for k, v in cfg.train.items() if k.startswith("model.")})).model


def model_sources(cfg: ExperimentConfig, seed: int) -> dict[str, str]:
    """What each evaluated model of ``seed`` is embedded with: a checkpoint, a ViT name, a
    weights file or 'pixels'."""
    src = {}
    for name in cfg.models:
        folder = cfg.layout.model_dir(name, seed)
        ckpt = latest_checkpoint(folder)
        if ckpt is None:
            raise FileNotFoundError(f"model {name!r} has no checkpoint under {folder}: run the train stage first")
        src[name] = str(ckpt)
    for b in cfg.baselines:
        src[b] = _model_config(cfg).arch if b == "random_init" else cfg.baseline_source(b)
    return src


def _mtime(source: str) -> float:
    if source == "pixels" or source in VIT_SIZES:
        return 0.0
    return resolve_weights(source).stat().st_mtime


def embed_models(cfg: ExperimentConfig, h: Hierarchy, progress: bool = True) -> dict[int, dict[str, dict[str, Path]]]:
    """Embed every evaluation set with every model of every seed (skipped when the .h5ad is
    newer than the model); ``{seed: {model: {set: path}}}``, seed-free baselines shared."""
    mcfg = _model_config(cfg)
    manifests = eval_manifests(cfg, h)
    paths: dict[int, dict[str, dict[str, Path]]] = {}
    for seed in cfg.seeds:
        for name, source in model_sources(cfg, seed).items():
            trained = name in cfg.models
            seeded = trained or name == "random_init"  # pixels and weights files: once for all seeds
            for set_name, m in manifests.items():
                path = cfg.layout.embedding_file(name, set_name, seed if seeded else None)
                if not (path.exists() and path.stat().st_mtime >= _mtime(source)):
                    own_size = trained or name not in ("random_init", "pixels")  # a weights file knows its input
                    a = embed(source, m, hierarchy=h, img_size=None if own_size else mcfg.img_size,
                              patch_size=mcfg.patch_size if source in VIT_SIZES else None,
                              batch_size=cfg.embed_batch_size, seed=seed, name=name, progress=progress)
                    a.obs["dataset"] = set_name
                    write_h5ad(a, path)
                paths.setdefault(seed, {}).setdefault(name, {})[set_name] = path
    return paths


def evaluate_models(cfg: ExperimentConfig, h: Hierarchy, paths: dict[int, dict[str, dict[str, Path]]],
                    progress: bool = True):
    """Per seed: one AnnData per model -> evaluate; the seeds combined -> tables. Returns the
    combined result and the first seed's AnnData (for the figures)."""
    from ..evaluate import evaluate, report
    from ..evaluate.seeds import combine_seeds

    per_seed, first = {}, {}
    for seed in cfg.seeds:
        adatas = {name: join_sets(sets) for name, sets in paths[seed].items()}
        per_seed[seed] = evaluate(adatas, hierarchy=h, probes=cfg.probes, cv=cfg.cv, n_boot=cfg.n_boot,
                                  seed=cfg.seed, reference=cfg.reference, progress=progress)
        first = first or adatas
    res = combine_seeds(per_seed, n_boot=cfg.n_boot, seed=cfg.seed, progress=progress)
    res.write(cfg.layout.evaluation_dir)
    report(res, cfg.layout.tables)
    return res, first


def run_experiment(config, stages=STAGES, models=None, progress: bool = True, seeds=None) -> Path:
    """Run (or resume) an experiment file; returns its output folder (see the module docstring).
    ``models`` / ``seeds``: only those of the file (:meth:`ExperimentConfig.only`)."""
    cfg = config if isinstance(config, ExperimentConfig) else load_experiment(config)
    if models or seeds:
        cfg = cfg.only(models or None, seeds or None)
    out, layout = Path(cfg.out), cfg.layout
    out.mkdir(parents=True, exist_ok=True)
    if cfg.raw:  # the file as run, command-line overrides included
        atomic_write_text(layout.experiment_file, yaml.safe_dump(cfg.raw, sort_keys=False))
    h = _hierarchy(cfg)
    clock, summary_path = {}, layout.summary_file
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    t = time.perf_counter()
    if "train" in stages:
        records = summary.setdefault("training", {})
        for name, by_seed in train_models(cfg, progress=progress).items():  # other sittings' records kept
            records.setdefault(name, {}).update(by_seed)
        clock["train"] = time.perf_counter() - t
    if "embed" in stages:
        t = time.perf_counter()
        paths = embed_models(cfg, h, progress)
        clock["embed"] = time.perf_counter() - t
    if "evaluate" in stages or "figures" in stages:
        t = time.perf_counter()
        res, adatas = evaluate_models(cfg, h, paths if "embed" in stages else embed_models(cfg, h, progress), progress)
        clock["evaluate"] = time.perf_counter() - t
        summary["evaluation_timings"] = dict(res.timings)
        if "figures" in stages:
            from .figures import draw_figures

            t = time.perf_counter()
            summary["figures"] = [str(p) for p in draw_figures(cfg, res, adatas, layout.figures)]
            clock["figures"] = time.perf_counter() - t
    summary.pop("stage_seconds", None)  # older summaries: one sitting's seconds, now in "sittings"
    summary.setdefault("sittings", []).append({"finished": time.strftime("%Y-%m-%d %H:%M:%S"),
                                               "models": list(cfg.models), "stage_seconds": clock})
    summary.update(name=cfg.name, experiment=str(cfg.source), seed=cfg.seed, seeds=cfg.seeds, models=list(cfg.models),
                   baselines=cfg.baselines, sets=[vars(s) for s in cfg.sets], cv=cfg.cv, n_boot=cfg.n_boot,
                   reference=cfg.reference)
    atomic_write_text(summary_path, json.dumps(summary, indent=1, default=str))
    return out
