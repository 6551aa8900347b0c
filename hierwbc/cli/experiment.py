"""``hierwbc experiment``: a grid of training runs, embedded, evaluated, tables and figures
(:func:`hierwbc.experiment.run_experiment`; the file: :mod:`hierwbc.config.experiment`)."""

import argparse

HELP = "train a grid of models, embed, evaluate, tables and figures (resumable)"


def _set_item(item: str) -> str:
    key, sep, _ = item.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{item!r} is not of the form SECTION.KEY=VALUE")
    return item


def add_arguments(p) -> None:
    p.add_argument("--config", required=True, help="experiment YAML (experiments/*.yaml)")
    p.add_argument("--stages", default="train,embed,evaluate,figures", help="comma-separated subset of the stages")
    p.add_argument("--models", default=None,
                   help="only these models of the file, every stage (comma-separated; the baselines stay)")
    p.add_argument("--seeds", default=None,
                   help="only these training seeds of the file, every stage (comma-separated; same folders)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", type=_set_item,
                   help="override the file, e.g. train.max_steps=10 or out=runs/x (repeatable)")
    p.add_argument("--publish", default=None, metavar="DIR",
                   help="then copy the tables, figures, summary and training curves into DIR (e.g. reports/x)")
    p.add_argument("--no-progress", action="store_true")


def run(a):
    from ..experiment import load_experiment, publish, run_experiment

    cfg = load_experiment(a.config, a.set)
    out = run_experiment(cfg, stages=tuple(a.stages.split(",")), models=a.models.split(",") if a.models else None,
                         seeds=[int(s) for s in a.seeds.split(",")] if a.seeds else None, progress=not a.no_progress)
    print(f"experiment {cfg.name}: {out} (summary.json, tables/, figures/)")
    if a.publish:
        files = publish(out, a.publish)
        print(f"published {len(files)} files to {a.publish}")
