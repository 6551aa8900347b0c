"""`hierwbc experiment` end to end on a miniature config (two models, a few steps), and its
resumption: a second run does no training or embedding again."""

import json
from pathlib import Path

import pandas as pd
import pytest

from hierwbc.cli import main
from hierwbc.experiment import load_experiment, publish
from hierwbc.train.config import ConfigError

MINI = Path(__file__).with_name("mini.yaml")


@pytest.mark.slow
def test_mini_experiment_end_to_end_and_resume(tmp_path, data_root):
    out = tmp_path / "mini"
    args = ["experiment", "--config", str(MINI), "--set", f"out={out}", "--set", f"train.data.root={data_root}",
            "--no-progress"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["training"]) == {"unsup", "hierce"}
    assert all(r["steps"] == 3 for r in summary["training"].values())
    metrics = pd.read_csv(out / "evaluation" / "metrics.csv")
    assert set(metrics["model"]) == {"unsup", "hierce", "pixels"}
    assert set(metrics["dataset"]) == {"pbc_test", "segmentation_wbc"}
    assert set(metrics["probe"]) >= {"1nn", "20nn", "logreg"}
    assert (out / "tables" / "table_pbc_test.md").read_text().count("| hierce |") == 3
    sig = pd.read_csv(out / "evaluation" / "significance.csv")
    assert set(sig["reference"]) == {"hierce"} and set(sig["model"]) == {"unsup", "pixels"}
    for name in ("compare_losses_bacc", "confusion_by_lineage_pbc_test_20nn", "umap_hierce_pbc_test", "lca_pbc_test"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
    assert "train.data.root" not in (out / "experiment.yaml").read_text()  # written as nested keys

    report = tmp_path / "report"
    written = publish(out, report)
    assert (report / "figures" / "training_curves.png") in written
    assert not (report / "evaluation" / "predictions.csv").exists()  # per-cell tables stay in the run
    assert (report / "tables" / "table_pbc_test.md").read_text() == (out / "tables" / "table_pbc_test.md").read_text()
    training = pd.read_csv(report / "tables" / "training.csv").set_index("model")
    steps = pd.read_json(out / "models" / "hierce" / "metrics.jsonl", lines=True)
    assert training.loc["hierce", "sup_first"] == pytest.approx(steps["sup"].iloc[0], rel=1e-4)  # 3 steps: k = 1
    assert training.loc["hierce", "dino_last"] == pytest.approx(steps["dino"].iloc[-1], rel=1e-4)
    assert pd.isna(training.loc["unsup", "sup_last"]) and training.loc["unsup", "steps"] == 3
    h5ad = out / "embeddings" / "hierce" / "pbc_test.h5ad"
    stamp = h5ad.stat().st_mtime
    ckpt = max((out / "models" / "hierce" / "checkpoints").iterdir()).stat().st_mtime
    assert main(args[:2] + [str(MINI), *args[3:], "--stages", "train,embed"]) == 0
    assert h5ad.stat().st_mtime == stamp  # nothing re-embedded
    assert max((out / "models" / "hierce" / "checkpoints").iterdir()).stat().st_mtime == ckpt  # nor retrained
    sittings = json.loads((out / "summary.json").read_text())["sittings"]
    assert [set(x["stage_seconds"]) for x in sittings] == [{"train", "embed", "evaluate", "figures"}, {"train", "embed"}]


def test_bad_experiment_files_are_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodels: {a: {preset: fancy}}\nevaluation: {sets: [pbc]}\n")
    with pytest.raises(ConfigError, match="models.a: needs a preset"):
        load_experiment(bad)
    bad.write_text("name: x\nmodels: {a: {preset: unsup}}\nevaluation: {sets: [pbc], reference: b}\n")
    with pytest.raises(ConfigError, match="reference 'b'"):
        load_experiment(bad)
    bad.write_text("name: x\nmodelz: {}\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['modelz'\]"):
        load_experiment(bad)
    with pytest.raises(FileNotFoundError, match="no summary.json"):
        publish(tmp_path / "never_run", tmp_path / "report")
