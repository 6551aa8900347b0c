"""Lineage colour families derived from the tree: one hue per lineage, shades per node."""

import itertools
import math

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from seaborn.external import husl

from hierwbc.plotting.colors import (
    ROOT_COLOR,
    SATURATION,
    SATURATION_ALT,
    category_colors,
    hue_stride,
    lineage_colors,
    lineage_hues,
    node_colors,
    text_colors,
)


def hue_lightness(hex_colour):
    h, _s, lum = husl.rgb_to_husl(*to_rgb(hex_colour))
    return h, lum


def circular(a, b):
    d = abs(a - b) % 360
    return min(d, 360 - d)


def test_every_node_takes_its_lineage_hue_and_lightness_follows_preorder(h):
    colors = node_colors(h)
    assert list(colors) == list(h.nodes)
    assert colors[h.root] == ROOT_COLOR
    hues = lineage_hues(h)
    for lin in h.lineages:
        members = [n for n in h.nodes if h.lineage_of(n) == lin]  # pre-order
        measured = [hue_lightness(colors[n]) for n in members]
        assert all(circular(hue, hues[lin]) < 3.0 for hue, _ in measured), lin
        light = [lum for _, lum in measured]
        if len(members) > 1:
            assert np.all(np.diff(light) > 0), lin  # darkest at the lineage node, then lighter
            assert len({colors[n] for n in members}) == len(members)  # siblings differ
            sat = [husl.rgb_to_husl(*to_rgb(colors[n]))[1] for n in members]
            np.testing.assert_allclose(sat[::2], SATURATION, atol=3)  # alternating saturation
            np.testing.assert_allclose(sat[1::2], SATURATION_ALT, atol=3)


def test_lineage_hues_are_evenly_spread_and_neighbours_far_apart(h):
    hues = list(lineage_hues(h).values())
    n = len(hues)
    gaps = [circular(a, b) for i, a in enumerate(hues) for b in hues[i + 1:]]
    assert min(gaps) == pytest.approx(360 / n, abs=1e-6)
    consecutive = [circular(a, b) for a, b in itertools.pairwise(hues)]
    assert min(consecutive) > 360 / n * 1.5  # next lineages in the tree are not next on the wheel
    for lin, color in lineage_colors(h).items():
        assert circular(hue_lightness(color)[0], lineage_hues(h)[lin]) < 3.0


@pytest.mark.parametrize("n", range(1, 13))
def test_hue_stride_visits_every_hue_once(n):
    s = hue_stride(n)
    assert math.gcd(s, n) == 1 and s <= max(n // 2, 1)
    assert sorted((k * s) % n for k in range(n)) == list(range(n))


def test_a_new_lineage_gets_its_own_family_without_code_changes(h):
    h2 = h.copy()
    h2.add_node("mast_lineage", parent=h2.root)
    h2.add_node("mast_cell", parent="mast_lineage")
    hues = lineage_hues(h2)
    assert len({round(v, 6) for v in hues.values()}) == len(h2.lineages) == len(h.lineages) + 1
    c = node_colors(h2, ["mast_lineage", "mast_cell"])
    assert circular(hue_lightness(c["mast_cell"])[0], hues["mast_lineage"]) < 3.0


def test_shades_spread_over_the_nodes_asked_for(h):
    subset = ["myelocyte", "neutrophil_segmented", "lymphocyte_typical"]
    c = node_colors(h, subset)
    assert list(c) == ["lymphocyte_typical", "myelocyte", "neutrophil_segmented"]  # tree order
    (_, dark), (_, light) = hue_lightness(c["myelocyte"]), hue_lightness(c["neutrophil_segmented"])
    assert dark < 40 and light > 70  # the two granulocytic nodes use the whole range
    with pytest.raises(KeyError, match="not_a_node"):
        node_colors(h, ["not_a_node"])


def test_category_and_text_colours(h):
    assert category_colors("lineage", ["granulopoiesis"], h) == {"granulopoiesis": lineage_colors(h)["granulopoiesis"]}
    ds = category_colors("dataset", ["pbc", "bccd", "pbc_test"], h)
    assert len(set(ds.values())) == 3
    assert text_colors(h, ["myelocyte", h.root]) == {"myelocyte": lineage_colors(h)["granulopoiesis"],
                                                     h.root: ROOT_COLOR}


def test_category_colours_stay_distinct_past_ten():
    import seaborn as sns
    from matplotlib.colors import to_hex

    from hierwbc.plotting.colors import category_colors

    for n in (3, 10, 11, 20, 25):
        colors = category_colors("model", [f"m{i}" for i in range(n)])
        assert len(set(colors.values())) == n, n
    ten = category_colors("model", [f"m{i}" for i in range(10)])  # up to 10: the colorblind palette
    assert list(ten.values()) == [to_hex(c) for c in sns.color_palette("colorblind", 10)]
