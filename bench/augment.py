"""Our batched augmentation against kornia's, as ratios in one process: keep kornia or not (issue 13).

    .venv/bin/python bench/augment.py [--batch 64] [--in-size 128] [--sizes 56,224] [--rounds 5] [--no-write]

One global view of dinov2's recipe on a batch of uint8 cells ``[B, 3, in, in]`` (the training
cache's size), by the two implementations, same parameters (``AugmentConfig`` defaults: random
resized crop scale 0.32-1 to ``size`` px bicubic, h/v flips, rot90, colour jitter 0.4/0.4/0.2/0.1
at p 0.8, grayscale p 0.2, Gaussian blur kernel 9 sigma 0.1-2 at p 1, ImageNet normalisation):

- ``ours``: :func:`hierwbc.train.augment.augment_view` (view 0: no solarisation);
- ``kornia``: ``kornia.augmentation.AugmentationSequential`` of ``RandomResizedCrop`` (kornia
  0.9 has no antialiasing there: a shrinking crop is cheaper for it and aliased),
  ``RandomHorizontalFlip``, ``RandomVerticalFlip``, ``RandomRotation90`` (an affine warp of its
  own: a second resampling of every image, where ours folds flips and quarter turns into the crop's
  resampling matrices), ``ColorJitter``, ``RandomGrayscale``, ``RandomGaussianBlur``, ``Normalize``;
  kornia jitters only the images drawn at p 0.8, ours computes all and selects.

Best of ``--rounds`` (interleaved), seconds per batch, and ``kornia / ours``. kornia is only a
test dependency (reference colour conversions in ``tests/train/test_augment.py``); it would earn
a place in the package only if faster. Results go to ``bench/results/augment.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="our augmentation vs kornia's (see the module docstring)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--in-size", type=int, default=128)
    ap.add_argument("--sizes", default="56,224", help="comma-separated output sizes")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    return ap.parse_args(argv)


def kornia_view(cfg):
    """kornia's pipeline with the parameters of ``cfg`` (a view-0 :class:`AugmentConfig`)."""
    import kornia.augmentation as K

    b, c, s, h = cfg.jitter
    return K.AugmentationSequential(
        K.RandomResizedCrop((cfg.size, cfg.size), scale=cfg.scale, ratio=cfg.ratio, resample="bicubic"),
        K.RandomHorizontalFlip(p=cfg.hflip_p), K.RandomVerticalFlip(p=cfg.vflip_p),
        K.RandomRotation90(times=(-1.5, 2.5), p=1.0),  # rounded: -1, 0, 1, 2 quarter turns, 1/4 each
        K.ColorJitter(b, c, s, h, p=cfg.jitter_p),
        K.RandomGrayscale(p=cfg.grayscale_p),
        K.RandomGaussianBlur((cfg.blur_kernel, cfg.blur_kernel), cfg.blur_sigma, p=cfg.blur_p[0]),
        K.Normalize(mean=list(cfg.mean), std=list(cfg.std)),
    )


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    from hierwbc.datasets.model_input import to_float_images
    from hierwbc.io import atomic_write_text
    from hierwbc.train.augment import AugmentConfig, augment_view

    torch.set_num_threads(args.threads)
    images = torch.randint(0, 256, (args.batch, 3, args.in_size, args.in_size), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        cfg = AugmentConfig(size=size)
        pipeline = kornia_view(cfg)
        gen = torch.Generator().manual_seed(0)
        runs = {"ours": lambda cfg=cfg, gen=gen: augment_view(to_float_images(images), cfg, 0, gen),
                "kornia": lambda pipeline=pipeline: pipeline(to_float_images(images))}
        for fn in runs.values():  # warm-up; shapes checked
            assert fn().shape == (args.batch, 3, size, size)
        best = {name: float("inf") for name in runs}
        for _ in range(args.rounds):
            for name, fn in runs.items():
                t0 = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t0)
        row = {"size": size, "ours_s": best["ours"], "kornia_s": best["kornia"],
               "kornia_over_ours": best["kornia"] / best["ours"]}
        results.append(row)
        print(f"{size:4d} px: ours {row['ours_s'] * 1e3:7.1f} ms, kornia {row['kornia_s'] * 1e3:7.1f} ms per batch "
              f"of {args.batch}: kornia / ours = {row['kornia_over_ours']:.2f}", flush=True)
    import kornia

    out = {"batch": args.batch, "in_size": args.in_size, "threads": args.threads, "rounds": args.rounds,
           "torch": torch.__version__, "kornia": kornia.__version__,
           "machine": platform.processor() or platform.machine(), "results": results}
    if not args.no_write:
        path = Path(__file__).resolve().parent / "results" / "augment.json"
        atomic_write_text(path, json.dumps(out, indent=1) + "\n")
        print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
