"""The CNN baseline's recipe: one typed dataclass, read from YAML (``experiments/cnn_*.yaml``)
with ``key=value`` overrides; unknown keys are errors with a "did you mean".

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

import yaml

from hierwbc.hierarchy.errors import did_you_mean

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


def _check(recipe: CNNRecipe) -> CNNRecipe:
    if recipe.label_level not in LABEL_LEVELS:
        raise ValueError(f"label_level must be one of {LABEL_LEVELS}, not {recipe.label_level!r}")
    lo, hi = recipe.crop_scale
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"crop_scale must satisfy 0 < lo <= hi <= 1, got {recipe.crop_scale}")
    if recipe.reframe not in ("none", "cell"):
        raise ValueError(f"reframe must be 'none' or 'cell', not {recipe.reframe!r}")
    if recipe.cache_size < recipe.img_size:
        raise ValueError(f"cache_size {recipe.cache_size} is smaller than img_size {recipe.img_size}")
    if not 0 <= recipe.val_fraction < 1:
        raise ValueError(f"val_fraction must lie in [0, 1), got {recipe.val_fraction}")
    unknown = set(recipe.lab_weights) - set(recipe.labs)
    if unknown:
        raise ValueError(f"lab_weights names labs not in labs {recipe.labs}: {sorted(unknown)}")
    return recipe


def recipe_from_dict(values: dict, where: str = "recipe") -> CNNRecipe:
    names = {f.name: f for f in dataclasses.fields(CNNRecipe)}
    for key in values:
        if key not in names:
            hint = did_you_mean(key, list(names))
            raise ValueError(f"{where}: unknown key {key!r}" + (f"; {hint}" if hint else ""))
    return _check(CNNRecipe(**values))


def load_recipe(path: str | os.PathLike | None = None, overrides: list[str] = ()) -> CNNRecipe:
    """The recipe of a YAML file (or the defaults) with ``key=value`` overrides (YAML values)."""
    values = {}
    if path is not None:
        with open(path) as f:
            values = yaml.safe_load(f) or {}
        if not isinstance(values, dict):
            raise ValueError(f"{path}: a recipe is a mapping of keys to values")
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not key=value")
        values[key.strip()] = yaml.safe_load(text)
    return recipe_from_dict(values, str(path or "overrides"))


def recipe_json(recipe: CNNRecipe) -> str:
    return json.dumps(dataclasses.asdict(recipe), sort_keys=True)


__all__ = ["LABEL_LEVELS", "CNNRecipe", "load_recipe", "recipe_from_dict", "recipe_json"]
