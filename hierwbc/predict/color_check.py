"""The off-domain check: how far each cell's colour statistics lie from those of the images the
calls rest on (:mod:`hierwbc.datasets.color_domain`), and the warning when many do."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..datasets.color_domain import ColorDomain, image_features, pbc_train_domain

OFF_DOMAIN_WARN = 0.1  # more off-domain cells than this share: a warning (in-domain: ~1 % by construction)


def off_domain_message(info: dict) -> str:
    """The warning for a prediction whose cells look unlike the images its calls rest on."""
    return (f"{info['n_off_domain']} of {info['n_predicted']} cells look unlike the images the calls rest on "
            f"({info['colour_domain']}: colour distance > {info['colour_threshold']:.1f}, obs 'off_domain'); "
            "calls on them are less reliable (its model card gives its scores on each lab it was tested on). "
            "Use a reference atlas of your own lab's labelled cells (--reference) or fine-tune, and check the "
            "calls by eye")


REFERENCE_DOMAIN_CELLS = 1000  # reference images the automatic check of the reference mode is fitted on


def color_domain_of(color_domain, provenance: dict, reference: pd.DataFrame | None,
                   progress: bool = True) -> ColorDomain | None:
    """The off-domain check to apply (see :func:`predict`; ``color_domain`` not None / "none");
    ``reference``: the reference atlas' image rows (``path`` and boxes) in the reference mode."""
    if isinstance(color_domain, ColorDomain):
        return color_domain
    if color_domain != "auto":
        return ColorDomain.read(color_domain)
    if reference is not None:  # the atlas, not the model's training images, decides what is known
        if "path" not in reference:
            return None
        rows = reference.drop_duplicates().sample(min(REFERENCE_DOMAIN_CELLS, len(reference)), random_state=0)
        if len(rows) <= 6 or not all(Path(p).is_file() for p in rows["path"].astype(str)):
            return None  # too few, or its images are not on this machine: no check
        return ColorDomain.fit(image_features(rows, progress=progress), f"reference atlas ({len(rows)} images)")
    if provenance.get("colour_domain"):  # the model's own: fitted on its training images (all its labs)
        return ColorDomain.from_json(provenance["colour_domain"], f"{provenance.get('model')}: colour_domain")
    try:
        sources = json.loads(provenance.get("config") or "{}").get("data", {}).get("sources")
    except (TypeError, ValueError, AttributeError):
        return None
    return pbc_train_domain() if sources == ["pbc"] else None
