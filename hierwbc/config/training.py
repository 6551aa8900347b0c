"""Structured training configuration (the recipes of ``configs/``), presets per supervision mode,
YAML and ``key=value`` overrides, on the machinery of :mod:`.schema` (OmegaConf structured
configs).

Defaults follow DINOv2's ``dinov2/configs/ssl_default_config.yaml`` (facebookresearch/dinov2)
with the paper's changes: two global crops and no local crops (Koch et al. 2024, DinoBloom),
Sinkhorn-Knopp centring, a separate iBOT head, and a supervised term of weight 1 (paper eq. 1:
``L = L_DINO + L_iBOT + L_supervised``). Sizes are small by default so that a laptop CPU run
works; ``paper_full``-style runs override them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..losses.registry import LOSSES
from .schema import ConfigError, assign, build, load_yaml, nest, plain, split_item

__all__ = ["DEFAULT_IMG_SIZE", "PRESETS", "SUPERVISED_PRESETS", "ConfigError", "DataConfig", "ModelConfig",
           "SupervisedConfig", "TrainConfig", "apply_overrides", "check_img_size", "from_dict", "make_config",
           "parse_lab_weights", "settle_img_size", "validate"]

SUPERVISED_PRESETS = tuple(LOSSES)  # one preset per supervised loss of the registry
PRESETS = ("unsup",) + SUPERVISED_PRESETS
DEFAULT_IMG_SIZE = 224  # model.img_size when neither given nor read from a pretrained file


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
    img_size: int | None = None          # None: the pretrained file's (its metadata), else 224
                                         # (DEFAULT_IMG_SIZE): settle_img_size, in one place
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
        return plain(dataclasses.asdict(self))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _preset_layer(preset: str, where: str = "") -> tuple[str, dict]:
    """The supervision mode, ``unsup`` or one of :data:`SUPERVISED_PRESETS`, as a layer."""
    if preset not in PRESETS:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return where, {"preset": preset, "supervised": {"loss": None if preset == "unsup" else preset}}


SHORT_KEYS = {"alpha": "supervised.alpha", "temperature": "supervised.temperature",
              "loss_weight": "supervised.loss_weight", "lr": "optim.base_lr"}


def _override_layers(overrides: dict[str, Any] | list[str] | None) -> list[tuple[str, dict]]:
    """``{"optim.base_lr": 1e-3}`` (values as they are) or ``["optim.base_lr=1e-3"]`` (a dotlist:
    values read by each field's type) as layers, in order; ``preset`` starts a preset layer."""
    text = not isinstance(overrides, dict)
    items = list(overrides.items()) if not text else [split_item(o) for o in overrides or []]
    layers, run = [], []
    for k, v in items + [("preset", None)]:
        if k != "preset":
            run.append((k, v))
            continue
        if run:
            layers.append(("", nest(TrainConfig, run, text=text, aliases=SHORT_KEYS)))
            run = []
        if v is not None:
            layers.append(_preset_layer(str(v).strip()))
    return layers


def make_config(preset: str = "unsup", file: str | Path | None = None,
                overrides: dict[str, Any] | list[str] | None = None) -> TrainConfig:
    """Build a config: defaults, then the preset, then a YAML file (nested sections or dotted keys),
    then overrides (``{"optim.base_lr": 1e-3}`` or ``["optim.base_lr=1e-3", "alpha=0.9"]``).

    ``alpha``, ``temperature``, ``loss_weight`` and ``lr`` are accepted as short forms of
    ``supervised.*`` and ``optim.base_lr`` in overrides; ``preset`` (in the file or an override)
    sets the supervision mode at that point.
    """
    layers = [_preset_layer(preset)]
    if file is not None:
        data = load_yaml(file)
        if "preset" in data:
            layers.append(_preset_layer(data.pop("preset"), str(file)))
        layers.append((str(file), nest(TrainConfig, data.items(), where=str(file))))
    return _finish(build(TrainConfig, layers + _override_layers(overrides)))


def apply_overrides(cfg: TrainConfig, overrides: dict[str, Any] | list[str] | None) -> TrainConfig:
    """Set ``overrides`` on ``cfg`` in place, in order, then validate it: ``{"optim.base_lr": 1e-3}``
    or ``["optim.base_lr=1e-3", "alpha=0.9"]``; ``preset`` re-applies a preset (see
    :func:`make_config` for the short keys). A ``model.img_size`` already settled stays: set
    ``model.img_size=null`` with a new ``model.pretrained`` to take the file's."""
    assign(cfg, build(cfg, _override_layers(overrides)))
    return _finish(cfg)


def from_dict(d: dict[str, Any]) -> TrainConfig:
    """Rebuild a config from :meth:`TrainConfig.to_dict` output (e.g. a run's config.yaml or a
    checkpoint's ``config``)."""
    return _finish(build(TrainConfig, [("config", nest(TrainConfig, d.items()))]))


def settle_img_size(cfg: TrainConfig, pretrained_size: int | str | None = None) -> TrainConfig:
    """Give ``model.img_size`` its value when it is None (not given): the pretrained file's size
    (``pretrained_size``, from its metadata) when there is one, else :data:`DEFAULT_IMG_SIZE`."""
    if cfg.model.img_size is None:
        cfg.model.img_size = int(pretrained_size) if pretrained_size else DEFAULT_IMG_SIZE
    return cfg


def _finish(cfg: TrainConfig) -> TrainConfig:
    """Settle the image size unless a pretrained file is still to give it
    (:func:`hierwbc.train.pretrained.adopt_pretrained_architecture`), then validate."""
    if not cfg.model.pretrained:
        settle_img_size(cfg)
    validate(cfg)
    return cfg


def check_img_size(cfg: TrainConfig) -> None:
    """``model.img_size`` must be a whole number of patches (once settled)."""
    if cfg.model.img_size is not None and cfg.model.img_size % cfg.model.patch_size:
        raise ConfigError(f"model.img_size {cfg.model.img_size} is not a multiple of patch_size {cfg.model.patch_size}"
                          + (f" (of {cfg.model.pretrained})" if cfg.model.pretrained else ""))


def validate(cfg: TrainConfig) -> None:
    """The checks across keys (types are checked by the schema); errors name the keys."""
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
    if None not in (cfg.data.cache_size, cfg.model.img_size) and cfg.data.cache_size < cfg.model.img_size:
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
