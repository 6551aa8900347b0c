"""``fit(config)``: one training run, from the config to a run folder that never loses work.

Follows ``dinov2/train/train.py`` (``do_train``): per step, the scheduled lr / weight decay /
last-layer lr are applied, the loss terms computed and backpropagated, gradients clipped per
student module, AdamW steps, the teacher follows by EMA with the scheduled momentum.

Run folder ``cfg.out``::

    config.yaml          the resolved config (written before training starts)
    hierarchy.json       the tree and label maps the run used
    train_manifest.csv   the training rows (path, node, target, ...)
    metrics.jsonl        one line per step: every loss term, lr, wd, momentum, teacher_temp,
                         images/s, dino_target_entropy (1 = uniform targets; see diagnostics);
                         with ``knn_every``, one line per kNN check ``{"step": s, "knn_bacc",
                         "knn_acc", "knn_seconds"}`` (the teacher after s updates; s = 0 is
                         the initial model, then every ``knn_every`` steps and the last step)
    precision.json       the precision used and why (measured matmul rates on the CPU)
    checkpoints/         step_NNNNNN.pt, atomic, the newest ``keep_checkpoints`` kept

Determinism: every random draw of step ``s`` is seeded from ``(seed, s)`` (data order, crops,
masks, drop-path), so ``resume`` continues exactly where the checkpoint left off: a run killed
at any moment and resumed ends with the same weights as one that never stopped.
"""

from __future__ import annotations

import copy
import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..config.training import (
    TrainConfig,
    apply_overrides,
    from_dict,
    make_config,
    parse_lab_weights,
)
from ..datasets import write_manifest
from ..datasets.cache import cached_images
from ..datasets.manifest_images import ManifestImages
from ..hierarchy import Hierarchy, default_hierarchy
from ..io import atomic_write_text
from .augment import AugmentConfig, global_crops, local_crops
from .checkpointing import latest_checkpoint, load_checkpoint, save_checkpoint
from .data import StepBatchSampler, lab_probabilities, make_loader, steps_per_epoch
from .diagnostics import KnnWatch, PlateauWatch
from .distributed import DistInfo, barrier, init_distributed
from .knn_monitor import KnnMonitor
from .knn_setup import build_knn_monitor
from .masking import collate_masks, mask_batch
from .meta_arch import MetaArch, reduce_terms
from .param_groups import apply_schedule, param_groups
from .prepare import training_rows
from .pretrained import adopt_pretrained_architecture, load_pretrained
from .schedules import build_schedules
from .state import load_optimizer_state, model_state, optimizer_state
from .wrap import autocast_context, choose_precision, clip_gradients, wrap_student


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or inf: names the step, the term and the batch's files."""


@dataclass
class RunResult:
    run_dir: Path
    checkpoint: Path
    step: int
    metrics: pd.DataFrame


def step_seed(seed: int, step: int, stream: int, rank: int = 0) -> int:
    """A 63-bit seed for one random stream of one step (and process)."""
    return int(np.random.SeedSequence([seed, step, stream, rank]).generate_state(2, np.uint64)[0] >> 1)


def load_hierarchy(cfg: TrainConfig) -> Hierarchy:
    return Hierarchy.read(cfg.data.hierarchy) if cfg.data.hierarchy else default_hierarchy()


def build_optimizer(model: MetaArch, cfg: TrainConfig) -> torch.optim.AdamW:
    o = cfg.optim
    groups = param_groups(model.student.backbone, o.layerwise_decay, o.patch_embed_lr_mult)
    for name in ("dino_head", "ibot_head", "sup_head"):
        head = getattr(model.student, name)
        if head is not None:
            groups += param_groups(head)
    # fused AdamW (CPU and CUDA): one kernel over all tensors, ~8x faster than the per-tensor
    # default on CPU; FSDP2's DTensor parameters take the foreach implementation
    fused = not getattr(model, "sharded", False)
    return torch.optim.AdamW(groups, betas=(o.adamw_beta1, o.adamw_beta2), fused=fused, foreach=None if fused else True)


def _metrics_log(run_dir: Path, start_step: int):
    """Open metrics.jsonl for appending, dropping lines of steps a resume will redo."""
    path = run_dir / "metrics.jsonl"
    if path.exists():
        keep = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] < start_step]
        atomic_write_text(path, "".join(ln + "\n" for ln in keep))
    return path.open("a", encoding="utf-8")


def _check_finite(values: dict[str, float], step: int, files: list[str], last: Path | None) -> None:
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        shown = ", ".join(files[:8]) + (f" ... (+{len(files) - 8})" if len(files) > 8 else "")
        raise NonFiniteLossError(
            f"step {step}: loss term(s) {', '.join(repr(b) for b in bad)} = "
            f"{', '.join(str(values[b]) for b in bad)}; batch files: {shown}. Training stopped; "
            f"the last good checkpoint is {last or 'none (no checkpoint written yet)'}.")


def fit(config: TrainConfig | dict | str | Path | None = None, resume: bool | str = False,
        progress: bool = True, **overrides) -> RunResult:
    """Train one model; returns the run folder, its last checkpoint and the metrics.

    ``config``: a TrainConfig, a dict of it, or a YAML file; ``overrides``: ``key=value`` pairs
    (``fit("hierce.yaml", max_steps=10, **{"model.img_size": 56})``). ``resume``: ``True`` to
    continue from the newest checkpoint of the run folder (a fresh start if it has none), or a
    checkpoint path.
    """
    cfg = adopt_pretrained_architecture(_as_config(config, overrides))
    dist = init_distributed(cfg.device)
    h = load_hierarchy(cfg)
    manifest, targets = training_rows(cfg, h)
    torch.manual_seed(cfg.seed)  # the same initial weights in every process and every rerun
    model = MetaArch(cfg, h)
    if cfg.model.pretrained:
        load_pretrained(model, cfg.model.pretrained)
    run_dir = Path(cfg.out)
    total = cfg.max_steps or cfg.epochs * steps_per_epoch(len(manifest), cfg.batch_size)
    state, ckpt_path = _resume_state(run_dir, resume)
    if state is not None:
        _check_same_run(cfg, state, ckpt_path)
        if int(state["step"]) >= total:  # a finished run resumed: nothing to redo, rewrite or decode
            return RunResult(run_dir, ckpt_path, int(state["step"]), _read_metrics(run_dir, dist))
        model.load_state_dict(state["model"])
    model.to(dist.device)
    wrap_student(model, cfg, dist)
    optimizer = build_optimizer(model, cfg)
    if state is not None:
        load_optimizer_state(model, optimizer, state["optimizer"])
    start = int(state["step"]) if state is not None else 0
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.yaml", cfg.to_yaml())
        h.write(run_dir / "hierarchy.json")
        write_manifest(manifest.assign(target=targets), run_dir / "train_manifest.csv")
    loop = _Loop(cfg, dist, h, model, optimizer, manifest, targets, run_dir, total, ckpt_path)
    if cfg.knn_every and dist.is_main:
        loop.monitor = build_knn_monitor(cfg, h, manifest, targets, progress and dist.is_main)
    if dist.is_main:
        atomic_write_text(run_dir / "precision.json", json.dumps(loop.precision_info, indent=1) + "\n")
    last = loop.run(start, progress and dist.is_main)
    return RunResult(run_dir, last, total, _read_metrics(run_dir, dist))


def _read_metrics(run_dir: Path, dist: DistInfo) -> pd.DataFrame:
    """The run's metrics.jsonl (main process; other ranks get an empty frame)."""
    return pd.read_json(run_dir / "metrics.jsonl", lines=True) if dist.is_main else pd.DataFrame()


def augment_configs(cfg: TrainConfig) -> tuple[AugmentConfig, AugmentConfig]:
    """``(global, local)`` crop parameters of a run, from ``cfg.crops`` (see CropsConfig)."""
    c = cfg.crops
    common = {"ratio": tuple(c.ratio), "hflip_p": c.hflip_p, "vflip_p": c.vflip_p, "rot90": c.rot90,
              "jitter": tuple(c.jitter), "jitter_p": c.jitter_p, "grayscale_p": c.grayscale_p,
              "blur_sigma": tuple(c.blur_sigma)}
    global_cfg = AugmentConfig(size=cfg.model.img_size, scale=tuple(c.global_crops_scale),
                               blur_p=tuple(c.blur_p), solarize_p=(0.0, c.solarize_p), **common)
    local_cfg = AugmentConfig(size=c.local_crops_size, scale=tuple(c.local_crops_scale),
                              blur_p=(c.local_blur_p, c.local_blur_p), solarize_p=(0.0, 0.0), **common)
    return global_cfg, local_cfg


def _as_config(config, overrides: dict) -> TrainConfig:
    """The run's config: ``config`` (a TrainConfig, copied before it is overridden; a dict of
    one; a YAML file; None for the defaults) with ``overrides`` applied."""
    if isinstance(config, TrainConfig):
        return apply_overrides(copy.deepcopy(config), overrides) if overrides else config
    if isinstance(config, dict):
        return apply_overrides(from_dict(config), overrides)
    return make_config(overrides.pop("preset", "unsup"), file=config, overrides=overrides)


def _resume_state(run_dir: Path, resume: bool | str) -> tuple[dict | None, Path | None]:
    if not resume:
        return None, None
    path = (Path(resume) if isinstance(resume, (str, Path)) and not isinstance(resume, bool)
            else latest_checkpoint(run_dir))
    if path is None:
        return None, None
    return load_checkpoint(path), path


def _check_same_run(cfg: TrainConfig, state: dict, path: Path) -> None:
    old = state["config"]
    for key in ("model", "dino", "ibot"):
        if old[key] != cfg.to_dict()[key]:
            raise ValueError(f"cannot resume from {path}: its {key} config differs from this run's "
                             f"({old[key]} vs {cfg.to_dict()[key]})")
    if old["supervised"]["loss"] != cfg.supervised.loss:
        raise ValueError(f"cannot resume from {path}: it trained {old['supervised']['loss']!r}, "
                         f"this run asks for {cfg.supervised.loss!r}")


class _Loop:
    def __init__(self, cfg, dist: DistInfo, h, model, optimizer, manifest, targets, run_dir, total, ckpt):
        self.cfg, self.dist, self.h, self.model, self.optimizer = cfg, dist, h, model, optimizer
        self.run_dir, self.total, self.last_ckpt = run_dir, total, ckpt
        self.dataset = ManifestImages(manifest, cfg.model.img_size, targets)
        self.row_probabilities = (lab_probabilities(manifest["dataset"], parse_lab_weights(cfg.data.lab_weights))
                                  if cfg.data.lab_weights else None)
        self.cache = (cached_images(manifest, cfg.data.cache_size, cfg.data.cache_dir, cfg.data.num_workers,
                                    progress=dist.is_main) if cfg.data.cache_size else None)
        self.schedules = build_schedules(cfg, total)
        self.precision, self.precision_info = choose_precision(cfg.precision, dist.device)
        self.augment, self.local_augment = augment_configs(cfg)
        self.grid = cfg.model.img_size // cfg.model.patch_size
        self.saved_step = -1
        self.monitor: KnnMonitor | None = None
        labels = [h.nodes[i] for i in np.unique(targets[targets >= 0])]  # the leaves its head may predict:
        self.trained_leaves = h.leaf_names(h.supported_leaves(labels)) if cfg.supervised.loss else None

    def batches(self, sampler: StepBatchSampler):
        """``(images uint8 [B, 3, H, W], targets [B], index [B])`` per step: from the decoded
        cache when ``data.cache_size`` is set, else decoded by DataLoader workers."""
        if self.cache is None:
            yield from make_loader(self.dataset, sampler, self.cfg.data.num_workers)
            return
        targets = torch.from_numpy(self.dataset.targets)
        for rows in sampler:
            index = torch.as_tensor(rows, dtype=torch.long)
            yield self.cache.index_select(0, index), targets[index], index

    def knn_check(self, step: int, log, watch: KnnWatch) -> None:
        """Run the kNN monitor on the teacher after ``step`` updates; log and watch it."""
        if self.monitor is None:
            return
        t0 = time.perf_counter()
        scores = self.monitor(self.model.teacher.backbone, self.dist.device,
                              autocast_context(self.precision, self.dist.device))
        row = {"step": step, **scores, "knn_seconds": round(time.perf_counter() - t0, 2)}
        if log is not None:
            log.write(json.dumps(row) + "\n")
            log.flush()
        message = watch.update(step, scores["knn_bacc"])
        if message:
            warnings.warn(message, stacklevel=1)

    def masks(self, step: int) -> dict:
        """iBOT masks of the global batch (both crops), this process's rows."""
        cfg, d = self.cfg, self.dist
        full = collate_masks(2 * cfg.batch_size, self.grid, tuple(cfg.ibot.mask_ratio_min_max),
                             cfg.ibot.mask_sample_probability, rng=np.random.default_rng(step_seed(cfg.seed, step, 1)))
        rows = full["masks"].unflatten(0, (2, cfg.batch_size))[:, d.rank :: d.world_size].flatten(0, 1)
        return {k: v.to(d.device) for k, v in mask_batch(rows).items()}

    def step(self, step: int, images: torch.Tensor, targets: torch.Tensor, index: torch.Tensor) -> dict:
        cfg, d, model = self.cfg, self.dist, self.model
        sched = self.schedules.at(step)
        apply_schedule(self.optimizer, sched["lr"], sched["wd"], sched["last_layer_lr"])
        torch.manual_seed(step_seed(cfg.seed, step, 0, d.rank))
        gen = torch.Generator().manual_seed(step_seed(cfg.seed, step, 2, d.rank))
        images = images.to(d.device, non_blocking=True)
        crops = torch.cat(global_crops(images, self.augment, gen))
        local = (local_crops(images, self.local_augment, cfg.crops.local_crops_number, gen)
                 if cfg.crops.local_crops_number else None)
        terms = model.forward_losses(crops, self.masks(step), targets.to(d.device), sched["teacher_temp"],
                                     autocast_context(self.precision, d.device), local_crops=local)
        values = reduce_terms(terms)
        _check_finite(values, step, [self.dataset.paths[i] for i in index.tolist()], self.last_ckpt)
        self.optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        clip_gradients(model, cfg.optim.clip_grad)
        self.optimizer.step()
        model.update_teacher(sched["momentum"])
        diagnostics = {k: float(v) for k, v in model.diagnostics.items()}
        return {**values, **sched, **diagnostics}

    def run(self, start: int, show: bool) -> Path:
        cfg, d = self.cfg, self.dist
        sampler = StepBatchSampler(len(self.dataset), cfg.batch_size, cfg.seed, start, self.total, d.rank, d.world_size,
                                   p=self.row_probabilities)
        log = _metrics_log(self.run_dir, start) if d.is_main else None
        bar = tqdm(total=self.total, initial=start, desc=f"train {cfg.preset}", disable=not show, dynamic_ncols=True)
        self.model.train()
        watch = PlateauWatch(cfg.dino.head_n_prototypes)
        knn_watch = KnnWatch(cfg.knn_patience, cfg.knn_min_delta)
        if log is not None:  # a resume: the checks of earlier sittings, kept by _metrics_log
            rows = [json.loads(ln) for ln in (self.run_dir / "metrics.jsonl").read_text().splitlines() if ln]
            knn_watch.replay((r["step"], r["knn_bacc"]) for r in rows if "knn_bacc" in r)
        step, t0 = start, time.perf_counter()
        try:
            if cfg.knn_every and start % cfg.knn_every == 0 and start < self.total:
                self.knn_check(start, log, knn_watch)
                t0 = time.perf_counter()
            for images, targets, index in self.batches(sampler):
                row = self.step(step, images, targets, index)
                now = time.perf_counter()
                row.update(step=step, images_per_s=cfg.batch_size / max(now - t0, 1e-9), time=now)
                t0 = now
                message = watch.update(step, row["dino_target_entropy"]) if d.is_main else None
                if message:
                    warnings.warn(message, stacklevel=1)
                step += 1
                if log is not None and (step % cfg.log_every == 0 or step == self.total):
                    log.write(json.dumps(row) + "\n")
                    log.flush()
                bar.set_postfix({k: f"{row[k]:.3f}" for k in ("loss", "dino", "ibot", "koleo", "sup") if k in row})
                bar.update(1)
                if cfg.knn_every and (step % cfg.knn_every == 0 or step == self.total):
                    self.knn_check(step, log, knn_watch)
                    t0 = time.perf_counter()
                if step % cfg.checkpoint_every == 0 or step == self.total:
                    self.save(step)
        finally:
            bar.close()
            if log is not None:
                log.close()
        if self.saved_step != step:
            self.save(step)
        return self.last_ckpt

    def save(self, step: int) -> None:
        model_sd, optim_sd = model_state(self.model), optimizer_state(self.model, self.optimizer)  # every process
        self.saved_step = step
        if self.dist.is_main:
            self.last_ckpt = save_checkpoint(self.run_dir, step, model_sd, optim_sd, self.cfg, self.h,
                                             self.cfg.keep_checkpoints, self.trained_leaves)
        barrier()
