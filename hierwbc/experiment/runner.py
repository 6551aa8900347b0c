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
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import anndata as ad
import yaml

from ..datasets.sources import read_sources
from ..embed import embed, write_h5ad
from ..hierarchy import Hierarchy, default_hierarchy
from ..io import atomic_write_text
from ..train.checkpointing import latest_checkpoint
from ..train.config import make_config
from ..train.loop import fit
from ..train.prepare import split_rows, stratified_subset
from .config import ExperimentConfig, load_experiment
from .layout import RunLayout

STAGES = ("train", "embed", "evaluate", "figures")


def _hierarchy(cfg: ExperimentConfig) -> Hierarchy:
    path = cfg.train.get("data.hierarchy")
    return Hierarchy.read(path) if path else default_hierarchy()


def train_models(cfg: ExperimentConfig, names=None, progress: bool = True) -> dict[str, dict]:
    """Train (or resume, or skip when done) every model; ``{name: DONE record}``."""
    done = {}
    for name in names or cfg.models:
        preset, overrides = cfg.model_overrides(name)
        tcfg = make_config(preset, overrides=overrides)
        marker = RunLayout(cfg.out).done_file(name)
        if marker.exists() and json.loads(marker.read_text()).get("config") == tcfg.to_dict():
            done[name] = json.loads(marker.read_text())
            continue
        t0 = time.perf_counter()
        result = fit(tcfg, resume=True, progress=progress)
        m = result.metrics
        record = {"model": name, "preset": preset, "steps": int(result.step), "checkpoint": str(result.checkpoint),
                  "wall_s_this_sitting": time.perf_counter() - t0,
                  "train_s": float(m["time"].diff().iloc[1:].sum()) if len(m) > 1 else 0.0,
                  "median_images_per_s": float(m["images_per_s"].median()) if len(m) else 0.0,
                  "final_loss": {k: float(m[k].iloc[-5:].mean()) for k in ("loss", "dino", "ibot", "koleo", "sup")
                                 if k in m},
                  "config": tcfg.to_dict()}
        atomic_write_text(marker, json.dumps(record, indent=1))
        done[name] = record
    return done


def eval_manifests(cfg: ExperimentConfig, h: Hierarchy) -> dict:
    """Manifest of each evaluation set (splits drawn exactly as in training)."""
    tcfg = make_config("unsup", overrides={k: v for k, v in cfg.train.items() if k.startswith("data.")})
    out = {}
    for s in cfg.sets:
        m = read_sources([s.source], tcfg.data.root, h)
        if s.split is not None:
            m = split_rows(m, s.split, tcfg.data.test_fraction, tcfg.data.split_seed, s.source)
        out[s.name] = stratified_subset(m, s.limit, cfg.seed)
    return out


def model_sources(cfg: ExperimentConfig) -> dict[str, str]:
    """What each evaluated model is embedded with: a checkpoint, a ViT name, or 'pixels'."""
    arch = make_config("unsup", overrides={k: v for k, v in cfg.train.items() if k.startswith("model.")}).model.arch
    src = {}
    for name in cfg.models:
        ckpt = latest_checkpoint(RunLayout(cfg.out).model_dir(name))
        if ckpt is None:
            raise FileNotFoundError(f"model {name!r} has no checkpoint under {RunLayout(cfg.out).model_dir(name)}: "
                                    "run the train stage first")
        src[name] = str(ckpt)
    for b in cfg.baselines:
        src[b] = arch if b == "random_init" else "pixels"
    return src


def embed_models(cfg: ExperimentConfig, h: Hierarchy, progress: bool = True) -> dict[str, dict[str, Path]]:
    """Embed every evaluation set with every model (skipped when the .h5ad is newer than the model)."""
    img_size = make_config("unsup", overrides={k: v for k, v in cfg.train.items() if k.startswith("model.")}).model.img_size
    manifests = eval_manifests(cfg, h)
    paths: dict[str, dict[str, Path]] = {}
    for name, source in model_sources(cfg).items():
        for set_name, m in manifests.items():
            path = RunLayout(cfg.out).embedding_file(name, set_name)
            src_time = Path(source).stat().st_mtime if Path(source).exists() else 0
            if not (path.exists() and path.stat().st_mtime >= src_time):
                a = embed(source, m, hierarchy=h, img_size=None if Path(source).exists() else img_size,
                          batch_size=cfg.embed_batch_size, seed=cfg.seed, name=name, progress=progress)
                a.obs["dataset"] = set_name
                write_h5ad(a, path)
            paths.setdefault(name, {})[set_name] = path
    return paths


def evaluate_models(cfg: ExperimentConfig, h: Hierarchy, paths: dict[str, dict[str, Path]], progress: bool = True):
    """One AnnData per model (all sets, ``obs["dataset"]`` = set name) -> evaluate -> tables."""
    from ..evaluate import evaluate, report

    adatas = {}
    for name, sets in paths.items():
        parts = [ad.read_h5ad(p) for p in sets.values()]
        joined = ad.concat(parts, join="inner", merge="first", index_unique="-", uns_merge="first")
        joined.obs["dataset"] = joined.obs["dataset"].astype("category")
        adatas[name] = joined
    res = evaluate(adatas, hierarchy=h, probes=cfg.probes, cv=cfg.cv, n_boot=cfg.n_boot, seed=cfg.seed,
                   reference=cfg.reference, progress=progress)
    res.write(RunLayout(cfg.out).evaluation_dir)
    report(res, RunLayout(cfg.out).tables)
    return res, adatas


def run_experiment(config, stages=STAGES, models=None, progress: bool = True) -> Path:
    """Run (or resume) an experiment file; returns its output folder (see the module docstring)."""
    cfg = config if isinstance(config, ExperimentConfig) else load_experiment(config)
    out, layout = Path(cfg.out), RunLayout(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.raw:  # the file as run, command-line overrides included
        atomic_write_text(layout.experiment_file, yaml.safe_dump(cfg.raw, sort_keys=False))
    h = _hierarchy(cfg)
    clock, summary_path = {}, layout.summary_file
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    t = time.perf_counter()
    if "train" in stages:
        summary["training"] = train_models(cfg, models, progress)
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
                                               "models": list(models or cfg.models), "stage_seconds": clock})
    summary.update(name=cfg.name, experiment=str(cfg.source), seed=cfg.seed, models=list(cfg.models),
                   baselines=cfg.baselines, sets=[vars(s) for s in cfg.sets], cv=cfg.cv, n_boot=cfg.n_boot,
                   reference=cfg.reference)
    atomic_write_text(summary_path, json.dumps(summary, indent=1, default=str))
    return out
