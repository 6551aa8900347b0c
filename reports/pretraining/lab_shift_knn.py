"""The online kNN monitor, plain and lab-shifted, on saved checkpoints of the pretraining runs.

Recipes meant for other labs' cells are chosen on the held-out PBC validation rows shown as if
from another lab (tight framing, stain perturbation: :mod:`hierwbc.train.lab_shift`), never on
the external sets. This replays the monitor of ``knn_lab_shift: true`` (the same references,
validation rows and seed as the runs' own monitor) on each checkpoint given, and on the same ViT
with random weights, and writes ``lab_shift_knn.csv`` here (one row per checkpoint).

    .venv/bin/python reports/pretraining/lab_shift_knn.py \
        runs/pretrain/checkpoints/step_002600.pt runs/pretrain_trials2/S2B/checkpoints/step_001800.pt \
        runs/pretrain_trials3/S3R/checkpoints/step_*.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch
import yaml

from hierwbc.hierarchy import default_hierarchy
from hierwbc.io import atomic_write_text
from hierwbc.models.checkpoints import load_backbone_state
from hierwbc.train.config import from_dict
from hierwbc.train.loop import build_knn_monitor
from hierwbc.train.networks import backbone_from_config
from hierwbc.train.prepare import training_rows

HERE = Path(__file__).resolve().parent


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


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=HERE / "lab_shift_knn.csv")
    args = p.parse_args(argv)
    h = default_hierarchy()
    first = run_config(args.checkpoints[0])
    monitor = build_knn_monitor(first, h, *training_rows(first, h))
    rows = []
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
    for name, backbone in models.items():
        scores = monitor(backbone)
        rows.append({"checkpoint": name, **{k: round(v, 4) for k, v in scores.items()}})
        print(rows[-1], flush=True)
    atomic_write_text(args.out, pd.DataFrame(rows).to_csv(index=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
