"""The ``hierwbc`` command line: ``demo``, ``hierarchy``, ``models``, ``train``, ``baseline``, ``embed``,
``evaluate``, ``predict``, ``adapt``, ``finetune``, ``export``, ``experiment``, ``slurm``. Each subcommand is
a thin wrapper over the library function of the same name, in its own module of this package
(:data:`COMMANDS`).

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


COMMANDS = ("demo", "hierarchy", "models", "train", "baseline", "embed", "evaluate", "predict", "adapt", "finetune",
            "export", "experiment", "slurm")
"""Each command is the module of its name in this package: ``HELP`` (one line), optionally
``DESCRIPTION``, ``add_arguments(parser)`` (run on first use, so heavy imports in it cost the other
commands nothing) and ``run(args)`` (an exit status, what it wrote, or None). A command's options
live in its module and nowhere else (shared ones in :mod:`.options`)."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hierwbc", description=__doc__.split("\n\n")[0])
    debug_help = f"show the traceback of errors in the input too (or set {DEBUG_ENV}=1)"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        command = importlib.import_module(f".{name}", __name__)
        p = sub.add_parser(name, help=command.HELP, description=getattr(command, "DESCRIPTION", None),
                           arguments=command.add_arguments)
        p.set_defaults(func=command.run)
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


