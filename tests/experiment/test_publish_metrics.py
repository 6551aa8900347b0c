"""The published fold metrics: one column per metric, read back to the run's tidy table exactly."""

import numpy as np
import pandas as pd

from hierwbc.experiment.publishing import long_metrics, wide_metrics


def test_wide_fold_metrics_read_back_to_the_tidy_table():
    rng = np.random.default_rng(0)
    rows = [{"seed": s, "model": m, "dataset": "pbc_test", "probe": p, "fold": f, "metric": k,
             "value": rng.random(), "n": 40 + f}
            for s in (0, 1) for m in ("unsup", "hierce") for p in ("20nn", "logreg") for f in range(3)
            for k in ("balanced_accuracy", "mistake_severity")]
    rows.append({"seed": 0, "model": "unsup", "dataset": "pbc_test", "probe": "centroid", "fold": -1,
                 "metric": "centroid_spearman", "value": 0.5, "n": 7})  # a metric of its own probe only
    tidy = pd.DataFrame(rows)
    wide = wide_metrics(tidy)
    assert len(wide) == 2 * 2 * 2 * 3 + 1 and {"balanced_accuracy", "mistake_severity"} <= set(wide.columns)
    back = long_metrics(wide)
    keys = ["seed", "model", "dataset", "probe", "fold", "metric"]
    assert list(back.columns) == list(tidy.columns)
    pd.testing.assert_frame_equal(back.sort_values(keys).reset_index(drop=True),
                                  tidy.sort_values(keys).reset_index(drop=True), check_dtype=False)
