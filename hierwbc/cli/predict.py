"""``hierwbc predict``: label new cells (a folder or a CSV) -> a CSV and an .h5ad
(:func:`hierwbc.predict.predict`)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "label new cells (folder or CSV) with a classifier or a reference atlas"


def _probability(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a probability between 0 and 1")
    return value


def add_arguments(p) -> None:
    from ..models.registry import DEFAULT_CLASSIFIER
    from ..predict.reference_transfer import REFERENCE_K, REFERENCE_METHODS
    from .options import add_device_argument, add_stain_argument

    p.add_argument("source", metavar="FOLDER_OR_CSV",
                   help="a folder of images (class sub-folders allowed) or a manifest CSV")
    p.add_argument("--model", default=None,
                   help=f"checkpoint / weights file or shipped name (default: the shipped default classifier, "
                        f"{DEFAULT_CLASSIFIER})")
    p.add_argument("--reference", default=None,
                   help="labelled cells: a folder of class folders, a manifest CSV, or an .h5ad of embeddings of "
                        "the same model (obs 'node', obsm 'X_cls'); folders and CSVs are embedded and cached")
    p.add_argument("--reference-label-map", default=None,
                   help="for reference folders not named after tree nodes: a label map of the hierarchy (e.g. bccd) "
                        "or a YAML / JSON file {folder: node}")
    p.add_argument("--reference-method", choices=REFERENCE_METHODS, default="knn",
                   help="few-shot classifier on the reference: kNN label transfer or logistic regression")
    p.add_argument("--threshold", type=_probability, default=0.8,
                   help="back-off: deepest node with probability >= this (0 to 1)")
    p.add_argument("--label-map", default=None,
                   help="label map of the hierarchy for the class sub-folder names: true labels and accuracy")
    p.add_argument("--out", required=True, help="output CSV (the .h5ad is written beside it)")
    p.add_argument("--k", type=int, default=REFERENCE_K, help="neighbours of the reference kNN")
    p.add_argument("--batch-size", type=int, default=64)
    add_device_argument(p)
    add_stain_argument(p)
    p.add_argument("--recenter", "--recentre", action="store_true",
                   help="shift the cells' features to the model's training mean first (one lab's cells, a mix of "
                        "types): uses your unlabelled cells to meet the model half-way")
    p.add_argument("--reframe", choices=("cell", "none"), default=None,
                   help="cut each image to the square around its cell first (default: as the model was trained)")
    p.add_argument("--color-domain", "--colour-domain", default="auto",
                   help="off-domain check: 'auto' (with --reference: its images' colours; else the PBC training "
                        "images', for models trained on PBC), 'none', or a colour domain JSON file "
                        "(hierwbc.datasets.color_domain)")
    p.add_argument("--no-progress", action="store_true")


def run(args) -> Path:
    """Predict, write ``--out`` (+ .h5ad) atomically, print a summary."""
    import warnings

    from ..predict import predict, write_predictions

    with warnings.catch_warnings():  # the off-domain warning is printed below, as a line of the summary
        warnings.filterwarnings("ignore", message=r".* cells look unlike the images the calls rest on")
        adata = predict(args.source, model=args.model, reference=args.reference, threshold=args.threshold,
                        label_map=args.label_map, batch_size=args.batch_size, progress=not args.no_progress,
                        k=args.k, device=args.device, stain_norm=args.stain_norm, color_domain=args.color_domain,
                        reframe=args.reframe, reference_label_map=args.reference_label_map,
                        reference_method=args.reference_method, recenter=args.recenter)
    out, h5 = write_predictions(adata, args.out)
    info = adata.uns["predict"]
    line = f"{info['n_predicted']} cells predicted, {info['n_unreadable']} unreadable -> {out} (+ {h5.name})"
    if info.get("n_labelled"):
        line += (f"; leaf accuracy {info['leaf_accuracy']:.3f}, back-off accuracy {info['backoff_accuracy']:.3f} "
                 f"at threshold {info['threshold']:g} ({info['n_labelled']} labelled)")
    print(line)
    if info["off_domain_warning"]:
        print(f"warning: {info['off_domain_warning']}")
    return out
