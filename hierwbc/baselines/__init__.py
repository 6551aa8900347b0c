"""Baselines every comparison carries: the plain supervised CNN a user would pick instead
(:mod:`.cnn` the network, :mod:`.recipe` its recipe, :mod:`.train` its training, :mod:`.cli`
``hierwbc baseline``). Importing this package loads only the network, so inference
(``embed``, ``predict``) can read a CNN's weights without the training code."""

from .cnn import ConvNet, per_image_standardize

__all__ = ["ConvNet", "per_image_standardize"]
