"""Structured training configuration, presets per supervision mode, YAML and ``key=value``
overrides.

Defaults follow DINOv2's ``dinov2/configs/ssl_default_config.yaml`` (facebookresearch/dinov2)
with the paper's changes: two global crops and no local crops (Koch et al. 2024, DinoBloom),
Sinkhorn-Knopp centring, a separate iBOT head, and a supervised term of weight 1 (paper eq. 1:
``L = L_DINO + L_iBOT + L_supervised``). Sizes are small by default so that a laptop CPU run
works; ``paper_full``-style runs override them.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..losses.registry import LOSSES

SUPERVISED_PRESETS = tuple(LOSSES)  # one preset per supervised loss of the registry
PRESETS = ("unsup",) + SUPERVISED_PRESETS


@dataclass
class DataConfig:
    sources: list[str] = field(default_factory=lambda: ["pbc"])  # dataset names, folders or manifest CSVs
    root: str | None = None              # data location (else HIERWBC_DATA, else ../shared/data)
    hierarchy: str | None = None         # a .json/.nwk hierarchy file; default tree when None
    split: str | None = "train"          # rows of this split train (None: all rows)
    split_seed: int = 0
    test_fraction: float = 0.2           # for manifests without a split column
    coarsen_fraction: float = 0.0        # relabel this fraction of fine labels to their parent
    unlabelled_fraction: float = 0.0     # hide labels of this fraction (semi-supervised runs)
    limit: int | None = None             # use at most this many images (stratified), for quick runs
    val_fraction: float = 0.0            # held out of training (stratified, fixed by split_seed):
                                         # the online kNN monitor's queries; never trained on
    cache_size: int | None = None        # decode each image once, squared to this many pixels, and
                                         # cut the crops from that cached copy (None: decode per step
                                         # at model.img_size)
    cache_dir: str = "runs/cache"        # where cached image arrays are kept (ignored by git)
    num_workers: int = 2
    lab_weights: list[str] = field(default_factory=list)  # "dataset=weight" (e.g. pbc=10): each lab's share
                                         # of the batches (others weigh 1); empty: every row equally often


@dataclass
class ModelConfig:
    arch: str = "vit_small"
    patch_size: int = 14
    img_size: int = 224                  # with a pretrained weights file and not set: the file's
    num_register_tokens: int = 0
    drop_path_rate: float = 0.1
    layerscale: float = 1e-5
    pretrained: str | None = None        # DINOv2 hub file, DinoBloom file, or our own checkpoint


@dataclass
class DinoConfig:
    loss_weight: float = 1.0
    head_n_prototypes: int = 65536
    head_bottleneck_dim: int = 256
    head_hidden_dim: int = 2048
    head_nlayers: int = 3
    koleo_loss_weight: float = 0.1
    centering: str = "sinkhorn_knopp"    # or "centering" (EMA softmax centring)
    student_temp: float = 0.1
    norm_last_layer: bool = False        # True: prototype norms weight_g fixed at 1 (DINO v1);
                                         # dinov2 trains them from 1 (False)


@dataclass
class IbotConfig:
    loss_weight: float = 1.0
    mask_sample_probability: float = 0.5
    mask_ratio_min_max: tuple[float, float] = (0.1, 0.5)
    separate_head: bool = True
    head_n_prototypes: int = 65536
    head_bottleneck_dim: int = 256
    head_hidden_dim: int = 2048
    head_nlayers: int = 3


@dataclass
class SupervisedConfig:
    loss: str | None = None              # None (unsup) or one of SUPERVISED_PRESETS
    loss_weight: float = 1.0
    alpha: float = 0.5                   # HierCE lambda(v) = exp(-alpha depth(v))
    temperature: float = 0.07            # SupCon / HierSupCon
    beta: float = 10.0                   # soft-label variant
    level_penalty: str = "inverse"       # HierSupCon: "inverse" (1/l) or "pow2" (2^(1/l))
    count_coarse: bool = False           # flat CE: count coarse (internal-node) labels at their node
    head_hidden_dim: int = 0             # 0: linear head on the cls token; >0: one hidden layer


@dataclass
class TeacherConfig:
    momentum_teacher: float = 0.992
    final_momentum_teacher: float = 1.0
    warmup_teacher_temp: float = 0.04
    teacher_temp: float = 0.07
    warmup_teacher_temp_fraction: float = 0.3  # DINOv2: 30 of 100 epochs
    warmup_teacher_temp_steps: int | None = None  # absolute length; overrides the fraction
    momentum_steps: int | None = None    # cosine length of the momentum schedule in steps (then
                                         # final_momentum_teacher); None: the whole run


@dataclass
class OptimConfig:
    base_lr: float = 0.004               # for a batch of 1024, scaled by sqrt(batch / 1024)
    min_lr: float = 1e-6
    warmup_fraction: float = 0.1         # DINOv2: 10 of 100 epochs
    weight_decay: float = 0.04
    weight_decay_end: float = 0.4
    clip_grad: float = 3.0
    freeze_last_layer_fraction: float = 0.01  # DINOv2: the first epoch of 100
    warmup_steps: int | None = None      # absolute lr warm-up length; overrides warmup_fraction
    freeze_last_layer_steps: int | None = None  # absolute; overrides freeze_last_layer_fraction
    layerwise_decay: float = 0.9
    patch_embed_lr_mult: float = 0.2
    adamw_beta1: float = 0.9
    adamw_beta2: float = 0.999


@dataclass
class CropsConfig:
    """Every augmentation parameter (:class:`hierwbc.train.augment.AugmentConfig`); defaults are
    dinov2's global crops at ``model.img_size`` and, when ``local_crops_number`` > 0, its local
    crops (scale (0.05, 0.32), blur p 0.5, no solarisation) at ``local_crops_size``."""

    global_crops_scale: tuple[float, float] = (0.32, 1.0)
    local_crops_number: int = 0          # dinov2: 8; the paper and DinoBloom: 0
    local_crops_scale: tuple[float, float] = (0.05, 0.32)
    local_crops_size: int = 98           # a multiple of model.patch_size
    ratio: tuple[float, float] = (0.75, 1.3333333333333333)
    hflip_p: float = 0.5
    vflip_p: float = 0.5
    rot90: bool = True
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.2, 0.1)  # brightness, contrast, saturation, hue
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    blur_p: tuple[float, float] = (1.0, 0.1)  # global crop 1, global crop 2
    local_blur_p: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = 0.2              # global crop 2 only


@dataclass
class TrainConfig:
    preset: str = "unsup"
    seed: int = 0
    batch_size: int = 32                 # global batch (split over processes)
    epochs: int = 1
    max_steps: int | None = None         # overrides epochs when set
    out: str = "runs/train"
    device: str = "auto"
    precision: str = "auto"              # "bf16", "fp32" or "auto" (bf16 where the device supports it)
    checkpoint_every: int = 500          # steps; a checkpoint is also written at the end
    keep_checkpoints: int = 2
    log_every: int = 1
    knn_every: int = 0                   # steps between online kNN checks of the teacher (0: off;
                                         # needs data.val_fraction > 0)
    knn_k: int = 20
    knn_references: int = 2000           # labelled training rows the validation rows are matched to
    knn_queries: int | None = None       # at most this many validation rows (stratified); None: all
    knn_patience: int = 3                # plateau warning after this many falling kNN checks in a row
    knn_min_delta: float = 0.01          # a fall: below the previous check and this far below the best
    knn_lab_shift: bool = False          # also kNN of the validation cells as if from another lab
                                         # (train/lab_shift.py: tight framing, stain perturbation)
    fsdp: str = "auto"                   # "auto" (vit_large and larger when distributed), "on", "off"
    compile: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    dino: DinoConfig = field(default_factory=DinoConfig)
    ibot: IbotConfig = field(default_factory=IbotConfig)
    supervised: SupervisedConfig = field(default_factory=SupervisedConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    crops: CropsConfig = field(default_factory=CropsConfig)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


class ConfigError(ValueError):
    """A configuration key or value that does not exist or does not fit."""


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def _coerce(value: Any, key: str, annotation: str) -> Any:
    """Check ``value`` against the field's annotation (``int``, ``float | None``, ``list[str]``,
    ``tuple[float, float]``, ...); strings from the command line are parsed."""
    optional = "None" in annotation
    base = annotation.replace("| None", "").replace("None |", "").strip()
    if isinstance(value, str) and optional and value.strip().lower() in ("none", "null", "~"):
        return None
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key}: may not be null")
    if base in ("int", "float"):
        try:
            num = float(value) if isinstance(value, str) else value
        except ValueError:
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
        if isinstance(num, bool) or not isinstance(num, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if base == "int":
            if float(num) != int(num):
                raise ConfigError(f"{key}: expected an integer, got {value!r}")
            return int(num)
        return float(num)
    if base == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if base == "str":
        return str(value)
    if base.startswith(("list", "tuple")):
        if isinstance(value, str):
            parsed = yaml.safe_load(value) if value.strip().startswith("[") else value.split(",")
            value = parsed if isinstance(parsed, list) else [parsed]
        if not isinstance(value, (list, tuple)):
            value = [value]
        inner = base[base.index("[") + 1 : -1].split(",")[0].strip()
        items = [_coerce(v, key, inner) for v in value]
        if base.startswith("tuple"):
            n = base.count(",") + 1
            if len(items) != n:
                raise ConfigError(f"{key}: expected {n} values, got {len(items)}")
            return tuple(items)
        return items
    return value


def set_key(cfg: Any, dotted: str, value: Any) -> None:
    """Set ``section.key`` (or a top-level key) with type checking; unknown keys are errors
    that suggest the closest existing key."""
    obj, parts = cfg, dotted.split(".")
    for i, part in enumerate(parts):
        names = [f.name for f in dataclasses.fields(obj)]
        if part not in names:
            where = ".".join(parts[:i]) or "top level"
            close = difflib.get_close_matches(part, names, n=1)
            hint = f"; did you mean {'.'.join(parts[:i] + close)!r}?" if close else ""
            raise ConfigError(f"unknown config key {dotted!r} ({part!r} not in {where}){hint}")
        if i == len(parts) - 1:
            f = next(f for f in dataclasses.fields(obj) if f.name == part)
            current = getattr(obj, part)
            if dataclasses.is_dataclass(current):
                if not isinstance(value, dict):
                    raise ConfigError(f"{dotted}: expected a mapping of keys, got {value!r}")
                for k, v in value.items():
                    set_key(current, k, v)
            else:
                setattr(obj, part, _coerce(value, dotted, str(f.type)))
                obj.__dict__.setdefault(GIVEN, set()).add(part)
        else:
            obj = getattr(obj, part)
            if not dataclasses.is_dataclass(obj):
                raise ConfigError(f"unknown config key {dotted!r} ({part!r} is not a section)")


GIVEN = "_given"  # a section's keys set by a file, an override or from_dict (not defaults)


def is_given(section: Any, key: str) -> bool:
    """Whether ``section.key`` was set (by :func:`set_key`) rather than left at its default."""
    return key in section.__dict__.get(GIVEN, ())


def img_size_from_pretrained(cfg: TrainConfig) -> bool:
    """Whether ``model.img_size`` is still to come from the pretrained file's metadata
    (:func:`hierwbc.train.loop.adopt_pretrained_architecture`): a file is named, no size given."""
    return bool(cfg.model.pretrained) and not is_given(cfg.model, "img_size")


def apply_preset(cfg: TrainConfig, preset: str) -> TrainConfig:
    """Set the supervision mode: ``unsup`` or one of :data:`SUPERVISED_PRESETS`."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    cfg.preset = preset
    cfg.supervised.loss = None if preset == "unsup" else preset
    return cfg


def make_config(preset: str = "unsup", file: str | Path | None = None,
                overrides: dict[str, Any] | list[str] | None = None) -> TrainConfig:
    """Build a config: defaults, then the preset, then a YAML file, then overrides
    (``{"optim.base_lr": 1e-3}`` or ``["optim.base_lr=1e-3", "alpha=0.9"]``).

    ``alpha``, ``temperature`` and ``loss_weight`` are accepted as short forms of
    ``supervised.*``.
    """
    cfg = apply_preset(TrainConfig(), preset)
    if file is not None:
        data = yaml.safe_load(Path(file).read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{file}: a config file must be a mapping of keys")
        if "preset" in data:
            apply_preset(cfg, data.pop("preset"))
        for k, v in data.items():
            set_key(cfg, k, v)
    return apply_overrides(cfg, overrides)


def apply_overrides(cfg: TrainConfig, overrides: dict[str, Any] | list[str] | None) -> TrainConfig:
    """Set ``overrides`` on ``cfg`` in place, in order, then validate it: ``{"optim.base_lr": 1e-3}``
    or ``["optim.base_lr=1e-3", "alpha=0.9"]``; ``preset`` re-applies a preset (see
    :func:`make_config` for the short keys)."""
    items = overrides.items() if isinstance(overrides, dict) else [_split(o) for o in overrides or []]
    for k, v in items:
        if k == "preset":
            apply_preset(cfg, v)
            continue
        set_key(cfg, SHORT_KEYS.get(k, k), v)
    validate(cfg)
    return cfg


SHORT_KEYS = {"alpha": "supervised.alpha", "temperature": "supervised.temperature",
              "loss_weight": "supervised.loss_weight", "lr": "optim.base_lr"}


def _split(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key=value")
    k, v = item.split("=", 1)
    return k.strip(), v


def check_img_size(cfg: TrainConfig) -> None:
    """``model.img_size`` must be a whole number of patches."""
    if cfg.model.img_size % cfg.model.patch_size:
        raise ConfigError(f"model.img_size {cfg.model.img_size} is not a multiple of patch_size {cfg.model.patch_size}"
                          + (f" (of {cfg.model.pretrained})" if cfg.model.pretrained else ""))


def validate(cfg: TrainConfig) -> None:
    if cfg.supervised.loss not in (None,) + SUPERVISED_PRESETS:
        raise ConfigError(f"supervised.loss {cfg.supervised.loss!r} is not one of {SUPERVISED_PRESETS}")
    if not cfg.model.pretrained:  # else checked once the file's patch (and maybe size) is adopted
        check_img_size(cfg)
    if cfg.batch_size < 2:
        raise ConfigError("batch_size must be at least 2")
    if cfg.precision not in ("auto", "bf16", "fp32"):
        raise ConfigError(f"precision must be auto, bf16 or fp32, not {cfg.precision!r}")
    if cfg.fsdp not in ("auto", "on", "off"):
        raise ConfigError(f"fsdp must be auto, on or off, not {cfg.fsdp!r}")
    if cfg.dino.centering not in ("sinkhorn_knopp", "centering"):
        raise ConfigError(f"dino.centering must be sinkhorn_knopp or centering, not {cfg.dino.centering!r}")
    if not 0 <= cfg.data.coarsen_fraction <= 1 or not 0 <= cfg.data.unlabelled_fraction <= 1:
        raise ConfigError("data.coarsen_fraction and data.unlabelled_fraction must lie in [0, 1]")
    if cfg.data.lab_weights:
        try:
            weights = parse_lab_weights(cfg.data.lab_weights)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
            raise ConfigError(f"data.lab_weights must be >= 0 and not all 0, got {weights}")
    if not 0 <= cfg.data.val_fraction < 1:
        raise ConfigError(f"data.val_fraction must lie in [0, 1), not {cfg.data.val_fraction}")
    if cfg.knn_every < 0 or (cfg.knn_every and cfg.data.val_fraction <= 0):
        raise ConfigError("knn_every > 0 needs data.val_fraction > 0 (the held-out rows it checks)")
    if cfg.crops.local_crops_number < 0:
        raise ConfigError("crops.local_crops_number must be >= 0")
    if cfg.crops.local_crops_number and cfg.crops.local_crops_size % cfg.model.patch_size:
        raise ConfigError(f"crops.local_crops_size {cfg.crops.local_crops_size} is not a multiple of "
                          f"model.patch_size {cfg.model.patch_size}")
    small_cache = cfg.data.cache_size is not None and cfg.data.cache_size < cfg.model.img_size
    if small_cache and not img_size_from_pretrained(cfg):
        raise ConfigError(f"data.cache_size {cfg.data.cache_size} is smaller than model.img_size "
                          f"{cfg.model.img_size}: crops would be upsampled")


def parse_lab_weights(items) -> dict[str, float]:
    """``["pbc=10", "lisc=1"]`` (``data.lab_weights``) -> ``{"pbc": 10.0, "lisc": 1.0}``."""
    out = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ValueError(f"data.lab_weights: {item!r} is not dataset=weight (e.g. pbc=10)")
    return out


def from_dict(d: dict[str, Any]) -> TrainConfig:
    """Rebuild a config from :meth:`TrainConfig.to_dict` output (e.g. a run's config.yaml)."""
    cfg = TrainConfig()
    for k, v in d.items():
        set_key(cfg, k, v)
    validate(cfg)
    return cfg
