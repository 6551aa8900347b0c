"""Does an image look like the images a model was trained on? A colour-statistics check.

A model trained on one lab's images is not to be trusted on another's (the shipped classifier on
BCCD and segmentation_wbc: its model card, ``hierwbc/weights/README.md``); the user should be
told, per cell.
Each image is summarised by six numbers, the means and log standard deviations of its lαβ
channels (:mod:`.stain`, Ruderman's decorrelated colour space) after resizing it to
``FEATURE_SIZE`` px, and compared with the training images' distribution of the same six numbers
by the Mahalanobis distance

    d(x) = sqrt((f(x) - mu)^T P (f(x) - mu)),   mu, P = mean and inverse covariance over training images

A cell is *off-domain* when ``d`` exceeds ``threshold``, the ``quantile`` (0.99) of ``d`` over
the training images it was fitted on: about 1 % of in-domain cells are flagged by construction.
:data:`PBC_TRAIN_DOMAIN` (package data ``weights/pbc_train_colour_domain.json``) is the PBC train
split's, for the shipped models; ``reports/reproduction/colour_domain.py`` fits it and measures
how often each evaluation set is flagged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .images import load_image, square_resize
from .manifest import boxes
from .stain import _lab_stats, rgb_to_lab

FEATURE_SIZE = 64  # colour statistics barely change with size; 64 px keeps a pass over a set quick
_STD_FLOOR = 1e-4  # a flat channel's log std stays finite
PBC_TRAIN_FILE = Path(__file__).resolve().parents[1] / "weights" / "pbc_train_colour_domain.json"


def colour_features(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``[H, W, 3]`` -> float64 [6]: lαβ channel means, then log channel standard deviations,
    of the image resized to ``FEATURE_SIZE`` px."""
    mean, std = _lab_stats(rgb_to_lab(square_resize(rgb, FEATURE_SIZE)))
    return np.concatenate([mean, np.log(np.maximum(std, _STD_FLOOR))])


def image_features(manifest: pd.DataFrame, progress: bool = True) -> np.ndarray:
    """:func:`colour_features` of every row of ``manifest`` (its crop box cut out): float64 [n, 6].
    A file that cannot be decoded raises naming it."""
    bx = boxes(manifest)
    paths = manifest["path"].astype(str).to_numpy()
    out = np.empty((len(paths), 6))
    for i, path in enumerate(tqdm(paths, desc="colour statistics", disable=not progress, leave=False)):
        box = None if bx is None or np.isnan(bx[i]).any() else bx[i]
        out[i] = colour_features(load_image(path, box=box))
    return out


@dataclass(frozen=True)
class ColourDomain:
    """The training images' colour-feature distribution: ``mean`` [6], ``precision`` [6, 6]
    (inverse covariance), ``threshold`` (the ``quantile`` of the training distances, over ``n``
    images of ``name``)."""

    name: str
    mean: tuple[float, ...]
    precision: tuple[tuple[float, ...], ...]
    threshold: float
    quantile: float
    n: int

    @classmethod
    def fit(cls, features: np.ndarray, name: str, quantile: float = 0.99) -> ColourDomain:
        """From training images' :func:`colour_features` [n, 6] (n > 6)."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] != 6 or len(features) <= 6:
            raise ValueError(f"need [n > 6, 6] colour features, got {features.shape}")
        mean = features.mean(0)
        precision = np.linalg.inv(np.cov(features, rowvar=False))
        draft = cls(name, tuple(mean.tolist()), tuple(map(tuple, precision.tolist())), 0.0, quantile, len(features))
        threshold = float(np.quantile(draft.distance(features), quantile))
        return cls(name, draft.mean, draft.precision, threshold, quantile, len(features))

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distances [n] of colour features [n, 6] from the training mean."""
        diff = np.atleast_2d(np.asarray(features, dtype=np.float64)) - np.asarray(self.mean)
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", diff, np.asarray(self.precision), diff), 0.0))

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "mean": self.mean, "precision": self.precision,
                           "threshold": self.threshold, "quantile": self.quantile, "n": self.n,
                           "features": "lab means, log lab stds at 64 px (hierwbc.datasets.colour_domain)"},
                          indent=1) + "\n"

    @classmethod
    def read(cls, path: str | os.PathLike) -> ColourDomain:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        try:
            precision = tuple(tuple(map(float, row)) for row in d["precision"])
            return cls(str(d["name"]), tuple(map(float, d["mean"])), precision, float(d["threshold"]),
                       float(d["quantile"]), int(d["n"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: not a colour domain file ({err})") from None


@lru_cache(maxsize=1)
def pbc_train_domain() -> ColourDomain:
    """The PBC train split's colour domain (the shipped models' training images)."""
    return ColourDomain.read(PBC_TRAIN_FILE)
