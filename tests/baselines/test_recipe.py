"""The CNN baseline's recipe on the configuration machinery: typed values, unknown keys named with
the closest one, overrides that replace the file's values whole, cross-key checks."""

from pathlib import Path

import pytest

from hierwbc.baselines.recipe import CNNRecipe, load_recipe, recipe_from_dict
from hierwbc.config import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_a_recipe_file_with_overrides_is_typed():
    r = load_recipe(CONFIGS / "cnn_default.yaml", ["epochs=2", "labs=[pbc]", "lab_weights={pbc: 3}", "widths=8,16"])
    assert (r.epochs, r.labs, r.lab_weights, r.widths) == (2.0, ["pbc"], {"pbc": 3.0}, [8, 16])
    assert isinstance(r.epochs, float) and r.reframe == "cell"  # the file's other keys stay
    assert load_recipe() == CNNRecipe()


@pytest.mark.parametrize("values, message", [
    ({"epoch": 2}, r"unknown config key 'epoch' .*did you mean 'epochs'\?"),
    ({"widths": ["a"]}, r"widths\[0\]"),
    ({"crop_scale": [0.5]}, r"crop_scale must be \[lo, hi\]"),
    ({"labs": ["pbc"], "lab_weights": {"lisc": 1}}, r"lab_weights names labs not in labs"),
])
def test_bad_recipes_are_named(values, message):
    with pytest.raises(ConfigError, match=message):
        recipe_from_dict(values, "r.yaml")


def test_an_unknown_key_in_a_recipe_file_names_the_file(tmp_path):
    f = tmp_path / "cnn_x.yaml"
    f.write_text("labs: [pbc]\nlabel_levle: node\n")
    with pytest.raises(ConfigError, match=rf"^{f}: unknown config key 'label_levle'.*did you mean 'label_level'\?"):
        load_recipe(f)
