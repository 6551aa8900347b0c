"""Training diagnostics: how informative the teacher's DINO targets are, and a watch for the
uniform-target plateau.

When the teacher's cls outputs are (nearly) the same for every image, as they are for a ViT
started from random weights, Sinkhorn-Knopp (or centring) turns them into *uniform* targets:
the DINO loss then sits at exactly ``log K`` (8.318 for K = 4096) and carries no signal, while
iBOT and KoLeo still move. Large from-scratch runs leave this plateau after many warm-up
steps; short ones often never do (facebookresearch/dinov2#407, dinov3#199). The normalised
entropy of the targets, logged per step as ``dino_target_entropy``, shows it directly (1 =
uniform), and :class:`PlateauWatch` says so once, in words, while the run goes on.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def normalized_entropy(probs: Tensor) -> Tensor:
    """Mean over rows of ``H(p) / log K`` for probabilities ``probs`` [N, K] (rows are
    renormalised; ``0 log 0 = 0``): 1 for uniform rows, 0 for one-hot rows. Scalar tensor."""
    if probs.dim() != 2 or probs.shape[1] < 2:
        raise ValueError(f"probs must be [N, K] with K >= 2, got shape {tuple(probs.shape)}")
    p = probs.float()
    p = p / p.sum(dim=1, keepdim=True).clamp_min(1e-30)
    h = -torch.special.xlogy(p, p).sum(dim=1)
    return h.mean() / math.log(p.shape[1])


class PlateauWatch:
    """Says once when ``dino_target_entropy`` has stayed at or above ``threshold`` for
    ``patience`` consecutive steps; any step below resets the count."""

    def __init__(self, n_prototypes: int, threshold: float = 0.995, patience: int = 100):
        self.n_prototypes, self.threshold, self.patience = int(n_prototypes), float(threshold), int(patience)
        self.count, self.told = 0, False

    def update(self, step: int, entropy: float) -> str | None:
        """The message the first time the plateau is reached (at ``step``), else None."""
        self.count = self.count + 1 if entropy >= self.threshold else 0
        if self.told or self.count < self.patience:
            return None
        self.told = True
        return (f"step {step}: the teacher's DINO targets have been uniform (normalised entropy >= "
                f"{self.threshold}) for {self.patience} steps, so the DINO loss sits at log K = "
                f"{math.log(self.n_prototypes):.3f} and teaches nothing (iBOT, KoLeo and the supervised "
                f"term still do). A known plateau of runs started from random weights "
                f"(facebookresearch/dinov2#407): start from a pretrained checkpoint (--pretrained), or use "
                f"fewer prototypes, a lower teacher temperature or a longer warm-up.")


class KnnWatch:
    """Says once when the online kNN balanced accuracy has fallen at ``patience`` consecutive
    checks: the loss may look fine while the embedding gets worse (seen in from-scratch runs with
    the paper's recipe squeezed into a short run).

    A check counts as a fall when it is lower than the check before it **and** more than
    ``min_delta`` below the best check so far, so that the noise of the estimate does not fire
    the warning: 20-NN balanced accuracy on 1,000 validation cells has a standard error of about
    1.5 points (binomial, p ~ 0.5), and a run wandering within a point of its best is not getting
    worse. ``min_delta=0`` counts every decrease that leaves the best behind."""

    def __init__(self, patience: int = 3, min_delta: float = 0.01):
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.previous: float | None = None
        self.best = -math.inf
        self.falls, self.told = 0, False
        self.history: list[tuple[int, float]] = []

    def replay(self, checks) -> None:
        """Take in the ``(step, value)`` checks of earlier sittings of a resumed run, silently
        (what they had to say was said then), so that falls spanning a resume still count."""
        for step, value in checks:
            self.update(step, value)

    def update(self, step: int, value: float) -> str | None:
        """The message the first time kNN has fallen ``patience`` times in a row, else None."""
        value = float(value)
        fell = self.previous is not None and value < self.previous and value < self.best - self.min_delta
        self.falls = self.falls + 1 if fell else 0
        self.previous, self.best = value, max(self.best, value)
        self.history.append((int(step), value))
        if self.told or self.patience <= 0 or self.falls < self.patience:
            return None
        self.told = True
        shown = ", ".join(f"{v:.3f} (step {s})" for s, v in self.history[-self.patience - 1:])
        return (f"step {step}: the online kNN balanced accuracy of the teacher has fallen at "
                f"{self.patience} checks in a row, each more than {self.min_delta:.3f} below its best "
                f"{self.best:.3f} ({shown}): the embedding is getting worse while "
                "training goes on. Check the recipe (teacher momentum and temperature schedules, "
                "augmentation strength, local crops) before training longer.")
