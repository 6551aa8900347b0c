"""`hierwbc experiment` end to end on a miniature config (two models x two seeds, a few steps,
continued from a weights file), the published report's numbers read back from its CSVs, and its
resumption: a second run does no training or embedding again."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from hierwbc.cli import main
from hierwbc.config import ConfigError
from hierwbc.experiment import load_experiment, publish
from hierwbc.models.shipped import read_weights
from hierwbc.train.export import export_weights
from hierwbc.train.loop import fit

from ..train.helpers import TINY

MINI = Path(__file__).with_name("mini.yaml")


@pytest.fixture(scope="module")
def starter(tmp_path_factory, data_root):
    """A tiny weights file with DINO / iBOT heads of mini.yaml's sizes (vit_tiny, patch 14,
    LayerScale off), as ``hierwbc export --ssl-heads`` writes the shipped starter."""
    out = tmp_path_factory.mktemp("starter")
    cfg = {**TINY, "data.limit": 32, "data.root": str(data_root), "model.layerscale": 0.0}
    run = fit(None, preset="unsup", max_steps=1, out=str(out / "run"), progress=False, **cfg)
    return export_weights(run.checkpoint, out / "tiny-starter.safetensors", ssl_heads=True)


def _pm(values: pd.Series) -> str:
    """The report's "mean ± std" of fractions, in percent."""
    return f"{values.mean() * 100:.2f} ± {values.std(ddof=1) * 100:.2f}"


@pytest.mark.slow
def test_mini_experiment_end_to_end_and_resume(tmp_path, data_root, starter):
    out = tmp_path / "mini"
    args = ["experiment", "--config", str(MINI), "--set", f"out={out}", "--set", f"train.data.root={data_root}",
            "--set", f"train.model.pretrained={starter}", "--no-progress"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["training"]) == {"unsup", "hierce"} and summary["seeds"] == [0, 1]
    assert all(set(r) == {"seed0", "seed1"} for r in summary["training"].values())
    assert all(r["steps"] == 3 for by_seed in summary["training"].values() for r in by_seed.values())
    # continued from the weights file: its architecture adopted, its DINO head carried (3 steps of EMA)
    ckpt = torch.load(max((out / "models" / "hierce" / "seed1" / "checkpoints").iterdir()), weights_only=True)
    assert ckpt["config"]["model"]["layerscale"] == 0.0 and ckpt["config"]["seed"] == 1
    tensors, _ = read_weights(starter)
    head = next(k for k in tensors if k.startswith("dino_head.") and k.endswith("weight"))
    carried = ckpt["model"]["teacher." + head].float()
    assert torch.linalg.norm(carried - tensors[head].float()) < 0.05 * torch.linalg.norm(carried)
    metrics = pd.read_csv(out / "evaluation" / "metrics.csv")
    assert set(metrics["model"]) == {"unsup", "hierce", "pixels", "starter"} and set(metrics["seed"]) == {0, 1}
    assert set(metrics["dataset"]) == {"pbc_test", "segmentation_wbc"}
    assert set(metrics["probe"]) >= {"1nn", "20nn", "logreg"}
    for table in ("pooled", "predictions", "severity", "backoff", "significance"):
        assert "seed" in pd.read_csv(out / "evaluation" / f"{table}.csv", nrows=2), table
    assert (out / "tables" / "table_pbc_test.md").read_text().count("| hierce |") == 3
    assert (sorted(p.name for p in (out / "embeddings" / "starter").iterdir())
            == ["pbc_test.h5ad", "segmentation_wbc.h5ad"])
    assert (out / "embeddings" / "hierce" / "seed1" / "pbc_test.h5ad").exists()
    sig = pd.read_csv(out / "evaluation" / "significance.csv")
    assert set(sig["reference"]) == {"hierce"} and set(sig["model"]) == {"unsup", "pixels", "starter"}
    assert set(sig["seed"]) == {-1, 0, 1} and set(sig.loc[sig["seed"] == -1, "n_seeds"]) == {2}
    for name in ("compare_losses_bacc", "confusion_by_lineage_pbc_test_20nn", "umap_hierce_pbc_test", "lca_pbc_test"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
    assert "train.data.root" not in (out / "experiment.yaml").read_text()  # written as nested keys

    report = tmp_path / "report"
    written = publish(out, report)
    assert (report / "figures" / "training_curves.png") in written
    assert not (report / "evaluation" / "predictions.csv").exists()  # per-cell tables stay in the run
    assert (report / "tables" / "table_pbc_test.md").read_text() == (out / "tables" / "table_pbc_test.md").read_text()
    # the published numbers, read back from the published CSVs: mean ± std over seeds of each seed's fold mean
    table = pd.read_csv(report / "tables" / "table_pbc_test.csv").set_index(["model", "probe"])
    assert not (report / "tables" / "metrics.csv").exists()  # published one column per metric
    m = pd.read_csv(report / "tables" / "fold_metrics.csv")
    for model in ("hierce", "pixels"):
        sel = m[(m["model"] == model) & (m["dataset"] == "pbc_test") & (m["probe"] == "20nn") & (m["fold"] >= 0)]
        assert table.loc[(model, "20nn"), "bAcc"] == _pm(sel.groupby("seed")["balanced_accuracy"].mean())
    published_sig = pd.read_csv(report / "tables" / "significance_pbc_test.csv")
    tidy = pd.read_csv(report / "evaluation" / "significance.csv")
    row = published_sig[(published_sig["Metric"] == "bAcc") & (published_sig["Other"] == "unsup")
                        & (published_sig["Task"] == "20nn")].iloc[0]
    both = tidy[(tidy["seed"] == -1) & (tidy["dataset"] == "pbc_test") & (tidy["metric"] == "balanced_accuracy")
                & (tidy["model"] == "unsup") & (tidy["probe"] == "20nn")].iloc[0]
    assert (row["Delta"] == pytest.approx(round(both["delta"], 4))
            and row["CI low"] == pytest.approx(round(both["ci_low"], 4)))
    training = pd.read_csv(report / "tables" / "training.csv").set_index(["model", "seed"])
    steps = pd.read_json(out / "models" / "hierce" / "seed0" / "metrics.jsonl", lines=True)
    assert training.loc[("hierce", 0), "sup_first"] == pytest.approx(steps["sup"].iloc[0], rel=1e-4)  # 3 steps: k = 1
    assert training.loc[("hierce", 0), "dino_last"] == pytest.approx(steps["dino"].iloc[-1], rel=1e-4)
    assert pd.isna(training.loc[("unsup", 1), "sup_last"]) and training.loc[("unsup", 1), "steps"] == 3
    h5ad = out / "embeddings" / "hierce" / "seed0" / "pbc_test.h5ad"
    stamp = h5ad.stat().st_mtime
    ckpt = max((out / "models" / "hierce" / "seed0" / "checkpoints").iterdir()).stat().st_mtime
    assert main(args[:2] + [str(MINI), *args[3:], "--stages", "train,embed"]) == 0
    assert h5ad.stat().st_mtime == stamp  # nothing re-embedded
    assert max((out / "models" / "hierce" / "seed0" / "checkpoints").iterdir()).stat().st_mtime == ckpt  # nor retrained
    sittings = json.loads((out / "summary.json").read_text())["sittings"]
    assert ([set(x["stage_seconds"]) for x in sittings]
            == [{"train", "embed", "evaluate", "figures"}, {"train", "embed"}])


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


@pytest.mark.slow
def test_paper_multilab_in_miniature(tmp_path, data_root, starter):
    """experiments/paper_multilab.yaml as it is but tiny (2 steps of 8 cells, 2 seeds, 60 cells per
    evaluation set, two of its models): the four training labs in one manifest at their own
    precision, no evaluation cell among them, ce_node trained, the seeds evaluated together."""
    import yaml

    from hierwbc.experiment import run_experiment

    path = Path(__file__).parents[2] / "experiments" / "paper_multilab.yaml"
    raw = yaml.safe_load(path.read_text())
    tiny = {"model.pretrained": str(starter), "model.img_size": 28, "batch_size": 8, "max_steps": 2,
            "checkpoint_every": 2, "knn_every": 0, "data.val_fraction": 0.0, "data.limit": None,
            "data.num_workers": 0, "data.cache_size": None, "data.root": str(data_root), "precision": "fp32",
            **{f"{head}.{k}": v for head in ("dino", "ibot") for k, v in
               (("head_n_prototypes", 64), ("head_hidden_dim", 64), ("head_bottleneck_dim", 32))}}
    cfg = load_experiment(path, {
        "out": str(tmp_path / "multilab"), "seeds": [0, 1], "train": {**raw["train"], **tiny},
        "models": {m: raw["models"][m] for m in ("ce_node", "hierce")}, "baselines": ["pixels"],
        "evaluation": {**raw["evaluation"], "cv": 2, "n_boot": 20,
                       "sets": [{"name": "pbc_test", "source": "pbc", "split": "test", "limit": 60},
                                {"name": "bccd", "source": "bccd", "limit": 60}]},
        "figures": {}})
    out = run_experiment(cfg, stages=("train", "embed", "evaluate"), progress=False)

    trained = pd.read_csv(out / "models" / "ce_node" / "seed1" / "train_manifest.csv")
    assert set(trained["dataset"]) == {"pbc", "lisc", "raabin", "aslan"}
    assert set(trained.loc[trained["dataset"].isin(["raabin", "aslan"]), "node"]) == {"wbc"}  # root precision
    assert set(trained.loc[trained["dataset"] == "lisc", "node"]) == {"neutrophil", "lymphoid_mature", "monocyte",
                                                                      "eosinophil", "basophil"}
    assert len(trained) == (trained["split"] == "train").sum() > 10000
    import anndata as ad

    evaluated = {p for s in ("pbc_test", "bccd")
                 for p in ad.read_h5ad(out / "embeddings" / "pixels" / f"{s}.h5ad").obs["path"]}
    assert len(evaluated) > 100  # BCCD crops of one smear share its path
    assert not evaluated & set(trained["path"])  # no evaluation cell was trained on
    done = json.loads((out / "models" / "ce_node" / "seed1" / "DONE.json").read_text())
    assert done["steps"] == 2 and done["config"]["supervised"]["loss"] == "ce_node"
    assert done["config"]["data"]["lab_weights"] == ["pbc=10", "lisc=1", "raabin=1", "aslan=1"]
    metrics = pd.read_csv(out / "evaluation" / "metrics.csv")
    assert set(metrics["model"]) == {"ce_node", "hierce", "pixels"} and set(metrics["seed"]) == {0, 1}
    assert set(metrics["dataset"]) == {"pbc_test", "bccd"}
