"""GPU check (issue 10), one prepared script for a machine with one GPU, at most ~8 minutes:

1. the bf16 matrix-multiply rate of the device (8192^3 products), then the bf16 training-step
   throughput of vit_small/14 at 224 px (full DINOv2 + HierCE step, batch 64) and its achieved
   FLOP/s (counted by ``torch.utils.flop_counter``) as a share of that rate;
2. a short from-scratch pretraining at 112 px (``configs/pretrain_cpu.yaml`` scaled up:
   vit_small/14, batch 128, local crops) on the PBC train split, with the online kNN curve.

Results go to one JSON file (``--out``). ``--cpu-smoke`` runs every part for 2 steps on tiny
sizes on the CPU (what the test suite does, where no GPU is lent).

    bash bench/gpu_check.sh                      # on the GPU machine; writes $OUT/gpu_check.json
    python bench/gpu_check.py --cpu-smoke --out /tmp/gpu_check.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_step import one_step

from hierwbc.config import make_config
from hierwbc.hierarchy import default_hierarchy
from hierwbc.io import atomic_write_text
from hierwbc.train.loop import build_optimizer, fit
from hierwbc.train.masking import collate_masks, mask_batch
from hierwbc.train.meta_arch import MetaArch
from hierwbc.train.param_groups import apply_schedule
from hierwbc.train.wrap import autocast_context

ROOT = Path(__file__).resolve().parent.parent


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device: torch.device, dtype: torch.dtype, n: int, repeat: int) -> float:
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    t = time.perf_counter()
    for _ in range(repeat):
        a @ b
    _sync(device)
    return 2 * n ** 3 * repeat / (time.perf_counter() - t)


def step_throughput(device: torch.device, precision: str, arch: str, img_size: int, batch: int,
                    steps: int) -> dict:
    torch.manual_seed(0)
    h = default_hierarchy()
    cfg = make_config("hierce", overrides={"model.arch": arch, "model.img_size": img_size,
                                           "batch_size": batch, "precision": precision})
    model = MetaArch(cfg, h).to(device).train()
    opt = build_optimizer(model, cfg)
    apply_schedule(opt, 1e-4, 0.04, 1e-4)
    crops = torch.randn(2 * batch, 3, img_size, img_size, device=device)
    masks = {k: v.to(device) for k, v in mask_batch(collate_masks(2 * batch, img_size // 14, rng=0)["masks"]).items()}
    leaves = torch.tensor(h.leaf_nodes)
    targets = leaves[torch.randint(len(leaves), (batch,))].to(device)
    autocast = autocast_context(precision, device)
    with FlopCounterMode(display=False) as counter:
        one_step(model, opt, crops, masks, targets, autocast)
    flops = counter.get_total_flops()
    one_step(model, opt, crops, masks, targets, autocast)  # warm-up
    _sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        one_step(model, opt, crops, masks, targets, autocast)
    _sync(device)
    step_s = (time.perf_counter() - t) / steps
    return {"arch": arch, "img_size": img_size, "batch_size": batch, "precision": precision, "step_s": step_s,
            "images_per_s": batch / step_s, "step_flops": flops, "achieved_flops_per_s": flops / step_s}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "gpu_check.json"))
    p.add_argument("--cpu-smoke", action="store_true", help="2 steps of everything, tiny sizes, on the CPU")
    p.add_argument("--pretrain-steps", type=int, default=1500)
    p.add_argument("--data-root", default=None)
    args = p.parse_args(argv)
    smoke = args.cpu_smoke
    device = torch.device("cpu" if smoke or not torch.cuda.is_available() else "cuda")
    if device.type != "cuda" and not smoke:
        raise SystemExit("gpu_check: no CUDA device; use --cpu-smoke for the CPU mode")
    out: dict = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu (smoke)",
                 "torch": torch.__version__, "smoke": smoke}
    t0 = time.perf_counter()
    n, reps = (256, 2) if smoke else (8192, 20)
    out["bf16_matmul_flops_per_s"] = matmul_rate(device, torch.bfloat16, n, reps)
    step = (step_throughput(device, "fp32", "vit_tiny", 28, 4, 2) if smoke
            else step_throughput(device, "bf16", "vit_small", 224, 64, 10))
    step["share_of_bf16_matmul"] = step["achieved_flops_per_s"] / out["bf16_matmul_flops_per_s"]
    out["train_step"] = step
    print(json.dumps(out, indent=1), flush=True)
    run_dir = Path(args.out).with_suffix("").parent / "gpu_check_run"
    overrides = {"device": device.type, "out": str(run_dir), "data.cache_dir": str(run_dir / "cache")}
    if args.data_root:
        overrides["data.root"] = args.data_root
    if smoke:
        overrides.update({"max_steps": 2, "batch_size": 8, "model.img_size": 28, "data.cache_size": 48,
                          "knn_every": 1, "knn_references": 40, "knn_queries": 30, "data.limit": 64,
                          "crops.local_crops_size": 16, "data.num_workers": 0, "precision": "fp32"})
    else:
        overrides.update({"max_steps": args.pretrain_steps, "batch_size": 128, "model.arch": "vit_small",
                          "model.img_size": 112, "model.patch_size": 14, "data.cache_size": 224,
                          "crops.local_crops_size": 56, "knn_every": 250, "optim.warmup_steps": 100,
                          "teacher.momentum_steps": args.pretrain_steps, "data.num_workers": 8})
    result = fit(ROOT / "configs" / "pretrain_cpu.yaml", progress=not smoke, **overrides)
    knn = result.metrics.dropna(subset=["knn_bacc"]) if "knn_bacc" in result.metrics else None
    out["pretrain"] = {"overrides": overrides, "steps": result.step,
                       "knn_curve": [] if knn is None else knn[["step", "knn_bacc"]].to_dict("records")}
    out["seconds"] = time.perf_counter() - t0
    atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out} ({out['seconds']:.0f} s)")
    return out


if __name__ == "__main__":
    main()
