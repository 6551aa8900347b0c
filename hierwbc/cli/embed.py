"""``hierwbc embed``: images -> an AnnData .h5ad of their features (:func:`hierwbc.embed.embed`)."""

from __future__ import annotations

from pathlib import Path

HELP = "embed images with a model -> AnnData .h5ad"


def add_arguments(p) -> None:
    from ..models.registry import PIXELS
    from ..models.vit import VIT_SIZES
    from .options import add_device_argument, add_stain_argument

    p.add_argument("--checkpoint", "--model", dest="model", required=True,
                   help=f"checkpoint or weights file, a shipped name (`hierwbc models`), a ViT size for a "
                        f"random-init baseline ({', '.join(VIT_SIZES)}) or {PIXELS!r}")
    p.add_argument("--data", action="append", required=True,
                   help="dataset name, folder (folder:label_map) or manifest CSV; repeat or comma-separate")
    p.add_argument("--data-root", default=None, help="data location (default HIERWBC_DATA or ../shared/data)")
    p.add_argument("--out", required=True, help="output .h5ad file")
    p.add_argument("--hierarchy", default=None,
                   help="hierarchy file (.json / .nwk); default: the checkpoint's or the default tree")
    p.add_argument("--img-size", type=int, default=None,
                   help=f"input size (default: the checkpoint's); for {PIXELS!r}: the side of the "
                        "downscaled image (16)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-workers", type=int, default=0)
    add_device_argument(p)
    p.add_argument("--patch-mean", action="store_true", help="also store the mean patch token (obsm X_patch_mean)")
    p.add_argument("--name", default=None, help="model name stored in uns['provenance']")
    p.add_argument("--seed", type=int, default=0)
    add_stain_argument(p)
    p.add_argument("--no-progress", action="store_true")


def run(args) -> Path:
    """Read the ``--data`` sources, embed, write ``--out`` atomically."""
    from ..datasets.manifest import ManifestError
    from ..datasets.sources import read_sources
    from ..embed import embed, write_h5ad
    from ..hierarchy import Hierarchy
    from ..models.registry import PIXELS

    h = Hierarchy.read(args.hierarchy) if args.hierarchy else None
    specs = [x for d in args.data for x in d.split(",") if x]
    manifest = read_sources(specs, args.data_root, hierarchy=h)
    if manifest.empty:
        raise ManifestError(f"no images found in {', '.join(specs)}")
    adata = embed(args.model, manifest, hierarchy=h, img_size=args.img_size, batch_size=args.batch_size,
                  num_workers=args.num_workers, device=args.device, patch_mean=args.patch_mean,
                  seed=args.seed, name=args.name, progress=not args.no_progress, stain_norm=args.stain_norm,
                  **({"pixel_size": args.img_size} if args.model == PIXELS and args.img_size else {}))
    out = write_h5ad(adata, args.out)
    print(f"{adata.n_obs} cells x {adata.obsm['X_cls'].shape[1]} features -> {out}")
    return out
