"""counts_by_node / class_counts: counts per node and dataset in tree order."""

import numpy as np
import pandas as pd

from hierwbc.plotting import class_counts, counts_by_node


def test_counts_per_node_and_dataset(manifest, h):
    other = manifest.head(7).assign(dataset="other", path=lambda d: d["path"] + ".x")
    both = pd.concat([manifest, other], ignore_index=True)
    table = counts_by_node(both, h)
    assert list(table["node"]) == sorted(set(both["node"]), key=h.node_index.get)
    for node, ds in [("myelocyte", "synthetic"), (manifest["node"].iloc[0], "other")]:
        expected = int(((both["node"] == node) & (both["dataset"] == ds)).sum())
        assert int(table.set_index("node").loc[node, ds]) == expected
    assert table["total"].sum() == len(both)
    fig = class_counts(both, h)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_gid() == "dataset:other"]
    widths = np.nan_to_num([b.get_width() for b in bars])
    np.testing.assert_array_equal(widths, table["other"].to_numpy())
