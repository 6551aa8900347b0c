"""``hierwbc train``: DINOv2 training with a (hierarchical) supervised term (:func:`hierwbc.train.loop.fit`)."""

from pathlib import Path

HELP = "DINOv2 training with a (hierarchical) supervised term"
DESCRIPTION = ("Extra `key=value` arguments override any config key "
               "(e.g. optim.base_lr=1e-3 alpha=0.9 data.coarsen_fraction=0.2).")


def add_arguments(p) -> None:
    from ..losses.registry import LOSSES

    p.add_argument("--preset", default=None, help=f"unsup, {', '.join(LOSSES)}")
    p.add_argument("--config", default=None, help="YAML config file (overridden by the options below)")
    p.add_argument("--data", action="append", default=None,
                   help="dataset name, folder (folder:label_map) or manifest CSV; repeat or comma-separate")
    p.add_argument("--data-root", default=None, help="data location (default HIERWBC_DATA or ../shared/data)")
    p.add_argument("--model", default=None, help="vit_tiny, vit_small, vit_base, vit_large, vit_giant")
    p.add_argument("--pretrained", default=None,
                   help="DINOv2 hub / DinoBloom / hierwbc checkpoint file, or a shipped name (hierwbc-tiny-pbc): "
                        "a weights file's metadata sets the architecture, patch size and image size")
    p.add_argument("--img-size", type=int, default=None,
                   help="input size in pixels (default: the --pretrained weights file's, else 224)")
    p.add_argument("--patch-size", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None, help="global batch size")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--alpha", type=float, default=None, help="HierCE alpha")
    p.add_argument("--out", default=None, help="run folder")
    p.add_argument("--resume", nargs="?", const=True, default=False,
                   help="continue from the newest checkpoint of --out (or from the given file)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("overrides", nargs="*", help="key=value config overrides")


def run(a):
    from ..config import make_config
    from ..train.loop import fit

    flags = {"data.sources": ",".join(x for d in a.data for x in d.split(",")) if a.data else None,
             "data.root": a.data_root, "model.arch": a.model, "model.pretrained": a.pretrained,
             "model.img_size": a.img_size, "model.patch_size": a.patch_size, "batch_size": a.batch_size,
             "max_steps": a.max_steps, "epochs": a.epochs, "supervised.alpha": a.alpha, "out": a.out}
    resume, overrides = a.resume, list(a.overrides)
    if isinstance(resume, str) and "=" in resume and not Path(resume).exists():
        resume, overrides = True, [resume, *overrides]  # `--resume key=value`: an override, not a file
    overrides = [f"{k}={v}" for k, v in flags.items() if v is not None] + overrides
    preset = a.preset
    if preset is None and a.config is None:
        preset = "unsup"
    cfg = make_config(preset or "unsup", file=a.config,
                      overrides=([f"preset={preset}"] if preset and a.config else []) + overrides)
    from ..train.distributed import cleanup, get_rank

    result = fit(cfg, resume=resume, progress=not a.no_progress)
    if get_rank() == 0:
        print(f"run folder: {result.run_dir}\nlast checkpoint: {result.checkpoint}")
    cleanup()  # torchrun / SLURM: leave the process group fit joined
