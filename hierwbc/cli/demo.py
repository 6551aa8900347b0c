"""``hierwbc demo``: the main job end to end (:mod:`hierwbc.demo`)."""

HELP = "the main job end to end (real data when present, else synthetic)"


def add_arguments(p) -> None:
    p.add_argument("--data", default=None, help="data location (default: HIERWBC_DATA or ../shared/data)")
    p.add_argument("--out", default="runs/demo", help="run folder")
    p.add_argument("--summary-only", action="store_true", help="only print the tree and the dataset counts")


def run(args) -> int:
    from ..demo import main

    return main(args)
