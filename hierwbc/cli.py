"""The ``hierwbc`` command line: ``demo``, ``hierarchy``, ``train``, ``baseline``, ``embed``,
``evaluate``, ``predict``, ``adapt``, ``export``, ``experiment``, ``slurm``. Each subcommand is a thin wrapper over the
library function of the same name.

Mistakes in what the user gave (a missing or broken file, an unknown preset, config key or
node, data that cannot be used: the classes in :data:`USER_ERRORS`) are reported as argparse
reports a bad option: ``hierwbc: error: <message>`` on stderr and exit status 2, without a
traceback. ``--debug`` (or the environment variable ``HIERWBC_DEBUG=1``) shows the traceback
instead. Any other exception is a bug and always shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

DEBUG_ENV = "HIERWBC_DEBUG"

USER_ERRORS: tuple[tuple[str, str], ...] = (
    ("builtins", "FileNotFoundError"),            # missing files; hierwbc.datasets.DataNotFoundError
    ("builtins", "NotADirectoryError"),
    ("builtins", "IsADirectoryError"),
    ("hierwbc.hierarchy.errors", "HierarchyError"),  # tree files, unknown nodes, UnknownLabelError
    ("hierwbc.config.training", "ConfigError"),      # unknown preset or config key, bad values, experiment files
    ("hierwbc.models.checkpoints", "CheckpointError"),
    ("hierwbc.datasets.manifest", "ManifestError"),  # schema, no rows in a split
    ("hierwbc.datasets.images", "ImageError"),    # images that cannot be decoded (and ValidationError)
    ("hierwbc.train.prepare", "TrainingDataError"),  # no (labelled) images for the preset
    ("yaml", "YAMLError"),                         # config and experiment files that are not YAML
)
"""``(module, class name)`` of every exception that reports a mistake in the user's input rather
than a bug. Named, not imported, so that ``hierwbc --help`` imports none of those modules."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The classes of :data:`USER_ERRORS` whose modules are loaded. Nothing is imported: an
    exception whose class's module was never imported cannot have been raised."""
    return tuple(getattr(sys.modules[module], name) for module, name in USER_ERRORS if module in sys.modules)


def error_message(error: BaseException) -> str:
    """The text after ``hierwbc: error:`` (``path: reason`` for an OSError about a file)."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    return str(error) or type(error).__name__


def debug_requested(args: argparse.Namespace | None = None) -> bool:
    """``--debug`` was given, or ``HIERWBC_DEBUG`` is set to something other than 0/false/no."""
    env = os.environ.get(DEBUG_ENV, "").strip().lower()
    return bool(getattr(args, "debug", False)) or env not in ("", "0", "false", "no", "off")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose options may be added on first use: ``arguments(parser)`` runs
    when the parser first parses or formats its help, so that a subcommand whose options need
    heavy imports (torch for ``embed``) costs nothing to the other subcommands and to
    ``hierwbc --help``."""

    def __init__(self, *args, arguments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._arguments = arguments

    def _complete(self) -> None:
        if self._arguments is not None:
            add, self._arguments = self._arguments, None
            add(self)

    def parse_known_args(self, args=None, namespace=None):
        self._complete()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._complete()
        return super().format_help()

    def format_usage(self) -> str:
        self._complete()
        return super().format_usage()


def _lazy(module: str, name: str):
    """``module.name(...)``, importing ``module`` only when called."""
    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return call


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the main job end to end (real data when present, else synthetic)")
    p.add_argument("--data", default=None, help="data location (default: HIERWBC_DATA or ../shared/data)")
    p.add_argument("--out", default="runs/demo", help="run folder")
    p.add_argument("--summary-only", action="store_true", help="only print the tree and the dataset counts")
    p.set_defaults(func=_lazy("hierwbc.demo", "main"))


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


def _train_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``hierwbc train``, added on first use: the preset list comes from the loss
    registry, which imports torch."""
    from .losses.registry import LOSSES

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


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="DINOv2 training with a (hierarchical) supervised term",
                       description="Extra `key=value` arguments override any config key "
                                   "(e.g. optim.base_lr=1e-3 alpha=0.9 data.coarsen_fraction=0.2).",
                       arguments=_train_arguments)

    def run(a):
        from .config import make_config
        from .train.loop import fit

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
        from .train.distributed import cleanup, get_rank

        result = fit(cfg, resume=resume, progress=not a.no_progress)
        if get_rank() == 0:
            print(f"run folder: {result.run_dir}\nlast checkpoint: {result.checkpoint}")
        cleanup()  # torchrun / SLURM: leave the process group fit joined

    p.set_defaults(func=run)


def _add_embed(sub) -> None:
    p = sub.add_parser("embed", help="embed images with a model -> AnnData .h5ad",
                       arguments=_lazy("hierwbc.embed", "add_embed_arguments"))
    p.set_defaults(func=_lazy("hierwbc.embed", "embed_main"))


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="probes, flat + hierarchical metrics, bootstrap, paper tables",
                       arguments=_lazy("hierwbc.evaluate.cli", "add_evaluate_arguments"))
    p.set_defaults(func=_lazy("hierwbc.evaluate.cli", "evaluate_main"))


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="label new cells (folder or CSV) with a classifier or a reference atlas",
                       arguments=_lazy("hierwbc.predict", "add_predict_arguments"))
    p.set_defaults(func=_lazy("hierwbc.predict", "predict_main"))


def _add_adapt(sub) -> None:
    p = sub.add_parser("adapt", help="adapt a classifier to your lab from a few labelled cells (-> .safetensors)",
                       arguments=_lazy("hierwbc.adapt", "add_adapt_arguments"))
    p.set_defaults(func=_lazy("hierwbc.adapt", "adapt_main"))


def _add_baseline(sub) -> None:
    p = sub.add_parser("baseline", help="train the supervised CNN baseline (a classifier for embed / predict)",
                       arguments=_lazy("hierwbc.baselines.cli", "add_baseline_arguments"))
    p.set_defaults(func=_lazy("hierwbc.baselines.cli", "baseline_main"))


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="a run's teacher backbone (and supervised head) -> fp16 .safetensors")
    p.add_argument("checkpoint", help="a training checkpoint (runs/.../checkpoints/step_NNNNNN.pt)")
    p.add_argument("--out", required=True, help="the .safetensors file to write (at most 25 MiB)")
    p.add_argument("--head", action="store_true", help="include the supervised head (a classifier)")
    p.add_argument("--ssl-heads", action="store_true",
                   help="include the teacher's DINO and iBOT heads (carried by continued training)")

    def run(a):
        from .train.export import export_weights

        path = export_weights(a.checkpoint, a.out, head=a.head, ssl_heads=a.ssl_heads)
        print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
        return path

    p.set_defaults(func=run)


def _set_item(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{item!r} is not of the form SECTION.KEY=VALUE")
    return key, value


def _add_experiment(sub) -> None:
    p = sub.add_parser("experiment", help="train a grid of models, embed, evaluate, tables and figures (resumable)")
    p.add_argument("--config", required=True, help="experiment YAML (experiments/*.yaml)")
    p.add_argument("--stages", default="train,embed,evaluate,figures", help="comma-separated subset of the stages")
    p.add_argument("--models", default=None, help="train only these models (comma-separated)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", type=_set_item,
                   help="override the file, e.g. train.max_steps=10 or out=runs/x (repeatable)")
    p.add_argument("--publish", default=None, metavar="DIR",
                   help="then copy the tables, figures, summary and training curves into DIR (e.g. reports/x)")
    p.add_argument("--no-progress", action="store_true")

    def run(a):
        import yaml

        from .experiment import load_experiment, publish, run_experiment

        overrides: dict = {}
        for key, value in a.set:
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
    parser = _Parser(prog="hierwbc", description=__doc__.split("\n\n")[0])
    debug_help = f"show the traceback of errors in the input too (or set {DEBUG_ENV}=1)"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_demo, _add_hierarchy, _add_train, _add_baseline, _add_embed, _add_evaluate, _add_predict,
                _add_adapt, _add_export, _add_experiment, _add_slurm):
        add(sub)
    for p in sub.choices.values():  # also accepted after the subcommand; only set when given
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A user error (:data:`USER_ERRORS`) exits with status 2 and
    ``hierwbc: error: <message>`` on stderr (``SystemExit``); with ``--debug`` or
    ``HIERWBC_DEBUG=1`` it propagates with its traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)  # an exit status, or what the command wrote (a Path), or None
    except Exception as e:
        if debug_requested(args) or not isinstance(e, user_errors()):
            raise
        parser.exit(2, f"{parser.prog}: error: {error_message(e)}\n")
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
