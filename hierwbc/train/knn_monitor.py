"""Online k-NN monitor: does the teacher's embedding separate cell types better as training goes on?

As solo-learn's and lightly's online kNN: every ``knn_every`` steps the teacher backbone embeds
a fixed set of *reference* images (labelled training rows, a stratified subset) and the
held-out *validation* rows (``data.val_fraction``, never trained on), and the
``k``-NN probe of :mod:`hierwbc.evaluate` (features standardised on the references, Euclidean,
uniform votes) predicts each validation cell from its k nearest references. Reported:
balanced accuracy (mean per-class recall over the validation classes, the paper's headline
metric) and accuracy, in [0, 1]. A loss that moves while this stays at its step-0 value (or
falls) means the run is not learning. With ``shifted_queries`` (the same validation cells as if
from another lab, :mod:`hierwbc.train.lab_shift`) it also reports ``knn_bacc_shifted`` and
``knn_acc_shifted``: the same references, the shifted cells as queries.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import torch
from torch import Tensor, nn

from ..datasets.model_input import normalize, to_float_images
from ..evaluate.metrics import compute_metrics
from ..evaluate.probes import run_probes


@torch.no_grad()
def embed_images(backbone: nn.Module, images: Tensor, device: torch.device, batch_size: int = 256,
                 autocast=nullcontext) -> np.ndarray:
    """Normalised cls tokens of uint8 images [n, 3, S, S]: float32 [n, D] (eval mode, restored)."""
    was_training = backbone.training
    backbone.eval()
    out = []
    try:
        for start in range(0, len(images), batch_size):  # batches, not samples
            x = normalize(to_float_images(images[start : start + batch_size].to(device)))
            with autocast():
                out.append(backbone.forward_features(x)["x_norm_clstoken"].float().cpu())
    finally:
        backbone.train(was_training)
    return torch.cat(out).numpy()


def knn_scores(hierarchy, ref_features: np.ndarray, ref_targets: np.ndarray, query_features: np.ndarray,
               query_targets: np.ndarray, k: int = 20) -> dict[str, float]:
    """``{"knn_bacc", "knn_acc"}`` of the k-NN probe predicting the queries from the references."""
    X = np.concatenate([ref_features, query_features])
    y = np.concatenate([ref_targets, query_targets])
    fold = np.concatenate([np.full(len(ref_targets), -1), np.zeros(len(query_targets))]).astype(np.int64)
    probe = f"{int(k)}nn"
    pred = run_probes(X, y, fold, probes=(probe,))[probe].pred[len(ref_targets):]
    m = compute_metrics(hierarchy, query_targets, pred)
    return {"knn_bacc": float(m["balanced_accuracy"]), "knn_acc": float(m["accuracy"])}


class KnnMonitor:
    """k-NN balanced accuracy of a backbone: references [n, 3, S, S] uint8 with node targets [n],
    validation queries [m, 3, S, S] with targets [m] (all labelled, >= 0), optionally the same
    queries shifted to another lab [m, 3, S, S]."""

    def __init__(self, hierarchy, references: Tensor, ref_targets, queries: Tensor, query_targets,
                 k: int = 20, batch_size: int = 256, shifted_queries: Tensor | None = None):
        self.hierarchy, self.k, self.batch_size = hierarchy, int(k), int(batch_size)
        self.references, self.queries, self.shifted_queries = references, queries, shifted_queries
        self.ref_targets = np.asarray(ref_targets, np.int64)
        self.query_targets = np.asarray(query_targets, np.int64)
        if (self.ref_targets < 0).any() or (self.query_targets < 0).any():
            raise ValueError("the kNN monitor needs labelled references and queries (targets >= 0)")
        if len(self.ref_targets) != len(references) or len(self.query_targets) != len(queries):
            raise ValueError("one target per reference and per query image is needed")
        if shifted_queries is not None and shifted_queries.shape != queries.shape:
            raise ValueError(f"shifted queries {tuple(shifted_queries.shape)} must match the queries "
                             f"{tuple(queries.shape)}: the same cells, shifted")

    def __call__(self, backbone: nn.Module, device: torch.device | None = None,
                 autocast=nullcontext) -> dict[str, float]:
        device = device if device is not None else torch.device("cpu")
        ref = embed_images(backbone, self.references, device, self.batch_size, autocast)
        query = embed_images(backbone, self.queries, device, self.batch_size, autocast)
        scores = knn_scores(self.hierarchy, ref, self.ref_targets, query, self.query_targets, self.k)
        if self.shifted_queries is not None:
            shifted = embed_images(backbone, self.shifted_queries, device, self.batch_size, autocast)
            scores.update({f"{key}_shifted": value for key, value in knn_scores(
                self.hierarchy, ref, self.ref_targets, shifted, self.query_targets, self.k).items()})
        return scores
