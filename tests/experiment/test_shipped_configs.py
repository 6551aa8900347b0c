"""The shipped configuration files load and validate: training recipes in ``configs/``
(TrainConfig keys; ``cnn_*.yaml``: the CNN baseline's), grids in ``experiments/`` (models and
evaluation sets), each folder holding only its kind; and the longer comparison's ``hierce`` is the
shipped classifier's recipe (``configs/classifier_cpu.yaml``) key for key, so its runs are the
classifier's runs with other seeds."""

from pathlib import Path

import pytest
import yaml

from hierwbc.config import make_config
from hierwbc.experiment import load_experiment

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS, CONFIGS = ROOT / "experiments", ROOT / "configs"
GRIDS, RECIPES = sorted(EXPERIMENTS.glob("*.yaml")), sorted(CONFIGS.glob("*.yaml"))


def _is_grid(path: Path) -> bool:
    return "models" in (yaml.safe_load(path.read_text()) or {})


def test_recipes_and_grids_each_have_their_folder():
    assert {"paper_cpu.yaml", "longer_cpu.yaml", "paper_multilab.yaml"} <= {f.name for f in GRIDS}
    assert {"classifier_cpu.yaml", "pretrain_cpu.yaml", "cnn_default.yaml"} <= {f.name for f in RECIPES}
    assert all(_is_grid(f) for f in GRIDS), "a training recipe in experiments/"
    assert not any(_is_grid(f) for f in RECIPES), "a grid in configs/"


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_every_grid_validates(path):
    cfg = load_experiment(path)
    for name in cfg.models:
        for seed in cfg.seeds:
            preset, overrides = cfg.model_overrides(name, seed)
            assert make_config(preset, overrides=overrides).seed == seed


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_recipe_validates(path):
    if path.stem.startswith("cnn_"):  # a recipe of the supervised CNN baseline (hierwbc baseline)
        from hierwbc.baselines.recipe import load_recipe

        assert load_recipe(path).labs
    else:
        make_config(file=path)


def _without(d: dict, *keys: str) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


def test_longer_comparison_hierce_is_the_classifier_recipe():
    cfg = load_experiment(EXPERIMENTS / "longer_cpu.yaml")
    classifier = make_config(file=CONFIGS / "classifier_cpu.yaml").to_dict()
    preset, overrides = cfg.model_overrides("hierce", 0)
    hierce = make_config(preset, overrides=overrides).to_dict()
    assert _without(hierce, "out") == _without(classifier, "out")
    # ce and unsup differ from it only in the supervised term
    for name, loss in (("ce", "ce"), ("unsup", None)):
        preset, overrides = cfg.model_overrides(name, 1)
        other = make_config(preset, overrides=overrides).to_dict()
        assert other["supervised"]["loss"] == loss and other["seed"] == 1
        assert _without(other, "out", "supervised", "seed", "preset") == _without(hierce, "out", "supervised", "seed",
                                                                                    "preset")
    assert cfg.reference == "hierce" and cfg.seeds == [0, 1, 2]
