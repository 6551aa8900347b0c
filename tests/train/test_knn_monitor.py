"""The online kNN monitor (features that carry the label -> high, noise -> chance), its
falling-kNN watch, and a short run that logs kNN checks at the right steps."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from hierwbc.config import make_config
from hierwbc.hierarchy import default_hierarchy
from hierwbc.train.diagnostics import KnnWatch
from hierwbc.train.knn_monitor import KnnMonitor, knn_scores
from hierwbc.train.loop import fit
from hierwbc.train.prepare import validation_rows

from .helpers import TINY

CLASSES = ["neutrophil_segmented", "lymphocyte_typical", "monocyte", "eosinophil"]


class MeanColour(nn.Module):
    """A 'backbone' whose cls token is the mean colour of the image (3 features)."""

    def forward_features(self, x):
        return {"x_norm_clstoken": x.mean(dim=(2, 3))}


def _images(labels, rng, informative):
    n = len(labels)
    if informative:  # class c: a flat image of grey level 40 + 50 c, plus small noise
        base = 40 + 50 * np.asarray(labels)[:, None, None, None]
        x = base + rng.integers(-5, 6, size=(n, 3, 8, 8))
    else:
        x = rng.integers(0, 256, size=(n, 3, 8, 8))
    return torch.as_tensor(np.clip(x, 0, 255), dtype=torch.uint8)


@pytest.mark.parametrize("informative, low, high", [(True, 0.99, 1.0), (False, 0.15, 0.35)])
def test_monitor_is_high_when_features_carry_the_label_and_chance_on_noise(informative, low, high):
    h = default_hierarchy()
    rng = np.random.default_rng(0)
    ref_cls, query_cls = rng.integers(0, 4, 800), rng.integers(0, 4, 800)
    nodes = h.indices(CLASSES)
    monitor = KnnMonitor(h, _images(ref_cls, rng, informative), nodes[ref_cls],
                         _images(query_cls, rng, informative), nodes[query_cls], k=20)
    scores = monitor(MeanColour())
    assert low <= scores["knn_bacc"] <= high  # 4 balanced classes: chance is 0.25
    assert 0 <= scores["knn_acc"] <= 1


def test_knn_scores_match_a_naive_majority_vote():
    h = default_hierarchy()
    rng = np.random.default_rng(1)
    nodes = h.indices(CLASSES)
    ref, query = rng.normal(size=(60, 5)), rng.normal(size=(25, 5))
    ref_y, query_y = nodes[rng.integers(0, 4, 60)], nodes[rng.integers(0, 4, 25)]
    got = knn_scores(h, ref, ref_y, query, query_y, k=5)
    # naive reference: standardize on the references, 5 nearest, majority (ties: nearest member)
    mu, sd = ref.mean(0), ref.std(0)
    zr, zq = (ref - mu) / sd, (query - mu) / sd
    pred = []
    for q in zq:
        d = ((zr - q) ** 2).sum(1)
        near = np.argsort(d)[:5]
        labels, votes = np.unique(ref_y[near], return_counts=True)
        tied = labels[votes == votes.max()]
        pred.append(min(tied, key=lambda c: d[ref_y == c].min()))
    pred = np.array(pred)
    recalls = [np.mean(pred[query_y == c] == c) for c in np.unique(query_y)]
    assert got["knn_acc"] == pytest.approx(np.mean(pred == query_y))
    assert got["knn_bacc"] == pytest.approx(np.mean(recalls))


def test_monitor_refuses_unlabelled_rows():
    h = default_hierarchy()
    x = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    with pytest.raises(ValueError, match="labelled"):
        KnnMonitor(h, x, [0, -1], x, [0, 0])


def test_knn_watch_fires_once_after_patience_falls_in_a_row():
    w = KnnWatch(patience=3)
    assert w.update(0, 0.40) is None
    assert w.update(100, 0.38) is None  # 1 fall
    assert w.update(200, 0.39) is None  # rise resets
    assert w.update(300, 0.35) is None
    assert w.update(400, 0.33) is None
    msg = w.update(500, 0.30)  # third fall in a row
    assert msg is not None and "3 checks in a row" in msg and "step 500" in msg
    assert w.update(600, 0.20) is None  # said once


def test_knn_watch_counts_falls_across_a_resume():
    """Two falls before a resume and one after are three in a row; a warning given before the
    resume is not given again."""
    resumed = KnnWatch(patience=3, min_delta=0.01)
    resumed.replay([(0, 0.50), (250, 0.45), (500, 0.40)])
    assert resumed.update(750, 0.35) is not None
    told = KnnWatch(patience=3, min_delta=0.01)
    told.replay([(0, 0.50), (250, 0.45), (500, 0.40), (750, 0.35)])
    assert told.update(1000, 0.30) is None


def test_knn_watch_ignores_falls_within_noise_of_the_best():
    # stage 2 of the shipped starter: three small decreases after its best (0.3, 0.2, 1.2 points)
    curve = [(1300, 0.500), (1400, 0.512), (1500, 0.509), (1600, 0.507), (1700, 0.495), (1800, 0.502)]
    w = KnnWatch(patience=3, min_delta=0.01)
    assert all(w.update(s, v) is None for s, v in curve)
    assert w.best == 0.512
    strict = KnnWatch(patience=3, min_delta=0.0)  # every decrease below the best counts
    assert [strict.update(s, v) is not None for s, v in curve] == [False, False, False, False, True, False]
    # a steady decline fires once it has left the best by more than min_delta three times
    w = KnnWatch(patience=3, min_delta=0.01)
    fired = [w.update(i, v) for i, v in enumerate([0.51, 0.505, 0.50, 0.495, 0.49, 0.485, 0.48])]
    assert [m is not None for m in fired] == [False] * 5 + [True, False] and "below its best 0.510" in fired[5]


def test_a_run_logs_knn_at_start_every_n_steps_and_at_the_end(data_root, tmp_path):
    cfg = {**TINY, "model.img_size": 28, "data.limit": 96, "data.root": str(data_root),
           "data.val_fraction": 0.25, "knn_every": 2, "knn_references": 40, "knn_queries": 30,
           "data.cache_size": 40, "data.cache_dir": str(tmp_path / "cache"),
           "crops.local_crops_number": 2, "crops.local_crops_size": 14, "knn_lab_shift": True}
    result = fit(None, preset="unsup", max_steps=5, out=str(tmp_path / "run"), progress=False, **cfg)
    rows = [json.loads(x) for x in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    knn = [r for r in rows if "knn_bacc" in r]
    assert [r["step"] for r in knn] == [0, 2, 4, 5]
    assert all(0 <= r["knn_bacc"] <= 1 and 0 <= r["knn_bacc_shifted"] <= 1 for r in knn)
    assert [r["step"] for r in rows if "loss" in r] == [0, 1, 2, 3, 4]
    train = pd.read_csv(result.run_dir / "train_manifest.csv")
    val = validation_rows(make_config("unsup", overrides=cfg), default_hierarchy())
    assert 90 <= len(train) <= 96 and len(val) > 0  # data.limit: at most 96 (duplicates kept together)
    assert not set(train["path"]) & set(val["path"])  # validation rows never train
    info = json.loads((result.run_dir / "precision.json").read_text())
    assert info["precision"] == "fp32"
    # resuming the finished run (as `hierwbc experiment` does) redoes and rewrites nothing: the log
    # keeps its last kNN check, the run's files are untouched
    files = ("metrics.jsonl", "config.yaml", "train_manifest.csv", "precision.json", "checkpoints/step_000005.pt")
    before = {f: (result.run_dir / f).stat().st_mtime_ns for f in files}
    log = (result.run_dir / "metrics.jsonl").read_text()
    again = fit(None, preset="unsup", max_steps=5, out=str(tmp_path / "run"), progress=False, resume=True, **cfg)
    assert (result.run_dir / "metrics.jsonl").read_text() == log and again.checkpoint == result.checkpoint
    assert {f: (result.run_dir / f).stat().st_mtime_ns for f in files} == before
    assert again.step == 5 and len(again.metrics) == len(rows)
