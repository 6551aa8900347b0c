"""Helpers of the experiment runner."""

import pandas as pd

from hierwbc.experiment.runner import train_seconds


def test_train_seconds_sums_step_times_not_the_gaps_between_sittings():
    # 3 steps of batch 64 at 32, 64 and 16 images/s (2 + 1 + 4 s), a kNN row without a rate, and
    # a resumed sitting that started an hour later: 7 s of training, not the 3,607 s of wall clock
    m = pd.DataFrame({"images_per_s": [32.0, 64.0, None, 16.0], "time": [0.0, 1.0, 2.0, 3606.0]})
    assert train_seconds(m, 64) == 7.0
    assert train_seconds(pd.DataFrame({"loss": [1.0]}), 64) == 0.0
