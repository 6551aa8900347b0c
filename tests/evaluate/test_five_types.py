"""Five-type scores on a hand-worked example: at-or-under counts as right, above does not;
types with too few cells are left out of the balance; a cell's crops share one vote."""

import numpy as np
import pytest

from hierwbc.evaluate.five_types import five_type_index, five_type_scores
from hierwbc.hierarchy import default_hierarchy


def test_five_type_index():
    h = default_hierarchy()
    got = five_type_index(h, ["neutrophil_band", "lymphocyte_typical", "monocyte", "myelocyte", "wbc", "nope"])
    assert got.tolist() == [0, 1, 2, -1, -1, -1]


def test_hand_worked_scores():
    h = default_hierarchy()
    truth = ["neutrophil"] * 4 + ["lymphoid_mature"] * 5 + ["basophil"] * 2 + ["myelocyte"]
    pred = (["neutrophil_segmented", "neutrophil_band", "granulocytic_mature", "monocyte"]   # 2 of 4 right
            + ["lymphocyte_typical"] * 4 + ["hairy_cell"]                                  # 5 of 5 (at/under)
            + ["basophil", "eosinophil"]                                                   # 1 of 2
            + ["myelocyte"])                                                               # no type: not scored
    s = five_type_scores(h, truth, pred, min_cells=3)
    assert s["n"] == 11 and s["accuracy"] == pytest.approx(8 / 11)
    assert s["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)   # basophil (2 cells) not weighed
    assert s["recall"]["basophil"] == 0.5 and np.isnan(s["recall"]["monocyte"])


def test_groups_count_each_cell_once():
    h = default_hierarchy()
    truth = ["monocyte"] * 4 + ["eosinophil"]
    pred = ["monocyte", "monocyte", "monocyte", "basophil", "basophil"]
    # cell A = 3 right crops, cell B = 1 wrong crop; cell C (eosinophil) wrong
    s = five_type_scores(h, truth, pred, min_cells=1, groups=["A", "A", "A", "B", "C"])
    assert s["n"] == 3 and s["recall"]["monocyte"] == pytest.approx(0.5) and s["accuracy"] == pytest.approx(1 / 3)
