"""A manifest as a torch ``Dataset`` of squared uint8 images: what training, ``embed`` and the
image cache decode (in DataLoader workers) from the manifest's files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from .images import load_image, square_resize
from .manifest import boxes


class ManifestImages(Dataset):
    """Item ``i`` -> ``(image uint8 [3, size, size], target int64, i)``: row ``i``'s file (its
    box cut out when the manifest has boxes), :func:`~hierwbc.datasets.images.square_resize`.

    ``targets``: node index per row (``-1`` unlabelled). A file that cannot be decoded raises
    :class:`hierwbc.datasets.images.ImageError` naming it (the run stops; nothing is skipped).
    """

    def __init__(self, manifest: pd.DataFrame, size: int, targets: np.ndarray):
        if len(targets) != len(manifest):
            raise ValueError("one target per manifest row is needed")
        self.paths = manifest["path"].astype(str).to_numpy()
        self.boxes = boxes(manifest)
        self.size = size
        self.targets = np.asarray(targets, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        box = None if self.boxes is None or np.isnan(self.boxes[i]).any() else self.boxes[i]
        rgb = square_resize(load_image(self.paths[i], box=box), self.size)
        return torch.from_numpy(rgb).permute(2, 0, 1).contiguous(), int(self.targets[i]), i
