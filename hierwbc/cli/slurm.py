"""``hierwbc slurm``: an sbatch script running ``hierwbc train`` with torchrun."""

import argparse

HELP = "write an sbatch script running `hierwbc train` with torchrun"
DESCRIPTION = "Arguments after `--` are passed to `hierwbc train`."


def add_arguments(p) -> None:
    p.add_argument("--nodes", type=int, default=1)
    p.add_argument("--gpus", type=int, default=4, help="GPUs per node")
    p.add_argument("--cpus", type=int, default=8, help="CPUs per task (node)")
    p.add_argument("--time", default="24:00:00")
    p.add_argument("--partition", default=None)
    p.add_argument("--account", default=None)
    p.add_argument("--job-name", default="hierwbc")
    p.add_argument("--out", default="train.sbatch", help="script path")
    p.add_argument("train_args", nargs=argparse.REMAINDER)


def run(args) -> None:
    from ..train.slurm import write_sbatch

    train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    path = write_sbatch(args.out, train_args, nodes=args.nodes, gpus=args.gpus, cpus=args.cpus, time=args.time,
                        partition=args.partition, account=args.account, job_name=args.job_name)
    print(f"wrote {path}: submit with `sbatch {path}`")
