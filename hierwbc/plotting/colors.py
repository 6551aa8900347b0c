"""Colours derived from the hierarchy: each lineage a hue family, its nodes shades of it.

- :func:`lineage_colors`: one hue per lineage (depth-1 node): ``n`` hues evenly spaced around
  the HUSL colour wheel (perceptually uniform; seaborn's ``husl``), handed out with a stride
  co-prime to ``n`` so that lineages next to each other in the tree get far-apart hues, at a
  middle lightness. Nothing is written per class: a new lineage gets its own hue.
- :func:`node_colors`: a node takes its lineage's hue; the nodes of one lineage (those asked
  for, in pre-order) get lightness stepping from dark (``DARK``) to light (``LIGHT``), so the
  lineage node (first in pre-order) is the darkest and siblings differ, and saturation
  alternating between ``SATURATION`` and ``SATURATION_ALT`` so that neighbours in a large
  lineage stay apart. The root is grey.
- :func:`text_colors`: the lineage colour of each node, for labels (the light shades of
  :func:`node_colors` are hard to read as text).
- :func:`category_colors`: colours for any categorical key: ``node`` / ``lineage`` as above,
  anything else (``dataset``, ``model``...) from seaborn's ``colorblind`` palette in category
  order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import to_hex
from seaborn.external import husl

from hierwbc.hierarchy import Hierarchy

ROOT_COLOR = "#7f7f7f"
MISSING_COLOR = "#d9d9d9"
SATURATION, SATURATION_ALT = 80.0, 52.0
DARK, LIGHT, LINEAGE_LIGHTNESS = 32.0, 78.0, 52.0
HUE_OFFSET = 250.0  # the first lineage (lymphoid in the default tree) blue; the rest follow evenly


def hue_stride(n: int) -> int:
    """The largest ``s <= n / 2`` co-prime with ``n`` (1 for ``n <= 2``): consecutive lineages
    are ``s`` of the ``n`` evenly spaced hues apart."""
    return next((s for s in range(n // 2, 0, -1) if math.gcd(s, n) == 1), 1)


def lineage_hues(hierarchy: Hierarchy) -> dict[str, float]:
    """``{lineage name: HUSL hue in degrees}``: ``n`` evenly spaced hues, lineage ``k`` taking
    hue number ``k * hue_stride(n) mod n``."""
    n = max(len(hierarchy.lineages), 1)
    s = hue_stride(n)
    return {name: float((HUE_OFFSET + 360.0 * ((k * s) % n) / n) % 360.0) for k, name in enumerate(hierarchy.lineages)}


def _hex(hue: float, lightness: float, saturation: float = SATURATION) -> str:
    return to_hex(np.clip(husl.husl_to_rgb(hue, saturation, lightness), 0.0, 1.0))


def lineage_colors(hierarchy: Hierarchy) -> dict[str, str]:
    """``{lineage name: hex colour}`` (the middle shade of each family)."""
    return {name: _hex(hue, LINEAGE_LIGHTNESS) for name, hue in lineage_hues(hierarchy).items()}


def node_colors(hierarchy: Hierarchy, nodes: Sequence[str] | None = None) -> dict[str, str]:
    """``{node name: hex colour}`` for ``nodes`` (default: every node), in tree order.

    Shades are spread over the nodes asked for, so a figure showing 8 of a lineage's 20 nodes
    uses the whole dark-to-light range for those 8.
    """
    wanted = list(hierarchy.nodes) if nodes is None else list(dict.fromkeys(nodes))
    unknown = [n for n in wanted if n not in hierarchy]
    if unknown:
        raise KeyError(f"node(s) not in the hierarchy: {unknown}")
    idx = np.sort(hierarchy.indices(wanted))
    hues = lineage_hues(hierarchy)
    lineage = hierarchy.lineage[idx]
    out: dict[str, str] = {}
    for lin in np.unique(lineage):
        members = idx[lineage == lin]
        if lin < 0:
            out.update({hierarchy.nodes[i]: ROOT_COLOR for i in members})
            continue
        steps = np.linspace(DARK, LIGHT, len(members)) if len(members) > 1 else [LINEAGE_LIGHTNESS]
        hue = hues[hierarchy.nodes[lin]]
        out.update({hierarchy.nodes[i]: _hex(hue, light, SATURATION if k % 2 == 0 else SATURATION_ALT)
                    for k, (i, light) in enumerate(zip(members, steps))})
    return {hierarchy.nodes[i]: out[hierarchy.nodes[i]] for i in idx}


def text_colors(hierarchy: Hierarchy, nodes: Sequence[str]) -> dict[str, str]:
    """``{node: its lineage's colour}`` (the root: grey), for tick labels and row titles."""
    lin = lineage_colors(hierarchy)
    return {n: lin.get(hierarchy.lineage_of(n) or "", ROOT_COLOR) for n in nodes}


def category_colors(key: str, categories: Sequence, hierarchy: Hierarchy | None = None) -> dict[object, str]:
    """Colours of the ``categories`` of obs column ``key``: tree-derived for ``node`` and
    ``lineage`` (categories that are not nodes get :data:`MISSING_COLOR`), else seaborn's
    ``colorblind`` palette in the order given, then its ``dark`` one (its 10 colours are
    followed by 10 distinct ones; beyond 20, ``husl``): no two categories share a colour."""
    cats = list(categories)
    if key in ("node", "true", "pred") and hierarchy is not None:
        known = node_colors(hierarchy, [c for c in cats if c in hierarchy])
        return {c: known.get(c, MISSING_COLOR) for c in cats}
    if key.endswith("lineage") and hierarchy is not None:
        known = lineage_colors(hierarchy)
        return {c: known.get(c, ROOT_COLOR if c == hierarchy.root else MISSING_COLOR) for c in cats}
    import seaborn as sns

    palette = [to_hex(c) for c in [*sns.color_palette("colorblind", 10), *sns.color_palette("dark", 10)]]
    if len(cats) > len(palette):
        palette = [to_hex(c) for c in sns.color_palette("husl", len(cats))]
    return {c: palette[k] for k, c in enumerate(cats)}
