"""Per-lab sampling weights of the trainer: each lab's share of the draws, resumable by step."""

import numpy as np
import pytest


def test_lab_weights_give_each_lab_its_share_and_resume_exactly():
    from hierwbc.config import parse_lab_weights
    from hierwbc.train.data import StepBatchSampler, lab_probabilities

    labs = np.array(["pbc"] * 300 + ["lisc"] * 30 + ["raabin"] * 20 + ["aslan"] * 10)
    p = lab_probabilities(labs, parse_lab_weights(["pbc=10"]))
    assert np.isclose(p.sum(), 1) and np.isclose(p[labs == "pbc"].sum(), 10 / 13)
    assert np.allclose([p[labs == g].sum() for g in ("lisc", "raabin", "aslan")], 1 / 13)
    whole = list(StepBatchSampler(len(labs), 64, seed=3, start_step=0, total_steps=400, p=p))
    drawn = labs[np.concatenate(whole)]
    assert abs((drawn == "pbc").mean() - 10 / 13) < 0.01 and abs((drawn == "aslan").mean() - 1 / 13) < 0.01
    resumed = list(StepBatchSampler(len(labs), 64, seed=3, start_step=250, total_steps=400, p=p))
    assert resumed == whole[250:]
    with pytest.warns(UserWarning, match="not in the training rows"):
        lab_probabilities(labs, {"bccd": 1.0})
    with pytest.raises(ValueError, match="dataset=weight"):
        parse_lab_weights(["pbc:10"])
