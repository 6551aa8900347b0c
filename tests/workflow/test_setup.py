"""Model names as specifications, the run's datasets (synthetic without real data) and the
experiment file written for the notebooks."""

import pandas as pd
import pytest
import torch

from hierwbc.config import ConfigError
from hierwbc.datasets import read_dataset
from hierwbc.hierarchy import default_hierarchy
from hierwbc.workflow import (
    RunFolder,
    dataset_manifests,
    limit_threads,
    model_spec,
    notebook_experiment,
)


@pytest.mark.parametrize("name, spec", [
    ("unsup", {"preset": "unsup"}), ("hierce", {"preset": "hierce"}),
    ("hierce_a0.1", {"preset": "hierce", "alpha": 0.1}), ("hierce_alpha0.9", {"preset": "hierce", "alpha": 0.9}),
    ("hiersupcon", {"preset": "hiersupcon"}), ("supcon_long", {"preset": "supcon"}), ("ce-2", {"preset": "ce"}),
])
def test_model_spec(name, spec):
    assert model_spec(name) == spec


def test_model_spec_refusals():
    with pytest.raises(ConfigError, match="'resnet'.*does not start with a training preset"):
        model_spec("resnet")
    with pytest.raises(ConfigError, match="only applies to hierce"):
        model_spec("ce_a0.5")


@pytest.fixture
def no_real_data(tmp_path, monkeypatch):
    empty = tmp_path / "nodata"
    empty.mkdir()
    monkeypatch.setenv("HIERWBC_DATA", str(empty))


def test_synthetic_set_without_real_data_and_the_experiment_file(tmp_path, no_real_data):
    run = RunFolder(tmp_path / "run")
    manifests = dataset_manifests(run, synthetic_per_leaf=2, synthetic_size=16, progress=False)
    h = default_hierarchy()
    assert list(manifests) == ["synthetic"] and len(manifests["synthetic"]) == 2 * len(h.leaves)
    back = read_dataset("csv", run.manifests / "synthetic.csv", hierarchy=h)
    assert back["path"].tolist() == manifests["synthetic"]["path"].tolist()
    assert back["node"].tolist() == manifests["synthetic"]["node"].tolist()
    assert "SYNTHETIC" in (run / "synthetic" / "README.txt").read_text()

    cfg = notebook_experiment(run, ["unsup", "hierce", "hierce_a0.1", "hierce"], steps=7, img_size=28,
                              train_limit=20, eval_limit=10, n_boot=5)
    assert list(cfg.models) == ["unsup", "hierce", "hierce_a0.1"]
    assert cfg.reference == "hierce" and cfg.n_boot == 5 and cfg.cv == 5
    assert [(s.name, s.split, s.limit) for s in cfg.sets] == [("synthetic_test", "test", 10)]
    preset, over = cfg.model_overrides("hierce_a0.1")
    assert preset == "hierce" and over["alpha"] == 0.1 and over["max_steps"] == 7 and over["model.img_size"] == 28
    assert over["data.sources"] == [str(run.manifests / "synthetic.csv")] and over["data.hierarchy"] is None
    assert "hierwbc experiment --config" in run.experiment_file.read_text()
    h.rename_node("basophil", "basophil_x")
    h.write(run / "hierarchy.json")
    cfg = notebook_experiment(run, ["ce"])
    assert cfg.model_overrides("ce")[1]["data.hierarchy"] == str(run / "hierarchy.json")
    assert run.hierarchy() == h and "basophil_x" in run.hierarchy()


def test_experiment_needs_the_manifests(tmp_path):
    with pytest.raises(FileNotFoundError, match="run 02_data first"):
        notebook_experiment(RunFolder(tmp_path), ["unsup"])


def test_real_datasets_are_all_found(tmp_path, data_root):
    manifests = dataset_manifests(RunFolder(tmp_path), str(data_root))
    assert set(manifests) == {"pbc", "bccd", "segmentation_wbc", "lisc", "raabin", "aslan"}
    assert len(pd.read_csv(tmp_path / "manifests" / "segmentation_wbc.csv")) == 300


def test_limit_threads():
    before = torch.get_num_threads()
    try:
        assert limit_threads(1) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
