"""count_table and summary: counts per raw label and per node, exclusions listed."""

import pandas as pd

from hierwbc.datasets import count_table, summary
from hierwbc.hierarchy import default_hierarchy


def manifest():
    raw = ["SNE"] * 3 + ["BNE"] * 2 + ["NEUTROPHIL"] + ["IG"] * 4
    lm = default_hierarchy().label_map("pbc")
    df = pd.DataFrame({"path": [f"/{i}" for i in range(len(raw))], "dataset": "pbc", "raw_label": raw,
                       "node": [lm.lookup(r) for r in raw], "split": "", "fold": -1})
    df.attrs = {"dataset": "pbc", "source": "/somewhere",
                "excluded": {"reason": ["dot_file", "unknown_label"], "path": ["/x/.DS_Store", "/x/XX_1.jpg"],
                             "raw_label": ["", "XX"], "detail": ["", ""]}}
    return df


def test_count_table_matches_naive_counts():
    df = manifest()
    t = count_table(df)
    naive = {}
    for r in df.itertuples():
        naive[(r.dataset, r.raw_label, r.node)] = naive.get((r.dataset, r.raw_label, r.node), 0) + 1
    assert dict(zip(zip(t.dataset, t.raw_label, t.node), t["count"])) == naive
    assert t["count"].tolist() == sorted(naive.values(), reverse=True)
    by_node = count_table(df, "node", default_hierarchy())
    assert by_node["node"].tolist() == ["immature_granulocyte", "neutrophil", "neutrophil_band",
                                        "neutrophil_segmented"]             # hierarchy pre-order
    assert by_node["count"].tolist() == [4, 1, 2, 3]


def test_summary_text():
    text = summary(manifest())
    assert text.splitlines()[0] == "pbc: 10 images from /somewhere"
    assert "IG                       -> immature_granulocyte" in text
    assert "left out: 2 (dot_file 1, unknown_label 1)" in text and "XX_1.jpg" in text
