"""A manifest as a torch ``Dataset`` of squared uint8 images: what training, ``embed`` and the
image cache decode (in DataLoader workers) from the manifest's files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from .images import load_image, square_resize
from .manifest import boxes
from .reframe import reframer
from .stain import color_features, stain_normalizer


class ManifestImages(Dataset):
    """Item ``i`` -> ``(image uint8 [3, size, size], target int64, i)``: row ``i``'s file (its
    box cut out when the manifest has boxes), :func:`~hierwbc.datasets.images.square_resize`.

    ``targets``: node index per row (``-1`` unlabelled). ``stain_norm``: None, or ``"reinhard"``
    to move each image's colours to the PBC training images' (:mod:`.stain`, before resizing).
    A file that cannot be decoded raises :class:`hierwbc.datasets.images.ImageError` naming it
    (the run stops; nothing is skipped). ``with_color``: items get a fourth entry, the
    :func:`~.stain.color_features` [6] of the image as decoded (before any stain normalisation):
    the image is decoded once for both. ``reframe``: None, or ``"cell"`` to cut the square
    around the cell first (:mod:`.reframe`; after stain normalisation, before resizing).
    """

    def __init__(self, manifest: pd.DataFrame, size: int, targets: np.ndarray, stain_norm: str | None = None,
                 with_color: bool = False, reframe: str | None = None):
        if len(targets) != len(manifest):
            raise ValueError("one target per manifest row is needed")
        self.paths = manifest["path"].astype(str).to_numpy()
        self.boxes = boxes(manifest)
        self.size = size
        self.targets = np.asarray(targets, dtype=np.int64)
        self.normalize = stain_normalizer(stain_norm)  # an unknown method fails here, not in a worker
        self.with_color = with_color
        self.reframe = reframer(reframe)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        box = None if self.boxes is None or np.isnan(self.boxes[i]).any() else self.boxes[i]
        raw = load_image(self.paths[i], box=box)
        rgb = raw if self.normalize is None else self.normalize(raw)
        rgb = square_resize(rgb if self.reframe is None else self.reframe(rgb), self.size)
        item = torch.from_numpy(rgb).permute(2, 0, 1).contiguous(), int(self.targets[i]), i
        return (*item, torch.from_numpy(color_features(raw))) if self.with_color else item
