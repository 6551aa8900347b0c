"""The experiment grid's schema (hierwbc.config.experiment): typed, unknown keys named with the
closest known one, train and model keys checked as TrainConfig keys, ``section.key=value``
overrides merged into the file."""

import pytest
import yaml

from hierwbc.config import ConfigError, load_experiment

GRID = """name: g
seeds: [0, 1]
train:
  model.arch: vit_tiny
  max_steps: 3
models:
  unsup: {preset: unsup}
  hierce: {preset: hierce, alpha: 0.5}
evaluation:
  sets: [pbc, {name: bccd, source: bccd, limit: 10}]
  reference: hierce
figures:
  pair: [unsup, hierce]
"""


@pytest.fixture
def grid(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(GRID)
    return path


def test_a_grid_is_typed_with_its_defaults(grid):
    cfg = load_experiment(grid)
    assert (cfg.name, cfg.out, cfg.seeds, cfg.cv, cfg.probes) == ("g", "runs/g", [0, 1], 5, ("1nn", "20nn", "logreg"))
    assert [(s.name, s.source, s.limit) for s in cfg.sets] == [("pbc", "pbc", None), ("bccd", "bccd", 10)]
    assert cfg.figures == {"pair": ["unsup", "hierce"], "alpha_models": {}}  # None (not given) left out
    assert cfg.raw == yaml.safe_load(GRID)  # the file as run: what runner writes to experiment.yaml


def test_dotlist_overrides_merge_into_the_file(grid):
    cfg = load_experiment(grid, ["train.max_steps=10", "train.data.sources=[pbc,lisc]", "evaluation.cv=2",
                                 "seeds=3,4", "out=runs/x", "models.hierce.alpha=0.9"])
    assert cfg.train == {"model.arch": "vit_tiny", "max_steps": 10, "data.sources": ["pbc", "lisc"]}
    assert (cfg.cv, cfg.seeds, cfg.out) == (2, [3, 4], "runs/x")
    assert cfg.models["hierce"] == {"preset": "hierce", "alpha": 0.9}
    assert cfg.raw["train"]["max_steps"] == 10
    assert cfg.raw["evaluation"]["sets"] == ["pbc", {"name": "bccd", "source": "bccd", "limit": 10}]  # as written
    # a mapping replaces top-level keys whole (as the tests and reports use it)
    assert list(load_experiment(grid, {"models": {"unsup": {"preset": "unsup"}}, "evaluation": {
        "sets": ["pbc"]}}).models) == ["unsup"]


@pytest.mark.parametrize("edit, message", [
    (("evaluation:", "evaluation:\n  cvv: 3"),
     r"unknown key\(s\) \['evaluation\.cvv'\]; did you mean 'evaluation\.cv'\?"),
    (("figures:", "figures:\n  umap_sett: pbc"), r"did you mean 'figures\.umap_set'\?"),
    (("limit: 10}", "limt: 10}"),
     r"unknown key\(s\) \['evaluation\.sets\[1\]\.limt'\]; did you mean 'evaluation\.sets\[1\]\.limit'\?"),
    (("source: bccd, ", ""), r"evaluation\.sets\[1\]\.source: required"),
    (("seeds: [0, 1]", "seeds: [0, one]"), r"seeds\[1\]: .*one"),
    (("reference: hierce", "reference: hierce\n  n_boot: many"), r"evaluation\.n_boot: expected a number, got 'many'"),
    (("max_steps: 3", "max_stepz: 3"), r"models\.unsup \(with train\): unknown config key 'max_stepz'.*'max_steps'"),
    (("alpha: 0.5", "alpha: high"), r"models\.hierce \(with train\): supervised\.alpha: expected a number"),
])
def test_errors_name_the_file_and_the_key(grid, edit, message):
    grid.write_text(GRID.replace(*edit))
    with pytest.raises(ConfigError, match=message) as e:
        load_experiment(grid)
    assert str(e.value).startswith(f"{grid}: ")


def test_a_dotlist_override_of_an_unknown_key_is_named(grid):
    with pytest.raises(ConfigError, match=r"unknown config key 'evaluation\.cvv'.*did you mean 'evaluation\.cv'\?"):
        load_experiment(grid, ["evaluation.cvv=2"])
    with pytest.raises(ConfigError, match="not of the form key=value"):
        load_experiment(grid, ["evaluation.cv"])


@pytest.mark.parametrize("name, alpha", [("hierce_alpha0.1", 0.1), ("hierce_a0.9", 0.9), ("hierce-alpha=0.5", 0.5),
                                         ("x_alpha_2", 2.0), ("hierce", None), ("unsup", None), ("pixels", None),
                                         ("vit_tiny_random_init", None), ("alpha", None)])
def test_alpha_from_name(name, alpha):
    from hierwbc.config.experiment import alpha_from_name

    assert alpha_from_name(name) == alpha


def test_only_keeps_the_named_models_and_the_reference_only_when_kept(grid):
    cfg = load_experiment(grid)
    one = cfg.only(["hierce"])
    assert list(one.models) == ["hierce"] and one.reference == "hierce"
    assert one.raw["models"] == {"hierce": {"preset": "hierce", "alpha": 0.5}}  # experiment.yaml says what ran
    assert list(cfg.models) == ["unsup", "hierce"]  # the file's grid is left as it was
    assert cfg.only(["unsup"]).reference is None  # no reference among them: no bootstrap
    assert cfg.only(["unsup", "unsup"]).models == {"unsup": {"preset": "unsup"}}
    with pytest.raises(ConfigError, match=r"models \['ce'\] are not in the file"):
        cfg.only(["ce"])


def test_only_some_seeds_keeps_the_grids_folders(grid):
    cfg = load_experiment(grid)  # seeds [0, 1]: runs under models/<name>/seed<k>
    first = cfg.only(seeds=[0])
    assert first.seeds == [0] and list(first.models) == ["unsup", "hierce"]
    assert first.layout.model_dir("hierce", 0) == cfg.layout.model_dir("hierce", 0)  # .../hierce/seed0
    assert first.layout.embedding_file("hierce", "pbc", 0) == cfg.layout.embedding_file("hierce", "pbc", 0)
    assert load_experiment(grid, ["seeds=[0]"]).layout.model_dir("hierce", 0).name == "hierce"  # a one-seed grid
    assert first.raw["seeds"] == [0]
    with pytest.raises(ConfigError, match=r"seeds \[2\] are not in the file"):
        cfg.only(seeds=[2])
