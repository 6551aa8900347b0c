"""Does an image look like the images a model was trained on? A colour-statistics check.

A model trained on one lab's images is not to be trusted on another's (the shipped classifier on
BCCD and segmentation_wbc: its model card, ``hierwbc/weights/README.md``); the user should be
told, per cell.
Each image is summarised by six numbers, the means and log standard deviations of its lαβ
channels (:func:`.stain.color_features`: Ruderman's decorrelated colour space, every k-th pixel), and
compared with the training images' distribution of the same six numbers
by the Mahalanobis distance

    d(x) = sqrt((f(x) - mu)^T P (f(x) - mu)),   mu, P = mean and inverse covariance over training images

A cell is *off-domain* when ``d`` exceeds ``threshold``, the ``quantile`` (0.99) of ``d`` over
the training images it was fitted on: about 1 % of in-domain cells are flagged by construction.
:func:`pbc_train_domain` (package data ``weights/pbc_train_colour_domain.json``) is the PBC
train split's, for the shipped models; ``reports/reproduction/colour_domain.py`` fits it and measures
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
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..deprecation import renamed_attributes
from .manifest_images import ManifestImages
from .stain import FEATURE_SIZE

PBC_TRAIN_FILE = Path(__file__).resolve().parents[1] / "weights" / "pbc_train_colour_domain.json"


def image_features(manifest: pd.DataFrame, progress: bool = True, num_workers: int = 0) -> np.ndarray:
    """:func:`~.stain.color_features` of every row of ``manifest`` (its crop box cut out, as
    :class:`~.manifest_images.ManifestImages` decodes it): float64 [n, 6]. A file that cannot be
    decoded raises naming it."""
    images = ManifestImages(manifest, FEATURE_SIZE, np.full(len(manifest), -1), with_color=True)
    loader = DataLoader(images, batch_size=256, shuffle=False, num_workers=num_workers)
    out = [f for *_, f in tqdm(loader, desc="colour statistics", disable=not progress, leave=False)]
    return torch.cat(out).numpy() if out else np.zeros((0, 6))


@dataclass(frozen=True)
class ColorDomain:
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
    def fit(cls, features: np.ndarray, name: str, quantile: float = 0.99) -> ColorDomain:
        """From training images' :func:`~.stain.color_features` [n, 6] (n > 6)."""
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
                           "features": "lab means, log lab stds (hierwbc.datasets.stain.color_features)"},
                          indent=1) + "\n"

    @classmethod
    def read(cls, path: str | os.PathLike) -> ColorDomain:
        return cls.from_json(Path(path).read_text(encoding="utf-8"), str(path))

    @classmethod
    def from_json(cls, text: str, where: str = "colour domain") -> ColorDomain:
        """The inverse of :meth:`to_json` (a file's text, or a weights file's ``color_domain``)."""
        try:
            d = json.loads(text)
            precision = tuple(tuple(map(float, row)) for row in d["precision"])
            return cls(str(d["name"]), tuple(map(float, d["mean"])), precision, float(d["threshold"]),
                       float(d["quantile"]), int(d["n"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: not a colour domain ({err})") from None


@lru_cache(maxsize=1)
def pbc_train_domain() -> ColorDomain:
    """The PBC train split's colour domain (the shipped models' training images)."""
    return ColorDomain.read(PBC_TRAIN_FILE)

__getattr__ = renamed_attributes(__name__, {"ColourDomain": "ColorDomain"})
