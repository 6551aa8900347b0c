"""The experiment file: one YAML describing a grid of training runs, the baselines, the
evaluation sets and the figures, so that ``hierwbc experiment --config x.yaml`` rebuilds
everything from scratch (or resumes it).

.. code-block:: yaml

    name: paper_cpu
    out: runs/paper_cpu                 # everything is written here (git-ignored)
    seed: 0                             # folds, bootstrap, subsets of the evaluation
    seeds: [0, 1, 2]                    # training seeds (TrainConfig.seed); default [seed]
    train:                              # TrainConfig overrides shared by every model
      model.arch: vit_tiny
      max_steps: 1200
      data.sources: [pbc]
      data.split: train
      data.coarsen_fraction: 0.2
    models:                             # name -> preset (+ overrides)
      unsup: {preset: unsup}
      hierce: {preset: hierce, alpha: 0.5}
    baselines: [random_init, pixels, starter]  # untrained ViT (one per seed); raw pixels;
                                        # train.model.pretrained as is; or a weights name / path
    evaluation:
      sets:                             # embedded and evaluated one by one (5-fold CV inside)
        - {name: pbc_test, source: pbc, split: test}
        - {name: bccd, source: bccd}
        - {name: my_lab, source: "path/to/folder:raabin"}  # class sub-folders + a hierarchy label map
        - {name: my_lab2, source: path/to/folder2, label_map: {Neutro: neutrophil, Lympho: lymphoid_mature}}
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

from ..experiment.layout import RunLayout
from .training import PRESETS, ConfigError

#: Baseline kinds; any other baseline is a weights file (shipped short name or path) embedded as is.
BASELINES = ("random_init", "pixels", "starter")


@dataclass
class EvalSet:
    name: str
    source: str
    split: str | None = None      # keep rows of this split (splits as in training: data.split_seed)
    limit: int | None = None      # at most this many rows (stratified)
    label_map: dict[str, str | None] | None = None  # {class sub-folder: node}: source is a folder of them


@dataclass
class ExperimentConfig:
    name: str
    out: str
    seed: int = 0
    seeds: list[int] = field(default_factory=list)  # training seeds; [] -> [seed]
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

    def __post_init__(self):
        self.seeds = [int(s) for s in self.seeds] or [int(self.seed)]

    @property
    def layout(self) -> RunLayout:
        """The output folder's paths (seed sub-folders with two seeds or more)."""
        return RunLayout(self.out, multi_seed=len(self.seeds) > 1)

    def model_overrides(self, name: str, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        """``(preset, overrides)`` of one model trained with ``seed`` (default: the first of
        ``seeds``): shared ``train`` keys, the seed, then the model's own."""
        seed = self.seeds[0] if seed is None else int(seed)
        spec = dict(self.models[name])
        preset = spec.pop("preset")
        out = str(self.layout.model_dir(name, seed))
        return preset, {**self.train, "seed": seed, **spec, "out": out}

    def baseline_source(self, name: str) -> str:
        """What baseline ``name`` embeds: ``pixels``, ``random_init``, the training's
        ``model.pretrained`` (``starter``) or the weights name / path ``name`` itself."""
        if name == "starter":
            return str(self.train["model.pretrained"])
        return name


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
    known = {"name", "out", "seed", "seeds", "train", "models", "baselines", "evaluation", "figures"}
    extra = set(raw) - known
    if extra:
        raise ConfigError(f"{path}: unknown key(s) {sorted(extra)}; known: {sorted(known)}")
    ev = dict(raw.get("evaluation") or {})
    unknown_ev = set(ev) - {"sets", "cv", "n_boot", "probes", "reference", "embed_batch_size"}
    if unknown_ev:
        raise ConfigError(f"{path}: unknown evaluation key(s) {sorted(unknown_ev)}")
    sets = [EvalSet(**s) if isinstance(s, dict) else EvalSet(name=str(s), source=str(s)) for s in ev.pop("sets", [])]
    cfg = ExperimentConfig(name=raw.get("name", path.stem), out=raw.get("out", f"runs/{path.stem}"),
                           seed=int(raw.get("seed", 0)), seeds=list(raw.get("seeds") or []),
                           train=dict(raw.get("train") or {}),
                           models=dict(raw.get("models") or {}), baselines=list(raw.get("baselines") or []),
                           sets=sets, figures=dict(raw.get("figures") or {}), source=str(path), raw=raw,
                           **{k: (tuple(v) if k == "probes" else v) for k, v in ev.items()})
    for name, spec in cfg.models.items():
        if not isinstance(spec, dict) or spec.get("preset") not in PRESETS:
            raise ConfigError(f"{path}: models.{name}: needs a preset, one of {PRESETS}")
    if len(set(cfg.seeds)) != len(cfg.seeds):
        raise ConfigError(f"{path}: seeds: {cfg.seeds} repeats a seed")
    for b in cfg.baselines:
        if b == "starter" and not cfg.train.get("model.pretrained"):
            raise ConfigError(f"{path}: baselines: 'starter' embeds train.model.pretrained, which is not set")
        if b not in BASELINES:
            from ..models.shipped import resolve_weights

            try:
                resolve_weights(b)
            except FileNotFoundError as e:
                raise ConfigError(f"{path}: baselines: {b!r} is neither one of {BASELINES} "
                                  f"nor a weights file: {e}") from None
    if cfg.reference is not None and cfg.reference not in cfg.models and cfg.reference not in cfg.baselines:
        raise ConfigError(f"{path}: evaluation.reference {cfg.reference!r} is not a model or a baseline")
    if not cfg.sets:
        raise ConfigError(f"{path}: evaluation.sets is empty")
    return cfg
