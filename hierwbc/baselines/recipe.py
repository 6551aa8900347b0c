"""The CNN baseline's recipe: one typed dataclass, read from YAML (``configs/cnn_*.yaml``) with
``key=value`` overrides on the machinery of every configuration (:mod:`hierwbc.config.schema`:
OmegaConf structured configs); unknown keys are errors with a "did you mean", values are typed
(``epochs: 8`` is 8.0).

Defaults are the calibration recipe (issue 32): 64 px input from an 80 px copy, random resized
crop of 30-100 % of the area, flips and quarter turns, per-channel gain +/-30 %, saturation
+/-60 %, grayscale p 0.2, blur p 0.3, class-weighted CE with label smoothing 0.1, AdamW 2e-3
one-cycle, batch 128, 8 epochs of the PBC train split at the five-type level.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field

from hierwbc.config.schema import ConfigError, build, load_yaml, nest, split_item

LABEL_LEVELS = ("five", "node")


@dataclass
class CNNRecipe:
    labs: list[str] = field(default_factory=lambda: ["pbc"])   # read_dataset names, or manifest CSVs
    lab_weights: dict[str, float] = field(default_factory=dict)  # sampling weight per lab (default 1)
    label_level: str = "five"        # "five": the five types only; "node": each lab's own precision
    widths: list[int] = field(default_factory=lambda: [32, 64, 128, 192])
    img_size: int = 64
    cache_size: int = 80             # the decoded copy crops are cut from
    reframe: str = "none"            # "cell": the square around the cell (hierwbc.datasets.reframe), also at predict
    crop_scale: list[float] = field(default_factory=lambda: [0.3, 1.0])
    gain: float = 0.3                # per-channel gain U(1 - gain, 1 + gain)
    saturation: float = 0.6
    hue: float = 0.0                 # hue shift U(-hue, hue) turns
    grayscale_p: float = 0.2
    blur_p: float = 0.3
    blur_sigma: list[float] = field(default_factory=lambda: [0.1, 1.5])
    stain_p: float = 0.0             # HED stain jitter (Tellez et al. 2018), probability per image
    stain_sigma: float = 0.2
    stain_beta: float = 0.05
    label_smoothing: float = 0.1
    class_weighted: bool = True
    lr: float = 2e-3
    weight_decay: float = 0.05
    batch_size: int = 128
    epochs: float = 8.0
    val_fraction: float = 0.1        # of PBC's train split, held out and scored each epoch
    test_fraction: float = 0.2       # PBC's train/test partition (as training and the reports)
    split_seed: int = 0
    seed: int = 0
    threads: int = 0                 # 0: torch's default


def _check(recipe: CNNRecipe, where: str = "recipe") -> CNNRecipe:
    """The checks across keys (:class:`~hierwbc.config.ConfigError`, a ValueError, naming them)."""
    def fail(message: str):
        raise ConfigError(f"{where}: {message}")

    if recipe.label_level not in LABEL_LEVELS:
        fail(f"label_level must be one of {LABEL_LEVELS}, not {recipe.label_level!r}")
    if len(recipe.crop_scale) != 2 or not 0 < recipe.crop_scale[0] <= recipe.crop_scale[1] <= 1:
        fail(f"crop_scale must be [lo, hi] with 0 < lo <= hi <= 1, got {recipe.crop_scale}")
    if recipe.reframe not in ("none", "cell"):
        fail(f"reframe must be 'none' or 'cell', not {recipe.reframe!r}")
    if recipe.cache_size < recipe.img_size:
        fail(f"cache_size {recipe.cache_size} is smaller than img_size {recipe.img_size}")
    if not 0 <= recipe.val_fraction < 1:
        fail(f"val_fraction must lie in [0, 1), got {recipe.val_fraction}")
    unknown = set(recipe.lab_weights) - set(recipe.labs)
    if unknown:
        fail(f"lab_weights names labs not in labs {recipe.labs}: {sorted(unknown)}")
    return recipe


def recipe_from_dict(values: dict, where: str = "recipe") -> CNNRecipe:
    """The recipe of a mapping of its keys (the others at their defaults)."""
    return _check(build(CNNRecipe, [(where, nest(CNNRecipe, values.items(), where=where))]), where)


def load_recipe(path: str | os.PathLike | None = None, overrides: list[str] = ()) -> CNNRecipe:
    """The recipe of a YAML file (or the defaults) with ``key=value`` overrides (a dotlist,
    e.g. ``epochs=2 labs=[pbc,lisc]``); an override replaces the file's value whole (a mapping
    such as ``lab_weights={pbc: 3}`` too)."""
    where = str(path or "overrides")
    values = nest(CNNRecipe, load_yaml(path, "recipe").items(), where=where) if path is not None else {}
    values.update(nest(CNNRecipe, [split_item(o) for o in overrides], text=True))
    return _check(build(CNNRecipe, [(where, values)]), where)


def recipe_json(recipe: CNNRecipe) -> str:
    return json.dumps(dataclasses.asdict(recipe), sort_keys=True)


__all__ = ["LABEL_LEVELS", "CNNRecipe", "load_recipe", "recipe_from_dict", "recipe_json"]
