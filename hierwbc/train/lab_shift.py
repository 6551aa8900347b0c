"""A simulated other-lab view of PBC cells, for choosing recipes by robustness without peeking.

Other labs' WBC crops differ from PBC's in two ways a backbone trained on PBC never sees:
framing (crops tight around the cell, which fills the image; PBC centres the cell in a wide
field) and stain (another Romanowsky batch, scanner and white balance). The external
evaluation sets (BCCD, segmentation_wbc) may not be used to choose anything, so recipes are
compared on the held-out PBC validation rows shown as if from another lab:

1. **framing**: the central ``zoom`` x ``zoom`` part of the image (the cell centred by PBC's
   protocol; ``zoom`` a fraction, or a range ``(lo, hi)`` drawn per image), resampled to
   ``size`` with the training crops' antialiased bicubic kernel;
2. **stain**: the stain-space perturbation of Tellez et al. (2018, "Whole-slide mitosis
   detection in H&E breast histology using PHH3 as a reference to train distilled
   stain-invariant convolutional neural networks"): optical density ``OD = -ln(max(I, 1/255))``,
   stain concentrations ``C = OD M^-1`` in Ruifrok & Johnston's haematoxylin / eosin / DAB basis
   ``M`` (rows: unit OD vectors), per image and stain ``C' = alpha C + beta`` with
   ``alpha ~ U(1 - sigma, 1 + sigma)``, ``beta ~ U(-beta_max, beta_max)``, then
   ``I' = exp(-C' M)`` clipped to [0, 1];
3. **white balance**: each channel multiplied by a gain ``U(1 - gain, 1)`` per image (a yellow
   or blue cast of the whole field, background included, which stain amounts cannot give);
4. **resolution**: a gaussian blur of ``sigma ~ U(*blur)`` output pixels per image (a lower
   resolution camera or objective, a cell upsampled from a small crop).

A different family from the training augmentation (HSV colour jitter and random crops), so a
recipe is not rewarded for matching its own augmentation exactly. Deterministic given
``seed``: every run checks the same shifted images.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..datasets.model_input import to_float_images
from ..deprecation import renamed_attributes
from .augment import crop_flip_rotate, gaussian_blur, make_generator
from .knn_monitor import embed_images

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


def center_boxes(n: int, height: int, width: int, zoom: float | Tensor) -> Tensor:
    """[n, 4] boxes (x0, y0, w, h): the central ``zoom`` fraction of each side (a number, or [n])."""
    zoom = torch.as_tensor(zoom, dtype=torch.float32).expand(n)
    w, h = width * zoom, height * zoom
    return torch.stack(((width - w) / 2, (height - h) / 2, w, h), dim=1)


def lab_shifted(images: Tensor, size: int, seed: int = 0, zoom: float | tuple[float, float] = 0.5,
                sigma: float = 0.25, beta_max: float = 0.05, gain: float = 0.3,
                blur: tuple[float, float] | None = (0.1, 1.5)) -> Tensor:
    """uint8 [n, 3, H, W] PBC cells -> uint8 [n, 3, size, size] as if from another lab: the
    central ``zoom`` of each side (tight framing; a range: U(lo, hi) per image), stains
    perturbed, white balance and resolution changed (module docstring; ``gain=0`` and
    ``blur=None`` leave those two out)."""
    n, _, height, width = images.shape
    gen = make_generator(seed)
    alpha = 1.0 + (2 * torch.rand(n, 3, generator=gen) - 1) * sigma
    beta = (2 * torch.rand(n, 3, generator=gen) - 1) * beta_max
    gains = 1.0 - torch.rand(n, 3, generator=gen) * gain
    sigmas = None if blur is None else blur[0] + torch.rand(n, generator=gen) * (blur[1] - blur[0])
    if isinstance(zoom, (tuple, list)):
        zoom = zoom[0] + torch.rand(n, generator=gen) * (zoom[1] - zoom[0])
    no = torch.zeros(n, dtype=torch.bool)
    framed = crop_flip_rotate(to_float_images(images), center_boxes(n, height, width, zoom), size,
                              no, no, torch.zeros(n))
    out = perturb_stains(framed, alpha, beta) * gains.view(n, 3, 1, 1)
    if sigmas is not None:
        out = gaussian_blur(out, sigmas)
    return out.clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8)


def embed_lab_views(backbone, images: Tensor, size: int, views: int, seed: int = 1,
                    zoom: tuple[float, float] = (0.4, 0.8), chunk: int = 2048, progress: bool = True):
    """Cls embeddings float32 [views * n, D] of ``views`` lab-shifted copies of uint8 cells
    [n, 3, H, W] (view-major: rows ``v * n + i`` are cell ``i``'s view ``v``), each view and chunk
    of ``chunk`` cells with its own seed (``seed + 1000 v + chunk index``), framing drawn per image
    in ``zoom``: e.g. to fit a classifier head that has seen cells as other labs show them."""
    device = next(backbone.parameters()).device
    out = []
    for view in tqdm(range(views), desc=f"embed {views} lab-shifted views", disable=not progress):
        for k, start in enumerate(range(0, len(images), chunk)):
            shifted = lab_shifted(images[start : start + chunk], size, seed=seed + 1000 * view + k, zoom=zoom)
            out.append(embed_images(backbone, shifted, device))
    return np.concatenate(out) if out else np.zeros((0, backbone.embed_dim), np.float32)

__getattr__ = renamed_attributes(__name__, {"centre_boxes": "center_boxes"})
