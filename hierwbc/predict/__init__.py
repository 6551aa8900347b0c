"""Label new cells: a model (+ optionally a labelled reference) and images -> per-cell predictions.

>>> adata = predict("new_cells/", model="runs/hierce/checkpoints/last.pt")     # doctest: +SKIP
>>> adata = predict("cells.csv", model="hierwbc-tiny-pbc", reference="pbc_train.h5ad")  # doctest: +SKIP
>>> write_predictions(adata, "cells.csv")                 # + cells.h5ad beside  # doctest: +SKIP
>>> import hierwbc; adata = hierwbc.predict("new_cells/")   # the same call, one line  # doctest: +SKIP

Node probabilities [n, N] come from one of

- a **supervised head**: a training checkpoint whose head gives node probabilities
  (:func:`hierwbc.embed.embed` fills ``obsm["node_proba"]``), or a weights file exported with
  its head (``sup_head.*`` tensors; applied here to the [CLS] tokens; a file whose metadata
  lists ``trained_leaves`` predicts only those leaves, the ones its training labels support).
  ``model=None`` is the shipped default classifier (:data:`DEFAULT_CLASSIFIER`,
  ``hierwbc-cnn-labs``: a CNN trained on PBC and LISC with colour augmentation and cell-centred
  re-framing, five types, chosen by the rules of ``reports/labs/RULES.md``; before it the plain
  CNN baseline ``hierwbc-cnn-pbc`` and the ViT HierCE classifier ``hierwbc-tiny8-pbc-hierce``);
- a **reference atlas** (``reference=``: an AnnData or .h5ad of labelled embeddings of the same
  model, obs ``node``, obsm ``X_cls``): kNN label transfer exactly as the ``<k>nn`` probe of
  :mod:`hierwbc.evaluate` with the reference as the training fold (features standardised on
  the reference, uniform votes, :func:`~hierwbc.evaluate.knn.knn_predict`); the vote fractions
  over the reference's classes (which may be internal nodes) become node probabilities with
  :func:`~hierwbc.evaluate.backoff.class_to_node_proba`. A reference overrides a head.

Per cell (obs): ``path``, ``folder`` (first sub-folder below an input folder, "" for a file at
its top or without one), ``pred_leaf`` and ``pred_leaf_proba`` (the leaf of largest node
probability; for the kNN mode ties go as in the probe, to the class with the nearest member),
``backoff_node`` / ``backoff_proba`` (the deepest node **on the root path of the predicted
leaf** with probability >= ``threshold``, :func:`~hierwbc.evaluate.backoff.backoff_predict`
restricted to that path, so the two answers never contradict each other; threshold 0 gives the
leaf, and the root is always available), ``lineage`` / ``lineage_proba`` (depth-1 ancestor of
the leaf), ``top{1,2,3}_leaf`` / ``top{1,2,3}_proba``, and with labels ``node`` (the true
label, "" when unknown). Labels come from ``label_map`` (applied to the class sub-folder
names, or to a CSV's ``raw_label``/``folder`` column) or from a CSV's ``node`` column; without
them nothing is used as a label. ``colour_distance`` / ``off_domain``: how far the image's colour
statistics (as captured, before any ``stain_norm``; read in the embedding pass) lie from those
of the images the calls rest on (the reference atlas' images, or the PBC train split's for a
model trained on PBC) and whether beyond the 99 % of those (:mod:`hierwbc.datasets.color_domain`):
calls on off-domain cells are unreliable (the shipped classifier's on BCCD and segmentation_wbc:
its model card, ``hierwbc/weights/README.md``).
``uns["predict"]`` holds the settings and, with labels, the scores; ``uns["unreadable"]`` one
row per image that could not be decoded (``row``, ``path``, ``folder``, ``kind``, ``reason``):
never silently dropped; ``uns["skipped"]`` the non-image
and hidden files of an input folder.

One job per module: :mod:`.inputs` (the cells), :mod:`.reference_transfer` (a labelled
reference's votes), :mod:`.calls` (probabilities -> calls, scores), :mod:`.color_check` (the
off-domain check), :mod:`.output` (CSV + .h5ad), :mod:`.api` (``predict``, the steps in order);
the model comes from :func:`hierwbc.models.registry.create_model`, its options from
:mod:`hierwbc.cli.predict`.
"""


from ..callable_module import make_callable
from ..deprecation import renamed_attributes
from ..models.registry import DEFAULT_CLASSIFIER
from .api import predict
from .calls import TOP, class_leaf_score, predictions, recentered
from .color_check import OFF_DOMAIN_WARN, off_domain_message
from .inputs import read_cells
from .output import UNREADABLE_COLUMNS, write_predictions
from .reference_transfer import REFERENCE_METHODS, knn_node_proba, reference_logreg_proba

__all__ = ["DEFAULT_CLASSIFIER", "OFF_DOMAIN_WARN", "REFERENCE_METHODS", "TOP", "UNREADABLE_COLUMNS",
           "class_leaf_score", "knn_node_proba", "off_domain_message", "predict", "predictions",
           "read_cells", "recentered", "reference_logreg_proba", "write_predictions"]

make_callable(__name__, predict)

__getattr__ = renamed_attributes(__name__, {"recentred": "recentered",
                                              "default_model": "hierwbc.models.registry:default_classifier"})
