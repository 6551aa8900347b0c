"""Throughput of the full training step and of the data pipeline (issue 4).

Prints, for the full DINOv2 + supervised step (student forward/backward on two global crops,
teacher forward, DINO/iBOT/KoLeo/supervised heads and losses, AdamW, EMA):

- images/s (images of the batch, i.e. pairs of crops, per second);
- achieved FLOP/s: the step's FLOPs (counted by ``torch.utils.flop_counter`` on one step) per
  second, as a fraction of a plain square matmul's FLOP/s measured in the same process and
  precision (the achievable peak on this machine);

for float32 and for bf16 autocast, and the data pipeline's images/s (JPEG decoding + resize in
DataLoader workers, and the batched augmentation), which must exceed the step's.

    .venv/bin/python bench/train_step.py                 # vit_small/14, 224 px, batch 32
    .venv/bin/python bench/train_step.py --img-size 112 --steps 3
    .venv/bin/python bench/train_step.py --arch vit_tiny --img-size 56 --batch-size 4 --steps 1 \
        --matmul-size 512 --no-write                      # a smoke run (bench/run_all.py --quick)

bf16 is skipped (with the measured reason) where a bare bf16 matmul is more than 2x slower than
float32, i.e. on CPUs without bf16 matrix units, where a step would take tens of minutes.
Results are also written to bench/results/train_step.json (unless ``--no-write``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from hierwbc.config import make_config
from hierwbc.datasets import data_root, read_dataset
from hierwbc.datasets.manifest_images import ManifestImages
from hierwbc.hierarchy import default_hierarchy
from hierwbc.io import atomic_write_text
from hierwbc.train.augment import AugmentConfig, global_crops
from hierwbc.train.data import StepBatchSampler, make_loader
from hierwbc.train.loop import build_optimizer
from hierwbc.train.masking import collate_masks
from hierwbc.train.meta_arch import MetaArch
from hierwbc.train.param_groups import apply_schedule
from hierwbc.train.wrap import autocast_context

RESULTS = Path(__file__).parent / "results" / "train_step.json"


def matmul_flops_per_s(dtype: torch.dtype, n: int = 2048, repeat: int = 5) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    t = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * n**3 * repeat / (time.perf_counter() - t)


def one_step(model, opt, crops, masks, targets, autocast) -> None:
    terms = model.forward_losses(crops, masks, targets, teacher_temp=0.07, autocast=autocast)
    opt.zero_grad(set_to_none=True)
    terms["loss"].backward()
    opt.step()
    model.update_teacher(0.996)


def step_benchmark(args, precision: str) -> dict:
    torch.manual_seed(0)
    h = default_hierarchy()
    cfg = make_config(args.preset, overrides={"model.arch": args.arch, "model.img_size": args.img_size,
                                              "batch_size": args.batch_size, "precision": precision})
    model = MetaArch(cfg, h).train()
    opt = build_optimizer(model, cfg)
    apply_schedule(opt, 1e-4, 0.04, 1e-4)
    b, grid = args.batch_size, args.img_size // 14
    crops = torch.randn(2 * b, 3, args.img_size, args.img_size)
    masks = collate_masks(2 * b, grid, rng=0)
    leaves = torch.tensor(h.leaf_nodes)  # a copy: the array is read-only
    targets = leaves[torch.randint(len(leaves), (b,))]
    autocast = autocast_context(precision, torch.device("cpu"))
    with FlopCounterMode(display=False) as counter:
        one_step(model, opt, crops, masks, targets, autocast)
    flops = counter.get_total_flops()
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        one_step(model, opt, crops, masks, targets, autocast)
        times.append(time.perf_counter() - t)
    best = min(times)
    return {"precision": precision, "step_s": best, "images_per_s": b / best, "step_flops": flops,
            "achieved_flops_per_s": flops / best}


def data_benchmark(args) -> dict:
    root = data_root(None, required=False)
    out = {}
    if root is not None and (root / "pbc").exists():
        m = read_dataset("pbc", root).head(args.batch_size * 8)
        ds = ManifestImages(m, args.img_size, torch.zeros(len(m), dtype=torch.long).numpy())
        loader = make_loader(ds, StepBatchSampler(len(ds), args.batch_size, 0, 0, 8), num_workers=args.workers)
        it = iter(loader)
        next(it)  # worker start-up
        t = time.perf_counter()
        n = sum(batch[0].shape[0] for batch in it)
        out["decode_images_per_s"] = n / (time.perf_counter() - t)
        out["decode_workers"] = args.workers
    images = torch.randint(0, 256, (args.batch_size, 3, args.img_size, args.img_size), dtype=torch.uint8)
    cfg = AugmentConfig(size=args.img_size)
    global_crops(images, cfg, generator=0)
    t = time.perf_counter()
    for k in range(3):
        global_crops(images, cfg, generator=k)
    out["augment_images_per_s"] = 3 * args.batch_size / (time.perf_counter() - t)
    rates = [v for k, v in out.items() if k.endswith("images_per_s")]
    out["pipeline_images_per_s"] = 1 / sum(1 / r for r in rates)  # decode and augment in series (worst case)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="vit_small")
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--preset", default="hierce")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--matmul-size", type=int, default=2048, help="side of the square matmul giving the peak rate")
    p.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    args = p.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}")
    n = args.matmul_size
    peak = {"fp32": matmul_flops_per_s(torch.float32, n), "bf16": matmul_flops_per_s(torch.bfloat16, n, repeat=1)}
    print(f"plain {n}^3 matmul: fp32 {peak['fp32'] / 1e9:.1f} GFLOP/s, bf16 {peak['bf16'] / 1e9:.1f} GFLOP/s")
    results = {"args": vars(args), "matmul_flops_per_s": peak, "steps": []}
    for precision in ("fp32", "bf16"):
        if precision == "bf16" and peak["bf16"] < peak["fp32"] / 2:
            note = (f"bf16 skipped: a bare bf16 matmul runs at {peak['bf16'] / 1e9:.2f} GFLOP/s, "
                    f"{peak['fp32'] / peak['bf16']:.0f}x slower than fp32 (no bf16 matrix units on this CPU)")
            print(note)
            results["bf16_note"] = note
            continue
        r = step_benchmark(args, precision)
        r["fraction_of_matmul"] = r["achieved_flops_per_s"] / peak[precision]
        results["steps"].append(r)
        print(f"{args.arch}/14 {args.img_size}px batch {args.batch_size} {precision}: {r['step_s']:.2f} s/step, "
              f"{r['images_per_s']:.2f} images/s, {r['step_flops'] / 1e9:.0f} GFLOP/step, "
              f"{r['achieved_flops_per_s'] / 1e9:.1f} GFLOP/s = {100 * r['fraction_of_matmul']:.0f}% "
              "of the matmul rate")
    data = data_benchmark(args)
    results["data"] = data
    print("data pipeline: " + ", ".join(f"{k} {v:.1f}" for k, v in data.items()))
    slowest_step = min(r["images_per_s"] for r in results["steps"])
    print(f"pipeline / step images/s: {data['pipeline_images_per_s'] / slowest_step:.1f}x")
    if not args.no_write:
        RESULTS.parent.mkdir(exist_ok=True)
        atomic_write_text(RESULTS, json.dumps(results, indent=1) + "\n")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
