"""What the shipped backbones' training costs on this machine, measured alone (issue 10's ~3 hours).

    .venv/bin/python bench/pretrain_budget.py [--steps 30] [--warmup 5] [--precision auto] [--no-write]
    .venv/bin/python bench/pretrain_budget.py --group tiny8     # hierwbc-tiny8-pbc's two stages

The starter ``hierwbc-tiny-pbc`` and ``hierwbc-tiny-pbc-long`` were trained in sittings that shared
the 2 cores with tests and other runs, so the minutes logged by their runs (images/s of every
step, summed) overstate what the recipe costs. This runs each stage of that recipe with the real
trainer (:func:`hierwbc.train.loop.fit`: data loading, augmentation, DINO + iBOT + KoLeo, AdamW,
EMA, exactly as configured) for ``--steps`` steps, and its online kNN check once, and projects
each stage to the steps it was run for:

- ``stage1``: ``configs/pretrain_cpu.yaml``, 2,600 steps from random weights, a kNN check
  every 250 steps;
- ``stage2``: ``configs/pretrain_cpu_stage2.yaml`` (4 local crops), 1,800 steps, a check every
  100 (continued here from the shipped starter, which has the same architecture: the cost of a
  step does not depend on the weights);
- ``long``: ``configs/classifier_cpu.yaml`` with ``--preset unsup``, seed 1 (the
  ``unsup`` model of ``experiments/longer_cpu.yaml``), 1,500 steps, a check every 250;
- with ``--group tiny8``, ``hierwbc-tiny8-pbc``'s (64 px / patch 8): ``tiny8_stage1``
  (``configs/pretrain_cpu.yaml`` as trial ``T8_64p8_long`` ran it, 2,300 steps, a check every
  50) and ``tiny8_stage2`` (``configs/pretrain_cpu_p8_stage2.yaml``, 1,800 steps, every 100).

Projected minutes = steps x median seconds per step (after ``--warmup`` steps; a step's time is
the trainer's own ``images_per_s``) + checks x the measured check; a checkpoint every 100 steps
(~0.2 s each) is left out. ``logged_minutes``: what the shipped runs logged (the model card).
Results to ``bench/results/pretrain_budget.json`` (``pretrain_budget_tiny8.json`` for ``--group
tiny8``; ``_fp32`` appended with ``--precision fp32``: the starter's stages ran in float32, on
CPUs without fast bf16; each stage records the precision the trainer chose and both matmul rates
it measured). Needs the PBC images (``HIERWBC_DATA``) and takes ~5 minutes (``tiny8``: ~4); run
it with nothing else on the cores.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hierwbc.config import make_config
from hierwbc.io import atomic_write_text
from hierwbc.train.loop import fit

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"

# stage -> (config file, overrides, steps it was run for, minutes its run logged)
STAGES: dict[str, tuple[str, dict, int, float]] = {
    "stage1": ("configs/pretrain_cpu.yaml", {}, 2600, 106.5),
    "stage2": ("configs/pretrain_cpu_stage2.yaml", {"model.pretrained": "hierwbc-tiny-pbc"}, 1800, 79.2),
    "long": ("configs/classifier_cpu.yaml", {"preset": "unsup", "seed": 1}, 1500, 46.9),
    # hierwbc-tiny8-pbc: its stage 1 logged 64.5 minutes for 2,372 steps, exported at 2,300
    "tiny8_stage1": ("configs/pretrain_cpu.yaml", {"model.img_size": 64, "model.patch_size": 8,
                                                       "crops.local_crops_size": 32, "knn_every": 50}, 2300, 64.5),
    "tiny8_stage2": ("configs/pretrain_cpu_p8_stage2.yaml", {"model.pretrained": "hierwbc-tiny8-pbc"}, 1800, 77.5),
}
# the stages timed together, each group to its own result file; "starter" is the default
GROUPS = {"starter": ("stage1", "stage2", "long"), "tiny8": ("tiny8_stage1", "tiny8_stage2")}


def result_path(group: str, precision: str) -> Path:
    """bench/results/pretrain_budget[_<group>][_<precision>].json (neither part for the defaults)."""
    tags = ([] if group == "starter" else [group]) + ([] if precision == "auto" else [precision])
    return RESULTS / f"pretrain_budget{''.join('_' + t for t in tags)}.json"


def cpu_description() -> dict:
    """This machine's CPU as /proc/cpuinfo names it, and its widest vector units (the CPU model
    changes between sessions here, and the step time with it)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    fields = dict(ln.split(":", 1) for ln in info.splitlines() if ":" in ln)
    flags = set(fields.get("flags\t\t", "").split())
    return {"cpu": fields.get("model name\t", platform.processor() or platform.machine()).strip(),
            "vector": [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]}


def checks_in(steps: int, every: int) -> int:
    """kNN checks of a run of ``steps`` steps checked every ``every``: at step 0, each multiple, the end."""
    return 1 + steps // every + (steps % every != 0)


def measure_stage(file: str, overrides: dict, steps: int, warmup: int, out: Path, precision: str = "auto") -> dict:
    """Run ``steps`` steps of the stage; seconds per step (median after ``warmup``) and one kNN check."""
    every = make_config(file=REPO / file, overrides=overrides).knn_every
    run = make_config(file=REPO / file, overrides={
        **overrides, "precision": precision, "max_steps": steps, "knn_every": steps, "checkpoint_every": 10 * steps,
        "out": str(out), "data.cache_dir": str(REPO / "runs" / "cache")})
    if run.preset != "unsup":  # the shipped backbones saw no labels: DINO + iBOT + KoLeo only
        raise SystemExit(f"{file} with {overrides}: preset {run.preset!r}, not 'unsup'")
    metrics = fit(run, progress=True).metrics
    step_rows = metrics[metrics["images_per_s"].notna()].sort_values("step")
    seconds = run.batch_size / step_rows["images_per_s"].to_numpy()[warmup:]
    knn = metrics["knn_seconds"].dropna().to_numpy()
    return {"config": file, "overrides": overrides, "batch_size": run.batch_size,
            "local_crops": run.crops.local_crops_number, "knn_every": every,
            "s_per_step": float(np.median(seconds)), "s_per_step_iqr": [float(np.percentile(seconds, 25)),
                                                                        float(np.percentile(seconds, 75))],
            "knn_check_s": float(np.median(knn)), "steps_timed": len(seconds),
            "precision": json.loads((out / "precision.json").read_text())}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                    help="the trainer's precision (auto: bf16 autocast where this CPU's bf16 matmul is faster)")
    ap.add_argument("--group", default="starter", choices=list(GROUPS), help="whose stages to time")
    ap.add_argument("--only", default=None, help="comma-separated subset of the group's stages")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    names = args.only.split(",") if args.only else list(GROUPS[args.group])
    if bad := [n for n in names if n not in GROUPS[args.group]]:
        raise SystemExit(f"--only: {bad} not in group {args.group!r} ({', '.join(GROUPS[args.group])})")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            file, overrides, steps, logged = STAGES[name]
            r = measure_stage(file, overrides, args.steps, args.warmup, Path(tmp) / name, args.precision)
            n_checks = checks_in(steps, r["knn_every"])
            r.update(steps=steps, knn_checks=n_checks, logged_minutes=logged,
                     projected_minutes=round((steps * r["s_per_step"] + n_checks * r["knn_check_s"]) / 60, 1))
            rows[name] = r
            print(f"{name}: {r['s_per_step']:.3f} s/step, kNN check {r['knn_check_s']:.1f} s -> "
                  f"{r['projected_minutes']} min for {steps} steps (logged {logged})", flush=True)
    table = pd.DataFrame(rows).T
    total = {"projected_minutes": round(float(table["projected_minutes"].sum()), 1),
             "logged_minutes": round(float(table["logged_minutes"].sum()), 1)}
    if starter := [n for n in ("stage1", "stage2") if n in rows]:
        total["starter_projected_minutes"] = round(float(table.loc[starter, "projected_minutes"].sum()), 1)
    print(table[["s_per_step", "knn_check_s", "steps", "knn_checks", "projected_minutes", "logged_minutes"]]
          .to_string())
    print(f"total: {total['projected_minutes']} min projected alone ({total['projected_minutes'] / 60:.2f} h), "
          f"{total['logged_minutes']} min logged" + (f"; starter alone {total['starter_projected_minutes']} min"
                                                     if "starter_projected_minutes" in total else ""))
    if not args.no_write and not math.isnan(total["projected_minutes"]):
        machine = {**cpu_description(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__}
        result = {"machine": machine, "group": args.group, "precision": args.precision, "steps_timed": args.steps,
                  "warmup": args.warmup, "stages": rows, "total": total}
        path = result_path(args.group, args.precision)
        atomic_write_text(path, json.dumps(result, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
