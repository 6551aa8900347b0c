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


def test_round_three_keeps_a_lever_for_in_domain_accuracy_and_ranks_by_validation():
    """RULES.md addendum 5: on top of cnn_pbc_colour_reframe a lever is also kept for +0.5
    validation with LISC at most 2.0 below; the kept lever with the best validation wins."""
    make_report = _module(LABS / "make_report.py")
    models = ["cnn_pbc", "cnn_pbc_colour_reframe", "x", "y", "z"]
    lisc = [0.40, 0.58, 0.565, 0.62, 0.55]
    val = [0.96, 0.932, 0.950, 0.935, 0.99]
    scores = pd.DataFrame({"model": models, "set": "lisc", "balanced_accuracy": lisc, "accuracy": 0.0, "n": 1})
    trials = pd.DataFrame({"model": models, "labs": '["pbc"]', "val_accuracy": val})
    parents = pd.DataFrame({"model": ["cnn_pbc_colour_reframe", "x", "y", "z"],
                            "parent": ["cnn_pbc", "cnn_pbc_colour_reframe", "cnn_pbc_colour_reframe",
                                       "cnn_pbc_colour_reframe"]})
    text = "\n".join(make_report.verdict(scores, trials, parents))
    # x: +1.8 validation, LISC -1.5 (kept, in-domain); y: +4.0 LISC (kept, rule 1); z: LISC -3.0 (not kept)
    assert ("`x` against `cnn_pbc_colour_reframe`: 56.5 % (-1.5 points), PBC validation accuracy 95.0 % (+1.8): "
            "kept") in text
    assert ("`z` against `cnn_pbc_colour_reframe`: 55.0 % (-3.0 points), PBC validation accuracy 99.0 % (+5.8): "
            "not kept (neither") in text
    assert "Chosen: `x`." in text  # x's validation 95.0 beats y's 93.5


def test_rule_three_outcomes():
    make_report = _module(LABS / "make_report.py")
    base = pd.DataFrame({"model": ["cnn_pbc", "chosen", "cnn_pbc_lisc"], "set": ["lisc", "lisc", "pbc_test"],
                         "balanced_accuracy": [0.40, 0.60, 0.959], "accuracy": [0.0, 0.0, 0.971], "n": 1})

    def outcome(bacc, acc):
        cand = pd.DataFrame({"model": ["cnn_default_five"], "set": ["pbc_test"], "balanced_accuracy": [bacc],
                             "accuracy": [acc], "n": 1})
        return "\n".join(make_report.rule_three(pd.concat([base, cand]), "chosen"))

    assert "replaces the default" in outcome(0.960, 0.95)
    assert "ships beside it as `hierwbc-cnn-labs`" in outcome(0.950, 0.94)
    assert "is not shipped" in outcome(0.950, 0.92)
    assert make_report.rule_three(base, "chosen") == []  # not scored yet


@pytest.mark.parametrize("model", ["cnn_pbc", "cnn_pbc+recentre", "cnn_default_five", "cnn_default_five+recentre"])
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


def test_card_leaf_scores_are_leaf_scores_csv():
    leaf = pd.read_csv(LABS / "leaf_scores.csv").set_index("model")
    card = " ".join(CARD.read_text().split())
    for model in ("cnn_default_five", "cnn_pbc"):
        r = leaf.loc[model]
        assert r["cells"] == 3417
        assert (f"leaf accuracy is {100 * r['leaf_accuracy']:.1f} % and its back-off accuracy "
                f"{100 * r['backoff_accuracy']:.1f} %") in card, model
