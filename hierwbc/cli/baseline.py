"""``hierwbc baseline``: train the supervised CNN baseline (:func:`hierwbc.baselines.train.train_cnn`)."""

from __future__ import annotations

HELP = "train the supervised CNN baseline (a classifier for embed / predict)"


def add_arguments(p) -> None:
    p.add_argument("--recipe", default=None, help="recipe YAML (configs/cnn_*.yaml); default: the built-in recipe")
    p.add_argument("--out", required=True, help="run folder (log.csv, checkpoints/, model.safetensors)")
    p.add_argument("--data-root", default=None, help="data location (default HIERWBC_DATA or ../shared/data)")
    p.add_argument("--no-resume", action="store_true", help="start again even if the run folder has a checkpoint")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="recipe overrides, e.g. epochs=2 labs=[pbc,lisc]")


def run(args):
    from ..baselines.recipe import load_recipe
    from ..baselines.train import train_cnn

    recipe = load_recipe(args.recipe, args.overrides)
    path = train_cnn(recipe, args.out, data_root=args.data_root, resume=not args.no_resume,
                     progress=not args.no_progress)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.2f} MiB)")
    return path
