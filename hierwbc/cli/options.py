"""Options more than one command takes, defined once."""

from __future__ import annotations


def add_stain_argument(p) -> None:
    """``--stain-norm`` (``hierwbc embed`` and ``hierwbc predict``)."""
    from ..datasets.stain import STAIN_NORMS

    p.add_argument("--stain-norm", choices=STAIN_NORMS, default=None,
                   help="move each image's colours to the PBC training images' first (Reinhard 2001): for "
                        "cells stained or photographed elsewhere than the model's training data")


def add_device_argument(p) -> None:
    """``--device`` (default: the GPU where there is one)."""
    import torch

    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
