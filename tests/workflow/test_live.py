"""train_live: curves redrawn from metrics.jsonl while the worker trains; worker errors re-raised."""

import json
import time
from types import SimpleNamespace

import pytest

from hierwbc.experiment.layout import RunLayout
from hierwbc.workflow import train_live


def _cfg(tmp_path):
    return SimpleNamespace(out=str(tmp_path),
                           models={"a": {"preset": "unsup"}, "b": {"preset": "hierce", "alpha": 0.1}},
                           train={"max_steps": 3}, seeds=[0], layout=RunLayout(tmp_path))


def test_curves_follow_the_metrics_files_and_errors_come_back(tmp_path, monkeypatch, capsys):
    def fake_train(cfg, names=None, progress=True):
        for name in cfg.models:
            path = tmp_path / "models" / name / "metrics.jsonl"
            path.parent.mkdir(parents=True)
            for step in range(3):
                with path.open("a") as f:
                    f.write(json.dumps({"step": step, "loss": 5.0 - step, "dino": 1.0}) + "\n")
                time.sleep(0.05)
        return {n: {"steps": 3} for n in cfg.models}

    monkeypatch.setattr("hierwbc.experiment.runner.train_models", fake_train)
    records, fig = train_live(_cfg(tmp_path), every=0.02)
    assert records == {"a": {"steps": 3}, "b": {"steps": 3}}
    loss = next(ax for ax in fig.axes if ax.get_title() == "loss")
    assert {ln.get_gid(): list(ln.get_ydata()) for ln in loss.get_lines()} == {"run:a": [5, 4, 3], "run:b": [5, 4, 3]}
    assert "3/3" in capsys.readouterr().out  # the status table was displayed (as text outside a kernel)

    def broken(cfg, names=None, progress=True):
        raise RuntimeError("step 1: loss term 'sup' = nan")

    monkeypatch.setattr("hierwbc.experiment.runner.train_models", broken)
    with pytest.raises(RuntimeError, match="'sup' = nan"):
        train_live(_cfg(tmp_path / "x"), every=0.02, display_output=False)
