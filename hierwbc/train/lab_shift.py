"""A simulated other-lab view of PBC cells, for choosing recipes by robustness without peeking.

Other labs' WBC crops differ from PBC's in two ways a backbone trained on PBC never sees:
framing (crops tight around the cell, which fills the image; PBC centres the cell in a wide
field) and stain (another Romanowsky batch, scanner and white balance). The external
evaluation sets (BCCD, segmentation_wbc) may not be used to choose anything, so recipes are
compared on the held-out PBC validation rows shown as if from another lab:

1. **framing**: the central ``zoom`` x ``zoom`` part of the image (the cell centred by PBC's
   protocol), resampled to ``size`` with the training crops' antialiased bicubic kernel;
2. **stain**: the stain-space perturbation of Tellez et al. (2018, "Whole-slide mitosis
   detection in H&E breast histology using PHH3 as a reference to train distilled
   stain-invariant convolutional neural networks"): optical density ``OD = -ln(max(I, 1/255))``,
   stain concentrations ``C = OD M^-1`` in Ruifrok & Johnston's haematoxylin / eosin / DAB basis
   ``M`` (rows: unit OD vectors), per image and stain ``C' = alpha C + beta`` with
   ``alpha ~ U(1 - sigma, 1 + sigma)``, ``beta ~ U(-beta_max, beta_max)``, then
   ``I' = exp(-C' M)`` clipped to [0, 1].

A different family from the training augmentation (HSV colour jitter and random crops), so a
recipe is not rewarded for matching its own augmentation exactly. Deterministic given
``seed``: every run checks the same shifted images.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .augment import crop_flip_rotate, make_generator, to_float_images

# Ruifrok & Johnston (2001) optical-density vectors of haematoxylin, eosin and DAB (as skimage)
RUIFROK_HED = ((0.65, 0.70, 0.29), (0.07, 0.99, 0.11), (0.27, 0.57, 0.78))


def stain_basis(dtype: torch.dtype = torch.float32) -> Tensor:
    """[3, 3] rows: unit optical-density vectors of haematoxylin, eosin, DAB."""
    basis = torch.tensor(RUIFROK_HED, dtype=torch.float64)
    return (basis / basis.norm(dim=1, keepdim=True)).to(dtype)


def perturb_stains(images: Tensor, alpha: Tensor, beta: Tensor) -> Tensor:
    """Float images [B, 3, H, W] in [0, 1] with stain concentrations ``C' = alpha C + beta``
    (alpha, beta [B, 3], one factor and offset per image and stain) -> [B, 3, H, W] in [0, 1]."""
    basis = stain_basis(images.dtype).to(images.device)
    od = -torch.log(images.clamp(min=1.0 / 255.0))                          # [B, 3, H, W]
    conc = torch.einsum("bchw,cs->bshw", od, torch.linalg.inv(basis))       # [B, 3 stains, H, W]
    conc = conc * alpha.to(conc).view(-1, 3, 1, 1) + beta.to(conc).view(-1, 3, 1, 1)
    return torch.exp(-torch.einsum("bshw,sc->bchw", conc, basis)).clamp_(0.0, 1.0)


def centre_boxes(n: int, height: int, width: int, zoom: float) -> Tensor:
    """[n, 4] boxes (x0, y0, w, h): the central ``zoom`` fraction of each side."""
    w, h = width * zoom, height * zoom
    return torch.tensor([(width - w) / 2, (height - h) / 2, w, h], dtype=torch.float32).expand(n, 4)


def lab_shifted(images: Tensor, size: int, seed: int = 0, zoom: float = 0.5, sigma: float = 0.25,
                beta_max: float = 0.05) -> Tensor:
    """uint8 [n, 3, H, W] PBC cells -> uint8 [n, 3, size, size] as if from another lab: the
    central ``zoom`` of each side (tight framing), stains perturbed (module docstring)."""
    n, _, height, width = images.shape
    gen = make_generator(seed)
    alpha = 1.0 + (2 * torch.rand(n, 3, generator=gen) - 1) * sigma
    beta = (2 * torch.rand(n, 3, generator=gen) - 1) * beta_max
    no = torch.zeros(n, dtype=torch.bool)
    framed = crop_flip_rotate(to_float_images(images), centre_boxes(n, height, width, zoom), size,
                              no, no, torch.zeros(n))
    return perturb_stains(framed, alpha, beta).mul_(255.0).round_().to(torch.uint8)
