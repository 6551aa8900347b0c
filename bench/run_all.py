"""Run every benchmark of ``bench/`` one after another and print a summary (``make bench``).

    .venv/bin/python bench/run_all.py                     # full sizes; rewrites bench/results/*.json
    .venv/bin/python bench/run_all.py --quick             # small sizes: a smoke run, nothing written
    .venv/bin/python bench/run_all.py --only losses,evaluate --dry-run

Each benchmark runs in its own process (each sets its OpenMP and thread settings before it
imports torch, and none sees another's warm caches), with its own options from ``BENCHES``:

- ``losses``: ``bench/losses.py`` (every supervised loss against per-sample references);
- ``evaluate``: ``bench/evaluate.py`` (the evaluation protocol against sklearn, synthetic
  embeddings of the PBC class counts);
- ``train_step``: ``bench/train_step.py`` (training-step and data-pipeline throughput);
- ``predict``: ``bench/predict.py`` (the cost of predict's off-domain colour check and of the default
  classifier's 64 px input; real PBC cells);
- ``augment``: ``bench/augment.py`` (our batched augmentation against kornia's);
- ``pretrain_budget``: ``bench/pretrain_budget.py`` (the shipped backbones' training recipe, each
  stage timed alone and projected to its steps; real PBC cells).

``--quick`` gives each script its smallest sensible sizes (``QUICK``): it checks that the
benchmarks run, in a few minutes on 2 CPU cores, and its figures are not worth keeping, so it
writes no results unless ``--write`` is given. For other options run a script itself.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

BENCHES: dict[str, list[str]] = {  # name -> script and its options for the full run
    "losses": ["losses.py"],
    "evaluate": ["evaluate.py"],
    "train_step": ["train_step.py"],
    "predict": ["predict.py"],
    "augment": ["augment.py"],
    "pretrain_budget": ["pretrain_budget.py"],
}
QUICK: dict[str, list[str]] = {  # the extra options of --quick
    "losses": ["--batch", "32", "--min-time", "0.05", "--rounds", "1"],
    "evaluate": ["--fraction", "0.05", "--n-boot", "10"],
    "train_step": ["--arch", "vit_tiny", "--img-size", "56", "--batch-size", "4", "--steps", "1",
                   "--workers", "0", "--matmul-size", "512"],
    "predict": ["--cells", "40", "--rounds", "1"],
    "augment": ["--batch", "8", "--rounds", "1"],
    "pretrain_budget": ["--steps", "3", "--warmup", "1", "--only", "long"],
}


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, results not written (a smoke run)")
    ap.add_argument("--write", action="store_true", help="with --quick: write bench/results/*.json anyway")
    ap.add_argument("--only", default=None, metavar="NAMES",
                    help=f"comma-separated subset of {', '.join(BENCHES)} (default: all)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = ap.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    if args.write and not args.quick:
        ap.error("--write only applies to --quick (full runs always write)")
    args.names = names
    return args


def commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line of each selected benchmark."""
    out = {}
    for name in args.names:
        script, *options = BENCHES[name]
        if args.quick:
            options += QUICK[name] + ([] if args.write else ["--no-write"])
        out[name] = [sys.executable, str(BENCH / script), *options]
    return out


def _short(path: str) -> str:
    """``path`` relative to the repository (where the commands run) when it lies inside it."""
    p = Path(path)
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else path


def main(argv=None) -> int:
    args = parse_args(argv)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    summary = []
    for name, cmd in commands(args).items():
        shown = " ".join([_short(cmd[0]), _short(cmd[1]), *cmd[2:]])
        print(f"\n=== {name}: {shown}", flush=True)
        if args.dry_run:
            continue
        start = time.perf_counter()
        rc = subprocess.run(cmd, cwd=REPO, env=env, check=False).returncode
        summary.append((name, rc, time.perf_counter() - start))
    if not args.dry_run:
        print("\n=== summary")
        for name, rc, seconds in summary:
            print(f"{name:<11} {'ok' if rc == 0 else f'FAILED (exit status {rc})':<26} {seconds:7.1f} s")
        if not args.quick or args.write:
            print(f"results: {BENCH / 'results'}/")
    return 1 if any(rc for _, rc, _ in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
