"""Notebooks 02-09's path on the synthetic set (no real data): experiment file, training with
live curves, every set embedded, one cached evaluation."""

import json

import numpy as np
import pandas as pd
import pytest

from hierwbc.evaluate import evaluate
from hierwbc.workflow import (
    RunFolder,
    dataset_manifests,
    embed_all,
    evaluation,
    notebook_experiment,
    train_live,
    training_summary,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import os

    empty = tmp_path_factory.mktemp("nodata")
    old = os.environ.get("HIERWBC_DATA")
    os.environ["HIERWBC_DATA"] = str(empty)
    try:
        run = RunFolder(tmp_path_factory.mktemp("run"))
        dataset_manifests(run, synthetic_per_leaf=3, synthetic_size=28, progress=False)
    finally:
        os.environ.pop("HIERWBC_DATA") if old is None else os.environ.__setitem__("HIERWBC_DATA", old)
    cfg = notebook_experiment(run, ["unsup", "hierce_a0.2"], steps=2, img_size=28, batch_size=8, train_limit=24,
                              eval_limit=None, head_prototypes=16, head_hidden_dim=16, head_bottleneck_dim=8, cv=2,
                              n_boot=10, baselines=["pixels"])
    records, fig = train_live(cfg, every=0.5, display_output=False)
    return run, cfg, records, fig


@pytest.mark.slow
def test_training_with_live_curves(trained):
    run, cfg, records, fig = trained
    assert set(records) == {"unsup", "hierce_a0.2"} and all(r["seed0"]["steps"] == 2 for r in records.values())
    assert records["hierce_a0.2"]["seed0"]["config"]["supervised"]["alpha"] == 0.2
    loss_ax = next(ax for ax in fig.axes if ax.get_title() == "loss")
    assert {ln.get_gid() for ln in loss_ax.get_lines()} == {"run:unsup", "run:hierce_a0.2"}
    sup_ax = next(ax for ax in fig.axes if ax.get_title() == "sup")
    assert [ln.get_gid() for ln in sup_ax.get_lines()] == ["run:hierce_a0.2"]
    metrics = pd.read_json(run.models / "unsup" / "metrics.jsonl", lines=True)
    np.testing.assert_allclose(next(ln for ln in loss_ax.get_lines() if ln.get_gid() == "run:unsup").get_ydata(),
                               metrics["loss"])
    table = training_summary(records)
    assert table["steps"].tolist() == [2, 2] and "sup" in table
    again, _ = train_live(cfg, every=0.5, display_output=False)  # done: skipped, same records
    assert again == records


@pytest.mark.slow
def test_embed_all_and_cached_evaluation(trained):
    run, _cfg, _, _ = trained
    files = embed_all(run, progress=False)
    assert (sorted(zip(files["model"], files["set"]))
            == [(m, "synthetic_test") for m in ("hierce_a0.2", "pixels", "unsup")])
    adatas = run.embeddings()
    assert list(adatas) == ["unsup", "hierce_a0.2", "pixels"]  # experiment order: models, then baselines
    first = evaluation(run, adatas, progress=False)
    assert "cached" not in first.timings and first.reference == "hierce_a0.2"
    stamp = json.loads((run.evaluation_dir / "inputs.json").read_text())
    assert stamp["settings"]["n_boot"] == 10 and set(stamp["files"]) == set(adatas)
    cached = evaluation(run, adatas, progress=False)
    assert cached.timings == {"cached": str(run.evaluation_dir)}
    for table in ("metrics", "severity", "significance"):
        pd.testing.assert_frame_equal(getattr(cached, table).reset_index(drop=True),
                                      getattr(first, table).reset_index(drop=True), check_dtype=False,
                                      check_categorical=False)
    p = cached.predictions
    assert list(p["true"].cat.categories) == list(first.hierarchy.nodes) and p["correct"].dtype == bool
    assert (p["true"].astype(str) == first.predictions["true"].astype(str)).all()
    fresh = evaluate(adatas, cv=2, n_boot=10, progress=False, reference="hierce_a0.2")
    pd.testing.assert_frame_equal(fresh.metrics, first.metrics)
    assert (run.tables / "table_synthetic_test.md").exists()
    path = run.embeddings_dir / "pixels" / "synthetic_test.h5ad"
    path.write_bytes(path.read_bytes())  # re-embedded: the cache is stale
    assert "cached" not in evaluation(run, run.embeddings(), progress=False).timings
