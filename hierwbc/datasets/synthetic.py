"""Synthetic toy stained cells for any hierarchy: a stand-in when no real data is present.

NOT REAL DATA. Every image is drawn from a leaf's *style*; styles follow the tree so that
nearby nodes look alike:

- a style vector per node ``z[v] = sum over a in ancestors(v) (v included, root excluded) of
  scale(a) * u[a]`` (``ancestors @ (scale * u)``) with ``u`` fixed pseudo-random per node name;
  colour dimensions scale ``0.5**(depth(a)-1)`` (the lineage dominates), shape dimensions
  ``0.6`` at every depth (siblings differ, subtrees share their parent's look);
- lineage (depth-1 ancestor) sets the cytoplasm hue, the granule colour and a granule-density
  bias; maturity (``depth / max_depth``) and ``z`` set the nucleus: size, eccentricity, kidney
  notch and number of lobes (1-4);
- each image draws its own cell size, ellipticity, rotation, position, stain colour jitter and
  noise.

:func:`draw_cells` renders a batch vectorised over ``[B, S, S]``; :func:`make_synthetic`
writes PNGs, ``manifest.csv`` and a ``README.txt`` saying the set is synthetic, and returns a
manifest with ``dataset="synthetic"``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from hierwbc.hierarchy import Hierarchy, HierarchyError, default_hierarchy
from hierwbc.hierarchy.errors import with_hint
from hierwbc.io import atomic_write, atomic_write_text

from .manifest import COLUMNS, check_manifest, write_manifest

DATASET = "synthetic"
STYLE_DIM = 8
MAX_LOBES, N_GRANULES = 4, 48
SHAPE_DIMS = (0, 1, 2, 3, 6)  # style dims for the nucleus and cell size; the rest are colours


def _hsv_to_rgb(h, s, v) -> np.ndarray:
    """Vectorised HSV (each ``[...]`` in [0, 1]) -> RGB ``[..., 3]``."""
    h, s, v = (np.asarray(a, dtype=float)[..., None] for a in (h, s, v))
    k = (np.array([5.0, 3.0, 1.0]) + (h % 1.0) * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def node_styles(h: Hierarchy) -> dict[str, np.ndarray]:
    """Per-node drawing parameters, each ``[N]`` (or ``[N, 3]`` for colours), in node order."""
    u = np.stack([np.random.default_rng(int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8).digest(),
                                                        "little")).standard_normal(STYLE_DIM) for n in h.nodes])
    color = np.where(h.depth > 0, 0.5 ** (np.maximum(h.depth, 1) - 1.0), 0.0)   # lineage dominates
    shape = np.where(h.depth > 0, 0.6, 0.0)                                         # every level adds
    scale = np.where(np.isin(np.arange(STYLE_DIM), SHAPE_DIMS)[None, :], shape[:, None], color[:, None])
    z = h.ancestors.astype(float) @ (u * scale)
    lineage = np.maximum(h.lineage, 0)
    n_lin = max(len(h.lineages), 1)
    lin_pos = np.array([h.lineages.index(h.nodes[i]) if h.lineage[k] >= 0 else 0
                        for k, i in enumerate(lineage)], dtype=float) / n_lin
    maturity = h.depth / max(h.max_depth, 1)
    hue = 0.55 + 0.5 * lin_pos + 0.04 * np.tanh(z[:, 5])
    return {
        "cell_radius": 0.62 + 0.08 * np.tanh(z[:, 6]),
        "nucleus_frac": 0.62 + 0.1 * np.tanh(z[:, 0]) - 0.12 * maturity,
        "lobes": np.clip(np.rint(0.6 + 1.6 * maturity + z[:, 1]), 1, MAX_LOBES).astype(int),
        "nucleus_ecc": 1.0 + 0.4 * np.abs(np.tanh(z[:, 2])),
        "kidney": _sigmoid(1.5 * z[:, 3]),
        "granules": _sigmoid(1.5 * z[:, 4] + 3.0 * (((lin_pos * 7.0) % 1.0) - 0.5)),
        "cytoplasm": _hsv_to_rgb(hue, 0.35, 0.9),
        "granule_colour": _hsv_to_rgb(hue + 0.45 + 0.05 * np.tanh(z[:, 7]), 0.65, 0.55),
    }


def _granules(rng, density, radius, theta, cx, cy, size: int) -> np.ndarray:
    """Granule map ``[B, S, S]`` in [0, 1]: up to ``N_GRANULES`` points per cell, uniform in
    the cell disc, scattered onto the pixel grid and blurred by a 5-tap binomial kernel."""
    b = len(density)
    ang = rng.uniform(0, 2 * np.pi, (b, N_GRANULES))
    rad = np.sqrt(rng.uniform(0, 1, (b, N_GRANULES))) * radius[:, None] * 0.9
    gu, gw = rad * np.cos(ang), rad * np.sin(ang)
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    px = np.rint((cx[:, None] + c * gu - s * gw + 1.0) / 2.0 * (size - 1)).astype(int)
    py = np.rint((cy[:, None] + s * gu + c * gw + 1.0) / 2.0 * (size - 1)).astype(int)
    on = (np.arange(N_GRANULES)[None, :] < np.rint(density * N_GRANULES)[:, None])
    on &= (px >= 0) & (px < size) & (py >= 0) & (py < size)
    grid = np.zeros((b, size, size))
    np.add.at(grid, (np.nonzero(on)[0], py[on], px[on]), 1.0)
    k = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 6.0
    for axis in (1, 2):
        padded = np.pad(grid, [(0, 0), (2, 2), (0, 0)] if axis == 1 else [(0, 0), (0, 0), (2, 2)])
        grid = sum(k[i] * np.take(padded, np.arange(i, i + size), axis=axis) for i in range(5))
    return np.clip(grid, 0.0, 1.0)


def draw_cells(hierarchy: Hierarchy, nodes, size: int = 64, rng: np.random.Generator | int = 0) -> np.ndarray:
    """Render one toy cell per entry of ``nodes`` (node names or indices) -> ``uint8 [B, S, S, 3]``."""
    rng = np.random.default_rng(rng)
    idx = np.asarray(hierarchy.indices(nodes) if len(nodes) and isinstance(next(iter(nodes)), str) else nodes,
                     dtype=int)
    st = {k: v[idx] for k, v in node_styles(hierarchy).items()}
    b = len(idx)
    g = np.linspace(-1.0, 1.0, size)
    x, y = g[None, None, :], g[None, :, None]
    theta = rng.uniform(0, 2 * np.pi, b)[:, None, None]
    cx, cy = (rng.normal(0, 0.05, b)[:, None, None] for _ in range(2))
    c, s = np.cos(theta), np.sin(theta)
    u, w = c * (x - cx) + s * (y - cy), -s * (x - cx) + c * (y - cy)                # [B, S, S]
    radius = (st["cell_radius"] * rng.uniform(0.85, 1.15, b))[:, None, None]
    ell = rng.uniform(0.9, 1.1, b)[:, None, None]
    sharp = size / 2.0
    cell = _sigmoid((1.0 - np.sqrt((u / (radius * ell)) ** 2 + (w * ell / radius) ** 2)) * radius * sharp)
    lobes = st["lobes"]
    r_nuc = (st["nucleus_frac"] * radius[:, 0, 0] / np.sqrt(lobes) * 1.15)[:, None, None, None]
    j = np.arange(MAX_LOBES)
    offset = ((j[None, :] - (lobes[:, None] - 1) / 2.0) * 1.6 * r_nuc[:, :, 0, 0])[:, :, None, None]   # [B, L, 1, 1]
    d = np.sqrt((u[:, None] - offset) ** 2 + (w[:, None] * st["nucleus_ecc"][:, None, None, None]) ** 2)
    lobe = _sigmoid((r_nuc - d) * sharp) * (j[None, :] < lobes[:, None])[:, :, None, None]
    notch_r = (st["kidney"] * 0.8 * r_nuc[:, 0, 0, 0] * (lobes == 1))[:, None, None]
    notch = _sigmoid((notch_r - np.sqrt((u - r_nuc[:, 0] * 0.95) ** 2 + w ** 2)) * sharp) * (notch_r > 0)
    nucleus = lobe.max(1) * (1.0 - notch) * cell
    granules = _granules(rng, st["granules"], radius[:, 0, 0], theta[:, 0, 0], cx[:, 0, 0], cy[:, 0, 0], size)
    granules = granules * cell * (1.0 - nucleus)
    stain = rng.uniform(0.9, 1.1, (b, 1, 1, 3))
    background = _hsv_to_rgb(rng.uniform(0.9, 1.0, b), rng.uniform(0.04, 0.12, b), rng.uniform(0.9, 0.98, b))
    nucleus_rgb = _hsv_to_rgb(rng.uniform(0.72, 0.8, b), rng.uniform(0.45, 0.65, b), rng.uniform(0.35, 0.5, b))
    bg, cy_rgb, nu_rgb, gr_rgb = (a[:, None, None, :] for a in (background, st["cytoplasm"], nucleus_rgb,
                                                               st["granule_colour"]))
    cell, nucleus, granules = cell[..., None], nucleus[..., None], granules[..., None]
    img = bg * (1 - cell) + cell * (cy_rgb * (1 - nucleus) + nu_rgb * nucleus)
    img = (img * (1 - 0.8 * granules) + 0.8 * granules * gr_rgb) * stain
    img = img + rng.normal(0, 0.02, img.shape)
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


README = """SYNTHETIC DATA - NOT REAL CELLS.
Toy stained cells drawn by hierwbc.datasets.synthetic for the hierarchy below (root {root!r},
{n_nodes} nodes), seed {seed}, {n} images of {size}x{size} px. Labels are hierarchy node names;
{n_coarse} images carry the parent of the leaf they were drawn from (coarse labels).
Use only to exercise code paths (make demo, tests); results on it say nothing about real cells.
manifest.csv lists every image (dataset = "synthetic").
"""


def make_synthetic(folder: str | os.PathLike, hierarchy: Hierarchy | None = None, n_per_leaf: int = 20,
                   size: int = 64, seed: int = 0, coarse_fraction: float = 0.0, leaves=None,
                   batch: int = 64, progress: bool = True) -> pd.DataFrame:
    """Draw ``n_per_leaf`` cells of each leaf (default: every leaf of the hierarchy) into
    ``folder`` as PNGs; exactly ``round(coarse_fraction * n)`` of them (chosen by the seed,
    leaves whose parent is the root excepted) are labelled with the leaf's parent node.

    Returns the manifest (``dataset="synthetic"``, ``raw_label`` = ``node`` = label, extra
    column ``leaf`` = the leaf drawn); also writes ``manifest.csv`` and ``README.txt``.
    """
    h = default_hierarchy() if hierarchy is None else hierarchy
    if not 0.0 <= coarse_fraction <= 1.0:
        raise ValueError(f"coarse_fraction must be in [0, 1], got {coarse_fraction!r}")
    leaves = list(h.leaves if leaves is None else leaves)
    missing = [n for n in leaves if n not in h]
    if missing:
        raise HierarchyError("nodes not in the hierarchy: "
                             + ", ".join(with_hint(repr(n), n, h.nodes) for n in missing))
    rng = np.random.default_rng(seed)
    drawn = np.repeat(h.indices(leaves), n_per_leaf)
    label = drawn.copy()
    parent = h.parent[drawn]
    can = np.flatnonzero(parent > 0)  # parent exists and is not the root (index 0)
    pick = rng.choice(can, size=min(len(can), int(np.floor(coarse_fraction * len(drawn) + 0.5))), replace=False)
    label[pick] = parent[pick]
    folder = Path(folder).expanduser().absolute()
    (folder / "images").mkdir(parents=True, exist_ok=True)
    names = np.array(h.nodes, dtype=object)
    paths = [str(folder / "images" / f"{i:05d}_{names[label[i]]}.png") for i in range(len(drawn))]
    for start in tqdm(range(0, len(drawn), batch), desc="drawing synthetic cells", disable=not progress):
        imgs = draw_cells(h, drawn[start:start + batch], size, rng)
        for k, img in enumerate(imgs):
            atomic_write(paths[start + k], lambda tmp, img=img: Image.fromarray(img).save(tmp, format="PNG"))
    out = pd.DataFrame({"path": paths, "dataset": DATASET, "raw_label": names[label].astype(str),
                        "node": names[label].astype(str), "split": "", "fold": np.full(len(drawn), -1, np.int64),
                        "leaf": names[drawn].astype(str)})[[*COLUMNS, "leaf"]]
    out.attrs = {"dataset": DATASET, "source": str(folder), "excluded": {"reason": [], "path": [],
                                                                        "raw_label": [], "detail": []}}
    check_manifest(out, h)
    write_manifest(out, folder / "manifest.csv", relative=True)
    atomic_write_text(folder / "README.txt", README.format(root=h.root, n_nodes=len(h.nodes), seed=seed, n=len(drawn),
                                                           size=size, n_coarse=len(pick)) + "\n" + h.ascii() + "\n")
    return out
