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


def add_labeled_cells_arguments(p, model_help: str, out_help: str) -> None:
    """The labeled cells of a lab, the model to start from and the file to write (``hierwbc adapt``,
    ``hierwbc finetune``)."""
    p.add_argument("labeled", metavar="LABELED",
                   help="labeled cells of your lab: a folder of class folders or a manifest CSV")
    p.add_argument("--model", default=None, help=model_help)
    p.add_argument("--out", required=True, help=out_help)
    p.add_argument("--label-map", default=None,
                   help="for folders not named after tree nodes: a label map of the hierarchy or a YAML / JSON file")
