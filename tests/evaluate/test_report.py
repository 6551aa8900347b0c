"""Paper tables: mean ± std over folds, Appendix B rows, files written."""
import anndata as ad
import numpy as np
import pandas as pd
import pytest

from hierwbc.evaluate import evaluate, report, significance_table, summary_table
from hierwbc.evaluate.tables import to_markdown
from hierwbc.hierarchy import default_hierarchy

H = default_hierarchy()


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    labels = rng.choice(["basophil", "monocyte", "myelocyte", "metamyelocyte", "lymphocyte_typical"], 200)
    centers = rng.normal(size=(len(H.nodes), 6))
    out = {}
    for name, noise in (("HierCE", 1.0), ("Unsup", 2.0)):
        a = ad.AnnData(obs=pd.DataFrame({"node": labels, "dataset": "acevedo"},
                                        index=[f"c{i}" for i in range(200)]))
        a.obsm["X_cls"] = centers[H.indices(labels)] + noise * rng.normal(size=(200, 6))
        out[name] = a
    return evaluate(out, reference="HierCE", n_boot=200, progress=False)


def test_summary_table_is_mean_and_std_over_folds(result):
    num = summary_table(result, formatted=False)
    m = result.metrics
    vals = m[(m.model == "Unsup") & (m.probe == "20nn") & (m.metric == "balanced_accuracy") & (m.fold >= 0)]["value"]
    row = num[(num.model == "Unsup") & (num.probe == "20nn")].iloc[0]
    assert row["balanced_accuracy_mean"] == pytest.approx(vals.mean())
    assert row["balanced_accuracy_std"] == pytest.approx(np.std(vals, ddof=1))
    txt = summary_table(result)
    assert list(txt.columns) == ["model", "probe", "wF1", "bAcc", "Lineage Acc", "LCA", "Hierarchical F1"]
    assert txt["model"].tolist()[:3] == ["HierCE"] * 3 and txt["probe"].tolist()[:3] == ["1nn", "20nn", "logreg"]
    cell = txt[(txt.model == "Unsup") & (txt.probe == "20nn")]["bAcc"].item()
    assert cell == f"{100 * vals.mean():.2f} ± {100 * np.std(vals, ddof=1):.2f}"


def test_significance_table(result):
    t = significance_table(result)
    assert list(t.columns) == ["Metric", "Other", "Reference", "Significant", "Other value", "Reference value",
                               "Delta", "CI low", "CI high", "p", "Task"]
    assert len(t) == 5 * 3 and set(t["Other"]) == {"Unsup"} and set(t["Reference"]) == {"HierCE"}
    ok = t.dropna()
    assert ((ok["CI low"] <= ok["CI high"]) & (ok["Significant"] == ((ok["CI low"] > 0) | (ok["CI high"] < 0)))).all()


def test_report_writes_csv_and_markdown(result, tmp_path):
    paths = report(result, tmp_path)
    assert set(paths) == {"metrics", "table_acevedo", "significance_acevedo"}
    back = pd.read_csv(tmp_path / "table_acevedo.csv")
    assert back.equals(summary_table(result))
    md = (tmp_path / "significance_acevedo.md").read_text().splitlines()
    assert md[0].startswith("# acevedo") and md[2].startswith("| Metric | Other |") and len(md) == 4 + 15
    assert to_markdown(pd.DataFrame({"a": [1], "b": ["x"]})) == "| a | b |\n|---|---|\n| 1 | x |\n"
    with pytest.raises(KeyError, match="not in the evaluation result"):
        summary_table(result, "bodyfluid")


def test_merge_csv_replaces_rows_with_the_same_keys_and_keeps_the_rest(tmp_path):
    import pandas as pd

    from hierwbc.evaluate.tables import merge_csv

    path = tmp_path / "t.csv"
    merge_csv(path, pd.DataFrame({"model": ["b", "a"], "set": ["x", "x"], "v": [1.0, 2.0]}), ["model", "set"])
    out = merge_csv(path, pd.DataFrame({"model": ["b", "c"], "set": ["x", "y"], "v": [9.0, 3.0]}), ["model", "set"])
    assert out.to_dict("list") == {"model": ["a", "b", "c"], "set": ["x", "x", "y"], "v": [2.0, 9.0, 3.0]}
    assert pd.read_csv(path)["v"].tolist() == out["v"].tolist()  # written back (floats as %.6g)
    kept = merge_csv(path, pd.DataFrame({"model": ["a"], "set": ["x"], "v": [5.0]}), ["model", "set"], sort=False)
    assert kept["model"].tolist() == ["b", "c", "a"]  # unsorted: the others first, the new rows last
