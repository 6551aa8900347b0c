"""The online kNN monitor, plain and lab-shifted, on saved checkpoints of the pretraining runs.

Recipes meant for other labs' cells are chosen on the held-out PBC validation rows shown as if
from another lab (:mod:`hierwbc.train.lab_shift`), never on the external sets. This replays the
monitor of ``knn_lab_shift: true`` (the same references, validation rows and seed as the runs'
own monitor) on each checkpoint given and on the same ViT with random weights, and takes the
shift apart. Columns (20-NN, the unshifted references unless said otherwise):

- ``knn_bacc`` / ``knn_acc``: plain validation cells (the monitor's ``knn_bacc``);
- ``knn_bacc_shifted`` / ``knn_acc_shifted``: the validation cells shifted (the monitor's);
- ``framing_only``: the central half of the field only; ``colour_only``: stain, white balance
  and blur only (the whole field); ``framing_stain``: framing and stain, without white balance
  and blur (the first definition of the shift, used by the stage-3 decision rule);
- ``shifted_references``: shifted queries against references shifted the same way (another
  seed): is the information still there, only not aligned?

Writes ``lab_shift_knn.csv`` here (one row per checkpoint) and prints the README's table
(``markdown_table``; tests/test_reports.py checks the README against this file).

    .venv/bin/python reports/pretraining/lab_shift_knn.py \
        runs/pretrain/checkpoints/step_002600.pt runs/pretrain_trials2/S2B/checkpoints/step_001800.pt \
        runs/pretrain_trials3/S3R/checkpoints/step_000{1,2,3,4}00.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch
import yaml

from hierwbc.config import from_dict
from hierwbc.datasets.cache import cached_images
from hierwbc.evaluate.tables import to_markdown
from hierwbc.hierarchy import default_hierarchy
from hierwbc.io import atomic_write_text
from hierwbc.models.checkpoints import load_backbone_state
from hierwbc.models.networks import backbone_from_config
from hierwbc.train.knn_monitor import embed_images, knn_scores
from hierwbc.train.knn_setup import knn_rows
from hierwbc.train.lab_shift import lab_shifted
from hierwbc.train.prepare import training_rows

HERE = Path(__file__).resolve().parent
CSV = HERE / "lab_shift_knn.csv"
PLAIN = {"zoom": 1.0, "sigma": 0.0, "beta_max": 0.0, "gain": 0.0, "blur": None}
QUERY_VIEWS = {  # lab_shifted arguments of each column's queries
    "knn_bacc": PLAIN,
    "knn_bacc_shifted": {},
    "framing_only": {"sigma": 0.0, "beta_max": 0.0, "gain": 0.0, "blur": None},
    "colour_only": {"zoom": 1.0},
    "framing_stain": {"gain": 0.0, "blur": None},
}


def run_config(checkpoint: Path):
    """The config of the run a checkpoint belongs to (``<run>/config.yaml``), monitor shifted."""
    cfg = from_dict(yaml.safe_load((checkpoint.parent.parent / "config.yaml").read_text()))
    cfg.knn_lab_shift = True
    return cfg


def checked_cells(cfg) -> tuple:
    """What decides the monitor's references and validation rows."""
    d = cfg.data
    return (d.sources, d.split, d.split_seed, d.test_fraction, d.val_fraction, d.limit, d.coarsen_fraction,
            cfg.seed, cfg.knn_references, cfg.knn_queries)


def scores(backbone, refs: torch.Tensor, ref_y, queries: dict[str, torch.Tensor], query_y, shifted_refs,
           h, k: int) -> dict[str, float]:
    """The table's columns for one backbone (module docstring)."""
    device = torch.device("cpu")
    ref = embed_images(backbone, refs, device)
    embedded = {name: embed_images(backbone, images, device) for name, images in queries.items()}
    row = {}
    for name, query in embedded.items():
        s = knn_scores(h, ref, ref_y, query, query_y, k)
        row[name] = s["knn_bacc"]
        if name in ("knn_bacc", "knn_bacc_shifted"):
            row[name.replace("bacc", "acc")] = s["knn_acc"]
    row["shifted_references"] = knn_scores(h, embed_images(backbone, shifted_refs, device), ref_y,
                                           embedded["knn_bacc_shifted"], query_y, k)["knn_bacc"]
    return row


def markdown_table(table: pd.DataFrame) -> str:
    """The README's table: 20-NN bAcc in % per backbone and view."""
    names = {"checkpoint": "backbone", "knn_bacc": "plain", "knn_bacc_shifted": "as if from another lab",
             "framing_only": "framing only", "colour_only": "colour only", "framing_stain": "framing + stain",
             "shifted_references": "shifted vs shifted references"}
    out = table[list(names)].rename(columns=names)
    for column in list(names.values())[1:]:
        out[column] = out[column].map(lambda v: f"{100 * v:.1f}")
    return to_markdown(out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=CSV)
    args = p.parse_args(argv)
    h = default_hierarchy()
    first = run_config(args.checkpoints[0])
    refs, val = knn_rows(first, h, *training_rows(first, h))
    size, big, where = first.model.img_size, first.data.cache_size or first.model.img_size, first.data.cache_dir
    ref_images = cached_images(refs, size, where)
    ref_big, val_big = cached_images(refs, big, where), cached_images(val, big, where)
    queries = {name: (cached_images(val, size, where) if kw is PLAIN else lab_shifted(val_big, size, first.seed, **kw))
               for name, kw in QUERY_VIEWS.items()}
    shifted_refs = lab_shifted(ref_big, size, seed=first.seed + 1)
    ref_y, query_y = refs["target"].to_numpy(), h.indices(val["node"])
    torch.manual_seed(0)
    models = {"random_init": backbone_from_config(first)}
    for path in args.checkpoints:
        cfg = run_config(path)
        if checked_cells(cfg) != checked_cells(first):
            raise ValueError(f"{path}: its run's data, seed or kNN settings differ from {args.checkpoints[0]}'s: "
                             "the monitors would not check the same cells")
        backbone = backbone_from_config(cfg)
        load_backbone_state(path, backbone)
        models[f"{path.parent.parent.name}/{path.stem}"] = backbone
    rows = []
    for name, backbone in models.items():
        row = scores(backbone, ref_images, ref_y, queries, query_y, shifted_refs, h, first.knn_k)
        rows.append({"checkpoint": name, **{k: round(v, 6) for k, v in row.items()}})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    atomic_write_text(args.out, table.to_csv(index=False))
    print(f"wrote {args.out}\n\n{markdown_table(table)}")


if __name__ == "__main__":
    main()
