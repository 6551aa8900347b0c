"""bench/pretrain_budget.py: the kNN checks it counts (hand-worked), the stages it times are the
shipped recipe's (self-supervised only, each file's own check interval), and its result files'
projections are the arithmetic its docstring states."""

import importlib.util
import json
from pathlib import Path

import pytest

from hierwbc.config import make_config

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _bench():
    spec = importlib.util.spec_from_file_location("pretrain_budget", ROOT / "bench" / "pretrain_budget.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checks_in_counts_step_zero_each_multiple_and_the_end():
    checks_in = _bench().checks_in
    assert checks_in(2600, 250) == 12  # 0, 250, ..., 2500 (11 checks) + the end at 2600
    assert checks_in(1800, 100) == 19  # 0, 100, ..., 1800: the end is a multiple
    assert checks_in(1500, 250) == 7
    assert checks_in(1, 250) == 2


def test_stages_are_the_shipped_self_supervised_recipe():
    """Each stage is label-free and its logged minutes and steps are the ones the model card gives."""
    card = (ROOT / "hierwbc" / "weights" / "README.md").read_text()
    for name, (file, overrides, steps, logged) in _bench().STAGES.items():
        config = make_config(file=ROOT / file, overrides=overrides)
        assert config.preset == "unsup", name
        assert f"{logged} minutes" in card or f"+ {logged} (stage" in card, name
        assert f"{steps:,}" in card, name


def test_each_group_and_precision_has_its_own_result_file():
    bench = _bench()
    assert bench.result_path("starter", "auto").name == "pretrain_budget.json"
    assert bench.result_path("starter", "fp32").name == "pretrain_budget_fp32.json"
    assert bench.result_path("tiny8", "auto").name == "pretrain_budget_tiny8.json"
    assert bench.result_path("tiny8", "fp32").name == "pretrain_budget_tiny8_fp32.json"
    assert sorted(s for group in bench.GROUPS.values() for s in group) == sorted(bench.STAGES)


@pytest.mark.parametrize("name", ["pretrain_budget.json", "pretrain_budget_fp32.json", "pretrain_budget_tiny8.json"])
def test_result_files_project_steps_times_seconds_plus_checks(name):
    result = json.loads((RESULTS / name).read_text())
    bench = _bench()
    for stage, row in result["stages"].items():
        file, overrides, steps, logged = bench.STAGES[stage]
        assert row["steps"] == steps and row["logged_minutes"] == logged
        assert row["knn_every"] == make_config(file=ROOT / file, overrides=overrides).knn_every
        assert row["knn_checks"] == bench.checks_in(steps, row["knn_every"])
        minutes = (steps * row["s_per_step"] + row["knn_checks"] * row["knn_check_s"]) / 60
        assert row["projected_minutes"] == pytest.approx(minutes, abs=0.05)
        assert row["precision"]["precision"] in ("fp32", "bf16")
    total = sum(r["projected_minutes"] for r in result["stages"].values())
    assert result["total"]["projected_minutes"] == pytest.approx(total, abs=0.05)
    if result["precision"] != "auto":
        assert {r["precision"]["precision"] for r in result["stages"].values()} == {result["precision"]}
