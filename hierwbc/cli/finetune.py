"""``hierwbc finetune``: fine-tune a CNN classifier on a few labelled cells of your lab
(:mod:`hierwbc.baselines.finetune`) -> a weights file for ``predict --model``."""

from __future__ import annotations

from pathlib import Path

HELP = "fine-tune a CNN classifier on a few labelled cells of your lab (-> .safetensors)"
DEFAULTS = {"steps": 100, "lr": 3e-4, "trainable": "all"}  # reports/adaptation/RULES.md's choice


def add_arguments(p) -> None:
    from ..baselines.finetune import TRAINABLE
    from .options import add_labeled_cells_arguments

    add_labeled_cells_arguments(p, "a CNN classifier (default: predict's default classifier)",
                                "the fine-tuned classifier (.safetensors), for predict --model")
    p.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--trainable", choices=TRAINABLE, default=DEFAULTS["trainable"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")


def run(args) -> Path:
    from ..baselines.finetune import cnn_parts, finetune_cnn, write_finetuned
    from ..datasets.cache import cached_images
    from ..datasets.location import cache_root
    from ..models.registry import default_classifier
    from ..reference import reference_manifest

    model = args.model or str(default_classifier())
    m, recipe = cnn_parts(model)
    cells = reference_manifest(args.labeled, m.hierarchy, args.label_map)
    images = cached_images(cells, recipe.cache_size, cache_root(), num_workers=0, progress=not args.no_progress,
                           reframe=recipe.reframe)
    settings = {"steps": args.steps, "lr": args.lr, "trainable": args.trainable, "seed": args.seed}
    net, head, tree = finetune_cnn(m, images, cells["node"].to_numpy(), progress=not args.no_progress,
                                   **settings)
    out = write_finetuned(model, net, head, tree, cells["node"].to_numpy(), args.out, settings)
    print(f"wrote {out}: fine-tuned on {len(cells)} cells ({cells['node'].value_counts().to_dict()})")
    return out
