"""The published reports' numbers reproduce from the files beside them.

- reports/reproduction: ``verdict.md`` (and the README, which quotes it verbatim) is what
  ``verdict.py`` computes from the folder's CSVs; ``tables/table_<set>.csv`` (mean ± std over
  seeds of the per-seed fold means) recomputed here from ``tables/fold_metrics.csv`` with pandas alone.
- reports/multilab/seed0: its ``verdict.md`` (quoted by reports/multilab/README.md) is what
  ``verdict.py --compare reports/reproduction/longer_seeds`` computes from its CSVs.
- the model card of the shipped starter (hierwbc/weights/README.md): its evaluation table is
  reports/pretraining/tables/table_<set>.csv.
"""

import importlib.util
import json
import re
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
REPRODUCTION = REPO / "reports" / "reproduction"
PRETRAINING = REPO / "reports" / "pretraining"
MULTILAB = REPO / "reports" / "multilab"
CARD = REPO / "hierwbc" / "weights" / "README.md"


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verdict = _module(REPRODUCTION / "verdict.py")


def _sig(**row) -> pd.DataFrame:
    base = {"seed": -1, "reference": "hierce", "dataset": "pbc_test", "probe": "20nn"}
    return pd.DataFrame([{**base, **row}])


def test_verdict_turns_rival_minus_hierce_into_hierce_minus_rival():
    # the bootstrap's delta is model - reference: CE 3.1 points below HierCE, interval [-5.0, -1.0]
    sig = _sig(model="ce", metric="balanced_accuracy", delta=-0.031, ci_low=-0.05, ci_high=-0.01, significant=True)
    assert verdict.versus(sig, "ce", "pbc_test", "20nn", "balanced_accuracy") == ("**+3.1 [+1.0, +5.0]**", 1)
    # LCA of mistakes: lower is better; CE's mistakes 0.2 edges deeper -> HierCE -0.20, better
    sig = _sig(model="ce", metric="mistake_severity", delta=0.2, ci_low=0.05, ci_high=0.3, significant=True)
    assert verdict.versus(sig, "ce", "pbc_test", "20nn", "mistake_severity") == ("**-0.20 [-0.30, -0.05]**", 1)
    sig = _sig(model="ce", metric="balanced_accuracy", delta=0.02, ci_low=0.001, ci_high=0.04, significant=True)
    assert verdict.versus(sig, "ce", "pbc_test", "20nn", "balanced_accuracy")[1] == -1
    sig = _sig(model="ce", metric="balanced_accuracy", delta=0.0004, ci_low=-0.01, ci_high=0.01, significant=False)
    assert verdict.versus(sig, "ce", "pbc_test", "20nn", "balanced_accuracy") == ("+0.0 [-1.0, +1.0]", 0)
    assert verdict.versus(sig, "supcon", "pbc_test", "20nn", "balanced_accuracy") == ("", 0)
    # several training seeds: the pooled rows (seed -1) only; one seed evaluated alone: its own rows
    both = pd.concat([_sig(model="ce", metric="balanced_accuracy", delta=-0.031, ci_low=-0.05, ci_high=-0.01,
                           significant=True),
                      _sig(seed=0, model="ce", metric="balanced_accuracy", delta=0.1, ci_low=0.05, ci_high=0.15,
                           significant=True)])
    assert verdict.versus(both, "ce", "pbc_test", "20nn", "balanced_accuracy")[1] == 1
    assert verdict.versus(both[both["seed"] == 0], "ce", "pbc_test", "20nn", "balanced_accuracy")[1] == -1


def test_over_seeds_shows_a_spread_only_where_seeds_differ():
    rows = [("hierce", 0, 0.60), ("hierce", 1, 0.64), ("starter", 0, 0.5512), ("starter", 1, 0.5512)]
    means = pd.DataFrame([{"model": m, "dataset": "bccd", "probe": "20nn", "metric": "balanced_accuracy",
                           "seed": s, "value": v} for m, s, v in rows])
    # 60 and 64 points: mean 62.0, sample std sqrt(8) = 2.83
    assert verdict.over_seeds(means, "hierce", "bccd", "20nn", "balanced_accuracy") == "62.0 ± 2.8"
    # embedded once for every seed: the same value in each, no spread to show
    assert verdict.over_seeds(means, "starter", "bccd", "20nn", "balanced_accuracy") == "55.1"
    assert verdict.over_seeds(means, "ce", "bccd", "20nn", "balanced_accuracy") == ""


def _seed_means(rows, probe="20nn"):
    return pd.DataFrame([{"model": m, "dataset": "bccd", "probe": probe, "metric": "balanced_accuracy",
                          "seed": s, "value": v} for m, s, v in rows])


def test_against_single_lab_sets_gains_over_each_runs_own_starter_side_by_side():
    single = _seed_means([("hierce", 0, 0.60), ("hierce", 1, 0.64), ("starter", 0, 0.50), ("starter", 1, 0.50)])
    multi = _seed_means([("hierce", 0, 0.70), ("hierce", 1, 0.70), ("starter", 0, 0.65), ("starter", 1, 0.65),
                         ("ce", 0, 0.5)])  # ce: not in the single-lab folder, left out
    lines = verdict.against_single_lab(multi, single, ["bccd"], "###")
    rows = [line for line in lines if line.startswith(("| hierce", "| starter", "| ce"))]
    # one lab: 62.0 ± 2.8, gain 62 - 50 = +12.0; four labs: 70.0 (no spread), gain 70 - 65 = +5.0
    assert rows[0] == "| hierce | bccd | 20-NN | 62.0 ± 2.8 | 70.0 | +12.0 | +5.0 |"
    assert rows[1] == "| starter | bccd | 20-NN | 50.0 | 65.0 |  |  |"
    assert len(rows) == 2  # a probe neither folder ran (logreg here) has no rows


def test_reproduction_verdict_reads_back_from_its_csvs():
    text = verdict.verdict_markdown(REPRODUCTION)
    assert (REPRODUCTION / "verdict.md").read_text() == text
    assert text in (REPRODUCTION / "README.md").read_text(), "README.md must quote verdict.md verbatim"


def test_multilab_verdict_reads_back_from_its_csvs():
    """reports/multilab/seed0 (the first training seed of experiments/paper_multilab.yaml,
    published before the others): its verdict, against the single-lab run, is what verdict.py
    computes from the folder's CSVs, and the README quotes it."""
    folder = MULTILAB / "seed0"
    text = verdict.verdict_markdown(folder, 4, REPRODUCTION / "longer_seeds")
    assert (folder / "verdict.md").read_text() == text
    assert text in (MULTILAB / "README.md").read_text(), "README.md must quote seed0/verdict.md verbatim"
    assert {"hierwbc-cnn-labs", "hierwbc-cnn-pbc"} <= set(pd.read_csv(folder / "tables" / "fold_metrics.csv")["model"])


def _mean_std(cell: str) -> tuple[float, float]:
    mean, std = (float(x) for x in cell.split("±"))
    return mean, std


@pytest.mark.parametrize("name", ["pbc_test", "bccd", "segmentation_wbc"])
def test_reproduction_tables_reproduce_from_metrics_csv(name):
    metrics = pd.read_csv(REPRODUCTION / "tables" / "fold_metrics.csv")  # one column per metric
    table = pd.read_csv(REPRODUCTION / "tables" / f"table_{name}.csv")
    columns = {"bAcc": "balanced_accuracy", "wF1": "weighted_f1", "LCA": "mistake_severity"}
    per_fold = metrics[(metrics["dataset"] == name) & (metrics["fold"] >= 0)]
    assert len(table) >= 10 * 3
    for row in table.itertuples(index=False):
        row = row._asdict()
        for column, metric in columns.items():
            values = per_fold[(per_fold["model"] == row["model"]) & (per_fold["probe"] == row["probe"])]
            values = values.rename(columns={metric: "value"})
            scale = 1 if metric == "mistake_severity" else 100
            by_seed = values.groupby("seed")["value"].mean() * scale
            mean, std = _mean_std(row[column])
            assert mean == pytest.approx(by_seed.mean(), abs=0.006), (row["model"], row["probe"], column)
            # over seeds (a seed-free baseline, starter or pixels, is the same in every seed: 0)
            expected_std = by_seed.std(ddof=1) if len(by_seed) > 1 else values["value"].std(ddof=1) * scale
            assert std == pytest.approx(expected_std, abs=0.006), (row["model"], row["probe"], column)


@pytest.mark.parametrize("section, folder, model", [
    (0, PRETRAINING, "starter"),                                     # hierwbc-tiny-pbc
    (1, REPRODUCTION / "longer_training", "unsup_1500_s1"),          # hierwbc-tiny-pbc-long
    (3, PRETRAINING / "tiny8", "starter"),                           # hierwbc-tiny8-pbc
])
def test_label_free_model_cards_evaluation_is_their_report(section, folder, model):
    """The card's table (per set and probe: bAcc of the file and of random weights, mean ± std
    over the 5 folds, and the difference; weighted F1 of both) is the report folder's metrics."""
    sets = {"pbc_test": "pbc_test", "BCCD": "bccd", "segmentation_wbc": "segmentation_wbc"}
    probes = {"20-NN": "20nn", "logreg": "logreg"}
    card = CARD.read_text().split("\n---\n")[section]  # starter, long, classifier, tiny8
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in card.splitlines()
            if re.match(r"\| (pbc_test|BCCD|segmentation_wbc)\b", line)]
    assert len(rows) == 6
    metrics = pd.read_csv(folder / "tables" / "metrics.csv")
    metrics = metrics[metrics["fold"] >= 0]
    for cells in rows:
        name, probe = sets[cells[0].split(" (")[0]], probes[cells[1]]

        def folds(m, metric, name=name, probe=probe):
            return metrics[(metrics["model"] == m) & (metrics["dataset"] == name) & (metrics["probe"] == probe)
                           & (metrics["metric"] == metric)]["value"] * 100

        ours, random = folds(model, "balanced_accuracy"), folds("random_init", "balanced_accuracy")
        assert len(ours) == len(random) == 5  # 5-fold CV
        assert cells[2] == f"{ours.mean():.1f} ± {ours.std(ddof=1):.1f}", (name, probe)
        assert cells[3] == f"{random.mean():.1f} ± {random.std(ddof=1):.1f}", (name, probe)
        assert cells[4].strip("*") == f"{ours.mean() - random.mean():+.1f}", (name, probe)
        assert cells[5] == f"{folds(model, 'weighted_f1').mean():.1f}", (name, probe)
        assert cells[6] == f"{folds('random_init', 'weighted_f1').mean():.1f}", (name, probe)


def test_tiny8_table_of_the_pretraining_report_is_its_metrics():
    """reports/pretraining/README.md's hierwbc-tiny8-pbc table (bAcc of the file, of its random
    weights, their difference and the 56 px starter's, fold means) is tiny8/tables/metrics.csv."""
    text = (PRETRAINING / "README.md").read_text().split("## A 64 px / patch 8 backbone")[1].split("\n## ")[0]
    rows = [[c.strip().strip("*") for c in line.strip("|").split("|")] for line in text.splitlines()
            if re.match(r"\| (pbc_test|BCCD|segmentation_wbc) \|", line)]
    assert len(rows) == 6
    metrics = pd.read_csv(PRETRAINING / "tiny8" / "tables" / "metrics.csv")
    metrics = metrics[(metrics["fold"] >= 0) & (metrics["metric"] == "balanced_accuracy")]
    means = metrics.groupby(["model", "dataset", "probe"])["value"].mean() * 100
    for set_name, probe, ours, random, difference, starter in rows:
        key = (set_name.lower(), {"20-NN": "20nn", "logreg": "logreg"}[probe])
        assert ours == f"{means[('starter', *key)]:.1f}", key
        assert random == f"{means[('random_init', *key)]:.1f}", key
        assert difference == f"{means[('starter', *key)] - means[('random_init', *key)]:+.1f}", key
        assert starter == f"{means[('tiny14', *key)]:.1f}", key


def _card_section(marker: str) -> str:
    """The model card's section (cards are separated by '---') holding ``<!-- marker:start -->``."""
    return next(sec for sec in CARD.read_text().split("\n---\n") if f"<!-- {marker}:start -->" in sec)


# the classifiers' cards: (table marker, scores, head-fit report, reinhard scores, calls)
CLASSIFIER_FILES = {
    "classifier": ("classifier.csv", "classifier_fit.json", "classifier_reinhard.csv", "classifier_calls.csv"),
    "classifier56": ("classifier_trials/long3000.csv", "classifier_trials/long3000.fit.json",
                     "classifier_trials/long3000_reinhard.csv", "classifier_trials/long3000_calls.csv"),
}


@pytest.mark.parametrize("marker", CLASSIFIER_FILES)
def test_classifier_model_card_is_classifier_csv(marker):
    """Each classifier card's table (the default one's and the 56 px one's) is its scores CSV."""
    scores, fit_report = CLASSIFIER_FILES[marker][:2]
    table = pd.read_csv(REPRODUCTION / scores).set_index("set")
    card = CARD.read_text()
    block = card.split(f"<!-- {marker}:start -->")[1].split(f"<!-- {marker}:end -->")[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in block.strip().splitlines()[2:]]
    assert [r[0].split(" (")[0] for r in rows] == list(table.index)
    for cells in rows:
        r = table.loc[cells[0].split(" (")[0]]
        expected = [f"{r.name} ({r['n']})",
                    f"{100 * r['leaf_accuracy']:.1f}", f"{100 * r['balanced_accuracy']:.1f}",
                    f"{100 * r['hierarchical_f1']:.1f}", f"{100 * r['backoff_accuracy']:.1f}",
                    f"{r['backoff_mean_depth']:.2f}", f"{100 * r['backoff_root']:.1f}"]
        assert cells == expected
    fit = json.loads((REPRODUCTION / fit_report).read_text())
    held_out = "held out of the head's fit only, whose labels its backbone did see: leaf accuracy"
    assert f"{held_out} {100 * fit['holdout_leaf_accuracy']:.1f} %" in " ".join(_card_section(marker).split())


def test_pretraining_trials_table_reproduces_from_its_run_copies():
    """trials.csv is computed from reports/pretraining/runs/ (committed copies of the runs)."""
    make_report = _module(PRETRAINING / "make_report.py")
    table = make_report.table()
    published = pd.read_csv(PRETRAINING / "trials.csv")
    assert sorted(table["run"]) == sorted(published["run"]) and "S2B" in set(table["run"])
    pd.testing.assert_frame_equal(table.reset_index(drop=True), published, check_dtype=False)
    assert table.set_index("run").loc["S2B", "from step"] == 2600


def test_a_run_continuing_a_shipped_file_counts_from_that_files_steps():
    """From the shipped files' metadata, as the model card counts them: the starter 2,600 + 1,800,
    hierwbc-tiny8-pbc 2,300 + 1,800, hierwbc-tiny-pbc-long the starter's 4,400 + 1,500."""
    make_report = _module(PRETRAINING / "make_report.py")
    steps = {name: make_report.start_step({"model.pretrained": name})
             for name in ("hierwbc-tiny-pbc", "hierwbc-tiny8-pbc", "hierwbc-tiny-pbc-long")}
    assert steps == {"hierwbc-tiny-pbc": 4400, "hierwbc-tiny8-pbc": 4100, "hierwbc-tiny-pbc-long": 5900}
    assert make_report.start_step({"model.pretrained": "runs/x/stage1_step002600.safetensors"}) == 2600
    assert make_report.start_step({}) == 0


def test_collect_keeps_the_later_record_of_a_resumed_step(tmp_path):
    """A run resumed from its step-20 checkpoint logs steps 21.. again: the copy keeps one record
    per step (the later one), every 10th step, every kNN check and the last step."""
    make_report = _module(PRETRAINING / "make_report.py")
    run = tmp_path / "runs_in" / "R"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("batch_size: 4\n")
    rows = [{"step": 0, "knn_bacc": 0.1}] + [{"step": s, "loss": 1.0} for s in range(26)]
    rows += [{"step": s, "loss": 2.0} for s in range(21, 31)] + [{"step": 30, "knn_bacc": 0.3}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    make_report.collect([run], tmp_path / "out")
    kept = [json.loads(ln) for ln in (tmp_path / "out" / "runs" / "R" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r.get("loss", r.get("knn_bacc"))) for r in kept] == [
        (0, 0.1), (0, 1.0), (10, 1.0), (20, 1.0), (30, 0.3), (30, 2.0)]


def test_short_trials_table_reads_back():
    """The from-scratch trials compared at step 400 (reports/pretraining/README.md, short_trials.md)
    are make_report.short_trials() of the run copies; each step-400 value is also the one that
    trials.csv lists among that run's kNN checks."""
    from hierwbc.evaluate.tables import to_markdown

    make_report = _module(PRETRAINING / "make_report.py")
    short = make_report.short_trials()
    assert {"T1_56p14", "T1r_bf16", "T3_koleo0", "T13_local4"} <= set(short["run"])
    block = (PRETRAINING / "README.md").read_text().split("<!-- short-trials:start -->")[1]
    assert block.split("<!-- short-trials:end -->")[0].strip() == to_markdown(short).strip()
    assert (PRETRAINING / "short_trials.md").read_text().strip() == to_markdown(short).strip()
    checks = pd.read_csv(PRETRAINING / "trials.csv").set_index("run")["knn_bacc at checks"]
    for _, r in short.iterrows():
        listed = dict(c.split(":") for c in checks[r["run"]].split())
        assert float(listed["400"]) == r["knn step 400"] and float(listed["0"]) == r["knn step 0"]


def test_stain_normalisation_numbers_read_back():
    """reports/pretraining's stain table from its two metrics.csv; the classifier card's sentence
    from classifier.csv and classifier_reinhard.csv."""
    def fold_bacc(folder):
        m = pd.read_csv(folder / "tables" / "metrics.csv")
        return m[(m["fold"] >= 0) & (m["metric"] == "balanced_accuracy")]

    plain, normed = fold_bacc(PRETRAINING), fold_bacc(PRETRAINING / "stain_reinhard")
    block = (PRETRAINING / "README.md").read_text().split("<!-- stain:start -->")[1].split("<!-- stain:end -->")[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in block.strip().splitlines()[2:]]
    sets = {"pbc_test": "pbc_test", "BCCD": "bccd", "segmentation_wbc": "segmentation_wbc"}
    assert len(rows) == 6
    for cells in rows:
        expected = cells[:2]
        for t in (plain, normed):
            v = {m: 100 * t[(t["model"] == m) & (t["dataset"] == sets[cells[0]])
                            & (t["probe"] == {"20-NN": "20nn", "logreg": "logreg"}[cells[1]])]["value"].mean()
                 for m in ("starter", "random_init")}
            expected += [f"{v['starter']:.1f}", f"{v['random_init']:.1f}", f"{v['starter'] - v['random_init']:+.1f}"]
        assert cells == expected
    for marker, (scores, _, reinhard, _) in CLASSIFIER_FILES.items():
        a = pd.read_csv(REPRODUCTION / scores).set_index("set")["leaf_accuracy"] * 100
        b = pd.read_csv(REPRODUCTION / reinhard).set_index("set")["leaf_accuracy"] * 100
        sentence = (f"leaf accuracy rises on BCCD from {a['bccd']:.1f} to {b['bccd']:.1f} % and on segmentation_wbc "
                    f"from {a['segmentation_wbc']:.1f} to {b['segmentation_wbc']:.1f} %, and falls on pbc_test from "
                    f"{a['pbc_test']:.1f} to {b['pbc_test']:.1f} %")
        assert sentence in " ".join(_card_section(marker).split()), marker


def test_lab_shift_numbers_read_back():
    """reports/pretraining's lab-shift table is lab_shift_knn.csv; the classifier trials quoted
    there are the CSV / fit files of reports/reproduction/classifier_trials."""
    lab_shift = _module(PRETRAINING / "lab_shift_knn.py")
    table = pd.read_csv(PRETRAINING / "lab_shift_knn.csv")
    text = (PRETRAINING / "README.md").read_text()
    block = text.split("<!-- labshift:start -->")[1].split("<!-- labshift:end -->")[0]
    assert block.strip() == lab_shift.markdown_table(table).strip()
    assert {"random_init", "S2B/step_001800"} <= set(table["checkpoint"])
    trials = REPRODUCTION / "classifier_trials"
    for name in ("linear_lab_shift", "mlp512_framing_stain"):
        leaf = pd.read_csv(trials / f"{name}.csv").set_index("set")["leaf_accuracy"] * 100
        fit = json.loads((trials / f"{name}.fit.json").read_text())
        for value in (leaf["bccd"], leaf["segmentation_wbc"], 100 * fit["holdout_leaf_accuracy_plain"],
                      100 * fit["holdout_leaf_accuracy_lab_shifted"]):
            assert f"{value:.1f} %" in text.replace("\n", " ")


def test_colour_domain_numbers_read_back():
    """The classifier card's off-domain shares are reports/reproduction/colour_domain.csv's, and the
    packaged domain file is the one that script fitted (its threshold is in the CSV)."""
    from hierwbc.datasets.color_domain import pbc_train_domain

    t = pd.read_csv(REPRODUCTION / "colour_domain.csv").set_index("set")
    card = CARD.read_text().replace("\n", " ")
    shares = [100 * t.loc[s, "off_domain"] for s in ("pbc_test", "bccd", "segmentation_wbc")]
    assert (f"Flagged (`reports/reproduction/colour_domain.csv`, `colour_domain.py`): {shares[0]:.1f} % of "
            f"pbc_test's cells, {shares[1]:.0f} % of BCCD's and {shares[2]:.0f} % of segmentation_wbc's") in card
    assert pbc_train_domain().threshold == pytest.approx(t["threshold"].iloc[0], rel=1e-5)
    assert t.loc["pbc_train (fitted)", "off_domain"] == pytest.approx(0.01, abs=1e-3)


@pytest.mark.realdata
def test_run_rows_split_the_train_split_as_the_run_did(tmp_path, data_root):
    """evaluate_classifier.run_rows: from a run's config.yaml, the PBC train-split cells it trained
    on and those it held out (what its trainer read: training_rows / validation_rows)."""
    from hierwbc.config import make_config
    from hierwbc.datasets import read_dataset
    from hierwbc.datasets.splits import split_rows
    from hierwbc.hierarchy import default_hierarchy
    from hierwbc.train.prepare import training_rows, validation_rows

    ec = _module(REPRODUCTION / "evaluate_classifier.py")
    h = default_hierarchy()
    train = split_rows(read_dataset("pbc", data_root, hierarchy=h), "train", 0.2, 0)
    cfg = make_config("unsup", overrides=[f"data.root={data_root}", "data.sources=pbc", "data.split=train",
                                          "data.val_fraction=0.2", "data.coarsen_fraction=0.3"])
    (tmp_path / "config.yaml").write_text(cfg.to_yaml())
    trained, held = ec.run_rows(tmp_path)
    assert set(trained["path"]) == set(training_rows(cfg, h)[0]["path"])
    assert list(held["path"]) == list(validation_rows(cfg, h)["path"])
    assert not set(held["path"]) & set(trained["path"])
    assert set(held["path"]) | set(trained["path"]) == set(train["path"])
    assert len(held) == pytest.approx(0.2 * len(train), abs=10)
    labels = train.set_index("path")["node"]  # PBC's own labels, not the run's coarsened ones
    assert (trained.set_index("path")["node"] == labels[trained["path"]]).all()
    (tmp_path / "config.yaml").write_text(make_config(
        "unsup", overrides=[f"data.root={data_root}", "data.sources=pbc", "data.split=train"]).to_yaml())
    with pytest.raises(ValueError, match="held out no cells"):
        ec.held_out_rows(tmp_path)


def test_classifier_choice_table_reads_back():
    """The table that chose the shipped classifier (reports/reproduction/README.md) is the pbc_val
    row of each candidate's CSV in classifier_trials/, and the shipped one scores as classifier.csv."""
    text = (REPRODUCTION / "README.md").read_text()
    block = text.split("<!-- classifier-choice:start -->")[1].split("<!-- classifier-choice:end -->")[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in block.strip().splitlines()[2:]]
    files = ["grid_seed1_valrows", "long1500", "long1500_s1", "long1500_s2", "long3000", "long3000_s1",
             "long3000_s2", "tiny8_1500", "tiny8_1500_s1", "tiny8_1500_s2"]
    assert len(rows) == len(files)
    for cells, name in zip(rows, files):
        r = pd.read_csv(REPRODUCTION / "classifier_trials" / f"{name}.csv").set_index("set").loc["pbc_val"]
        assert cells[1:] == [f"{100 * r['leaf_accuracy']:.1f}", f"{100 * r['balanced_accuracy']:.1f}",
                             f"{100 * r['backoff_accuracy']:.1f}", f"{100 * r['backoff_root']:.1f}"], name
    shipped = pd.read_csv(REPRODUCTION / "classifier.csv").set_index("set")
    chosen = pd.read_csv(REPRODUCTION / "classifier_trials" / "tiny8_1500.csv").set_index("set")
    pd.testing.assert_frame_equal(shipped.drop(columns="model"), chosen.drop(columns="model"))


def test_longer_training_summary_reads_back():
    """reports/reproduction's 'Longer training' table is summarise.py's, computed from that
    folder's metrics and significance CSVs."""
    from hierwbc.evaluate.tables import to_markdown

    summarise = _module(REPRODUCTION / "longer_training" / "summarise.py")
    table = summarise.summary()
    text = (REPRODUCTION / "README.md").read_text()
    block = text.split("<!-- longer:start -->")[1].split("<!-- longer:end -->")[0]
    assert block.strip() == to_markdown(table).strip()
    assert (REPRODUCTION / "longer_training" / "summary.md").read_text().strip() == block.strip()
    assert len(table) == 9
    for s in summarise.SETS:  # HierCE minus rival: the bootstrap's reference minus other, pooled over folds
        sig = pd.read_csv(REPRODUCTION / "longer_training" / "tables" / f"significance_{s}.csv")
        for rival in summarise.RIVALS:
            one = sig[(sig["Metric"] == "bAcc") & (sig["Other"] == rival)].set_index("Task")
            for _, r in table[table["set"] == s].iterrows():
                cell = r[f"hierce - {rival.removesuffix('_1500')}"]
                expected = 100 * (one.loc[r["probe"], "Reference value"] - one.loc[r["probe"], "Other value"])
                assert float(cell.strip("*").split()[0]) == pytest.approx(expected, abs=0.06), (s, rival, r["probe"])
                assert cell.startswith("**") == bool(one.loc[r["probe"], "Significant"])


def test_longer_seeds_verdict_and_table_read_back():
    """reports/reproduction's 'Longer training' section: the verdict it quotes is verdict.py's on
    longer_seeds/, its table summarise.py's, and each mean ± std is recomputed here from
    fold_metrics.csv with pandas alone (per seed: mean over folds; then over seeds)."""
    from hierwbc.evaluate.tables import to_markdown

    folder = REPRODUCTION / "longer_seeds"
    text = (REPRODUCTION / "README.md").read_text()
    wide = pd.read_csv(folder / "tables" / "fold_metrics.csv")
    seeds = set(wide.loc[wide["model"] == "hierce", "seed"])
    assert seeds == set(range(len(seeds))) and len(seeds) >= 2
    quoted = verdict.verdict_markdown(folder, level=4)
    assert (folder / "verdict.md").read_text() == quoted
    assert quoted in text and f"({len(seeds)} training seeds)" in quoted
    summarise = _module(folder / "summarise.py")
    table = summarise.summary(folder)
    block = text.split("<!-- longer-seeds:start -->")[1].split("<!-- longer-seeds:end -->")[0]
    assert block.strip() == to_markdown(table).strip() == (folder / "summary.md").read_text().strip()
    per_seed = wide.groupby(["model", "dataset", "probe", "seed"])["balanced_accuracy"].mean() * 100
    for _, r in table.iterrows():
        for model in ("unsup", "ce", "hierce", "random_init"):
            mean, std = _mean_std(r[model])
            v = per_seed[model, r["set"], r["probe"]]
            assert len(v) == len(seeds) and mean == pytest.approx(v.mean(), abs=0.051), (model, r["set"], r["probe"])
            assert std == pytest.approx(v.std(ddof=1), abs=0.051)
        assert float(r["starter"]) == pytest.approx(per_seed["starter", r["set"], r["probe"]].mean(), abs=0.051)


def test_classifier_runs_table_reproduces_from_its_run_copies():
    """classifier_trials/trials.csv is make_report.py's table of the classifier runs' copies
    (classifier_trials/runs/), settings written against configs/classifier_cpu.yaml."""
    make_report = _module(PRETRAINING / "make_report.py")
    folder = REPRODUCTION / "classifier_trials"
    table = make_report.table(folder, REPO / "configs" / "classifier_cpu.yaml")
    published = pd.read_csv(folder / "trials.csv")
    pd.testing.assert_frame_equal(table.reset_index(drop=True), published, check_dtype=False)
    best = table.set_index("run")["best knn_bacc"]
    assert best["classifier_cpu3000"] > best["classifier_cpu"] > best["unsup_cpu1500"] > 50.3  # the starter's
    assert best["hierce_from_tiny8"] > best["classifier_cpu3000"]  # the default classifier's backbone


@pytest.mark.parametrize("marker", CLASSIFIER_FILES)
def test_classifier_card_counts_are_classifier_calls(marker):
    """The off-domain counts each classifier's card quotes are its calls CSV's."""
    scores, _, _, calls_csv = CLASSIFIER_FILES[marker]
    calls = pd.read_csv(REPRODUCTION / calls_csv)
    bccd, seg = calls[calls["set"] == "bccd"], calls[calls["set"] == "segmentation_wbc"]
    promyelocyte = bccd[bccd["pred_leaf"] == "promyelocyte"]
    numbers = ((f"names {promyelocyte['cells'].sum()} of {bccd['cells'].sum()} cells promyelocytes "
                f"({promyelocyte[promyelocyte['node'] == 'neutrophil']['cells'].sum()} of its "
                f"{bccd[bccd['node'] == 'neutrophil']['cells'].sum()} neutrophils) and "
                f"{promyelocyte[promyelocyte['backoff_node'] == 'promyelocyte']['cells'].sum()} keep that call"),
               (f"names {seg[seg['pred_leaf'] == 'eosinophil']['cells'].sum()} of the {seg['cells'].sum()} cells "
                "eosinophils"))
    card = " ".join(_card_section(marker).split())
    for text in numbers:
        assert text in card
    n = pd.read_csv(REPRODUCTION / scores).set_index("set")["n"]
    assert calls.groupby("set")["cells"].sum().to_dict() == n.to_dict()  # every cell counted once


@pytest.mark.parametrize("name", ["supcon", "cnn"])
def test_longer_seeds_newcomer_comparison_reads_back(name):
    """A newcomer of the longer comparison (SupCon, section 3; the CNN baseline, section 4):
    versus.csv/.md and the README's table are newcomers.py's on the published fold metrics, and
    one difference is recomputed here from the two fold_metrics.csv files with a plain merge on
    (seed, fold)."""
    folder = REPRODUCTION / "longer_seeds"
    published = folder / name
    newcomers = _module(folder / "newcomers.py")
    model = newcomers.NEWCOMERS[name][0]
    table, md = newcomers.versus_table(name)
    assert (published / "versus.md").read_text() == md
    pd.testing.assert_frame_equal(pd.read_csv(published / "versus.csv"), table, check_dtype=False)
    summary = newcomers.summary_markdown(table, name)
    assert (published / "summary.md").read_text() == summary
    readme = (REPRODUCTION / "README.md").read_text()
    block = readme.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]
    assert block.strip() == summary.strip()
    old = pd.read_csv(folder / "tables" / "fold_metrics.csv")
    new = pd.read_csv(published / "tables" / "fold_metrics.csv")
    pick = lambda f, m: f[(f["model"] == m) & (f["dataset"] == "segmentation_wbc") & (f["probe"] == "20nn")]
    pairs = pick(old, "hierce").merge(pick(new, model), on=["seed", "fold"], suffixes=("_h", "_s"))
    d = pairs["balanced_accuracy_h"] - pairs["balanced_accuracy_s"]
    row = table[(table["model"] == "hierce") & (table["set"] == "segmentation_wbc") & (table["probe"] == "20nn")
                & (table["metric"] == "bAcc")].iloc[0]
    assert len(d) == row["n_pairs"] == 15
    assert row["delta"] == pytest.approx(d.mean())
    assert row["ci_low"] == pytest.approx(d.mean() - 2.1447866879 * d.std(ddof=1) / 15 ** 0.5)  # t(0.975, 14)
    by_seed = d.groupby(pairs["seed"]).mean()
    assert row["seeds_agree"] == bool((by_seed > 0).all() or (by_seed < 0).all())
    assert f"**{100 * row['delta']:+.1f}" in block  # significant, and shown in bold


def test_the_cnn_section_counts_its_significant_differences():
    """Section 4's sentence on HierCE minus the CNN is the count in cnn/versus.csv (LCA: lower is better)."""
    t = pd.read_csv(REPRODUCTION / "longer_seeds" / "cnn" / "versus.csv").query("model == 'hierce' and significant")
    for_hierce = int(((t["delta"] > 0) != (t["metric"] == "LCA")).sum())
    readme = " ".join((REPRODUCTION / "README.md").read_text().split())
    assert (f"significant on {len(t)} of 27: {for_hierce} for HierCE, {len(t) - for_hierce} against it"
            in readme)


def test_seed_agreement_is_needed_for_significance_in_the_supcon_comparison():
    """A constructed case: the same mean difference with every seed agreeing is significant; with
    one seed disagreeing (interval still excluding 0 by construction) it is not."""
    newcomers = _module(REPRODUCTION / "longer_seeds" / "newcomers.py")

    def folds(deltas):
        rows = []
        for seed, per_fold in enumerate(deltas):
            for fold, d in enumerate(per_fold):
                for model, v in (("hierce", 0.5 + d), ("supcon", 0.5)):
                    rows.append({"seed": seed, "model": model, "dataset": "pbc_test", "probe": "20nn", "fold": fold,
                                 "metric": "balanced_accuracy", "value": v, "n": 100})
        return pd.DataFrame(rows)

    agree = newcomers.versus(folds([[0.02, 0.03, 0.01, 0.02, 0.02]] * 3), "hierce", "supcon")
    assert agree["seeds_agree"].all() and (agree["ci_low"] > 0).all() and agree["significant"].all()
    mixed = newcomers.versus(folds([[0.05, 0.06, 0.04, 0.05, 0.05]] * 2 + [[-0.01, 0.0, -0.02, -0.01, -0.01]]),
                             "hierce", "supcon")
    assert (mixed["ci_low"] > 0).all() and not mixed["seeds_agree"].any() and not mixed["significant"].any()
