"""Baselines every comparison carries: the plain supervised CNN a user would pick instead
(its network :mod:`hierwbc.models.cnn`, read by every inference command like any other model;
:mod:`.recipe` its recipe, :mod:`.train` its training, ``hierwbc baseline`` its command)."""

from ..models.cnn import ConvNet, per_image_standardize

__all__ = ["ConvNet", "per_image_standardize"]
