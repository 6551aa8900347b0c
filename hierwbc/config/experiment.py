"""The experiment file (a grid, in ``experiments/``): one YAML describing a grid of training runs,
the baselines, the evaluation sets and the figures, so that ``hierwbc experiment --config x.yaml``
rebuilds everything from scratch (or resumes it). Its schema is :class:`ExperimentFile`, on the
machinery of the training recipe (:mod:`.schema`): unknown keys are named with the closest known
one, types are checked, ``train`` and each model's keys are checked against
:class:`~.training.TrainConfig`, and ``section.key=value`` overrides (a dotlist, as
``hierwbc experiment --set``) merge into the file.

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
      pair: [unsup, hierce]             # UMAPs, confusions by lineage and LCA side by side
      umap_set: pbc_test
      alpha_models: {hierce_a0.1: 0.1, hierce: 0.5, hierce_a0.9: 0.9}
      compare_models: [unsup, hierce, pixels]  # the loss comparisons (default: every model)
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..experiment.layout import RunLayout
from .schema import ConfigError, UnknownKeyError, build, load_yaml, merged, nest, split_item
from .training import PRESETS, make_config

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
class Evaluation:
    sets: list[EvalSet] = field(default_factory=list)  # a bare name: {name: x, source: x}
    cv: int | str = 5
    n_boot: int = 1000
    probes: list[str] = field(default_factory=lambda: ["1nn", "20nn", "logreg"])
    reference: str | None = None
    embed_batch_size: int = 128


@dataclass
class Figures:
    pair: list[str] = field(default_factory=list)     # two models: confusions by lineage, LCA, UMAPs
    umap_set: str | None = None                        # the UMAPs' evaluation set (default: the first)
    alpha_models: dict[str, float] = field(default_factory=dict)  # model -> HierCE alpha: the ablation
    compare_models: list[str] | None = None            # the loss comparisons' models (default: all)


@dataclass
class ExperimentFile:
    """The schema of an experiment file; :func:`load_experiment` turns it into an
    :class:`ExperimentConfig`."""

    name: str | None = None                            # default: the file's stem
    out: str | None = None                             # default: runs/<stem>
    seed: int = 0
    seeds: list[int] = field(default_factory=list)
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig overrides shared by every model
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> preset + overrides
    baselines: list[str] = field(default_factory=list)
    evaluation: Evaluation = field(default_factory=Evaluation)
    figures: Figures = field(default_factory=Figures)


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
    multi_seed: bool | None = None  # seed sub-folders; None: with two seeds or more

    def __post_init__(self):
        self.seeds = [int(s) for s in self.seeds] or [int(self.seed)]

    @property
    def layout(self) -> RunLayout:
        """The output folder's paths (seed sub-folders with two seeds or more, or as the file's
        grid had them when :meth:`only` kept fewer seeds)."""
        multi = len(self.seeds) > 1 if self.multi_seed is None else self.multi_seed
        return RunLayout(self.out, multi_seed=multi)

    def model_overrides(self, name: str, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        """``(preset, overrides)`` of one model trained with ``seed`` (default: the first of
        ``seeds``): shared ``train`` keys, the seed, then the model's own."""
        seed = self.seeds[0] if seed is None else int(seed)
        spec = dict(self.models[name])
        preset = spec.pop("preset")
        out = str(self.layout.model_dir(name, seed))
        return preset, {**self.train, "seed": seed, **spec, "out": out}

    def only(self, names=None, seeds=None) -> ExperimentConfig:
        """This grid with the models ``names`` and the training seeds ``seeds`` only (``hierwbc
        experiment --models / --seeds``: train, embed and evaluate those; the baselines stay;
        None: all). The folder layout stays the grid's, so the runs and embeddings are the same
        files. The reference stays when it is among the models or a baseline; otherwise the
        evaluation has none (no bootstrap)."""
        names = list(dict.fromkeys(self.models if names is None else names))
        unknown = [n for n in names if n not in self.models]
        if unknown:
            raise ConfigError(f"{self.source}: models {unknown} are not in the file (its models: {list(self.models)})")
        seeds = list(dict.fromkeys(self.seeds if seeds is None else [int(s) for s in seeds]))
        if set(seeds) - set(self.seeds):
            raise ConfigError(f"{self.source}: seeds {sorted(set(seeds) - set(self.seeds))} are not in the file "
                              f"(its seeds: {self.seeds})")
        models = {n: self.models[n] for n in names}
        reference = self.reference if self.reference in models or self.reference in self.baselines else None
        return replace(self, models=models, seeds=seeds, reference=reference, multi_seed=self.layout.multi_seed,
                       raw={**self.raw, "models": models, "seeds": seeds})

    def baseline_source(self, name: str) -> str:
        """What baseline ``name`` embeds: ``pixels``, ``random_init``, the training's
        ``model.pretrained`` (``starter``) or the weights name / path ``name`` itself."""
        if name == "starter":
            return str(self.train["model.pretrained"])
        return name


def load_experiment(path: str | Path, overrides: dict[str, Any] | list[str] | None = None) -> ExperimentConfig:
    """Read and check an experiment file (errors name the file and the key). ``overrides``: a
    mapping of top-level keys that replace the file's (``{"models": {...}}``), or
    ``section.key=value`` items merged into it (``["train.max_steps=10", "evaluation.cv=2"]``)."""
    path = Path(path)
    try:
        raw = load_yaml(path, "experiment file")
    except FileNotFoundError:
        raise  # "<path>: No such file or directory", as for every missing file
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the experiment file: {e}") from None
    if isinstance(overrides, dict):
        raw = {**raw, **overrides}
    elif overrides:
        dotlist = nest(ExperimentFile, [split_item(o) for o in overrides], text=True)
        raw = merged(raw, dotlist)
    typed = dict(raw)
    if isinstance(raw.get("evaluation"), dict) and "sets" in raw["evaluation"]:
        typed["evaluation"] = {**raw["evaluation"], "sets": _sets(raw["evaluation"]["sets"])}
    try:
        layer = nest(ExperimentFile, typed.items(), where=str(path))
    except UnknownKeyError as e:
        raise ConfigError(f"{path}: unknown key(s) {[e.key]}" + (f"; did you mean {e.close!r}?" if e.close else "")
                          + f" (known: {sorted(e.known)})") from None
    f = build(ExperimentFile, [(str(path), layer)])
    cfg = ExperimentConfig(name=f.name or path.stem, out=f.out or f"runs/{path.stem}", seed=f.seed, seeds=f.seeds,
                           train=f.train, models=f.models, baselines=f.baselines, source=str(path), raw=raw,
                           figures={k: v for k, v in asdict(f.figures).items() if v is not None},
                           **{k: (tuple(v) if k == "probes" else v) for k, v in vars(f.evaluation).items()})
    _check(cfg, path)
    return cfg


def _sets(items) -> list:
    """A bare evaluation set name ``pbc`` is ``{name: pbc, source: pbc}``."""
    if not isinstance(items, list):
        return items  # the schema names the error
    return [s if isinstance(s, dict) else {"name": str(s), "source": str(s)} for s in items]


def _check(cfg: ExperimentConfig, path: Path) -> None:
    for name, spec in cfg.models.items():
        if spec.get("preset") not in PRESETS:
            raise ConfigError(f"{path}: models.{name}: needs a preset, one of {PRESETS}")
        try:
            preset, overrides = cfg.model_overrides(name)
            make_config(preset, overrides=overrides)
        except ConfigError as e:
            raise ConfigError(f"{path}: models.{name} (with train): {e}") from None
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


ALPHA_SUFFIX = re.compile(r"(?:^|[_-])(?:alpha|a)[=_-]?(\d+(?:\.\d*)?|\.\d+)$")


def alpha_from_name(model: str) -> float | None:
    """The alpha a model *name* asks for (``hierce_alpha0.1`` -> 0.1, ``hierce_a0.9`` -> 0.9,
    ``hierce-alpha=0.5`` -> 0.5), or None: how a notebook's list of model names specifies its
    models (:func:`model_spec`); a trained model's alpha is read from its config, never its name."""
    match = ALPHA_SUFFIX.search(str(model))
    return float(match.group(1)) if match else None


def model_spec(name: str) -> dict:
    """``{"preset": ..., ["alpha": ...]}`` of a model name: the longest training preset the name
    starts with (``hierce_a0.1`` -> ``hierce``), and HierCE's alpha from a suffix ``_a<value>`` /
    ``_alpha<value>`` (:func:`alpha_from_name`)."""
    matches = [p for p in PRESETS if name == p or name.startswith((p + "_", p + "-"))]
    if not matches:
        raise ConfigError(f"model name {name!r} does not start with a training preset ({', '.join(PRESETS)})")
    spec = {"preset": max(matches, key=len)}
    alpha = alpha_from_name(name)
    if alpha is not None:
        if spec["preset"] != "hierce":
            raise ConfigError(f"model {name!r}: an alpha suffix only applies to hierce, not {spec['preset']!r}")
        spec["alpha"] = alpha
    return spec
