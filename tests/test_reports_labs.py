"""reports/labs and reports/adaptation: every table, verdict and card number is what the folder's
scripts compute from the CSVs beside them."""

import importlib.util
import shutil
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
LABS = REPO / "reports" / "labs"
ADAPTATION = REPO / "reports" / "adaptation"
CARD = REPO / "hierwbc" / "weights" / "README.md"


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_labs_tables_and_verdict_rebuild_from_their_csvs(tmp_path):
    for f in ("zero_shot.csv", "trials.csv", "parents.csv"):
        shutil.copy2(LABS / f, tmp_path / f)
    _module(LABS / "make_report.py").main(["build", "--out", str(tmp_path)])
    for f in ("tables.md", "verdict.md"):
        assert (tmp_path / f).read_text() == (LABS / f).read_text(), f


def test_rule_one_keeps_a_lever_only_for_two_points_on_lisc():
    make_report = _module(LABS / "make_report.py")
    scores = pd.DataFrame({"model": ["cnn_pbc", "a", "b"], "set": "lisc", "balanced_accuracy": [0.40, 0.419, 0.45],
                           "accuracy": 0.0, "n": 1})
    trials = pd.DataFrame({"model": ["cnn_pbc", "a", "b"], "labs": '["pbc"]', "val_accuracy": [0.95, 0.99, 0.92]})
    text = "\n".join(make_report.verdict(scores, trials))
    assert "Chosen: `cnn_pbc`." in text          # a: under 2 points; b: validation under 93 %
    trials.loc[2, "val_accuracy"] = 0.94
    assert "Chosen: `b`." in "\n".join(make_report.verdict(scores, trials))


@pytest.mark.parametrize("model", ["cnn_pbc", "cnn_pbc+recentre"])
def test_default_card_tables_are_zero_shot_csv(model):
    make_report = _module(LABS / "make_report.py")
    scores = pd.read_csv(LABS / "zero_shot.csv")
    assert make_report.card_table(scores, model) in CARD.read_text()


def test_adaptation_summary_rebuilds_from_curves(tmp_path):
    for f in ("curves.csv", "adapt_seconds.csv"):
        shutil.copy2(ADAPTATION / f, tmp_path / f)
    _module(ADAPTATION / "make_report.py").main(["build", "--out", str(tmp_path)])
    for f in ("summary.csv", "summary.md"):
        assert (tmp_path / f).read_text() == (ADAPTATION / f).read_text(), f
