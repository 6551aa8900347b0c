"""The ``hierwbc`` command line: ``demo``, ``hierarchy``, ``train``, ``embed``, ``evaluate``,
``experiment``, ``slurm``. Each subcommand is a thin wrapper over the library function of the
same name.
"""

from __future__ import annotations

import argparse
import sys


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the main job end to end (real data when present, else synthetic)")
    p.add_argument("--data", default=None, help="data location (default: HIERWBC_DATA or ../shared/data)")
    p.add_argument("--out", default="runs/demo", help="run folder")
    p.add_argument("--summary-only", action="store_true", help="only print the tree and the dataset counts")
    p.set_defaults(func=lambda a: __import__("hierwbc.demo", fromlist=["main"]).main(a))


def _add_hierarchy(sub) -> None:
    p = sub.add_parser("hierarchy", help="print, check or convert a hierarchy file")
    p.add_argument("path", nargs="?", default=None, help=".json or .nwk file (default: the built-in tree)")
    p.add_argument("--labels", action="store_true", help="show display labels")
    p.add_argument("--write", default=None, help="write it to this .json/.nwk file")

    def run(a):
        from .hierarchy import Hierarchy, default_hierarchy

        h = Hierarchy.read(a.path) if a.path else default_hierarchy()
        print(h.ascii(labels=a.labels))
        print(f"\n{len(h.nodes)} nodes, {len(h.leaves)} leaves, {len(h.lineages)} lineages, "
              f"label maps: {', '.join(sorted(h.label_maps)) or 'none'}")
        if a.write:
            print(f"written: {h.write(a.write)}")

    p.set_defaults(func=run)


def _add_slurm(sub) -> None:
    p = sub.add_parser("slurm", help="write an sbatch script running `hierwbc train` with torchrun",
                       description="Arguments after `--` are passed to `hierwbc train`.")
    p.add_argument("--nodes", type=int, default=1)
    p.add_argument("--gpus", type=int, default=4, help="GPUs per node")
    p.add_argument("--cpus", type=int, default=8, help="CPUs per task (node)")
    p.add_argument("--time", default="24:00:00")
    p.add_argument("--partition", default=None)
    p.add_argument("--account", default=None)
    p.add_argument("--job-name", default="hierwbc")
    p.add_argument("--out", default="train.sbatch", help="script path")
    p.add_argument("train_args", nargs=argparse.REMAINDER)

    def run(a):
        from .train.slurm import write_sbatch

        args = a.train_args[1:] if a.train_args[:1] == ["--"] else a.train_args
        path = write_sbatch(a.out, args, nodes=a.nodes, gpus=a.gpus, cpus=a.cpus, time=a.time,
                            partition=a.partition, account=a.account, job_name=a.job_name)
        print(f"wrote {path}: submit with `sbatch {path}`")

    p.set_defaults(func=run)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="DINOv2 training with a (hierarchical) supervised term",
                       description="Extra `key=value` arguments override any config key "
                                   "(e.g. optim.base_lr=1e-3 alpha=0.9 data.coarsen_fraction=0.2).")
    p.add_argument("--preset", default=None, help="unsup, ce, hierce, supcon, hiersupcon, multilevel, distance, softlabel")
    p.add_argument("--config", default=None, help="YAML config file (overridden by the options below)")
    p.add_argument("--data", action="append", default=None,
                   help="dataset name, folder (folder:label_map) or manifest CSV; repeat or comma-separate")
    p.add_argument("--data-root", default=None, help="data location (default HIERWBC_DATA or ../shared/data)")
    p.add_argument("--model", default=None, help="vit_tiny, vit_small, vit_base, vit_large, vit_giant")
    p.add_argument("--pretrained", default=None, help="DINOv2 hub / DinoBloom / hierwbc checkpoint file")
    p.add_argument("--img-size", type=int, default=None)
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
        from .train.config import make_config
        from .train.loop import fit

        flags = {"data.sources": ",".join(x for d in a.data for x in d.split(",")) if a.data else None,
                 "data.root": a.data_root, "model.arch": a.model, "model.pretrained": a.pretrained,
                 "model.img_size": a.img_size, "model.patch_size": a.patch_size, "batch_size": a.batch_size,
                 "max_steps": a.max_steps, "epochs": a.epochs, "supervised.alpha": a.alpha, "out": a.out}
        overrides = [f"{k}={v}" for k, v in flags.items() if v is not None] + list(a.overrides)
        preset = a.preset
        if preset is None and a.config is None:
            preset = "unsup"
        cfg = make_config(preset or "unsup", file=a.config, overrides=([f"preset={preset}"] if preset and a.config else []) + overrides)
        from .train.distributed import get_rank

        result = fit(cfg, resume=a.resume, progress=not a.no_progress)
        if get_rank() == 0:
            print(f"run folder: {result.run_dir}\nlast checkpoint: {result.checkpoint}")

    p.set_defaults(func=run)


def _add_embed(sub) -> None:
    p = sub.add_parser("embed", help="embed images with a model -> AnnData .h5ad")
    from .embed import add_embed_arguments, embed_main

    add_embed_arguments(p)
    p.set_defaults(func=embed_main)


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="probes, flat + hierarchical metrics, bootstrap, paper tables")
    from .evaluate.cli import add_evaluate_arguments, evaluate_main

    add_evaluate_arguments(p)
    p.set_defaults(func=evaluate_main)


def _add_experiment(sub) -> None:
    p = sub.add_parser("experiment", help="train a grid of models, embed, evaluate, tables and figures (resumable)")
    p.add_argument("--config", required=True, help="experiment YAML (experiments/*.yaml)")
    p.add_argument("--stages", default="train,embed,evaluate,figures", help="comma-separated subset of the stages")
    p.add_argument("--models", default=None, help="train only these models (comma-separated)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override the file, e.g. train.max_steps=10 or out=runs/x (repeatable)")
    p.add_argument("--publish", default=None, metavar="DIR",
                   help="then copy the tables, figures, summary and training curves into DIR (e.g. reports/x)")
    p.add_argument("--no-progress", action="store_true")

    def run(a):
        import yaml

        from .experiment import load_experiment, publish, run_experiment

        overrides: dict = {}
        for item in a.set:
            key, sep, value = item.partition("=")
            if not sep:
                raise SystemExit(f"--set {item!r} is not of the form SECTION.KEY=VALUE")
            section, _, sub_key = key.partition(".")
            if sub_key:
                overrides.setdefault(section, {})[sub_key] = yaml.safe_load(value)
            else:
                overrides[section] = yaml.safe_load(value)
        with open(a.config) as f:
            raw_sections = yaml.safe_load(f) or {}
        for section, value in list(overrides.items()):
            if isinstance(value, dict) and isinstance(raw_sections.get(section), dict):
                overrides[section] = {**raw_sections[section], **value}
        cfg = load_experiment(a.config, overrides)
        out = run_experiment(cfg, stages=tuple(a.stages.split(",")),
                             models=a.models.split(",") if a.models else None, progress=not a.no_progress)
        print(f"experiment {cfg.name}: {out} (summary.json, tables/, figures/)")
        if a.publish:
            files = publish(out, a.publish)
            print(f"published {len(files)} files to {a.publish}")

    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hierwbc", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_demo, _add_hierarchy, _add_train, _add_embed, _add_evaluate, _add_experiment, _add_slurm):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = args.func(args)  # an exit status, or what the command wrote (a Path), or None
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
