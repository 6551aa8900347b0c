"""The experiment file: one YAML describing a grid of training runs, the baselines, the
evaluation sets and the figures, so that ``hierwbc experiment --config x.yaml`` rebuilds
everything from scratch (or resumes it).

.. code-block:: yaml

    name: paper_cpu
    out: runs/paper_cpu                 # everything is written here (git-ignored)
    seed: 0
    train:                              # TrainConfig overrides shared by every model
      model.arch: vit_tiny
      max_steps: 1200
      data.sources: [pbc]
      data.split: train
      data.coarsen_fraction: 0.2
    models:                             # name -> preset (+ overrides)
      unsup: {preset: unsup}
      hierce: {preset: hierce, alpha: 0.5}
    baselines: [random_init, pixels]    # untrained ViT of train.model.arch; raw pixels
    evaluation:
      sets:                             # embedded and evaluated one by one (5-fold CV inside)
        - {name: pbc_test, source: pbc, split: test}
        - {name: bccd, source: bccd}
      cv: 5
      n_boot: 1000
      reference: hierce
    figures:
      umap_models: [unsup, hierce]      # UMAP and confusion matrices side by side
      umap_set: pbc_test
      alpha_models: {hierce_a0.1: 0.1, hierce: 0.5, hierce_a0.9: 0.9}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..train.config import PRESETS, ConfigError
from .layout import RunLayout

BASELINES = ("random_init", "pixels")


@dataclass
class EvalSet:
    name: str
    source: str
    split: str | None = None      # keep rows of this split (splits as in training: data.split_seed)
    limit: int | None = None      # at most this many rows (stratified)


@dataclass
class ExperimentConfig:
    name: str
    out: str
    seed: int = 0
    train: dict[str, Any] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    baselines: list[str] = field(default_factory=list)
    sets: list[EvalSet] = field(default_factory=list)
    cv: int = 5
    n_boot: int = 1000
    probes: tuple[str, ...] = ("1nn", "20nn", "logreg")
    reference: str | None = None
    embed_batch_size: int = 128
    figures: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict)  # the file's mapping with overrides applied

    def model_overrides(self, name: str) -> tuple[str, dict[str, Any]]:
        """``(preset, overrides)`` of one model: shared ``train`` keys, then the model's own."""
        spec = dict(self.models[name])
        preset = spec.pop("preset")
        out = str(RunLayout(self.out).model_dir(name))
        return preset, {**self.train, "seed": self.seed, **spec, "out": out}


def load_experiment(path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Read and check an experiment file (errors name the file and the key)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read the experiment file: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: an experiment file is a mapping of keys")
    raw = {**raw, **(overrides or {})}
    known = {"name", "out", "seed", "train", "models", "baselines", "evaluation", "figures"}
    extra = set(raw) - known
    if extra:
        raise ConfigError(f"{path}: unknown key(s) {sorted(extra)}; known: {sorted(known)}")
    ev = dict(raw.get("evaluation") or {})
    unknown_ev = set(ev) - {"sets", "cv", "n_boot", "probes", "reference", "embed_batch_size"}
    if unknown_ev:
        raise ConfigError(f"{path}: unknown evaluation key(s) {sorted(unknown_ev)}")
    sets = [EvalSet(**s) if isinstance(s, dict) else EvalSet(name=str(s), source=str(s)) for s in ev.pop("sets", [])]
    cfg = ExperimentConfig(name=raw.get("name", path.stem), out=raw.get("out", f"runs/{path.stem}"),
                           seed=int(raw.get("seed", 0)), train=dict(raw.get("train") or {}),
                           models=dict(raw.get("models") or {}), baselines=list(raw.get("baselines") or []),
                           sets=sets, figures=dict(raw.get("figures") or {}), source=str(path), raw=raw,
                           **{k: (tuple(v) if k == "probes" else v) for k, v in ev.items()})
    for name, spec in cfg.models.items():
        if not isinstance(spec, dict) or spec.get("preset") not in PRESETS:
            raise ConfigError(f"{path}: models.{name}: needs a preset, one of {PRESETS}")
    for b in cfg.baselines:
        if b not in BASELINES:
            raise ConfigError(f"{path}: baselines: {b!r} is not one of {BASELINES}")
    if cfg.reference is not None and cfg.reference not in cfg.models and cfg.reference not in cfg.baselines:
        raise ConfigError(f"{path}: evaluation.reference {cfg.reference!r} is not a model or a baseline")
    if not cfg.sets:
        raise ConfigError(f"{path}: evaluation.sets is empty")
    return cfg
